import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PACKAGE_ROOT } from '../../version.js';
import { kmmWebhookConfiguration } from './configuration.js';
import { WEBHOOK_PATHS } from './server.js';

const dir = join(PACKAGE_ROOT, 'config/webhook');
const docs = (f: string) =>
  parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map(
    (d) => d.toJS() as Record<string, unknown>,
  );

test('config/webhook/manifests.yaml is the generated configuration for the Service', () => {
  const [shipped] = docs('manifests.yaml');
  const generated = kmmWebhookConfiguration({
    name: 'kmm-operator-validating-webhook-configuration',
    target: { service: { namespace: 'openshift-kmm', name: 'kmm-operator-webhook-service' } },
  });
  assert.deepEqual(shipped, JSON.parse(JSON.stringify(generated)));
});

test('every webhook fails closed, and every handler path is registered', () => {
  const c = kmmWebhookConfiguration({ name: 'x', target: { url: 'https://127.0.0.1:9443' } });
  assert.ok(c.webhooks.every((w) => w['failurePolicy'] === 'Fail'));
  const urls = c.webhooks.map((w) => (w['clientConfig'] as { url: string }).url);
  for (const p of Object.values(WEBHOOK_PATHS))
    assert.ok(urls.includes(`https://127.0.0.1:9443${p}`), p);
});

test('the Deployment, Service and configuration agree on names, ports and labels', () => {
  const [service] = docs('service.yaml');
  const [deployment] = docs('deployment.yaml');
  const [vwc] = docs('manifests.yaml');
  const svc = service as {
    metadata: { name: string; namespace: string };
    spec: { selector: Record<string, string>; ports: { targetPort: number; port: number }[] };
  };
  const dep = deployment as {
    spec: {
      template: {
        metadata: { labels: Record<string, string> };
        spec: { containers: { args: string[]; ports: { containerPort: number }[] }[] };
      };
    };
  };
  const pod = dep.spec.template;
  for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(pod.metadata.labels[k], v);
  const container = pod.spec.containers[0]!;
  assert.equal(container.ports[0]!.containerPort, svc.spec.ports[0]!.targetPort);
  assert.ok(
    container.args.includes(`--dns-name=${svc.metadata.name}.${svc.metadata.namespace}.svc`),
  );
  const name = (vwc as { metadata: { name: string } }).metadata.name;
  assert.ok(container.args.includes(`--webhook-config-name=${name}`));
  for (const w of (
    vwc as { webhooks: { clientConfig: { service: { name: string; port: number } } }[] }
  ).webhooks) {
    assert.equal(w.clientConfig.service.name, svc.metadata.name);
    assert.equal(w.clientConfig.service.port, svc.spec.ports[0]!.port);
  }
});
