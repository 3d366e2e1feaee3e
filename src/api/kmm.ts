/**
 * Kernel Module Management resources: Module, NodeModulesConfig, ModuleImagesConfig,
 * ModuleBuildSignConfig (kmm.sigs.x-k8s.io/v1beta1), PreflightValidation and
 * PreflightValidationOCP (v1beta2), and the hub's ManagedClusterModule
 * (hub.kmm.sigs.x-k8s.io/v1beta1).
 */
import {
  EnvVar,
  LocalObjectReference,
  ResourceRequirements,
  Toleration,
  Volume,
  VolumeMount,
  conditions,
  pullPolicy,
} from './core.js';
import { objectSchema, type PrinterColumn, type ResourceDef } from './resource.js';
import {
  arr,
  bool,
  describedAs,
  enumOf,
  int32,
  int64,
  obj,
  opt,
  str,
  stringMap,
  stringSet,
  time,
  type CelRule,
  type Static,
} from './schema.js';

export const KMM_GROUP = 'kmm.sigs.x-k8s.io';
export const KMM_VERSION = 'v1beta1';
export const KMM_VERSION_PREFLIGHT = 'v1beta2';
export const KMM_HUB_GROUP = 'hub.kmm.sigs.x-k8s.io';
export const KMM_HUB_VERSION = 'v1beta1';

/** Present and not empty: upstream objects may carry "" for unset string fields. */
const set = (f: string) => `(has(self.${f}) && size(self.${f}) > 0)`;

export const TLSOptions = obj(
  {
    insecure: opt(bool({ description: 'Reach the registry over plain HTTP. Not for production.' })),
    insecureSkipTLSVerify: opt(
      bool({ description: 'Accept any registry certificate. Not for production.' }),
    ),
  },
  { description: 'How to reach a registry.' },
);
export type TLSOptions = Static<typeof TLSOptions>;

export const BuildArg = obj(
  {
    name: str({ minLength: 1, description: 'Build argument name (ARG in the Dockerfile).' }),
    value: str({ description: 'Its value (variables are not substituted here).' }),
  },
  { description: 'A build argument.' },
);
export type BuildArg = Static<typeof BuildArg>;

export const Build = obj(
  {
    buildArgs: opt(
      arr(BuildArg, {
        description:
          'Build arguments; KERNEL_VERSION, KERNEL_FULL_VERSION, MOD_NAME and MOD_NAMESPACE are always set.',
      }),
    ),
    dockerfileConfigMap: describedAs(
      LocalObjectReference,
      'ConfigMap in the Module namespace whose key "dockerfile" holds the Dockerfile.',
    ),
    baseImageRegistryTLS: opt(
      describedAs(TLSOptions, 'How to reach the registries of the FROM images.'),
    ),
    secrets: opt(
      arr(LocalObjectReference, {
        description:
          'Secrets mounted at /run/secrets/<name> during the build (not for registry credentials).',
      }),
    ),
    kanikoParams: opt(
      obj(
        { tag: opt(str({ description: 'Tag of the kaniko image used for the build pod.' })) },
        { description: 'Settings of the kaniko build pod.' },
      ),
    ),
    selector: opt(stringMap({ description: 'Labels of the nodes the build may run on.' })),
  },
  { description: 'How to build the module image in the cluster when it does not exist.' },
);
export type Build = Static<typeof Build>;

export const Sign = obj(
  {
    unsignedImage: opt(
      str({
        description: 'Prebuilt image holding the unsigned modules; ignored when build is set.',
      }),
    ),
    unsignedImageRegistryTLS: opt(
      describedAs(TLSOptions, 'How to reach the registry of unsignedImage.'),
    ),
    keySecret: describedAs(
      LocalObjectReference,
      'Secret whose key "key" is the Secure Boot private key.',
    ),
    certSecret: describedAs(
      LocalObjectReference,
      'Secret whose key "cert" is the Secure Boot certificate (DER or PEM).',
    ),
    filesToSign: opt(
      arr(str(), {
        description: 'Module files to sign, full paths or shell globs in the image, under dirName.',
      }),
    ),
  },
  { description: 'How to sign the modules of the image for Secure Boot.' },
);
export type Sign = Static<typeof Sign>;

