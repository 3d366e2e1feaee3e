/**
 * PreflightValidation and PreflightValidationOCP controllers: for every Module, can it be
 * loaded on the kernel the cluster is about to run? The verdict per Module comes from
 * verifyModule(); with pushBuiltImage the missing image is built and pushed through a
 * ModuleImagesConfig owned by the preflight object, which the operator's image controllers
 * act on, and its outcome becomes the Module's verdict.
 *
 * Unlike upstream, PreflightValidationOCP is verified directly (with its dtkImage), not through
 * a PreflightValidation created for it: one object to look at, no name collisions.
 */
import { createHash } from 'node:crypto';
import {
  KMM_GROUP,
  KMM_VERSION_PREFLIGHT,
  ModuleImagesConfigs,
  Modules,
  PreflightValidations,
  PreflightValidationsOCP,
  type Module,
  type ModuleImagesConfig,
  type ModuleImageSpec,
  type PreflightValidationModuleStatus,
} from '../../api/index.js';
import { imageExists, openImage, type SecretLike } from '../../oci/index.js';
import {
  ConfigMaps,
  createOrPatch,
  generationChanged,
  isKubeError,
  mapLimit,
  Secrets,
  setControllerReference,
  type KubeObject,
  type Manager,
  type ResourceType,
} from '../../runtime/index.js';
import { LABEL_MODULE_NAME } from '../build/index.js';
import { moduleKey } from '../common/index.js';
import { kernelVersionProblem } from '../validation/index.js';
import { verifyModule, type Verdict, type VerifyDeps } from './verify.js';

export interface PreflightOptions {
  /** Check only the Modules of this namespace (all namespaces when unset). */
  namespace?: string;
  /** Deadline of one registry request (ms) [30 s]. */
  registryTimeoutMs?: number;
  /** When a Failure that may resolve itself (registry down, Secret missing) is checked again [60 s]. */
  recheckMs?: number;
  /** How long a build for pushBuiltImage may go without a result before it is a Failure [1 h]. */
  buildTimeoutMs?: number;
  /** Modules verified at once per preflight object [4]. */
  concurrency?: number;
  /** For tests: the clock. */
  now?: () => Date;
}

interface PreflightObject extends KubeObject {
  spec: { kernelVersion: string; pushBuiltImage?: boolean; dtkImage?: string };
  status?: { modules?: PreflightValidationModuleStatus[] };
}

interface ConfigMapObject extends KubeObject {
  data?: Record<string, string>;
}
interface SecretObject extends KubeObject, SecretLike {
  metadata: KubeObject['metadata'];
}

/** Label on the ModuleImagesConfig objects preflight creates: `<kind>.<name>` of its owner. */
export const LABEL_PREFLIGHT = 'kmm.node.kubernetes.io/preflight';

/** The ModuleImagesConfig a preflight object uses to build one Module's image. */
export function preflightMicName(moduleName: string, kind: string, preflightName: string): string {
  const hash = createHash('sha256').update(`${kind}/${preflightName}`).digest('hex').slice(0, 8);
  return `${moduleName.slice(0, 253 - 20)}-preflight-${hash}`;
}

