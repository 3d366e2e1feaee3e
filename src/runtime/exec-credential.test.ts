import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type ExecConfig,
  ExecCredentialSource,
  parseExecConfig,
  parseExecCredentialOutput,
} from './exec-credential.js';

const V1 = 'client.authentication.k8s.io/v1';
const V1BETA1 = 'client.authentication.k8s.io/v1beta1';
const WHERE = 'kubeconfig k user "u"';

describe('parseExecConfig', () => {
  const ok: [string, unknown, Partial<ExecConfig>][] = [
    [
      'v1 with everything',
      {
        apiVersion: V1,
        command: 'aws',
        args: ['eks', 'get-token'],
        env: [{ name: 'AWS_PROFILE', value: 'dev' }],
        interactiveMode: 'Never',
        installHint: 'install the aws CLI',
      },
      {
        command: 'aws',
        args: ['eks', 'get-token'],
        env: [{ name: 'AWS_PROFILE', value: 'dev' }],
        interactiveMode: 'Never',
        installHint: 'install the aws CLI',
      },
    ],
    [
      'v1beta1 defaults interactiveMode to IfAvailable',
      { apiVersion: V1BETA1, command: 'gke-gcloud-auth-plugin' },
      { interactiveMode: 'IfAvailable', args: [], env: [] },
    ],
    [
      'a command with a slash is relative to the kubeconfig',
      { apiVersion: V1BETA1, command: './bin/plugin' },
      { command: '/home/u/.kube/bin/plugin' },
    ],
    ['an absolute command stays', { apiVersion: V1BETA1, command: '/p' }, { command: '/p' }],
    [
      'provideClusterInfo passes the cluster',
      { apiVersion: V1BETA1, command: 'p', provideClusterInfo: true },
      { cluster: { server: 'https://s' } },
    ],
  ];
  for (const [name, raw, want] of ok) {
    it(name, () => {
      const got = parseExecConfig(raw, WHERE, '/home/u/.kube', { server: 'https://s' });
      for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k as keyof ExecConfig], v, k);
    });
  }
  const bad: [string, unknown, RegExp][] = [
    ['no command', { apiVersion: V1, interactiveMode: 'Never' }, /exec\.command is required/],
    ['no apiVersion', { command: 'p' }, /exec\.apiVersion must be one of .*v1beta1 \(got null\)/],
    [
      'v1alpha1 is gone',
      { command: 'p', apiVersion: 'client.authentication.k8s.io/v1alpha1' },
      /exec\.apiVersion/,
    ],
    ['v1 needs interactiveMode', { command: 'p', apiVersion: V1 }, /interactiveMode is required/],
    [
      'unknown interactiveMode',
      { command: 'p', apiVersion: V1, interactiveMode: 'Sometimes' },
      /interactiveMode must be Never, IfAvailable or Always/,
    ],
    ['args of strings', { command: 'p', apiVersion: V1BETA1, args: [1] }, /exec\.args/],
    ['env entries', { command: 'p', apiVersion: V1BETA1, env: [{ name: 'A' }] }, /exec\.env\[0\]/],
    ['not a mapping', 'p', /must be a mapping/],
  ];
  for (const [name, raw, re] of bad) {
    it(`refuses: ${name}`, () => {
      assert.throws(
        () => parseExecConfig(raw, WHERE, '/'),
        (e: Error) => {
          assert.match(e.message, re);
          assert.ok(e.message.startsWith(WHERE), e.message);
          return true;
        },
      );
    });
  }
});

