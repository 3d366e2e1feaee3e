/**
 * The Helm chart (charts/hwe) with helm built from its Go module: lint, render with values,
 * and a server-side dry run of the rendering on the real control plane.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { testCluster, testNamespace } from '../../support/cluster.js';
import { PACKAGE_ROOT } from '../../../src/version.js';
import { installCrds } from '../../../src/api/index.js';
import {
  documentedRights,
  forbiddenRules,
  grantedRights,
  missing,
  parseManifests,
  run,
  type Manifest,
} from './manifests.js';
import { installTool } from './tools.js';

const CHART = join(PACKAGE_ROOT, 'charts', 'hwe');
const helm = await installTool('helm');
const cluster = await testCluster();
await installCrds(cluster.client);

const template = (...set: string[]) =>
  parseManifests(run(helm, ['template', 'hwe', CHART, ...set.flatMap((s) => ['--set', s])]));

type PodSpec = {
  nodeSelector?: object;
  tolerations?: object[];
  containers: { image: string; env?: { name: string; value?: string }[] }[];
};
const pod = (m: Manifest) => (m.spec as { template: { spec: PodSpec } }).template.spec;
const names = (ms: Manifest[], kind: string) =>
  ms
    .filter((m) => m.kind === kind)
    .map((m) => m.metadata.name)
    .sort();

describe('helm chart', () => {
  it('passes helm lint', () => {
    const out = run(helm, ['lint', '--strict', CHART]);
    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders the same roles as config/, which equal docs/permissions.md', () => {
    const ms = template();
    assert.deepEqual(names(ms, 'Deployment'), [
      'kmm-operator-controller-manager',
      'kmm-operator-webhook-server',
      'nfd-controller-manager',
    ]);
    assert.deepEqual(forbiddenRules(ms), []);
    const granted = grantedRights(ms);
    for (const [sa, rights] of documentedRights()) {
      assert.deepEqual(missing(granted.get(sa), rights), [], `${sa}: granted, not in the table`);
      assert.deepEqual(missing(rights, granted.get(sa)), [], `${sa}: in the table, not granted`);
    }
  });

  it('takes namespaces, image, placement and components from values', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const ms = template(
      'nfd.namespace=hw-nfd',
      'kmm.namespace=hw-kmm',
      'image.repository=mirror.example/hwe',
      `image.digest=${digest}`,
      'nodeSelector.node-role\\.kubernetes\\.io/infra=',
      'tolerations[0].key=node-role.kubernetes.io/infra,tolerations[0].operator=Exists',
      'kmm.webhook.replicas=3',
    );
    const text = JSON.stringify(ms);
    assert.doesNotMatch(text, /openshift-(kmm|nfd)/);
    for (const d of ms.filter((m) => m.kind === 'Deployment')) {
      assert.match(d.metadata.namespace!, /^hw-(kmm|nfd)$/);
      const p = pod(d);
      assert.deepEqual(p.nodeSelector, { 'node-role.kubernetes.io/infra': '' });
      assert.equal(p.tolerations?.length, 1);
      for (const c of p.containers) assert.equal(c.image, `mirror.example/hwe@${digest}`);
    }
    const op = ms.find((m) => m.metadata.name === 'kmm-operator-controller-manager')!;
    const env = Object.fromEntries(pod(op).containers[0]!.env!.map((e) => [e.name, e.value]));
    assert.equal(env.RELATED_IMAGE_WORKER, `mirror.example/hwe@${digest}`);
    const hook = ms.find((m) => m.metadata.name === 'kmm-operator-webhook-server')!;
    assert.equal((hook.spec as { replicas: number }).replicas, 3);
    const vwc = ms.find((m) => m.kind === 'ValidatingWebhookConfiguration')!;
    assert.match(JSON.stringify(vwc), /"namespace":"hw-kmm"/);

    const nfdOnly = template('kmm.enabled=false');
    assert.deepEqual(names(nfdOnly, 'Deployment'), ['nfd-controller-manager']);
    assert.deepEqual(names(nfdOnly, 'ValidatingWebhookConfiguration'), []);
    const noHook = template('nfd.enabled=false', 'kmm.webhook.enabled=false');
    assert.deepEqual(names(noHook, 'Deployment'), ['kmm-operator-controller-manager']);
    assert.throws(() => template('image.pullPolicy=Sometimes'), /pullPolicy/);
  });

  it('renders objects the apiserver accepts (kubectl apply --dry-run=server)', async () => {
    const nfdNs = await testNamespace(cluster.client, 'helm-nfd');
    const kmmNs = await testNamespace(cluster.client, 'helm-kmm');
    const text = run(helm, [
      'template',
      'hwe',
      CHART,
      '--include-crds',
      '--set',
      `nfd.namespace=${nfdNs},kmm.namespace=${kmmNs}`,
      '--set',
      'nfd.createNamespace=false,kmm.createNamespace=false',
    ]);
    const out = run(cluster.bin('kubectl'), ['apply', '--dry-run=server', '-f', '-'], {
      input: text,
      env: { KUBECONFIG: cluster.kubeconfig },
    });
    for (const kind of [
      'deployment.apps/kmm-operator-controller-manager',
      'deployment.apps/nfd-controller-manager',
      'validatingwebhookconfiguration.admissionregistration.k8s.io/kmm-operator-validating-webhook-configuration',
      'customresourcedefinition.apiextensions.k8s.io/modules.kmm.sigs.x-k8s.io',
    ])
      assert.match(
        out,
        new RegExp(
          `${kind.replace(/\./g, '\\.')} (created|configured|unchanged) \\(server dry run\\)`,
        ),
      );
  });
});
