/**
 * Side by side on the machine at hand: upstream nfd-worker v0.19.0 (built from its Go module by
 * tools/nfd-upstream/build.sh, which scripts/setup.sh runs) and hwe's worker discover the same
 * host; every feature set, every element and every label must be equal.
 *
 * Upstream's `-oneshot -no-publish` publishes nothing and prints nothing on stdout; at `-v=3`
 * it logs each source's features, and at `-v=1` the labels, as YAML blocks in klog's
 * multi-line form (`features=<` … ` >`). Those blocks are what is compared.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { repoRoot } from '../../../test/fixtures/hosts/index.js';
import type { Features } from './types.js';

const NODE = 'parity-node';

/** The YAML blocks klog printed for `key=<`, with the fields of the same line. */
function klogBlocks(stderr: string, key: string): { line: string; body: string }[] {
  const out: { line: string; body: string }[] = [];
  const lines = stderr.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.endsWith(` ${key}=<`)) continue;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== ' >'; i++) body.push(lines[i]!.replace(/^\t/, ''));
    out.push({ line: lines[i - body.length - 1]!, body: body.join('\n') });
  }
  return out;
}

type SourceFeatures = Partial<Record<keyof Features, Record<string, unknown>>>;

function upstreamOutput(binary: string): { features: Features; labels: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'nfd-upstream-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // It builds a Kubernetes client even when it does not publish; nothing is ever sent to it.
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
  );
  const r = spawnSync(binary, ['-kubeconfig', kubeconfig, '-oneshot', '-no-publish', '-v=3'], {
    env: { ...process.env, NODE_NAME: NODE },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, `upstream nfd-worker failed: ${r.stderr}`);
  const features: Features = { flags: {}, attributes: {}, instances: {} };
  for (const { line, body } of klogBlocks(r.stderr, 'features')) {
    const source = /featureSource="([^"]+)"/.exec(line)?.[1];
    assert.ok(source, line);
    const f = parse(body) as SourceFeatures;
    for (const kind of ['flags', 'attributes', 'instances'] as const) {
      for (const [name, set] of Object.entries(f[kind] ?? {})) {
        (features[kind] as Record<string, unknown>)[`${source}.${name}`] = set;
      }
    }
  }
  const labelBlocks = klogBlocks(r.stderr, 'labels');
  assert.equal(labelBlocks.length, 1, 'one labels block');
  return { features, labels: parse(labelBlocks[0]!.body) as Record<string, string> };
}

function hweOutput(): { features: Features; labels: Record<string, string> } {
  const out = execFileSync(
    process.execPath,
    [join(repoRoot(), 'bin/hwe'), 'nfd', 'worker', '--oneshot', '--no-publish', '-o', 'json'],
    { env: { ...process.env, NODE_NAME: NODE }, encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  const nf = JSON.parse(out) as { spec: { features: Features; labels: Record<string, string> } };
  return nf.spec;
}

/** Instance lists compared as sets: the order of sysfs listings is not part of the contract. */
function canonicalInstances(list: unknown): string[] {
  const elements = (list as { elements?: { attributes: Record<string, string> }[] }).elements ?? [];
  return elements.map((e) => JSON.stringify(Object.entries(e.attributes).sort())).sort();
}

describe('hwe and upstream nfd-worker v0.19.0 on this machine', () => {
  const binary = execFileSync('bash', [join(repoRoot(), 'tools/nfd-upstream/build.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const up = upstreamOutput(binary);
  const hwe = hweOutput();

  for (const kind of ['flags', 'attributes', 'instances'] as const) {
    it(`the same ${kind} feature sets`, () =>
      assert.deepEqual(
        Object.keys(hwe.features[kind]).sort(),
        Object.keys(up.features[kind]).sort(),
      ));
    for (const name of Object.keys(up.features[kind]).sort()) {
      it(`${kind} ${name}: the same elements`, () => {
        const mine = hwe.features[kind][name];
        const theirs = up.features[kind][name];
        if (kind === 'instances')
          assert.deepEqual(canonicalInstances(mine), canonicalInstances(theirs));
        else assert.deepEqual(mine, theirs);
      });
    }
  }

  it('the same labels', () => assert.deepEqual(hwe.labels, up.labels));
});
