/**
 * The hwe image, as a cluster would run it: built by `npm run image` (scripts/image.ts), pushed
 * to a local docker-registry, pulled back with hwe's OCI client, unpacked layer by layer, and
 * its programs run with chroot under the image's environment, user and mounts. Needs root
 * (chroot, bind mounts); the base and Node.js layers are cached, so only the first run on a
 * machine downloads them.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type BuiltImage,
  IMAGE_PROGRAMS,
  IMAGE_USER,
  buildImage,
  imageProgramTarget,
} from '../../../scripts/image.js';
import { PROGRAM_ALIASES } from '../../../src/cli/programs.js';
import { hostFixture, repoRoot } from '../../fixtures/hosts/index.js';
import { makeModuleTree } from '../../fixtures/kmm/modtree.js';
import { runHwe } from '../../support/cli.js';
import { testRegistry } from '../../support/registry.js';
import { type UnpackedImage, runInImage, unpackImage } from './unpacked.js';

const COMMIT = 'c0ffee123456';
const isRoot = process.getuid?.() === 0;

let built: BuiltImage;
let img: UnpackedImage;
let dir: string;
let root: string;
let imageEnv: NodeJS.ProcessEnv;

const inImage = (args: string[], opts: Parameters<typeof runInImage>[2] = {}) =>
  runInImage(img, args, opts);

before(
  async () => {
    if (!isRoot) return;
    dir = await mkdtemp(join(tmpdir(), 'hwe-image-'));
    const reg = await testRegistry();
    built = await buildImage({
      push: `${reg.host}/hwe:test`,
      platforms: ['linux/amd64'],
      tls: reg.tls,
      commit: COMMIT,
      log: (l) => process.stderr.write(`# image: ${l}\n`),
    });
    img = await unpackImage(
      built.ref,
      reg.tls,
      { os: 'linux', architecture: 'amd64' },
      join(dir, 'root'),
    );
    root = img.root;
    imageEnv = img.env;
  },
  { timeout: 900_000 },
);

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface NodeFeatureJson {
  spec: {
    labels: Record<string, string>;
    features: { flags?: Record<string, unknown>; attributes?: Record<string, unknown> };
  };
}

/** A NodeFeature without what the CPUID instruction gives (cpu.cpuid, cpu.model). */
function withoutCpu(nf: NodeFeatureJson): NodeFeatureJson {
  const out = structuredClone(nf);
  delete out.spec.features.flags?.['cpu.cpuid'];
  delete out.spec.features.attributes?.['cpu.cpuid'];
  delete out.spec.features.attributes?.['cpu.model'];
  out.spec.labels = Object.fromEntries(
    Object.entries(out.spec.labels).filter(
      ([k]) => !/^feature\.node\.kubernetes\.io\/cpu-(cpuid|model)\./.test(k),
    ),
  );
  return out;
}