const inTreeFields = {
  inTreeModuleToRemove: opt(
    str({
      description: 'Deprecated, use inTreeModulesToRemove: one in-tree module to unload first.',
    }),
  ),
  inTreeModulesToRemove: opt(
    arr(str(), { description: 'In-tree modules to unload (if present) before loading this one.' }),
  ),
};

const inTreeExclusive: CelRule = {
  rule: `!(${set('inTreeModuleToRemove')} && has(self.inTreeModulesToRemove))`,
  message:
    'set inTreeModulesToRemove or the deprecated inTreeModuleToRemove, not both: move the ' +
    'module named in inTreeModuleToRemove into the inTreeModulesToRemove list',
  fieldPath: '.inTreeModuleToRemove',
  reason: 'FieldValueForbidden',
};

export const KernelMapping = obj(
  {
    literal: opt(str({ description: 'A kernel version matched exactly.' })),
    regexp: opt(
      str({
        description: 'A regular expression (RE2) matched against the kernel version, unanchored.',
      }),
    ),
    containerImage: str({
      description:
        'Module image for the matching kernels; ${KERNEL_FULL_VERSION} and the other variables ' +
        'are substituted. Empty: use the container-level containerImage.',
    }),
    build: opt(Build),
    sign: opt(Sign),
    registryTLS: opt(describedAs(TLSOptions, 'How to reach the image registry.')),
    ...inTreeFields,
  },
  {
    description: 'Which image to use for the kernels that match; the first matching mapping wins.',
    validations: [
      {
        rule: `!(${set('literal')} && ${set('regexp')})`,
        message: 'has both literal and regexp; keep exactly one of them',
        reason: 'FieldValueForbidden',
      },
      {
        rule: `${set('literal')} || ${set('regexp')}`,
        message:
          'needs exactly one of literal (a kernel release exactly as uname -r prints it) or ' +
          'regexp (an RE2 pattern matched against it)',
        reason: 'FieldValueRequired',
      },
      inTreeExclusive,
    ],
  },
);
export type KernelMapping = Static<typeof KernelMapping>;

export const ModprobeArgs = obj(
  {
    load: opt(arr(str(), { minItems: 1, description: 'Arguments used when loading.' })),
    unload: opt(arr(str(), { minItems: 1, description: 'Arguments used when unloading.' })),
  },
  { description: 'modprobe arguments for loading and unloading.' },
);
export type ModprobeArgs = Static<typeof ModprobeArgs>;

export const ModprobeSpec = obj(
  {
    moduleName: opt(
      str({
        maxLength: 64,
        description: 'The module to load. May be unset only when rawArgs is set.',
      }),
    ),
    parameters: opt(
      arr(str(), {
        description: 'Module parameters, key=value, appended to the modprobe command.',
      }),
    ),
    dirName: opt(
      str({
        default: '/opt',
        description:
          'Root of the modules in the image (modprobe -d); modules are under <dirName>/lib/modules/<kernel>.',
      }),
    ),
    args: opt(describedAs(ModprobeArgs, 'Arguments placed before the module name.')),
    rawArgs: opt(
      describedAs(
        ModprobeArgs,
        'The whole modprobe command line; every other field here is then ignored.',
      ),
    ),
    firmwarePath: opt(
      str({
        description:
          'Directory in the image whose files are copied to the node firmware path before loading.',
      }),
    ),
    modulesLoadingOrder: opt(
      stringSet({
        minItems: 2,
        description:
          'Modules without depmod dependencies, in load order: moduleName first, then the module it needs, and so on.',
      }),
    ),
  },
  {
    description: 'What modprobe loads, and how.',
    validations: [
      {
        rule: `${set('moduleName')} || (has(self.rawArgs) && has(self.rawArgs.load) && has(self.rawArgs.unload))`,
        message: 'set moduleName, or rawArgs with both load and unload',
        messageExpression:
          "has(self.rawArgs) ? 'rawArgs needs both load and unload (each the whole modprobe " +
          "arguments), or set moduleName instead' : 'required: set moduleName (the module to " +
          "load), or rawArgs with both load and unload'",
        fieldPath: '.moduleName',
        reason: 'FieldValueRequired',
      },
      {
        rule: `!has(self.modulesLoadingOrder) || (${set('moduleName')} && self.modulesLoadingOrder[0] == self.moduleName)`,
        message: 'modulesLoadingOrder must start with moduleName',
        messageExpression:
          `${set('moduleName')} ? 'must start with moduleName ("' + self.moduleName + '"): the ` +
          "module loaded on request first, then the module it needs, and so on' : 'is only " +
          "allowed with moduleName, the module the list starts with'",
        fieldPath: '.modulesLoadingOrder',
        reason: 'FieldValueForbidden',
      },
    ],
  },
);
export type ModprobeSpec = Static<typeof ModprobeSpec>;

