/**
 * A sample controller used by the runtime's tests: every ConfigMap labelled
 * hwe.test/mirror=SET gets a controlled copy NAME-mirror (labelled hwe.test/mirror-of=SET). A
 * finalizer removes the copy when the source is deleted; the annotation hwe.test/fail makes
 * the reconcile throw.
 */
import {
  addFinalizer,
  ConfigMaps,
  createOrPatch,
  removeFinalizer,
  setControllerReference,
  type Controller,
  type KubeObject,
  type Manager,
  type ReconcileContext,
  type Request,
} from '../../../src/runtime/index.js';

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

export const SOURCE_LABEL = 'hwe.test/mirror';
const MIRROR_LABEL = 'hwe.test/mirror-of';
export const FAIL_ANNOTATION = 'hwe.test/fail';
export const FINALIZER = 'hwe.test/mirror-cleanup';

export const mirrorName = (source: string) => `${source}-mirror`;

export interface SampleHooks {
  /** Called at the start of each reconcile, before anything else. */
  started?(req: Request, ctx: ReconcileContext): void;
  /** Called when a reconcile ends, however it ends. */
  finished?(req: Request): void;
}

export function mirrorController(
  mgr: Manager,
  set: string,
  hooks: SampleHooks = {},
  workers = 4,
): Controller {
  const api = mgr.api<ConfigMap>(ConfigMaps);
  const sources = mgr.informers.informer<ConfigMap>(ConfigMaps, {
    labelSelector: `${SOURCE_LABEL}=${set}`,
  });
  return mgr
    .controller(`mirror-${set}`)
    .for(ConfigMaps, { informer: { labelSelector: `${SOURCE_LABEL}=${set}` } })
    .owns(ConfigMaps, { informer: { labelSelector: `${MIRROR_LABEL}=${set}` } })
    .workers(workers)
    .complete(async (req, ctx) => {
      hooks.started?.(req, ctx);
      try {
        const src = sources.getByName(req.name, req.namespace);
        if (!src) return;
        if (src.metadata.deletionTimestamp) {
          await api.deleteIfExists(mirrorName(req.name), { namespace: req.namespace });
          await removeFinalizer(api, src, FINALIZER);
          return;
        }
        const withFinalizer = await addFinalizer(api, src, FINALIZER);
        if (src.metadata.annotations?.[FAIL_ANNOTATION]) {
          throw new Error(`source ${req.name} asks to fail`);
        }
        await createOrPatch(
          api,
          { metadata: { name: mirrorName(req.name), namespace: req.namespace } },
          (m) => {
            m.metadata.labels = { ...m.metadata.labels, [MIRROR_LABEL]: set };
            m.data = { ...(src.data ?? {}) };
            setControllerReference(m, withFinalizer);
          },
        );
      } finally {
        hooks.finished?.(req);
      }
    });
}