describe('parseExecCredentialOutput', () => {
  const cfg = { apiVersion: V1, command: 'p' } as const;
  const cred = (status: unknown, apiVersion = V1) =>
    JSON.stringify({ apiVersion, kind: 'ExecCredential', status });
  it('reads a token and its expiry', () => {
    assert.deepEqual(
      parseExecCredentialOutput(
        cred({ token: 't', expirationTimestamp: '2030-01-02T03:04:05Z' }),
        cfg,
      ),
      { token: 't', expiresAt: Date.parse('2030-01-02T03:04:05Z') },
    );
  });
  it('reads a client certificate without expiry', () => {
    assert.deepEqual(
      parseExecCredentialOutput(cred({ clientCertificateData: 'C', clientKeyData: 'K' }), cfg),
      { cert: 'C', key: 'K' },
    );
  });
  const bad: [string, string, RegExp][] = [
    ['not JSON', 'token: t', /not .*JSON/],
    ['another kind', JSON.stringify({ apiVersion: V1, kind: 'Secret' }), /no ExecCredential/],
    [
      'another apiVersion',
      cred({ token: 't' }, V1BETA1),
      /printed apiVersion .*v1beta1, the kubeconfig asks for .*\/v1$/,
    ],
    ['no status', JSON.stringify({ apiVersion: V1, kind: 'ExecCredential' }), /without status/],
    ['an empty status', cred({}), /neither a token nor a client certificate/],
    [
      'a certificate without key',
      cred({ clientCertificateData: 'C' }),
      /both clientCertificateData and clientKeyData/,
    ],
    [
      'a bad expiry',
      cred({ token: 't', expirationTimestamp: 'tomorrow' }),
      /expirationTimestamp "tomorrow"/,
    ],
  ];
  for (const [name, out, re] of bad) {
    it(`refuses: ${name}`, () => assert.throws(() => parseExecCredentialOutput(out, cfg), re));
  }
});

describe('ExecCredentialSource', () => {
  const dir = mkdtempSync(join(tmpdir(), 'exec-cred-'));
  const plugin = join(dir, 'plugin.sh');
  // counts its runs, records its environment and arguments; run n gives tok-n, valid until minute n
  writeFileSync(
    plugin,
    `#!/bin/sh
n=$(( $(cat "$DIR/calls" 2>/dev/null || echo 0) + 1 )); echo $n > "$DIR/calls"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$DIR/info"
printf '%s' "$*" > "$DIR/args"
printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"token":"tok-%s","expirationTimestamp":"2030-01-01T00:0%s:00Z"}}' $n $n
`,
  );
  chmodSync(plugin, 0o755);
  const config = (over: Partial<ExecConfig> = {}): ExecConfig => ({
    command: plugin,
    args: ['get-token', '--x'],
    env: [{ name: 'DIR', value: dir }],
    apiVersion: V1,
    interactiveMode: 'Never',
    where: WHERE,
    ...over,
  });

  it('runs the plugin once until the expiry, then again; a 401 runs it again', async () => {
    writeFileSync(join(dir, 'calls'), '0');
    let now = Date.parse('2030-01-01T00:00:00Z');
    const src = new ExecCredentialSource(config(), { now: () => now, stdinIsTerminal: true });
    const [a, b] = await Promise.all([src.get(), src.get()]);
    assert.equal(a.token, 'tok-1');
    assert.equal(b, a, 'concurrent requests share one run');
    now += 59_999;
    assert.equal((await src.get()).token, 'tok-1', 'cached before the expiry');
    now += 1;
    const c = await src.get();
    assert.equal(c.token, 'tok-2', 'run again at the expiry');
    src.invalidate(a);
    assert.equal((await src.get()).token, 'tok-2', 'a 401 to an older credential changes nothing');
    src.invalidate(c);
    assert.equal((await src.get()).token, 'tok-3');
    assert.equal(readFileSync(join(dir, 'args'), 'utf8'), 'get-token --x');
    // interactiveMode Never: not interactive even on a terminal
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'info'), 'utf8')), {
      apiVersion: V1,
      kind: 'ExecCredential',
      spec: { interactive: false },
    });
  });

  it('tells the plugin whether it may prompt, and passes the cluster when asked', async () => {
    const src = new ExecCredentialSource(
      config({ interactiveMode: 'IfAvailable', cluster: { server: 'https://s:6443' } }),
      { stdinIsTerminal: true },
    );
    await src.get();
    assert.deepEqual(
      (JSON.parse(readFileSync(join(dir, 'info'), 'utf8')) as { spec: unknown }).spec,
      {
        interactive: true,
        cluster: { server: 'https://s:6443' },
      },
    );
  });

  it('names the plugin when it cannot run, fails, or needs a terminal it has not', async () => {
    await assert.rejects(
      new ExecCredentialSource(
        config({ command: join(dir, 'absent'), installHint: 'get it from X' }),
      ).get(),
      /exec plugin .*absent .*command not found\nget it from X/,
    );
    await assert.rejects(
      new ExecCredentialSource(config({ command: '/bin/false' })).get(),
      /exec plugin \/bin\/false .*failed: exit code 1/,
    );
    await assert.rejects(
      new ExecCredentialSource(config({ interactiveMode: 'Always' }), {
        stdinIsTerminal: false,
      }).get(),
      /interactiveMode Always but stdin is not a terminal/,
    );
  });
});