export const ModuleLoaderContainerSpec = obj(
  {
    modprobe: ModprobeSpec,
    kernelMappings: arr(KernelMapping, {
      minItems: 1,
      description: 'Kernel versions → images, tried in order; the first match is used.',
    }),
    containerImage: opt(
      str({ description: 'Default image for mappings that leave containerImage empty.' }),
    ),
    imagePullPolicy: opt(pullPolicy('Pull policy of the module image.')),
    version: opt(
      str({ description: 'Version of the module, for ordered upgrades driven by node labels.' }),
    ),
    build: opt(describedAs(Build, 'Default build settings for every mapping.')),
    sign: opt(describedAs(Sign, 'Default sign settings for every mapping.')),
    registryTLS: opt(describedAs(TLSOptions, 'How to reach the image registry.')),
    ...inTreeFields,
  },
  { description: 'The container that loads the module.', validations: [inTreeExclusive] },
);
export type ModuleLoaderContainerSpec = Static<typeof ModuleLoaderContainerSpec>;

export const ModuleLoaderSpec = obj(
  {
    container: ModuleLoaderContainerSpec,
    serviceAccountName: opt(str({ description: 'ServiceAccount of the loader pods.' })),
  },
  { description: 'How the module is loaded on the nodes. Omit it to use the in-tree driver.' },
);
export type ModuleLoaderSpec = Static<typeof ModuleLoaderSpec>;

export const DevicePluginContainerSpec = obj(
  {
    image: str({ minLength: 1, description: 'Device plugin image.' }),
    imagePullPolicy: opt(pullPolicy('Pull policy of the image.')),
    command: opt(arr(str(), { description: 'Entrypoint; the image ENTRYPOINT if unset.' })),
    args: opt(arr(str(), { description: 'Arguments; the image CMD if unset.' })),
    env: opt(arr(EnvVar, { description: 'Environment variables.' })),
    resources: opt(ResourceRequirements),
    volumeMounts: opt(arr(VolumeMount, { description: 'Mounts added to the default ones.' })),
  },
  { description: 'A device plugin container.' },
);
export type DevicePluginContainerSpec = Static<typeof DevicePluginContainerSpec>;

export const DevicePluginSpec = obj(
  {
    container: DevicePluginContainerSpec,
    initContainer: opt(
      describedAs(DevicePluginContainerSpec, 'An init container for the plugin pods.'),
    ),
    serviceAccountName: opt(str({ description: 'ServiceAccount of the device plugin pods.' })),
    volumes: opt(arr(Volume, { description: 'Volumes of the device plugin pods.' })),
  },
  { description: 'A device plugin DaemonSet run on nodes where the module is loaded.' },
);
export type DevicePluginSpec = Static<typeof DevicePluginSpec>;

export const ModuleSpec = obj(
  {
    selector: stringMap({ description: 'Labels of the nodes the module is for.' }),
    moduleLoader: opt(ModuleLoaderSpec),
    devicePlugin: opt(DevicePluginSpec),
    imageRepoSecret: opt(
      describedAs(
        LocalObjectReference,
        'Pull secret for the module and device plugin images, also used to push built images.',
      ),
    ),
    tolerations: opt(
      arr(Toleration, { description: 'Tolerations of the loader and device plugin pods.' }),
    ),
    imageRebuildTriggerGeneration: opt(
      int64({
        description: 'Change it to check, and if needed rebuild, every module image again.',
      }),
    ),
  },
  {
    description: 'Which nodes need the module, and how to get it loaded there.',
    validations: [
      {
        // Since KMM 2.4 the loader may be left out (in-tree driver, device plugin only), but a
        // Module with neither would do nothing.
        rule: 'has(self.moduleLoader) || has(self.devicePlugin)',
        message:
          'set moduleLoader (to load an out-of-tree module), devicePlugin (to run a device ' +
          'plugin beside the in-tree driver) or both: a Module with neither does nothing',
        fieldPath: '.moduleLoader',
        reason: 'FieldValueRequired',
      },
    ],
  },
);
export type ModuleSpec = Static<typeof ModuleSpec>;

