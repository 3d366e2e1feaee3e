/**
 * Kubeconfigs with exec credential plugins and token files, against the local apiserver: a real
 * plugin script prints a ServiceAccount token (TokenRequest) as an ExecCredential, and
 * SelfSubjectReview says who the apiserver took the request for.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import type { LocalCluster } from '../../../src/cluster/local.js';
import { KubeClient, isKubeError, loadKubeconfig } from '../../../src/runtime/index.js';
import { PACKAGE_ROOT } from '../../../src/version.js';
import { testCluster, testNamespace, serviceAccountToken } from '../../support/cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'exec-plugin-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let cluster: LocalCluster;
let server: string;
let caData: string;
let token: string;
let username: string;

/*
 * The plugin: counts its runs, records its arguments and KUBERNETES_EXEC_INFO, and prints the
 * token in $STATE/token as an ExecCredential of $API_VERSION. A token in $STATE/once is printed
 * instead, once. $STATE/expires, if present, is the expirationTimestamp to print. A whole
 * ExecCredential in $STATE/cred.json is printed as it is.
 */
const PLUGIN = `#!/bin/sh
set -e
n=$(( $(cat "$STATE/calls" 2>/dev/null || echo 0) + 1 )); echo $n > "$STATE/calls"
printf '%s' "$*" > "$STATE/args"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$STATE/info"
if [ -f "$STATE/cred.json" ]; then cat "$STATE/cred.json"; exit 0; fi
if [ -f "$STATE/once" ]; then tok=$(cat "$STATE/once"); rm "$STATE/once"; else tok=$(cat "$STATE/token"); fi
exp=""
[ -f "$STATE/expires" ] && exp=",\\"expirationTimestamp\\":\\"$(cat "$STATE/expires")\\""
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s"%s}}\\n' "$API_VERSION" "$tok" "$exp"
`;
writeFileSync(join(dir, 'plugin.sh'), PLUGIN);
chmodSync(join(dir, 'plugin.sh'), 0o755);

function kubeconfig(name: string, user: Record<string, unknown>): string {
  const file = join(dir, `${name}.kubeconfig`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server, 'certificate-authority-data': caData } }],
      users: [{ name, user }],
      contexts: [{ name, context: { cluster: 'local', user: name } }],
      'current-context': name,
    }),
  );
  return file;
}

function pluginUser(state: string, apiVersion: string, extra: Record<string, unknown> = {}) {
  return {
    exec: {
      apiVersion,
      command: './plugin.sh', // relative to the kubeconfig, as kubectl resolves it
      args: ['get-token', '--cluster', 'local'],
      env: [
        { name: 'STATE', value: state },
        { name: 'API_VERSION', value: apiVersion },
      ],
      ...extra,
    },
  };
}

/** A fresh directory for one plugin's state. */
function writeState(d: string): string {
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  return d;
}

/** Who the apiserver says the client is. */
async function whoAmI(client: KubeClient): Promise<string> {
  const r = await client.request<{ status: { userInfo: { username: string } } }>(
    '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    {
      method: 'POST',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    },
  );
  return r.status.userInfo.username;
}

const calls = (state: string) => Number(readFileSync(join(state, 'calls'), 'utf8'));

before(async () => {
  cluster = await testCluster();
  const admin = cluster.client;
  server = admin.access.server;
  caData = Buffer.from(admin.access.ca ?? '').toString('base64');
  const ns = await testNamespace(admin, 'exec-plugin');
  await admin.request(`/api/v1/namespaces/${ns}/serviceaccounts`, {
    method: 'POST',
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'plugin-user' } },
  });
  token = await serviceAccountToken(admin, ns, 'plugin-user');
  username = `system:serviceaccount:${ns}:plugin-user`;
});

