/**
 * The OLM bundles (bundle/): up to date with config/ and examples/, and accepted by the
 * operator-framework's bundle validator, built from its Go module.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../../src/version.js';
import { installCrds } from '../../../src/api/index.js';
import { testCluster, testNamespace } from '../../support/cluster.js';
import { renderBundles } from '../../../scripts/olm-bundles.js';
import { parseManifests, run } from './manifests.js';
import { installTool } from './tools.js';

const verify = await installTool('operator-verify');
const files = renderBundles();
const cluster = await testCluster();
await installCrds(cluster.client);

function filesUnder(dir: string): string[] {
  return readdirSync(join(PACKAGE_ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

interface Csv {
  metadata: { annotations: Record<string, string> };
  spec: {
    install: {
      strategy: string;
      spec: {
        clusterPermissions: { serviceAccountName: string }[];
        deployments: {
          name: string;
          spec: {
            template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } };
          };
        }[];
      };
    };
    customresourcedefinitions: { owned: { name: string; description: string }[] };
    webhookdefinitions?: { webhookPath: string; deploymentName: string }[];
    relatedImages: { name: string; image: string }[];
  };
}
const csvOf = (dir: string): Csv =>
  parseManifests(
    files.get(
      [...files.keys()].find(
        (k) => k.startsWith(dir) && k.endsWith('.clusterserviceversion.yaml'),
      )!,
    )!,
  )[0] as unknown as Csv;

describe('OLM bundles', () => {
  it('are what npm run gen:bundles makes of config/ and examples/', () => {
    assert.deepEqual(filesUnder('bundle').sort(), [...files.keys()].sort());
    for (const [path, text] of files)
      assert.equal(
        readFileSync(join(PACKAGE_ROOT, path), 'utf8'),
        text,
        `${path} is stale: run npm run gen:bundles`,
      );
  });

  for (const [dir, deployment] of [
    ['bundle/kmm', 'kmm-operator-controller-manager'],
    ['bundle/nfd', 'nfd-controller-manager'],
  ] as const) {
    it(`${dir} passes operator-verify, with OperatorHub and object checks`, () => {
      const r = spawnSync(
        verify,
        ['manifests', '--operatorhub_validate', '--object_validate', join(PACKAGE_ROOT, dir)],
        {
          encoding: 'utf8',
        },
      );
      const out = r.stdout + r.stderr;
      assert.equal(r.status, 0, out);
      // The validator logs its findings and exits 0 either way.
      assert.doesNotMatch(out, /level=(error|fatal)/, out);
      assert.doesNotMatch(out, /level=warn/, out);
    });

    it(`${dir}: install strategy, owned CRDs with examples, related images`, () => {
      const csv = csvOf(dir);
      assert.equal(csv.spec.install.strategy, 'deployment');
      const d = csv.spec.install.spec.deployments.find((x) => x.name === deployment);
      assert.ok(d, `${deployment} in the install strategy`);
      const env = d.spec.template.spec.containers[0]!.env ?? [];
      assert.ok(
        env.some(
          (e) =>
            /IMAGE/.test(e.name) &&
            e.value === csv.spec.relatedImages.find((i) => i.name === 'hwe')!.image,
        ),
      );
      const examples = JSON.parse(csv.metadata.annotations['alm-examples']!) as { kind: string }[];
      assert.ok(examples.length > 0);
      for (const o of csv.spec.customresourcedefinitions.owned) {
        assert.ok(o.description.length > 20, o.name);
        assert.ok(
          [...files.keys()].some(
            (k) => k.startsWith(`${dir}/manifests/`) && k.endsWith(`_${o.name.split('.')[0]}.yaml`),
          ),
          `${o.name} shipped`,
        );
      }
    });
  }

  it('carry examples the apiserver accepts, with strict field validation', async () => {
    const ns = await testNamespace(cluster.client, 'olm-examples');
    for (const dir of ['bundle/kmm', 'bundle/nfd']) {
      const examples = csvOf(dir).metadata.annotations['alm-examples']!;
      const out = run(
        cluster.bin('kubectl'),
        ['apply', '--dry-run=server', '--validate=strict', '-n', ns, '-f', '-'],
        {
          input: JSON.stringify({
            apiVersion: 'v1',
            kind: 'List',
            items: JSON.parse(examples) as unknown[],
          }),
          env: { KUBECONFIG: cluster.kubeconfig },
        },
      );
      assert.equal(out.trim().split('\n').length, (JSON.parse(examples) as unknown[]).length, out);
    }
  });

  it('the KMM bundle defines the webhook for OLM to serve', () => {
    const csv = csvOf('bundle/kmm');
    assert.deepEqual(csv.spec.webhookdefinitions?.map((w) => w.webhookPath).sort(), [
      '/validate--v1-namespace',
      '/validate-hub-kmm-sigs-x-k8s-io-v1beta1-managedclustermodule',
      '/validate-kmm-sigs-x-k8s-io-v1beta1-module',
      '/validate-kmm-sigs-x-k8s-io-v1beta2-preflightvalidation',
      '/validate-kmm-sigs-x-k8s-io-v1beta2-preflightvalidationocp',
    ]);
    const names = csv.spec.relatedImages.map((i) => i.name).sort();
    assert.deepEqual(names, ['build', 'hwe', 'must-gather', 'sign', 'worker']);
  });
});

describe('examples/olm', () => {
  it('subscribe to the packages and channels the bundles declare', () => {
    const dir = join(PACKAGE_ROOT, 'examples', 'olm');
    const subs = readdirSync(dir)
      .flatMap((f) => parseManifests(readFileSync(join(dir, f), 'utf8')))
      .filter((m) => m.kind === 'Subscription') as unknown as {
      spec: { name: string; channel: string; startingCSV?: string };
    }[];
    assert.equal(subs.length, 2);
    for (const s of subs) {
      const ann = [...files].find(
        ([k, v]) =>
          k.endsWith('metadata/annotations.yaml') && v.includes(`package.v1: ${s.spec.name}\n`),
      );
      assert.ok(ann, `a bundle of package ${s.spec.name}`);
      assert.match(ann[1], new RegExp(`channels.v1: ${s.spec.channel}\\n`));
      if (s.spec.startingCSV)
        assert.ok(
          [...files.keys()].some((k) => files.get(k)!.includes(`name: ${s.spec.startingCSV}\n`)),
          s.spec.startingCSV,
        );
    }
  });
});