export const DaemonSetStatus = obj({
  nodesMatchingSelectorNumber: opt(int32({ description: 'Nodes that match the selector.' })),
  desiredNumber: opt(int32({ description: 'Nodes that should run it.' })),
  availableNumber: opt(int32({ description: 'Nodes where it is running.' })),
});
export type DaemonSetStatus = Static<typeof DaemonSetStatus>;

export const ModuleStatus = obj({
  moduleLoader: opt(describedAs(DaemonSetStatus, 'Module loading progress.')),
  devicePlugin: opt(describedAs(DaemonSetStatus, 'Device plugin progress.')),
  imageRebuildTriggerGeneration: opt(
    int64({ description: 'The imageRebuildTriggerGeneration last acted on.' }),
  ),
  conditions: opt(conditions('Ready, Progressing, Degraded: what is missing and why.')),
});
export type ModuleStatus = Static<typeof ModuleStatus>;

const ModuleSchema = objectSchema(
  { spec: ModuleSpec, status: opt(ModuleStatus) },
  'An out-of-tree kernel module: which nodes need it, the images per kernel, how to build and ' +
    'sign them, and an optional device plugin.',
);
export type Module = Static<typeof ModuleSchema>;

export const ModuleResource: ResourceDef = {
  group: KMM_GROUP,
  kind: 'Module',
  plural: 'modules',
  categories: ['kmm'],
  scope: 'Namespaced',
  status: true,
  versions: [
    {
      name: KMM_VERSION,
      storage: true,
      schema: ModuleSchema,
      printerColumns: [
        {
          name: 'Nodes',
          type: 'integer',
          jsonPath: '.status.moduleLoader.nodesMatchingSelectorNumber',
          description: 'Nodes matching the selector.',
        },
        {
          name: 'Desired',
          type: 'integer',
          jsonPath: '.status.moduleLoader.desiredNumber',
          description: 'Nodes that should have the module loaded.',
        },
        {
          name: 'Loaded',
          type: 'integer',
          jsonPath: '.status.moduleLoader.availableNumber',
          description: 'Nodes that have it loaded.',
        },
        {
          name: 'Plugins',
          type: 'integer',
          jsonPath: '.status.devicePlugin.availableNumber',
          description: 'Nodes running the device plugin.',
        },
        {
          name: 'Version',
          type: 'string',
          jsonPath: '.spec.moduleLoader.container.version',
          priority: 1,
        },
      ],
    },
  ],
};

// ---------------------------------------------------------------------------------------------
// NodeModulesConfig

export const ModuleConfig = obj(
  {
    kernelVersion: str({ minLength: 1, description: 'The node kernel this configuration is for.' }),
    containerImage: str({ minLength: 1, description: 'The module image, variables substituted.' }),
    imagePullPolicy: opt(pullPolicy('Pull policy of the module image.', 'IfNotPresent')),
    insecurePull: bool({ description: 'Pull the image without TLS.' }),
    ...inTreeFields,
    modprobe: ModprobeSpec,
  },
  { description: 'What exactly to load on the node.' },
);
export type ModuleConfig = Static<typeof ModuleConfig>;

const moduleItem = {
  name: str({ minLength: 1, description: 'Name of the Module.' }),
  namespace: str({ minLength: 1, description: 'Namespace of the Module.' }),
  serviceAccountName: str({ description: 'ServiceAccount of the worker pods.' }),
  imageRepoSecret: opt(describedAs(LocalObjectReference, 'Pull secret of the image.')),
  tolerations: opt(arr(Toleration, { description: 'Tolerations of the load/unload pods.' })),
  version: opt(str({ description: 'Module version, for ordered upgrades.' })),
};

