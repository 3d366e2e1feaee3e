import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, onCleanup, testCluster, testNamespace } from '../../support/cluster.js';
import { type HweProcess, runHwe, startHwe } from '../../support/cli.js';
import { installCrds } from '../../../src/api/index.js';
import { ConfigMaps, ResourceClient, type KubeObject } from '../../../src/runtime/index.js';
import {
  CONFIG_KEY,
  CONFIG_MAP_NAME,
  parseOperatorConfig,
} from '../../../src/kmm/operator/index.js';

const cluster = await testCluster();
await installCrds(cluster.client);
const cms = new ResourceClient<KubeObject & { data?: Record<string, string> }>(
  cluster.client,
  ConfigMaps,
  'test',
);

const flags = (ns: string) => [
  'kmm',
  'operator',
  '--kubeconfig',
  cluster.kubeconfig,
  '--namespace',
  ns,
  '--health-probe-bind-address',
  '127.0.0.1:0',
  '--metrics-bind-address',
  '127.0.0.1:0',
];

/** Starts the operator; resolves once it has logged its config, with the log so far. */
function startOperator(ns: string): Promise<HweProcess> {
  const operator = startHwe(flags(ns));
  onCleanup(operator.stop);
  return eventually('the operator to start', async () =>
    operator.log().includes('"msg":"caches synced"') ? operator : undefined,
  );
}

test('a misspelt config field stops the operator with exit 2, naming the field', async () => {
  const ns = await testNamespace(cluster.client, 'kmm-cfg-bad');
  await cms.create({
    metadata: { name: CONFIG_MAP_NAME, namespace: ns },
    data: { [CONFIG_KEY]: 'worker:\n  firmwarePath: /lib/firmware\n' },
  });
  const r = await runHwe(flags(ns));
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /worker\.firmwarePath: unknown field/);
  assert.match(r.stderr, new RegExp(`ConfigMap ${ns}/${CONFIG_MAP_NAME}`));
});

test('a config file given with --config is parsed the same way', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kmm-cfg-'));
  writeFileSync(join(dir, 'c.yaml'), 'job:\n  gcDelay: soon\n');
  const r = await runHwe([...flags('unused'), '--config', join(dir, 'c.yaml')]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /job\.gcDelay: "soon" is not a duration/);
});

test('without a ConfigMap the operator writes the defaults once; edits survive a restart', async () => {
  const ns = await testNamespace(cluster.client, 'kmm-cfg');
  const first = await startOperator(ns);
  const cm = await cms.get(CONFIG_MAP_NAME, ns);
  assert.equal(
    parseOperatorConfig(cm.data![CONFIG_KEY]!).worker.firmwareHostPath,
    '/var/lib/firmware',
  );
  assert.match(first.log(), /"msg":"starting manager","version"/);
  await first.stop();

  const edited = cm.data![CONFIG_KEY]!.replace('/var/lib/firmware', '/lib/firmware');
  await cms.patch(CONFIG_MAP_NAME, { data: { [CONFIG_KEY]: edited } }, { namespace: ns });
  const second = await startOperator(ns);
  await second.stop();
  const after = await cms.get(CONFIG_MAP_NAME, ns);
  assert.equal(
    parseOperatorConfig(after.data![CONFIG_KEY]!).worker.firmwareHostPath,
    '/lib/firmware',
  );
});