/** Registers the PreflightValidation and PreflightValidationOCP controllers on a manager. */
export function setupPreflightControllers(mgr: Manager, opts: PreflightOptions = {}): void {
  const now = opts.now ?? (() => new Date());
  const recheckMs = opts.recheckMs ?? 60_000;
  const buildTimeoutMs = opts.buildTimeoutMs ?? 3_600_000;
  const modules = mgr.informers.informer(
    Modules,
    opts.namespace ? { namespace: opts.namespace } : undefined,
  );
  const micRequest = {
    labelSelector: LABEL_PREFLIGHT,
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
  };
  const mics = mgr.informers.informer(ModuleImagesConfigs, micRequest);
  const micApi = mgr.api(ModuleImagesConfigs);
  const configMaps = mgr.api<ConfigMapObject>(ConfigMaps);
  const secrets = mgr.api<SecretObject>(Secrets);

  const deps: VerifyDeps = {
    configMap: async (ns, name) => {
      const cm = await configMaps.find(name, ns);
      return cm ? (cm.data ?? {}) : undefined;
    },
    secret: (ns, name) => secrets.find(name, ns),
    imageExists: async (image, access) => {
      const { ref, client } = openImage(image, {
        ...(access.tls ? { tls: access.tls } : {}),
        pullSecrets: access.pullSecrets,
        timeoutMs: opts.registryTimeoutMs ?? 30_000,
      });
      try {
        return await imageExists(client, ref);
      } finally {
        client.close();
      }
    },
  };

  // Verdicts per (preflight object, Module uid), kept while the Module's generation is the same:
  // a registry is asked once per Module, not on every event.
  const cache = new Map<
    string,
    { owner: string; generation: number; verdict: Verdict; at: number }
  >();

  function setup<T extends PreflightObject>(type: ResourceType<T>, kind: string, name: string) {
    const informer = mgr.informers.informer(type);
    const api = mgr.api(type);
    const all = () => informer.list().map((p) => ({ name: p.metadata.name! }));
    mgr
      .controller(name)
      .for(type)
      .owns(ModuleImagesConfigs, { informer: micRequest })
      .watches(Modules, all, {
        // Status writes by the operator change nothing preflight reads; deletion bumps the
        // generation of an object with finalizers.
        predicates: [generationChanged],
        ...(opts.namespace ? { informer: { namespace: opts.namespace } } : {}),
      })
      .workers(2)
      .complete(async (req, { log }) => {
        const pv = informer.getByName(req.name);
        if (!pv || pv.metadata.deletionTimestamp) {
          for (const k of cache.keys()) if (k.startsWith(`${kind}/${req.name}|`)) cache.delete(k);
          return;
        }
        const owner = { ...pv, apiVersion: `${KMM_GROUP}/${KMM_VERSION_PREFLIGHT}`, kind };
        const uid = pv.metadata.uid!;
        const kernel = pv.spec.kernelVersion;
        const kernelProblem = kernelVersionProblem(kernel ?? '');
        const prev = new Map((pv.status?.modules ?? []).map((s) => [moduleKey(s), s]));
        const live = modules.list().filter((m) => !m.metadata.deletionTimestamp);
        const t = now();

        const verdictFor = async (m: Module): Promise<Verdict> => {
          if (kernelProblem) {
            return {
              status: 'Failure',
              stage: 'Done',
              reason: `spec.kernelVersion ${kernelProblem}`,
            };
          }
          // The preflight uid in the value guards against a deleted and recreated object.
          const key = `${kind}/${req.name}|${m.metadata.uid}`;
          const gen = m.metadata.generation ?? 0;
          const c = cache.get(key);
          const fresh =
            c &&
            c.owner === uid &&
            c.generation === gen &&
            !(c.verdict.recheck && t.getTime() - c.at >= recheckMs);
          let v: Verdict;
          if (fresh) v = c.verdict;
          else {
            v = await verifyModule(
              {
                module: m,
                kernelVersion: kernel,
                pushBuiltImage: pv.spec.pushBuiltImage ?? false,
                ...(pv.spec.dtkImage ? { dtkImage: pv.spec.dtkImage } : {}),
              },
              deps,
            ).catch((e: unknown) => ({
              status: 'Failure' as const,
              stage: 'Done' as const,
              reason: `verification failed: ${(e as Error).message}; checked again in a minute`,
              recheck: true,
            }));
            cache.set(key, { owner: uid, generation: gen, verdict: v, at: t.getTime() });
          }
          if (!v.build) return v;
          return buildVerdict(
            owner,
            m,
            v,
            prev.get(moduleKey({ namespace: m.metadata.namespace!, name: m.metadata.name! })),
            t,
          );
        };

        const results = await mapLimit(live, opts.concurrency ?? 4, async (m) => ({
          m,
          v: await verdictFor(m),
        }));
        // Forget the verdicts of Modules that are gone.
        const liveKeys = new Set(live.map((m) => `${kind}/${req.name}|${m.metadata.uid}`));
        for (const k of cache.keys()) {
          if (k.startsWith(`${kind}/${req.name}|`) && !liveKeys.has(k)) cache.delete(k);
        }
        const statuses: PreflightValidationModuleStatus[] = results
          .map(({ m, v }) => {
            const key = moduleKey({ namespace: m.metadata.namespace!, name: m.metadata.name! });
            const before = prev.get(key);
            return {
              name: m.metadata.name!,
              namespace: m.metadata.namespace!,
              verificationStatus: v.status,
              verificationStage: v.stage,
              statusReason: v.reason,
              lastTransitionTime:
                before && before.verificationStatus === v.status
                  ? before.lastTransitionTime
                  : t.toISOString().replace(/\.\d+Z$/, 'Z'),
            };
          })
          .sort((a, b) => moduleKey(a).localeCompare(moduleKey(b)));
        if (JSON.stringify(statuses) !== JSON.stringify(pv.status?.modules ?? [])) {
          await api.patchStatus(req.name, { status: { modules: statuses } });
          log.info('preflight status', {
            kernel,
            success: statuses.filter((s) => s.verificationStatus === 'Success').length,
            failure: statuses.filter((s) => s.verificationStatus === 'Failure').length,
            inProgress: statuses.filter((s) => s.verificationStatus === 'InProgress').length,
          });
        }
        const vs = results.map((r) => r.v);
        if (vs.some((v) => v.status === 'InProgress')) return { requeueAfter: 10_000 };
        if (vs.some((v) => v.recheck)) return { requeueAfter: recheckMs };
        return;
      });
  }

  /** pushBuiltImage: the build and push go through a ModuleImagesConfig; its outcome decides. */
  async function buildVerdict(
    owner: PreflightObject,
    m: Module,
    v: Verdict,
    before: PreflightValidationModuleStatus | undefined,
    t: Date,
  ): Promise<Verdict> {
    const mapping = v.build!.mapping;
    const ns = m.metadata.namespace!;
    const name = preflightMicName(m.metadata.name!, owner.kind!, owner.metadata.name!);
    const dtk = owner.spec.dtkImage;
    const build = mapping.build && {
      ...mapping.build,
      // The target release's Driver Toolkit: no node runs the kernel yet to look it up by.
      ...(dtk && !(mapping.build.buildArgs ?? []).some((a) => a.name === 'DTK_AUTO')
        ? { buildArgs: [...(mapping.build.buildArgs ?? []), { name: 'DTK_AUTO', value: dtk }] }
        : {}),
    };
    await createOrPatch(
      micApi,
      { metadata: { name, namespace: ns } } as ModuleImagesConfig,
      (mic) => {
        mic.metadata.labels = {
          ...mic.metadata.labels,
          // The image controllers take MOD_NAME from it (preflight's MIC is not named after the
          // Module). Label values hold 63 characters; a longer name falls back to the MIC name.
          ...(m.metadata.name!.length <= 63 ? { [LABEL_MODULE_NAME]: m.metadata.name! } : {}),
          [LABEL_PREFLIGHT]: `${owner.kind}.${owner.metadata.name}`
            .slice(0, 63)
            .replace(/[^A-Za-z0-9]$/, 'x'),
        };
        mic.spec = {
          images: [
            {
              image: mapping.containerImage,
              kernelVersion: mapping.kernelVersion,
              // Preflight only asks for builds of mappings whose build names a ConfigMap.
              ...(build ? { build: build as ModuleImageSpec['build'] } : {}),
              // verifyModule found both signing Secrets before asking for this.
              ...(mapping.sign ? { sign: mapping.sign as ModuleImageSpec['sign'] } : {}),
              registryTLS: mapping.registryTLS,
              ...(mapping.modprobe.dirName ? { dirName: mapping.modprobe.dirName } : {}),
            },
          ],
          ...(m.spec.imageRepoSecret ? { imageRepoSecret: m.spec.imageRepoSecret } : {}),
          pushBuiltImage: true,
          ...(m.spec.tolerations ? { tolerations: m.spec.tolerations } : {}),
        };
        setControllerReference(mic, owner);
      },
    ).catch((e: unknown) => {
      if (!isKubeError(e, 'Conflict')) throw e;
    });
    const mic = mics.getByName(name, ns);
    const state = mic?.status?.imagesStates?.find(
      (s) => s.image === mapping.containerImage,
    )?.status;
    const image = mapping.containerImage;
    if (state === 'Exists') {
      return { status: 'Success', stage: 'Done', reason: `image ${image} was built and pushed` };
    }
    if (state === 'DoesNotExist') {
      return {
        status: 'Failure',
        stage: 'Done',
        reason:
          `building or signing image ${image} failed; see ModuleBuildSignConfig ${ns}/${name} ` +
          'and its pods',
      };
    }
    const since =
      before?.verificationStatus === 'InProgress'
        ? Date.parse(before.lastTransitionTime)
        : t.getTime();
    if (t.getTime() - since >= buildTimeoutMs) {
      return {
        status: 'Failure',
        stage: 'Done',
        reason:
          `no build result for image ${image} after ${Math.round(buildTimeoutMs / 60_000)} ` +
          `minutes (ModuleImagesConfig ${ns}/${name} reports ${state ?? 'nothing'}); the KMM ` +
          "operator's image controllers build images for preflight: check that they run",
      };
    }
    return {
      ...v,
      reason: `${v.reason} (ModuleImagesConfig ${ns}/${name}: ${state ?? 'waiting'})`,
    };
  }

  setup(
    PreflightValidations as ResourceType<PreflightObject>,
    'PreflightValidation',
    'preflightvalidation',
  );
  setup(
    PreflightValidationsOCP as ResourceType<PreflightObject>,
    'PreflightValidationOCP',
    'preflightvalidationocp',
  );
}