export const NodeModuleSpec = obj(
  { ...moduleItem, config: ModuleConfig },
  { description: 'A module that should be loaded on the node.' },
);
export type NodeModuleSpec = Static<typeof NodeModuleSpec>;

export const NodeModuleStatus = obj(
  {
    ...moduleItem,
    config: opt(describedAs(ModuleConfig, 'The configuration last loaded.')),
    lastTransitionTime: opt(time({ description: 'When it was loaded.' })),
    bootId: opt(
      str({ description: 'Node boot ID at load time; a change means a reboot unloaded it.' }),
    ),
  },
  { description: 'A module loaded on the node.' },
);
export type NodeModuleStatus = Static<typeof NodeModuleStatus>;

const byModule = { listType: 'map', listMapKeys: ['namespace', 'name'] } as const;
/** Bounds the cost of the modprobe CEL rules per entry; far above the Modules a node has. */
const MAX_MODULES_PER_NODE = 1024;

export const NodeModulesConfigSpec = obj({
  modules: opt(
    arr(NodeModuleSpec, {
      ...byModule,
      maxItems: MAX_MODULES_PER_NODE,
      description: 'Modules wanted on the node.',
    }),
  ),
});
export type NodeModulesConfigSpec = Static<typeof NodeModulesConfigSpec>;

export const NodeModulesConfigStatus = obj({
  desiredNumber: opt(
    int32({ description: 'hwe addition, for kubectl get: number of modules in spec.modules.' }),
  ),
  loadedNumber: opt(
    int32({
      description:
        'hwe addition, for kubectl get: number of spec.modules entries loaded with exactly ' +
        'their configuration (a status entry with the same config).',
    }),
  ),
  modules: opt(
    arr(NodeModuleStatus, {
      ...byModule,
      maxItems: MAX_MODULES_PER_NODE,
      description: 'Modules loaded on the node.',
    }),
  ),
});
export type NodeModulesConfigStatus = Static<typeof NodeModulesConfigStatus>;

const NodeModulesConfigSchema = objectSchema(
  { spec: NodeModulesConfigSpec, status: opt(NodeModulesConfigStatus) },
  'The modules wanted on one node (named after it) and the modules loaded there.',
);
export type NodeModulesConfig = Static<typeof NodeModulesConfigSchema>;

export const NodeModulesConfigResource: ResourceDef = {
  group: KMM_GROUP,
  kind: 'NodeModulesConfig',
  plural: 'nodemodulesconfigs',
  shortNames: ['nmc'],
  categories: ['kmm'],
  scope: 'Cluster',
  status: true,
  versions: [
    {
      name: KMM_VERSION,
      storage: true,
      schema: NodeModulesConfigSchema,
      printerColumns: [
        {
          name: 'Kernel',
          type: 'string',
          jsonPath: '.spec.modules[0].config.kernelVersion',
          description: 'Kernel of the node, as the modules are configured for it.',
        },
        { name: 'Desired', type: 'integer', jsonPath: '.status.desiredNumber' },
        { name: 'Loaded', type: 'integer', jsonPath: '.status.loadedNumber' },
      ],
    },
  ],
};

// ---------------------------------------------------------------------------------------------
// ModuleImagesConfig and ModuleBuildSignConfig

export const IMAGE_STATES = ['Exists', 'DoesNotExist', 'NeedsBuilding', 'NeedsSigning'] as const;
export type ImageState = (typeof IMAGE_STATES)[number];

const moduleImage = {
  image: str({ minLength: 1, description: 'The image.' }),
  kernelVersion: str({ minLength: 1, description: 'The kernel it is for.' }),
  build: opt(describedAs(Build, 'How to build it if it is missing.')),
  sign: opt(describedAs(Sign, 'How to sign it.')),
  skipWaitMissingImage: opt(
    bool({
      description:
        'Without build or sign, report a missing image as DoesNotExist instead of waiting.',
    }),
  ),
  registryTLS: opt(describedAs(TLSOptions, 'How to reach its registry.')),
  imagePullPolicy: opt(pullPolicy('Pull policy used to check it (as the nodes will pull it).')),
  dirName: opt(str({ description: 'Root of the modules in the image.' })),
};

