/** The KMM operator's controllers as the integration tests run them: in process, test images. */
import { type ImageControllersOptions, setupImageControllers } from '../../src/kmm/images/index.js';
import {
  defaultConfig,
  type KmmOperatorOptions,
  setupKmmControllers,
} from '../../src/kmm/operator/index.js';
import type { Pod } from '../../src/kmm/build/index.js';
import {
  Manager,
  Pods,
  ResourceClient,
  silentLogger,
  type KubeClient,
  type ResourceType,
} from '../../src/runtime/index.js';

/**
 * A manager (not started) with the Module and node config controllers and the image
 * controllers for `namespace`. Build and sign pods carry `nodeSelector`, which names no node:
 * they stay unscheduled and the test plays their part.
 */
export async function kmmTestManager(
  client: KubeClient,
  o: {
    name: string;
    operatorNamespace: string;
    namespace: string;
    nodeSelector: Record<string, string>;
    retryBaseMs?: KmmOperatorOptions['retryBaseMs'];
    images?: Pick<ImageControllersOptions, 'dtkImageStream' | 'retryMs' | 'buildAndSign'>;
  },
): Promise<Manager> {
  const mgr = new Manager({ client, name: o.name, log: silentLogger });
  setupKmmControllers(mgr, {
    config: defaultConfig(),
    operatorNamespace: o.operatorNamespace,
    workerImage: 'hwe:test',
    ...(o.retryBaseMs !== undefined ? { retryBaseMs: o.retryBaseMs } : {}),
  });
  await setupImageControllers(mgr, {
    namespace: o.namespace,
    signImage: 'registry.example/hwe/hwe:test',
    buildImage: 'registry.example/kaniko/executor:test',
    buildBackend: 'kaniko',
    nodeSelector: o.nodeSelector,
    ...o.images,
  });
  return mgr;
}

/** Reports the end of a build or sign pod as the kubelet would (kwok runs no containers). */
export async function finishPod(client: KubeClient, pod: Pod, ok: boolean, message = '') {
  const c = pod.spec.containers[0]!;
  await new ResourceClient<Pod>(client, Pods as ResourceType<Pod>, 'test').patchStatus(
    pod.metadata.name!,
    {
      status: {
        phase: ok ? 'Succeeded' : 'Failed',
        containerStatuses: [
          {
            name: c.name,
            image: c.image,
            imageID: '',
            ready: false,
            restartCount: 0,
            state: {
              terminated: {
                exitCode: ok ? 0 : 1,
                reason: ok ? 'Completed' : 'Error',
                message,
                finishedAt: new Date().toISOString(),
              },
            },
          },
        ],
      },
    },
    { namespace: pod.metadata.namespace! },
  );
}
