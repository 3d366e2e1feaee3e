/** The KMM operator's controllers as the integration tests run them: in process, test images. */
import { type ImageControllersOptions, setupImageControllers } from '../../src/kmm/images/index.js';
import {
  defaultConfig,
  type KmmOperatorOptions,
  setupKmmControllers,
} from '../../src/kmm/operator/index.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import assert from 'node:assert/strict';
import type { Pod } from '../../src/kmm/build/index.js';
import {
  Manager,
  silentLogger,
  type KubeClient,
  type KubeObject,
  type Logger,
  type ResourceClient,
} from '../../src/runtime/index.js';
import { parse } from 'yaml';
import { PACKAGE_ROOT } from '../../src/version.js';
import { type CliResult, runHwe } from './cli.js';

/** The operator's Deployment, whose memory settings the bench and tests start the operator with. */
export const OPERATOR_MANIFEST = 'config/kmm/manager.yaml';

/** NODE_OPTIONS and MALLOC_ARENA_MAX as the operator's Deployment sets them. */
export function operatorManifestMemoryEnv(): Record<string, string> {
  const doc = parse(readFileSync(join(PACKAGE_ROOT, OPERATOR_MANIFEST), 'utf8')) as {
    spec: {
      template: {
        spec: { containers: { name: string; env?: { name: string; value?: string }[] }[] };
      };
    };
  };
  const manager = doc.spec.template.spec.containers.find((c) => c.name === 'manager');
  const env: Record<string, string> = {};
  for (const e of manager?.env ?? []) {
    if ((e.name === 'NODE_OPTIONS' || e.name === 'MALLOC_ARENA_MAX') && e.value !== undefined) {
      env[e.name] = e.value;
    }
  }
  return env;
}

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
    images?: Pick<ImageControllersOptions, 'dtkImageStream' | 'retryMs'>;
    log?: Logger;
  },
): Promise<Manager> {
  const mgr = new Manager({ client, name: o.name, log: o.log ?? silentLogger });
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
export async function finishPodAsKubelet(
  pods: ResourceClient<Pod>,
  pod: Pod,
  ok: boolean,
  message = '',
): Promise<void> {
  const c = pod.spec.containers[0]!;
  await pods.patchStatus(
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
    { namespace: pod.metadata.namespace },
  );
}

/**
 * Runs what a signing pod runs: its container's arguments, with every Secret volume written
 * to <root><mountPath>/<key> (a temporary root under `work`) and the mount paths in the
 * arguments pointed there. `env` is added to the program's environment (HWE_LOG_LEVEL…).
 */
export async function runSignPodProgram(
  secrets: ResourceClient<KubeObject>,
  pod: Pod,
  work: string,
  env?: NodeJS.ProcessEnv,
): Promise<CliResult> {
  const root = mkdtempSync(join(work, 'pod-'));
  const c = pod.spec.containers[0]!;
  let args = c.args ?? [];
  for (const m of c.volumeMounts ?? []) {
    const v = pod.spec.volumes?.find((x) => x.name === m.name);
    assert.ok(v?.secret, `volume ${m.name} is a Secret volume`);
    const s = (await secrets.get(v.secret.secretName, pod.metadata.namespace)) as KubeObject & {
      data: Record<string, string>;
    };
    for (const item of v.secret.items ?? Object.keys(s.data).map((k) => ({ key: k, path: k }))) {
      const file = join(root, m.mountPath, item.path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, Buffer.from(s.data[item.key]!, 'base64'));
    }
    args = args.map((a) => a.replace(m.mountPath, join(root, m.mountPath)));
  }
  assert.deepEqual(c.command, ['hwe']);
  const r = await runHwe(args, { env });
  rmSync(root, { recursive: true, force: true });
  return r;
}