export const ModuleImageSpec = obj(moduleImage, { description: 'An image a Module needs.' });
export type ModuleImageSpec = Static<typeof ModuleImageSpec>;

export const ModuleImagesConfigSpec = obj({
  images: opt(arr(ModuleImageSpec, { description: 'The images; empty when no node matches.' })),
  imageRepoSecret: opt(describedAs(LocalObjectReference, 'Pull secret of the images.')),
  imagePullPolicy: opt(pullPolicy('Pull policy used to check the images.', 'IfNotPresent')),
  pushBuiltImage: opt(bool({ description: 'Push images that are built.' })),
  imageRebuildTriggerGeneration: opt(int64({ description: 'Copied from the Module.' })),
  tolerations: opt(arr(Toleration, { description: 'Tolerations of the image check pods.' })),
});
export type ModuleImagesConfigSpec = Static<typeof ModuleImagesConfigSpec>;

export const ModuleImageState = obj({
  image: str({ description: 'The image.' }),
  status: enumOf(IMAGE_STATES, { description: 'What is known about it.' }),
});
export type ModuleImageState = Static<typeof ModuleImageState>;

export const ModuleImagesConfigStatus = obj({
  imagesStates: arr(ModuleImageState, { description: 'State of each image.' }),
});
export type ModuleImagesConfigStatus = Static<typeof ModuleImagesConfigStatus>;

const ModuleImagesConfigSchema = objectSchema(
  { spec: ModuleImagesConfigSpec, status: opt(ModuleImagesConfigStatus) },
  'The images a Module needs (one per kernel in use) and whether each exists or must be built or signed.',
);
export type ModuleImagesConfig = Static<typeof ModuleImagesConfigSchema>;

export const ModuleImagesConfigResource: ResourceDef = {
  group: KMM_GROUP,
  kind: 'ModuleImagesConfig',
  plural: 'moduleimagesconfigs',
  shortNames: ['mic'],
  categories: ['kmm'],
  scope: 'Namespaced',
  status: true,
  versions: [
    {
      name: KMM_VERSION,
      storage: true,
      schema: ModuleImagesConfigSchema,
      printerColumns: [
        {
          name: 'Not Ready',
          type: 'string',
          jsonPath: '.status.imagesStates[?(@.status!="Exists")].image',
          description: 'The first image that does not exist yet (empty when all do).',
        },
        {
          name: 'State',
          type: 'string',
          jsonPath: '.status.imagesStates[?(@.status!="Exists")].status',
          description: 'Its state.',
        },
        { name: 'First Image', type: 'string', jsonPath: '.spec.images[0].image', priority: 1 },
      ],
    },
  ],
};

export const BUILD_SIGN_ACTIONS = ['BuildImage', 'SignImage'] as const;
export type BuildOrSignAction = (typeof BUILD_SIGN_ACTIONS)[number];

export const ModuleBuildSignSpec = obj(
  { ...moduleImage, action: enumOf(BUILD_SIGN_ACTIONS, { description: 'What to do.' }) },
  { description: 'An image to build or sign.' },
);
export type ModuleBuildSignSpec = Static<typeof ModuleBuildSignSpec>;

export const ModuleBuildSignConfigSpec = obj({
  images: arr(ModuleBuildSignSpec, { description: 'Images to build or sign.' }),
  imageRepoSecret: opt(describedAs(LocalObjectReference, 'Pull and push secret.')),
  pushBuiltImage: opt(bool({ description: 'Push the results.' })),
});
export type ModuleBuildSignConfigSpec = Static<typeof ModuleBuildSignConfigSpec>;

export const BuildSignImageState = obj({
  image: str({ description: 'The image.' }),
  status: enumOf(['Success', 'Failure'], { description: 'Result.' }),
  action: enumOf(BUILD_SIGN_ACTIONS, { description: 'What was done.' }),
});
export type BuildSignImageState = Static<typeof BuildSignImageState>;

