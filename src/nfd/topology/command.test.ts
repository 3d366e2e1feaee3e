import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../command/index.js';
import { kubeletConfigPath, legacyFlagsWarning } from './command.js';

describe('legacy nfd-master transport flags', () => {
  it('are fine when absent', () => assert.equal(legacyFlagsWarning({}), undefined));
  it('are accepted with a warning that names them', () => {
    const w = legacyFlagsWarning({
      server: 'nfd-master:8080',
      'ca-file': '/ca.crt',
      'cert-file': '/u.crt',
      'key-file': '/u.key',
      'server-name-override': 'nfd-master',
    });
    assert.match(
      w ?? '',
      /^-server, -ca-file, -cert-file, -key-file, -server-name-override ignored: .*Kubernetes API/,
    );
  });
  it('want the TLS files together', () =>
    assert.throws(
      () => legacyFlagsWarning({ 'cert-file': '/u.crt' }),
      (e: Error) => e instanceof UsageError && /-ca-file and -key-file missing/.test(e.message),
    ));
});

describe('-kubelet-config-uri', () => {
  it('wins over the file when given as file://', () =>
    assert.equal(
      kubeletConfigPath('/a', 'file:///host-var/lib/kubelet/config.yaml'),
      '/host-var/lib/kubelet/config.yaml',
    ));
  it('keeps the file otherwise', () => assert.equal(kubeletConfigPath('/a', undefined), '/a'));
  it('refuses other schemes', () =>
    assert.throws(
      () => kubeletConfigPath('/a', 'https://127.0.0.1:10250/configz'),
      /not a file:\/\/ URI/,
    ));
});
