import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  inClusterAccess,
  KubeconfigError,
  kubeconfigYaml,
  loadKubeconfig,
  resolveAccess,
} from './kubeconfig.js';

const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('kubeconfig', () => {
  const main = write(
    'main.yaml',
    `apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev
  cluster: {server: "https://10.1.2.3:6443/", certificate-authority-data: ${b64('CA-PEM')}}
- name: file-ca
  cluster: {server: "https://h:1", certificate-authority: ca.pem, insecure-skip-tls-verify: true}
users:
- name: tok
  user: {token: abc}
- name: certs
  user: {client-certificate-data: ${b64('CERT')}, client-key: key.pem}
- name: sso
  user: {exec: {command: aws}}
- name: legacy
  user: {auth-provider: {name: oidc}}
- name: eks
  user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: ./aws, args: [eks, get-token], env: [{name: AWS_PROFILE, value: dev}]}}
contexts:
- name: dev
  context: {cluster: dev, user: tok, namespace: team-a}
- name: other
  context: {cluster: file-ca, user: certs}
- name: broken
  context: {cluster: nowhere, user: tok}
- name: plugin
  context: {cluster: dev, user: sso}
- name: legacy
  context: {cluster: dev, user: legacy}
- name: eks
  context: {cluster: dev, user: eks}
`,
  );
  write('ca.pem', 'CA-FROM-FILE');
  write('key.pem', 'KEY-FROM-FILE');

  it('reads the current context: server, CA data, token, namespace', () => {
    const a = loadKubeconfig([main]);
    assert.equal(a.server, 'https://10.1.2.3:6443');
    assert.equal(a.ca, 'CA-PEM');
    assert.equal(a.token, 'abc');
    assert.equal(a.namespace, 'team-a');
  });
  it('resolves files relative to the kubeconfig and honours insecure-skip-tls-verify', () => {
    const a = loadKubeconfig([main], 'other');
    assert.equal(a.ca, 'CA-FROM-FILE');
    assert.equal(a.cert, 'CERT');
    assert.equal(a.key, 'KEY-FROM-FILE');
    assert.equal(a.insecureSkipTLSVerify, true);
  });
  it('names what is missing', () => {
    assert.throws(() => loadKubeconfig([main], 'nope'), /context "nope" not found/);
    assert.throws(
      () => loadKubeconfig([main], 'broken'),
      /cluster "nowhere" of context "broken" not found/,
    );
    assert.throws(
      () => loadKubeconfig([main], 'plugin'),
      /user "sso": exec\.apiVersion must be one of/,
    );
    assert.throws(() => loadKubeconfig([main], 'legacy'), /user "legacy" uses an auth-provider/);
    assert.throws(() => loadKubeconfig([write('bad.yaml', 'a: [')]), KubeconfigError);
  });
  it('reads exec plugins: command relative to the kubeconfig, args, env, cluster', () => {
    const a = loadKubeconfig([main], 'eks');
    assert.equal(a.exec?.command, join(dir, 'aws'));
    assert.deepEqual(a.exec?.args, ['eks', 'get-token']);
    assert.deepEqual(a.exec?.env, [{ name: 'AWS_PROFILE', value: 'dev' }]);
    assert.equal(a.exec?.interactiveMode, 'IfAvailable');
    assert.equal(a.token, undefined);
  });
  it('merges KUBECONFIG files, the first definition winning', () => {
    const second = write(
      'second.yaml',
      `current-context: dev
clusters: [{name: dev, cluster: {server: "https://other:1"}}, {name: extra, cluster: {server: "https://extra:2"}}]
users: [{name: u2, user: {token: t2}}]
contexts: [{name: x, context: {cluster: extra, user: u2}}]
`,
    );
    const env = { KUBECONFIG: `${join(dir, 'missing.yaml')}:${main}:${second}` };
    assert.equal(resolveAccess({ env }).server, 'https://10.1.2.3:6443');
    const x = resolveAccess({ env, context: 'x' });
    assert.equal(x.server, 'https://extra:2');
    assert.equal(x.token, 't2');
  });
  it('prefers --kubeconfig over KUBECONFIG, and says when nothing is configured', () => {
    const own = write(
      'own.yaml',
      kubeconfigYaml({ server: 'https://127.0.0.1:9', ca: 'X', token: 'T' }),
    );
    assert.equal(
      resolveAccess({ kubeconfig: own, env: { KUBECONFIG: main } }).server,
      'https://127.0.0.1:9',
    );
    assert.throws(
      () => resolveAccess({ kubeconfig: join(dir, 'absent') }),
      /--kubeconfig .*no such file/,
    );
    assert.throws(
      () => resolveAccess({ env: { HOME: join(dir, 'empty-home') } }),
      /pass --kubeconfig FILE, set KUBECONFIG/,
    );
  });
  it('uses the pod service account when in a cluster', () => {
    const sa = join(dir, 'sa');
    mkdirSync(sa);
    writeFileSync(join(sa, 'token'), 'sa-token\n');
    writeFileSync(join(sa, 'ca.crt'), 'SA-CA');
    writeFileSync(join(sa, 'namespace'), 'kmm\n');
    const a = inClusterAccess(
      { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      sa,
    );
    assert.equal(a?.server, 'https://[fd00::1]:443');
    assert.equal(a?.tokenFile, join(sa, 'token'));
    assert.equal(a?.namespace, 'kmm');
    assert.equal(inClusterAccess({}, sa), undefined);
  });
});