describe('exec credential plugins against the apiserver', () => {
  it('v1: runs the plugin with its args and env, not interactive, and keeps the token', async () => {
    const state = writeState(join(dir, 'v1'));
    writeFileSync(join(state, 'token'), token);
    const file = kubeconfig(
      'v1',
      pluginUser(state, 'client.authentication.k8s.io/v1', { interactiveMode: 'Never' }),
    );
    const client = new KubeClient(loadKubeconfig([file]));
    try {
      assert.equal(await whoAmI(client), username);
      assert.equal(await whoAmI(client), username);
      assert.equal(calls(state), 1, 'a token without expiry is kept until a 401');
      assert.equal(readFileSync(join(state, 'args'), 'utf8'), 'get-token --cluster local');
      assert.deepEqual(JSON.parse(readFileSync(join(state, 'info'), 'utf8')), {
        apiVersion: 'client.authentication.k8s.io/v1',
        kind: 'ExecCredential',
        spec: { interactive: false },
      });
    } finally {
      client.close();
    }
  });

  it('v1beta1: a token past its expirationTimestamp is fetched again, one still valid is not', async () => {
    const state = writeState(join(dir, 'expiry'));
    writeFileSync(join(state, 'token'), token);
    writeFileSync(join(state, 'expires'), '2000-01-01T00:00:00Z');
    const client = new KubeClient(
      loadKubeconfig([
        kubeconfig('expiry', pluginUser(state, 'client.authentication.k8s.io/v1beta1')),
      ]),
    );
    try {
      assert.equal(await whoAmI(client), username);
      assert.equal(await whoAmI(client), username);
      assert.equal(calls(state), 2, 'an expired credential runs the plugin for each request');
      writeFileSync(join(state, 'expires'), new Date(Date.now() + 3600_000).toISOString());
      await whoAmI(client);
      await whoAmI(client);
      await whoAmI(client);
      assert.equal(calls(state), 3, 'a valid one is kept');
    } finally {
      client.close();
    }
  });

  it('a client certificate from the plugin is presented to the apiserver', async () => {
    const state = writeState(join(dir, 'cert'));
    const pki = join(cluster.dir, 'pki');
    const key = join(state, 'client.key');
    const csr = join(state, 'client.csr');
    const crt = join(state, 'client.crt');
    const openssl = (args: string[]) => {
      const r = spawnSync('openssl', args, { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    openssl([
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-subj',
      '/CN=exec-cert-user',
      '-out',
      csr,
    ]);
    openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      join(pki, 'ca.crt'),
      '-CAkey',
      join(pki, 'ca.key'),
      '-set_serial',
      '7',
      '-days',
      '1',
      '-out',
      crt,
    ]);
    writeFileSync(
      join(state, 'cred.json'),
      JSON.stringify({
        apiVersion: 'client.authentication.k8s.io/v1',
        kind: 'ExecCredential',
        status: {
          clientCertificateData: readFileSync(crt, 'utf8'),
          clientKeyData: readFileSync(key, 'utf8'),
        },
      }),
    );
    const client = new KubeClient(
      loadKubeconfig([
        kubeconfig(
          'cert',
          pluginUser(state, 'client.authentication.k8s.io/v1', { interactiveMode: 'Never' }),
        ),
      ]),
    );
    try {
      assert.equal(await whoAmI(client), 'exec-cert-user');
      assert.equal(calls(state), 1);
    } finally {
      client.close();
    }
  });

  it('a 401 runs the plugin again and the request succeeds with the new token', async () => {
    const state = writeState(join(dir, 'unauthorized'));
    writeFileSync(join(state, 'token'), token);
    writeFileSync(join(state, 'once'), 'revoked-or-garbage');
    const client = new KubeClient(
      loadKubeconfig([
        kubeconfig(
          'unauthorized',
          pluginUser(state, 'client.authentication.k8s.io/v1', { interactiveMode: 'IfAvailable' }),
        ),
      ]),
    );
    try {
      assert.equal(await whoAmI(client), username);
      assert.equal(calls(state), 2);
    } finally {
      client.close();
    }
  });

  it('a plugin that fails or is missing fails the request with its name', async () => {
    const state = writeState(join(dir, 'failing'));
    const failing = new KubeClient(
      loadKubeconfig([
        kubeconfig('failing', pluginUser(state, 'client.authentication.k8s.io/v1beta1')),
      ]),
    );
    // no token file: the plugin's cat fails
    await assert.rejects(whoAmI(failing), (e: unknown) => {
      assert.ok(isKubeError(e, 'Unauthorized'), String(e));
      assert.match((e as Error).message, /exec plugin .*plugin\.sh .*failed: exit code 1/);
      return true;
    });
    failing.close();
    const missing = new KubeClient(
      loadKubeconfig([
        kubeconfig('missing', {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: 'hwe-no-such-plugin',
            installHint: 'hwe-no-such-plugin comes with the cloud CLI',
          },
        }),
      ]),
    );
    await assert.rejects(
      whoAmI(missing),
      /command not found\nhwe-no-such-plugin comes with the cloud CLI/,
    );
    missing.close();
  });
});

describe('tokenFile against the apiserver', () => {
  it('reads the file relative to the kubeconfig, and again after a 401', async () => {
    writeFileSync(join(dir, 'token-file'), 'not-a-token\n');
    const client = new KubeClient(
      loadKubeconfig([kubeconfig('tokenfile', { tokenFile: 'token-file' })]),
    );
    try {
      await assert.rejects(whoAmI(client), (e: unknown) => isKubeError(e, 'Unauthorized'));
      writeFileSync(join(dir, 'token-file'), `${token}\n`);
      assert.equal(await whoAmI(client), username, 'the file is read again after the 401');
    } finally {
      client.close();
    }
  });
});

describe('kubectl hwe', () => {
  it('kubectl finds bin/kubectl-hwe on PATH and runs hwe with the arguments', () => {
    const env = {
      ...process.env,
      PATH: `${join(PACKAGE_ROOT, 'bin')}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    };
    const kubectl = cluster.bin('kubectl');
    const list = spawnSync(kubectl, ['plugin', 'list'], { env, encoding: 'utf8' });
    assert.match(list.stdout, /bin\/kubectl-hwe$/m, list.stderr);
    const version = spawnSync(kubectl, ['hwe', 'version'], { env, encoding: 'utf8' });
    assert.equal(version.status, 0, version.stderr);
    assert.ok((JSON.parse(version.stdout) as { version?: string }).version);
    const help = spawnSync(kubectl, ['hwe', 'nfd', 'worker', '--help'], { env, encoding: 'utf8' });
    assert.match(help.stdout, /Usage: hwe nfd worker/);
  });
});