describe('the hwe image', { skip: isRoot ? false : 'needs root (chroot, bind mounts)' }, () => {
  it('is one linux/amd64 image of four layers, run as a non-root user by default', () => {
    assert.equal(built.images.length, 1);
    assert.equal(img.image.config.architecture, 'amd64');
    assert.equal(img.image.manifest.layers.length, 4);
    const cfg = img.image.config.config as { User?: string; Labels?: Record<string, string> };
    assert.equal(cfg.User, IMAGE_USER);
    assert.equal(cfg.Labels?.['org.opencontainers.image.revision'], COMMIT);
    assert.equal(imageEnv.HWE_COMMIT, COMMIT);
  });

  it('holds the runtime, the kmod tools and a link per program name', async () => {
    for (const tool of ['modprobe', 'depmod', 'modinfo', 'insmod', 'rmmod']) {
      assert.ok(existsSync(join(root, 'sbin', tool)), `${tool} in /sbin`);
    }
    for (const name of IMAGE_PROGRAMS) {
      assert.equal(
        await readlink(join(root, 'usr/local/bin', name)),
        imageProgramTarget(name),
        name,
      );
    }
    assert.ok(existsSync(join(root, 'opt/hwe/node_modules/yaml')), 'production dependencies');
    assert.ok(!existsSync(join(root, 'opt/hwe/node_modules/typescript')), 'no dev dependencies');
    assert.ok(!existsSync(join(root, 'opt/hwe/dist/src/cli/command.test.js')), 'no tests');
    assert.ok(!existsSync(join(root, 'opt/hwe/dist/test')), 'no integration tests');
    const node = await inImage(['node', '--version']);
    assert.match(node.stdout, /^v24\./, node.stderr);
    assert.equal((await stat(join(root, 'tmp'))).mode & 0o7777, 0o1777);
  });

  it('each program name runs the command of that name, as bin/hwe does', async () => {
    for (const name of IMAGE_PROGRAMS) {
      const inside = await inImage([name, '--help']);
      const outside = await runHwe([...(PROGRAM_ALIASES[name] ?? []), '--help']);
      assert.equal(inside.code, outside.code, `${name}: ${inside.stderr}`);
      assert.equal(inside.stdout, outside.stdout, name);
      assert.equal(inside.stderr, outside.stderr, name);
      assert.match(inside.stdout + inside.stderr, /^Usage: hwe/m, name);
    }
  });

  it('hwe version prints the commit the image was built from', async () => {
    const r = await inImage(['hwe', 'version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { commit: string }).commit, COMMIT);
  });

  it('nfd-worker with a host mounted as in its pod gives the NodeFeature bin/hwe gives', async () => {
    for (const host of ['intel-rhcos', 'amd-debian'] as const) {
      const fixture = hostFixture(host);
      const mounts: [string, string][] = [];
      for (const d of ['sys', 'proc', 'etc', 'boot', 'lib', 'usr', 'var']) {
        if (!existsSync(join(fixture, d))) continue;
        await mkdir(join(root, `host-${d}`), { recursive: true });
        mounts.push([join(fixture, d), `/host-${d}`]);
      }
      // upstream's DaemonSet mounts features.d and custom.d from the host at their own paths
      const nfdDir = 'etc/kubernetes/node-feature-discovery';
      if (existsSync(join(fixture, nfdDir))) {
        await mkdir(join(root, nfdDir), { recursive: true });
        mounts.push([join(fixture, nfdDir), `/${nfdDir}`]);
      }
      const env = { NODE_NAME: 'image-node' };
      const inside = await inImage(['nfd-worker', '-oneshot', '-no-publish', '-o', 'json'], {
        mounts,
        env,
      });
      assert.equal(inside.code, 0, inside.stderr);
      const outside = await runHwe(
        ['nfd', 'worker', '--oneshot', '--no-publish', '--host-root', fixture, '-o', 'json'],
        { env },
      );
      assert.equal(outside.code, 0, outside.stderr);
      const nf = JSON.parse(inside.stdout) as NodeFeatureJson;
      assert.ok(Object.keys(nf.spec.labels).length > 5, `${host}: labels found`);
      // In its pod the worker asks the CPU itself (CPUID), as upstream does: the processor of
      // this machine, not the fixture's. With --host-root it reads the tree's /proc/cpuinfo.
      // Everything else comes from the mounted host and must be the same.
      assert.match(inside.stderr, /cpuid flags from the CPUID instruction/, host);
      assert.deepEqual(
        withoutCpu(nf),
        withoutCpu(JSON.parse(outside.stdout) as NodeFeatureJson),
        host,
      );
      for (const d of ['sys', 'proc', 'etc', 'boot', 'lib', 'usr', 'var']) {
        await rm(join(root, `host-${d}`), { recursive: true, force: true });
      }
      await rm(join(root, nfdDir), { recursive: true, force: true });
    }
  });

  it("kmm-worker runs the image's depmod and modprobe on a module tree (dry run)", async () => {
    const kernel = release();
    // the module image's files, where the worker pod unpacks them; built on this machine
    await makeModuleTree(join(root, 'tmp'), '/opt', kernel, [
      { name: 'hwei_dep', exports: ['hwei_dep_fn'] },
      { name: 'hwei_main', uses: ['hwei_dep_fn'] },
    ]);
    const modules = join(root, 'tmp/opt/lib/modules', kernel);
    await rm(join(modules, 'modules.dep'));
    // the image's own depmod indexes the tree
    const depmod = await inImage(['depmod', '-b', '/tmp/opt', kernel], { user: '0:0' });
    assert.equal(depmod.code, 0, depmod.stderr);
    assert.match(
      await readFile(join(modules, 'modules.dep'), 'utf8'),
      /^extra\/hwei_main\.ko: extra\/hwei_dep\.ko$/m,
    );
    // the host as the worker pod sees it: an empty /proc/modules and the firmware parameter
    const host = join(root, 'tmp/host');
    await mkdir(join(host, 'proc'), { recursive: true });
    await writeFile(join(host, 'proc/modules'), '');
    await mkdir(join(host, 'sys/module/firmware_class/parameters'), { recursive: true });
    await writeFile(join(host, 'sys/module/firmware_class/parameters/path'), '\n');
    await writeFile(join(root, 'tmp/modprobe-n'), '#!/bin/sh\nexec /sbin/modprobe -n "$@"\n');
    await chmod(join(root, 'tmp/modprobe-n'), 0o755);
    await writeFile(
      join(root, 'tmp/config.yaml'),
      'modprobe:\n  moduleName: hwei_main\n  dirName: /opt\n',
    );
    const r = await inImage(
      [
        'kmm-worker',
        'kmod',
        'load',
        '/tmp/config.yaml',
        '-root',
        '/tmp/host',
        '-image-dir',
        '/tmp',
        '-modprobe',
        '/tmp/modprobe-n',
      ],
      { user: '0:0' },
    );
    assert.equal(r.code, 0, r.stderr);
    const extra = `/tmp/opt/lib/modules/${kernel}/extra`;
    assert.deepEqual(
      r.stdout
        .split('\n')
        .map((l) => l.trimEnd())
        .filter((l) => l !== ''),
      [`insmod ${extra}/hwei_dep.ko`, `insmod ${extra}/hwei_main.ko`],
    );
  });
});

describe('the Dockerfile', () => {
  it('uses the Node.js release npm run image uses', async () => {
    const repo = repoRoot();
    const env = await readFile(join(repo, 'tools/image/versions.env'), 'utf8');
    const dockerfile = await readFile(join(repo, 'Dockerfile'), 'utf8');
    const want = /^NODE_VERSION=(\S+)/m.exec(env)?.[1];
    assert.ok(want);
    assert.equal(/^ARG NODE_VERSION=(\S+)$/m.exec(dockerfile)?.[1], want);
  });
});
