/**
 * The OLM bundles of the two operators (registry+v1 format), rendered from config/ and
 * examples/: a ClusterServiceVersion whose install strategy holds the operator Deployment and
 * its RBAC exactly as config/ has them, the CRDs the operator owns, the Services and ConfigMap
 * of config/, and metadata/annotations.yaml. The result is a map of path → text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { PACKAGE_ROOT, VERSION } from '../src/version.js';

type Obj = Record<string, unknown>;
interface K8sObject extends Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> } & Obj;
}

const read = (rel: string): K8sObject[] =>
  parseAllDocuments(readFileSync(join(PACKAGE_ROOT, rel), 'utf8'))
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => !!o && typeof o.kind === 'string');

const IMAGE_NAME = 'quay.io/hwe/hwe';
const image = `${IMAGE_NAME}:${VERSION}`;

/** The image placeholder `hwe` of config/, as config/images sets it. */
function setImages(o: unknown): unknown {
  if (Array.isArray(o)) return o.map(setImages);
  if (o && typeof o === 'object') {
    const out: Obj = {};
    for (const [k, v] of Object.entries(o as Obj)) {
      out[k] = (k === 'image' || k === 'value') && v === 'hwe' ? image : setImages(v);
    }
    return out;
  }
  return o;
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

/** Rules bound to each ServiceAccount: cluster-wide (ClusterRoleBinding) and in its namespace. */
function rulesBySa(objs: K8sObject[]): {
  cluster: Map<string, Rule[]>;
  namespaced: Map<string, Rule[]>;
} {
  const roles = new Map<string, Rule[]>();
  for (const o of objs) {
    if (o.kind === 'ClusterRole' || o.kind === 'Role')
      roles.set(`${o.kind}/${o.metadata.name}`, (o.rules as Rule[] | undefined) ?? []);
  }
  const cluster = new Map<string, Rule[]>();
  const namespaced = new Map<string, Rule[]>();
  for (const o of objs) {
    if (o.kind !== 'ClusterRoleBinding' && o.kind !== 'RoleBinding') continue;
    const ref = o.roleRef as { kind: string; name: string };
    const rules = roles.get(`${ref.kind}/${ref.name}`) ?? [];
    const target = o.kind === 'ClusterRoleBinding' ? cluster : namespaced;
    for (const s of (o.subjects as { name: string }[] | undefined) ?? []) {
      target.set(s.name, [...(target.get(s.name) ?? []), ...rules]);
    }
  }
  return { cluster, namespaced };
}

interface OwnedCrd {
  file: string;
  displayName: string;
  description: string;
}

interface BundleSpec {
  dir: string;
  packageName: string;
  displayName: string;
  description: string;
  keywords: string[];
  namespace: string;
  /** config/ files: RBAC, Deployments, Services, ConfigMaps. */
  configFiles: string[];
  /**
   * Objects installed as written (the metrics-reader ClusterRole and its binding to the
   * cluster's Prometheus, whose ServiceAccount is not the operator's to create).
   */
  asIs: string[];
  owned: OwnedCrd[];
  examples: string[];
  /** Examples of the kinds examples/ has none of (the validator wants one per owned API). */
  inlineExamples: Obj[];
  /** Kinds the operator writes itself, hidden from consoles' "create" forms. */
  internal: string[];
  /** The webhook Deployment, served with OLM's certificates. */
  webhook?: { deployment: string; container: string; manifests: string };
}

const CRD = (file: string, displayName: string, description: string): OwnedCrd => ({
  file: `config/crd/bases/${file}`,
  displayName,
  description,
});

const BUNDLES: BundleSpec[] = [
  {
    dir: 'bundle/kmm',
    packageName: 'kernel-module-management',
    displayName: 'Kernel Module Management (hwe)',
    description:
      'Loads out-of-tree kernel modules and device plugins on the nodes that need them, for every ' +
      'kernel the cluster runs: checks, builds and signs module images, loads and unloads them ' +
      'with short-lived worker pods, and labels the nodes where a module is ready. Reads the ' +
      'kmm.sigs.x-k8s.io resources of upstream Kernel Module Management unchanged.',
    keywords: ['kernel', 'kmod', 'driver', 'secure boot', 'device plugin'],
    namespace: 'openshift-kmm',
    configFiles: [
      'config/kmm/rbac.yaml',
      'config/kmm/manager-config.yaml',
      'config/kmm/manager.yaml',
      'config/kmm/service.yaml',
      'config/webhook/rbac.yaml',
      'config/webhook/deployment.yaml',
    ],
    asIs: ['config/kmm/metrics-reader.yaml'],
    owned: [
      CRD(
        'kmm.sigs.x-k8s.io_modules.yaml',
        'Module',
        'A kernel module: which nodes need it, the image per kernel, how to build and sign it, an optional device plugin.',
      ),
      CRD(
        'kmm.sigs.x-k8s.io_nodemodulesconfigs.yaml',
        'Node Modules Config',
        'What one node should have loaded and what it has; written by the operator.',
      ),
      CRD(
        'kmm.sigs.x-k8s.io_moduleimagesconfigs.yaml',
        'Module Images Config',
        'The images a Module needs and whether they exist; written by the operator.',
      ),
      CRD(
        'kmm.sigs.x-k8s.io_modulebuildsignconfigs.yaml',
        'Module Build Sign Config',
        'Builds and signing runs of module images; written by the operator.',
      ),
      CRD(
        'kmm.sigs.x-k8s.io_preflightvalidations.yaml',
        'Preflight Validation',
        'Checks that every Module has an image for a given kernel before a cluster upgrade.',
      ),
      CRD(
        'kmm.sigs.x-k8s.io_preflightvalidationsocp.yaml',
        'Preflight Validation OCP',
        'The same check for the kernel of an OpenShift release payload.',
      ),
    ],
    examples: ['examples/kmm/module.yaml'],
    inlineExamples: [
      {
        apiVersion: 'kmm.sigs.x-k8s.io/v1beta2',
        kind: 'PreflightValidation',
        metadata: { name: 'preflight' },
        spec: { kernelVersion: '5.14.0-427.13.1.el9_4.x86_64', pushBuiltImage: false },
      },
      {
        apiVersion: 'kmm.sigs.x-k8s.io/v1beta2',
        kind: 'PreflightValidationOCP',
        metadata: { name: 'preflight-ocp' },
        spec: { kernelVersion: '5.14.0-427.13.1.el9_4.x86_64', pushBuiltImage: false },
      },
      {
        apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
        kind: 'NodeModulesConfig',
        metadata: { name: 'worker-0' },
        spec: {
          modules: [
            {
              name: 'my-kmod',
              namespace: 'default',
              serviceAccountName: 'default',
              config: {
                kernelVersion: '5.14.0-427.13.1.el9_4.x86_64',
                containerImage: 'some.registry/org/my-kmod:5.14.0-427.13.1.el9_4.x86_64',
                insecurePull: false,
                modprobe: { moduleName: 'my_kmod', dirName: '/opt' },
              },
            },
          ],
        },
      },
      {
        apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
        kind: 'ModuleImagesConfig',
        metadata: { name: 'my-kmod' },
        spec: {
          images: [
            {
              image: 'some.registry/org/my-kmod:5.14.0-427.13.1.el9_4.x86_64',
              kernelVersion: '5.14.0-427.13.1.el9_4.x86_64',
            },
          ],
        },
      },
      {
        apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
        kind: 'ModuleBuildSignConfig',
        metadata: { name: 'my-kmod' },
        spec: {
          images: [
            {
              image: 'some.registry/org/my-kmod:5.14.0-427.13.1.el9_4.x86_64',
              kernelVersion: '5.14.0-427.13.1.el9_4.x86_64',
              action: 'BuildImage',
              build: { dockerfileConfigMap: { name: 'my-kmod-dockerfile' } },
            },
          ],
        },
      },
    ],
    internal: ['nodemodulesconfigs', 'moduleimagesconfigs', 'modulebuildsignconfigs'],
    webhook: {
      deployment: 'kmm-operator-webhook-server',
      container: 'webhook-server',
      manifests: 'config/webhook/manifests.yaml',
    },
  },
  {
    dir: 'bundle/nfd',
    packageName: 'nfd',
    displayName: 'Node Feature Discovery (hwe)',
    description:
      'Detects the hardware and system features of every node and labels the nodes with them ' +
      '(nfd-worker, nfd-master, nfd-gc, nfd-topology-updater), driven by NodeFeatureDiscovery ' +
      'and NodeFeatureRule objects. Reads the resources of upstream Node Feature Discovery and of ' +
      'the OpenShift NFD operator unchanged.',
    keywords: ['node feature discovery', 'labels', 'hardware', 'pci', 'numa'],
    namespace: 'openshift-nfd',
    configFiles: ['config/nfd/rbac.yaml', 'config/nfd/manager.yaml', 'config/nfd/service.yaml'],
    asIs: ['config/nfd/metrics-reader.yaml'],
    owned: [
      CRD(
        'nfd.openshift.io_nodefeaturediscoveries.yaml',
        'Node Feature Discovery',
        'An NFD installation: operand image, worker and master configuration, topology updater.',
      ),
      CRD(
        'nfd.openshift.io_nodefeaturerules.yaml',
        'Node Feature Rule (OpenShift)',
        'Rules that turn node features into labels, annotations, taints and extended resources.',
      ),
      CRD(
        'nfd.k8s-sigs.io_nodefeaturerules.yaml',
        'Node Feature Rule',
        'Rules that turn node features into labels, annotations, taints and extended resources.',
      ),
      CRD(
        'nfd.k8s-sigs.io_nodefeatures.yaml',
        'Node Feature',
        'The features nfd-worker found on one node (or features given by hand).',
      ),
      CRD(
        'nfd.k8s-sigs.io_nodefeaturegroups.yaml',
        'Node Feature Group',
        'The nodes that match a set of feature rules.',
      ),
      CRD(
        'topology.node.k8s.io_noderesourcetopologies.yaml',
        'Node Resource Topology',
        'NUMA zones and their free resources, per node; written by nfd-topology-updater.',
      ),
    ],
    examples: [
      'examples/nfd/nodefeaturediscovery.yaml',
      'examples/nfd/nodefeaturerule.yaml',
      'examples/nfd/nodefeaturerule-upstream.yaml',
    ],
    inlineExamples: [
      {
        apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
        kind: 'NodeFeature',
        metadata: {
          name: 'worker-0-extra',
          labels: { 'nfd.node.kubernetes.io/node-name': 'worker-0' },
        },
        spec: { labels: { 'example.com/accelerator': 'true' } },
      },
      {
        apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
        kind: 'NodeFeatureGroup',
        metadata: { name: 'intel-nics' },
        spec: {
          featureGroupRules: [
            {
              name: 'intel-nic',
              matchFeatures: [
                {
                  feature: 'pci.device',
                  matchExpressions: {
                    vendor: { op: 'In', value: ['8086'] },
                    class: { op: 'In', value: ['0200'] },
                  },
                },
              ],
            },
          ],
        },
      },
      {
        apiVersion: 'topology.node.k8s.io/v1alpha2',
        kind: 'NodeResourceTopology',
        metadata: { name: 'worker-0' },
        attributes: [{ name: 'topologyManagerPolicy', value: 'single-numa-node' }],
        zones: [
          {
            name: 'node-0',
            type: 'Node',
            resources: [{ name: 'cpu', capacity: '32', allocatable: '30', available: '12' }],
          },
        ],
      },
    ],
    internal: ['nodefeatures'],
  },
];

/** A chip on a board: hwe's mark. */
const ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">' +
  '<rect x="4" y="4" width="56" height="56" rx="8" fill="#1f4e79"/>' +
  '<rect x="18" y="18" width="28" height="28" rx="3" fill="#f2c14e"/>' +
  '<path d="M24 10v8M32 10v8M40 10v8M24 46v8M32 46v8M40 46v8M10 24h8M10 32h8M10 40h8M46 24h8M46 32h8M46 40h8" stroke="#f2c14e" stroke-width="3"/>' +
  '</svg>';

const yaml = (o: unknown) => stringify(o, { lineWidth: 0 });

/** `modules.kmm.sigs.x-k8s.io` → `kmm.sigs.x-k8s.io_modules.yaml`, as config/crd names them. */
function crdFileName(crd: K8sObject): string {
  const [plural, ...group] = crd.metadata.name.split('.');
  return `${group.join('.')}_${plural}.yaml`;
}

/** Under OLM, the webhook serves the certificate OLM mounts, and needs no rights for its own. */
function olmWebhookArgs(args: string[]): string[] {
  const dropped = ['--cert-dir=', '--dns-name=', '--secret-name=', '--webhook-config-name='];
  return [
    ...args.filter((a) => !dropped.some((d) => a.startsWith(d))),
    '--cert-file=/tmp/k8s-webhook-server/serving-certs/tls.crt',
    '--key-file=/tmp/k8s-webhook-server/serving-certs/tls.key',
  ];
}

function renderBundle(b: BundleSpec): Map<string, string> {
  const files = new Map<string, string>();
  const objs = b.configFiles.flatMap(read).map((o) => setImages(o) as K8sObject);
  const webhookSa = b.webhook ? 'kmm-operator-webhook' : undefined;
  const { cluster, namespaced } = rulesBySa(objs);
  // OLM issues and rotates the webhook's certificate: its Secret and configuration rights go.
  if (webhookSa) {
    namespaced.delete(webhookSa);
    cluster.set(
      webhookSa,
      (cluster.get(webhookSa) ?? []).filter(
        (r) => !r.resources?.includes('validatingwebhookconfigurations'),
      ),
    );
  }
  const deployments = objs
    .filter((o) => o.kind === 'Deployment')
    .map((d) => {
      const spec = structuredClone(d.spec) as {
        template: {
          spec: { containers: { name: string; args?: string[] }[]; volumes?: unknown[] } & Obj;
        };
      };
      if (b.webhook && d.metadata.name === b.webhook.deployment) {
        const c = spec.template.spec.containers.find((x) => x.name === b.webhook!.container)!;
        c.args = olmWebhookArgs(c.args ?? []);
      }
      return { name: d.metadata.name, label: d.metadata.labels ?? {}, spec };
    });
  const relatedImages = new Map<string, string>();
  for (const d of objs.filter((o) => o.kind === 'Deployment')) {
    const spec = d.spec as {
      template: {
        spec: { containers: { image: string; env?: { name: string; value?: string }[] }[] };
      };
    };
    for (const c of spec.template.spec.containers) {
      relatedImages.set('hwe', c.image);
      for (const e of c.env ?? []) {
        if (e.value && /^(RELATED_IMAGE_|RELATED_IMAGES_)|_IMAGE$/.test(e.name))
          relatedImages.set(
            e.name
              .replace(/^RELATED_IMAGES?_/, '')
              .toLowerCase()
              .replace(/_/g, '-'),
            e.value,
          );
      }
    }
  }
  const crds = b.owned.map((c) => ({ ...c, crd: read(c.file)[0]! }));
  const examples = [...b.examples.flatMap(read), ...(b.inlineExamples as K8sObject[])].map((e) => {
    const { namespace: _ns, ...metadata } = e.metadata;
    return { ...e, metadata };
  });
  const internal = crds
    .filter(({ crd }) => b.internal.includes(crd.metadata.name.split('.')[0]!))
    .map(({ crd }) => crd.metadata.name);
  const csvName = `${b.packageName}.v${VERSION}`;
  const webhookDefinitions = b.webhook
    ? (read(b.webhook.manifests)[0]!.webhooks as Obj[]).map((w) => {
        const cc = w.clientConfig as { service: { path: string } };
        return {
          type: 'ValidatingAdmissionWebhook',
          generateName: w.name,
          deploymentName: b.webhook!.deployment,
          containerPort: 443,
          targetPort: 9443,
          webhookPath: cc.service.path,
          admissionReviewVersions: w.admissionReviewVersions,
          sideEffects: w.sideEffects,
          failurePolicy: w.failurePolicy,
          timeoutSeconds: w.timeoutSeconds,
          rules: w.rules,
        };
      })
    : undefined;

  const csv = {
    apiVersion: 'operators.coreos.com/v1alpha1',
    kind: 'ClusterServiceVersion',
    metadata: {
      name: csvName,
      namespace: 'placeholder',
      annotations: {
        'alm-examples': JSON.stringify(examples, null, 2),
        capabilities: 'Seamless Upgrades',
        categories: 'OpenShift Optional',
        containerImage: image,
        description: b.description.split('. ')[0] + '.',
        'operatorframework.io/suggested-namespace': b.namespace,
        'operators.operatorframework.io/internal-objects': JSON.stringify(internal),
        'operators.openshift.io/infrastructure-features': '["disconnected"]',
        support: 'hwe',
      },
    },
    spec: {
      displayName: b.displayName,
      description: b.description,
      version: VERSION,
      maturity: 'alpha',
      minKubeVersion: '1.25.0',
      keywords: b.keywords,
      icon: [{ base64data: Buffer.from(ICON).toString('base64'), mediatype: 'image/svg+xml' }],
      provider: { name: 'hwe' },
      installModes: [
        { type: 'OwnNamespace', supported: true },
        { type: 'SingleNamespace', supported: false },
        { type: 'MultiNamespace', supported: false },
        { type: 'AllNamespaces', supported: true },
      ],
      install: {
        strategy: 'deployment',
        spec: {
          clusterPermissions: [...cluster].map(([serviceAccountName, rules]) => ({
            serviceAccountName,
            rules,
          })),
          permissions: [...namespaced].map(([serviceAccountName, rules]) => ({
            serviceAccountName,
            rules,
          })),
          deployments,
        },
      },
      customresourcedefinitions: {
        owned: crds.map(({ crd, displayName, description }) => {
          const spec = crd.spec as {
            names: { kind: string };
            versions: { name: string; storage: boolean }[];
          };
          return {
            name: crd.metadata.name,
            kind: spec.names.kind,
            version: spec.versions.find((v) => v.storage)!.name,
            displayName,
            description,
          };
        }),
      },
      ...(webhookDefinitions ? { webhookdefinitions: webhookDefinitions } : {}),
      relatedImages: [...relatedImages].map(([name, img]) => ({ name, image: img })),
    },
  };
  files.set(`${b.dir}/manifests/${b.packageName}.clusterserviceversion.yaml`, yaml(csv));
  for (const { crd } of crds) files.set(`${b.dir}/manifests/${crdFileName(crd)}`, yaml(crd));
  // Objects OLM installs as they are: Services, ConfigMaps and the asIs objects. OLM creates the ServiceAccounts
  // of the install strategy itself, and the webhook's Service along with its certificate.
  const asIs = [
    ...objs.filter((o) => ['Service', 'ConfigMap'].includes(o.kind)),
    ...b.asIs.flatMap(read),
  ];
  for (const o of asIs) {
    const { namespace: _ns, ...metadata } = o.metadata;
    files.set(
      `${b.dir}/manifests/${o.metadata.name}_${o.apiVersion.replace(/\//g, '_')}_${o.kind.toLowerCase()}.yaml`,
      yaml({ ...o, metadata }),
    );
  }
  const annotations = {
    'operators.operatorframework.io.bundle.mediatype.v1': 'registry+v1',
    'operators.operatorframework.io.bundle.manifests.v1': 'manifests/',
    'operators.operatorframework.io.bundle.metadata.v1': 'metadata/',
    'operators.operatorframework.io.bundle.package.v1': b.packageName,
    'operators.operatorframework.io.bundle.channels.v1': 'stable',
    'operators.operatorframework.io.bundle.channel.default.v1': 'stable',
  };
  files.set(`${b.dir}/metadata/annotations.yaml`, yaml({ annotations }));
  files.set(
    `${b.dir}/bundle.Dockerfile`,
    [
      'FROM scratch',
      ...Object.entries(annotations).map(([k, v]) => `LABEL ${k}=${v}`),
      'COPY manifests /manifests/',
      'COPY metadata /metadata/',
      '',
    ].join('\n'),
  );
  return files;
}

export function renderBundles(): Map<string, string> {
  const header = '# Generated from config/ and examples/ by `npm run gen:bundles`. Do not edit.\n';
  const out = new Map<string, string>();
  for (const b of BUNDLES) {
    for (const [path, text] of renderBundle(b)) {
      out.set(path, path.endsWith('.yaml') ? header + text : text);
    }
  }
  return out;
}
