import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RegistryClient } from '../../../src/oci/index.js';
import { runHwe } from '../../support/cli.js';
import { pushTestImage, testRegistry } from '../../support/registry.js';

const DTK = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'d'.repeat(64)}`;
const MCO = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'e'.repeat(64)}`;

const imageReferencesYaml = `kind: ImageStream
apiVersion: image.openshift.io/v1
metadata:
  name: 4.12.3
spec:
  tags:
  - name: machine-os-content
    from:
      kind: DockerImage
      name: ${MCO}
  - name: driver-toolkit
    annotations:
      io.openshift.build.source-location: https://github.com/openshift/driver-toolkit
    from:
      kind: DockerImage
      name: ${DTK}
`;

const reg = await testRegistry();
const users = [{ username: 'release', password: 'pw' }];
const privateReg = await testRegistry({ auth: 'htpasswd', users });
const client = new RegistryClient({ registry: reg.host, tls: reg.tls });
after(() => client.close());

/** A synthetic release payload: a base layer and a layer holding release-manifests/. */
async function pushRelease(c: RegistryClient, repo: string, tag: string, references?: string) {
  const manifests = [
    {
      path: 'release-manifests/release-metadata',
      data: Buffer.from('{"kind":"cincinnati-metadata-v0"}'),
    },
  ];
  if (references !== undefined) {
    manifests.push({ path: 'release-manifests/image-references', data: Buffer.from(references) });
  }
  return pushTestImage(c, repo, tag, {
    layers: [[{ path: 'usr/bin/cluster-version-operator', data: Buffer.from('cvo') }], manifests],
  });
}