const ModuleBuildSignConfigSchema = objectSchema(
  {
    spec: ModuleBuildSignConfigSpec,
    status: opt(obj({ images: arr(BuildSignImageState, { description: 'Results.' }) })),
  },
  'Builds and signs requested for a Module, and their results.',
);
export type ModuleBuildSignConfig = Static<typeof ModuleBuildSignConfigSchema>;

export const ModuleBuildSignConfigResource: ResourceDef = {
  group: KMM_GROUP,
  kind: 'ModuleBuildSignConfig',
  plural: 'modulebuildsignconfigs',
  shortNames: ['mbsc'],
  categories: ['kmm'],
  scope: 'Namespaced',
  status: true,
  versions: [
    {
      name: KMM_VERSION,
      storage: true,
      schema: ModuleBuildSignConfigSchema,
      printerColumns: [
        { name: 'First Image', type: 'string', jsonPath: '.spec.images[0].image' },
        { name: 'Action', type: 'string', jsonPath: '.spec.images[0].action' },
        {
          name: 'Failed',
          type: 'string',
          jsonPath: '.status.images[?(@.status=="Failure")].image',
          description: 'The first image whose build or sign failed.',
        },
      ],
    },
  ],
};

// ---------------------------------------------------------------------------------------------
// Preflight validation

export const kernelVersionField = (description: string) =>
  str({
    minLength: 1,
    // `uname -r` has at most 64 characters; this also bounds the cost of the message below.
    maxLength: 64,
    description,
    validations: [
      {
        rule: "self.matches('[.,-].*[.,-]')",
        message:
          'must be a kernel release with at least three fields X.Y.Z separated by ".", "," or ' +
          '"-", as uname -r prints it, e.g. 5.14.0-284.30.1.el9_2.x86_64',
        messageExpression:
          `'"' + self + '" is not a kernel release: it needs at least three fields X.Y.Z ` +
          'separated by ".", "," or "-", as uname -r prints it, e.g. ' +
          "5.14.0-284.30.1.el9_2.x86_64'",
        // Forbidden, not Invalid: the apiserver would print the schema type ("string") as the
        // invalid value before the message; the message quotes the real one.
        reason: 'FieldValueForbidden',
      },
    ],
  });

export const PreflightValidationModuleStatus = obj({
  name: str({ description: 'Module name.' }),
  namespace: str({ description: 'Module namespace.' }),
  verificationStatus: enumOf(['Success', 'Failure', 'InProgress'], {
    description: 'Whether the Module can be loaded on the kernel.',
  }),
  verificationStage: enumOf(['Image', 'Done'], { description: 'Stage of the check.' }),
  statusReason: opt(str({ description: 'Why, in words.' })),
  lastTransitionTime: time({ description: 'When verificationStatus last changed.' }),
});
export type PreflightValidationModuleStatus = Static<typeof PreflightValidationModuleStatus>;

export const PreflightValidationStatus = obj({
  modules: opt(
    arr(PreflightValidationModuleStatus, { ...byModule, description: 'Result per Module.' }),
  ),
});
export type PreflightValidationStatus = Static<typeof PreflightValidationStatus>;

const pushBuiltImage = opt(
  bool({ description: 'Push images built during the check to their containerImage.' }),
);

export const PreflightValidationSpec = obj({
  kernelVersion: kernelVersionField('The kernel every Module is checked against.'),
  pushBuiltImage,
});
export type PreflightValidationSpec = Static<typeof PreflightValidationSpec>;

const PreflightValidationSchema = objectSchema(
  { spec: PreflightValidationSpec, status: opt(PreflightValidationStatus) },
  'Checks that every Module could be loaded on a future kernel before the cluster is upgraded.',
);
export type PreflightValidation = Static<typeof PreflightValidationSchema>;

// Printer columns show one value, so the lists are shown by their first problem.
const preflightColumns: PrinterColumn[] = [
  { name: 'Kernel', type: 'string', jsonPath: '.spec.kernelVersion' },
  {
    name: 'Failed',
    type: 'string',
    jsonPath: '.status.modules[?(@.verificationStatus=="Failure")].name',
    description: 'The first Module that cannot be loaded on the kernel.',
  },
  {
    name: 'In Progress',
    type: 'string',
    jsonPath: '.status.modules[?(@.verificationStatus=="InProgress")].name',
    description: 'The first Module still being checked.',
  },
];

export const PreflightValidationResource: ResourceDef = {
  group: KMM_GROUP,
  kind: 'PreflightValidation',
  plural: 'preflightvalidations',
  shortNames: ['pfv'],
  categories: ['kmm'],
  scope: 'Cluster',
  status: true,
  versions: [
    {
      name: KMM_VERSION_PREFLIGHT,
      storage: true,
      schema: PreflightValidationSchema,
      printerColumns: preflightColumns,
    },
  ],
};

export const PreflightValidationOCPSpec = obj({
  kernelVersion: kernelVersionField('The kernel every Module is checked against.'),
  dtkImage: opt(
    str({ description: 'Driver Toolkit image of the target release, used for DTK_AUTO.' }),
  ),
  pushBuiltImage,
});
export type PreflightValidationOCPSpec = Static<typeof PreflightValidationOCPSpec>;

const PreflightValidationOCPSchema = objectSchema(
  { spec: PreflightValidationOCPSpec, status: opt(PreflightValidationStatus) },
  'A PreflightValidation for an OpenShift release: also gives the Driver Toolkit image of that release.',
);
export type PreflightValidationOCP = Static<typeof PreflightValidationOCPSchema>;

export const PreflightValidationOCPResource: ResourceDef = {
  group: KMM_GROUP,
  kind: 'PreflightValidationOCP',
  plural: 'preflightvalidationsocp',
  singular: 'preflightvalidationocp',
  shortNames: ['pfvo'],
  categories: ['kmm'],
  scope: 'Cluster',
  status: true,
  versions: [
    {
      name: KMM_VERSION_PREFLIGHT,
      storage: true,
      schema: PreflightValidationOCPSchema,
      printerColumns: [
        ...preflightColumns,
        { name: 'DTK', type: 'string', jsonPath: '.spec.dtkImage', priority: 1 },
      ],
    },
  ],
};

// ---------------------------------------------------------------------------------------------
// ManagedClusterModule (hub)

export const ManagedClusterModuleSpec = obj({
  moduleSpec: describedAs(
    ModuleSpec,
    'The Module to create on each selected cluster; its selector picks nodes there.',
  ),
  spokeNamespace: str({
    minLength: 1,
    description: 'Namespace of the Module on the spoke clusters.',
  }),
  selector: stringMap({ description: 'Labels of the ManagedCluster objects to deploy to.' }),
});
export type ManagedClusterModuleSpec = Static<typeof ManagedClusterModuleSpec>;

export const ManagedClusterModuleStatus = obj({
  numberDesired: opt(int32({ description: 'Clusters selected.' })),
  numberApplied: opt(int32({ description: 'Clusters where the ManifestWork is applied.' })),
  numberDegraded: opt(int32({ description: 'Clusters where it failed.' })),
});
export type ManagedClusterModuleStatus = Static<typeof ManagedClusterModuleStatus>;

const ManagedClusterModuleSchema = objectSchema(
  { spec: ManagedClusterModuleSpec, status: opt(ManagedClusterModuleStatus) },
  'A Module deployed from the hub to the selected managed clusters; images are built and signed on the hub.',
);
export type ManagedClusterModule = Static<typeof ManagedClusterModuleSchema>;

export const ManagedClusterModuleResource: ResourceDef = {
  group: KMM_HUB_GROUP,
  kind: 'ManagedClusterModule',
  plural: 'managedclustermodules',
  shortNames: ['mcm'],
  categories: ['kmm'],
  scope: 'Cluster',
  status: true,
  versions: [
    {
      name: KMM_HUB_VERSION,
      storage: true,
      schema: ManagedClusterModuleSchema,
      printerColumns: [
        { name: 'Namespace', type: 'string', jsonPath: '.spec.spokeNamespace' },
        { name: 'Desired', type: 'integer', jsonPath: '.status.numberDesired' },
        { name: 'Applied', type: 'integer', jsonPath: '.status.numberApplied' },
        { name: 'Degraded', type: 'integer', jsonPath: '.status.numberDegraded' },
      ],
    },
  ],
};