describe('hwe dtk image --release', () => {
  it('prints the driver-toolkit image of a release as JSON', async () => {
    const { digest } = await pushRelease(
      client,
      'ocp/release',
      '4.12.3-x86_64',
      imageReferencesYaml,
    );
    const r = await runHwe([
      'dtk',
      'image',
      '--release',
      `${reg.host}/ocp/release:4.12.3-x86_64`,
      '--insecure',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      release: `${reg.host}/ocp/release:4.12.3-x86_64@${digest}`,
      name: 'driver-toolkit',
      image: DTK,
    });
  });

  it('prints the plain pull spec with -o name, and other tags with --tag (JSON references)', async () => {
    const json = JSON.stringify({
      kind: 'ImageStream',
      apiVersion: 'image.openshift.io/v1',
      spec: {
        tags: [
          { name: 'machine-os-content', from: { kind: 'DockerImage', name: MCO } },
          { name: 'driver-toolkit', from: { kind: 'DockerImage', name: DTK } },
        ],
      },
    });
    await pushRelease(client, 'ocp/release', 'json', json);
    const ref = `${reg.host}/ocp/release:json`;
    const name = await runHwe(['dtk', 'image', '-release', ref, '-insecure', '-o', 'name']);
    assert.equal(name.code, 0, name.stderr);
    assert.equal(name.stdout, `${DTK}\n`);
    const mco = await runHwe([
      'dtk',
      'image',
      '--release',
      ref,
      '--insecure',
      '--tag',
      'machine-os-content',
      '-o=name',
    ]);
    assert.equal(mco.stdout, `${MCO}\n`);
  });

  it('exits 3 naming the tags the release has when it has no driver-toolkit', async () => {
    const noDtk = imageReferencesYaml.split('  - name: driver-toolkit')[0]!;
    await pushRelease(client, 'ocp/release', 'no-dtk', noDtk);
    const r = await runHwe([
      'dtk',
      'image',
      '--release',
      `${reg.host}/ocp/release:no-dtk`,
      '--insecure',
    ]);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /no tag "driver-toolkit" in ImageStream 4\.12\.3; it has: machine-os-content/,
    );
  });

  it('exits 1 when the image is not a release payload, or the payload does not exist', async () => {
    await pushRelease(client, 'ocp/release', 'not-a-payload');
    const r = await runHwe([
      'dtk',
      'image',
      '--release',
      `${reg.host}/ocp/release:not-a-payload`,
      '--insecure',
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /is not a release payload: it has no \/release-manifests\/image-references/,
    );

    const missing = await runHwe([
      'dtk',
      'image',
      '--release',
      `${reg.host}/ocp/release:4.99.0`,
      '--insecure',
    ]);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /--release .*4\.99\.0: manifest 4\.99\.0 not found in .*ocp\/release/,
    );
  });

  it('names its own --insecure flag when the registry speaks plain HTTP', async () => {
    await pushRelease(client, 'ocp/release', 'plain', imageReferencesYaml);
    const r = await runHwe(['dtk', 'image', '--release', `${reg.host}/ocp/release:plain`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TLS with registry https:\/\/.* failed/);
    assert.match(r.stderr, /set --insecure-skip-tls-verify \(or --insecure for plain HTTP\)/);
    assert.doesNotMatch(r.stderr, /registryTLS/);
  });

  it('exits 1 with a clear message for broken image-references', async () => {
    await pushRelease(client, 'ocp/release', 'broken', 'kind: ConfigMap\n');
    const r = await runHwe([
      'dtk',
      'image',
      '--release',
      `${reg.host}/ocp/release:broken`,
      '--insecure',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /image-references: kind is "ConfigMap", expected ImageStream/);
  });

  it('reads a private payload with --registry-config and reports refused credentials', async () => {
    const pc = new RegistryClient({
      registry: privateReg.host,
      tls: privateReg.tls,
      auth: users[0]!,
    });
    after(() => pc.close());
    await pushRelease(pc, 'ocp/release', '4.12.3', imageReferencesYaml);
    const dir = mkdtempSync(join(tmpdir(), 'hwe-dtk-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const auth = (p: string) =>
      JSON.stringify({
        auths: { [privateReg.host]: { auth: Buffer.from(`release:${p}`).toString('base64') } },
      });
    writeFileSync(join(dir, 'good.json'), auth('pw'));
    writeFileSync(join(dir, 'bad.json'), auth('wrong'));
    const ref = `${privateReg.host}/ocp/release:4.12.3`;
    // HOME and DOCKER_CONFIG point at an empty directory so no file of the machine is read.
    const env = { HOME: dir, DOCKER_CONFIG: dir, REGISTRY_AUTH_FILE: '', XDG_RUNTIME_DIR: '' };
    const ok = await runHwe(
      ['dtk', 'image', '--release', ref, '--insecure', '-a', join(dir, 'good.json'), '-o', 'name'],
      { env },
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, `${DTK}\n`);
    const bad = await runHwe(
      ['dtk', 'image', '--release', ref, '--insecure', '--registry-config', join(dir, 'bad.json')],
      { env },
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /refused the credentials of user "release"/);
    // The hint names this command's flag, not a Module field.
    assert.match(bad.stderr, /check the credentials of --registry-config/);
    assert.doesNotMatch(bad.stderr, /imageRepoSecret/);
    const none = await runHwe(['dtk', 'image', '--release', ref, '--insecure'], { env });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /requires credentials and none were given/);
  });

  it("adds the DTK image's /etc/driver-toolkit-release.json with --dtk-release", async () => {
    const rel = { KERNEL_VERSION: '5.14.0-284.52.1.el9_2.x86_64', RHEL_VERSION: '9.2' };
    const dtk = await pushTestImage(client, 'ocp/dtk', '412', {
      layers: [
        [{ path: 'usr/bin/kmod', data: Buffer.from('kmod') }],
        [{ path: 'etc/driver-toolkit-release.json', data: Buffer.from(JSON.stringify(rel)) }],
      ],
    });
    const notDtk = await pushTestImage(client, 'ocp/other', '1', { layers: [] });
    const refs = (image: string) => imageReferencesYaml.replace(DTK, image);
    await pushRelease(client, 'ocp/release', 'with-dtk', refs(`${reg.host}/ocp/dtk@${dtk.digest}`));
    await pushRelease(
      client,
      'ocp/release',
      'bad-dtk',
      refs(`${reg.host}/ocp/other@${notDtk.digest}`),
    );

    const ok = await runHwe([
      'dtk',
      'image',
      '--release',
      `${reg.host}/ocp/release:with-dtk`,
      '--insecure',
      '--dtk-release',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const out = JSON.parse(ok.stdout) as { image: string; driverToolkitRelease: unknown };
    assert.equal(out.image, `${reg.host}/ocp/dtk@${dtk.digest}`);
    assert.deepEqual(out.driverToolkitRelease, rel);

    const bad = await runHwe([
      'dtk',
      'image',
      '--release',
      `${reg.host}/ocp/release:bad-dtk`,
      '--insecure',
      '--dtk-release',
    ]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /is not a driver-toolkit image: it has no \/etc\/driver-toolkit-release\.json/,
    );
  });

  it('rejects bad flags with exit 2, naming the flag', async () => {
    const cases: [string[], RegExp][] = [
      [[], /give either --release REF \(a release payload\) or --node NAME/],
      [
        ['--release', 'Quay.io/UPPER'],
        /flag --release: invalid image reference "Quay\.io\/UPPER": repository name "UPPER" must be lowercase/,
      ],
      [['--release', 'x', '-o', 'yaml'], /flag --output: "yaml" is not one of json, name/],
      [
        ['--release', 'x', '--platform', 'linux'],
        /flag --platform: platform "linux" must be os\/architecture/,
      ],
      [['--release', 'x', 'extra'], /unexpected argument "extra"/],
      [['--release', 'x', '-o', 'name', '--dtk-release'], /--dtk-release .* use it with -o json/],
    ];
    for (const [args, why] of cases) {
      const r = await runHwe(['dtk', 'image', ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, why);
    }
  });
});
