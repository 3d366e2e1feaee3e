/**
 * kmm-worker against real module trees: modules compiled with gcc, indexed by Debian's depmod,
 * and loaded by `hwe kmm worker` through `modprobe -n` (a dry run that prints the insmod lines
 * a real load would run). The host side (/proc, /sys, the firmware directory) is a temporary root.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { findTool, makeModuleTree } from '../../../test/fixtures/kmm/modtree.js';
import { HWE_MAIN, runHwe } from '../../../test/support/cli.js';

// modprobe -d DIR looks in DIR/lib/modules/$(uname -r), as on a node
const KERNEL = release();

let dir: string;
let imageDir: string;
let root: string;
let modDir: string;
let dryRun: string;
let callLog: string;

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

async function worker(action: 'load' | 'unload', config: string, extra: string[] = []) {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, config);
  return runHwe([
    'kmm',
    'worker',
    'kmod',
    action,
    file,
    '--root',
    root,
    '--image-dir',
    imageDir,
    '--modprobe',
    dryRun,
    ...extra,
  ]);
}

function insmodLines(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '');
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kmm-modtree-'));
  imageDir = join(dir, 'image');
  root = join(dir, 'host');
  modDir = await makeModuleTree(imageDir, '/opt', KERNEL, [
    { name: 'hwet_dep2', exports: ['hwet_dep2_fn'] },
    { name: 'hwet_dep1', exports: ['hwet_dep1_fn'], uses: ['hwet_dep2_fn'] },
    { name: 'hwet_helper' },
    { name: 'hwet_main', uses: ['hwet_dep1_fn'], softdep: 'pre: hwet_helper' },
    { name: 'hwet_solo' },
    { name: 'hwet_other1' },
    { name: 'hwet_other2', uses: ['hwet_dep2_fn'] },
  ]);
  await mkdir(join(root, 'proc'), { recursive: true });
  await writeFile(join(root, 'proc', 'modules'), '');
  await mkdir(join(root, 'sys', 'module', 'firmware_class', 'parameters'), { recursive: true });
  await writeFile(join(root, 'sys', 'module', 'firmware_class', 'parameters', 'path'), '\n');
  callLog = join(dir, 'modprobe-calls');
  dryRun = join(dir, 'modprobe-dry-run');
  await writeFile(
    dryRun,
    `#!/bin/sh\necho "$*" >> '${callLog}'\nexec '${findTool('modprobe')}' -n "$@"\n`,
  );
  await chmod(dryRun, 0o755);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('kmm-worker with a real module tree (modprobe -n)', () => {
  it('the tree is what depmod made of it', async () => {
    const dep = await readFile(
      join(imageDir, 'opt', 'lib', 'modules', KERNEL, 'modules.dep'),
      'utf8',
    );
    assert.match(dep, /^extra\/hwet_main\.ko: extra\/hwet_dep1\.ko extra\/hwet_dep2\.ko$/m);
    const softdep = await readFile(
      join(imageDir, 'opt', 'lib', 'modules', KERNEL, 'modules.softdep'),
      'utf8',
    );
    assert.match(softdep, /^softdep hwet_main pre: hwet_helper$/m);
  });

  it('loads dependencies, softdeps and parameters in order', async () => {
    const r = await worker(
      'load',
      'modprobe:\n  moduleName: hwet_main\n  dirName: /opt\n  parameters: [a=1, b=two]\n',
    );
    assert.equal(r.code, 0, r.stderr);
    // kmod inserts the symbol dependencies (deepest first), then the module's pre: softdeps
    assert.deepEqual(insmodLines(r.stdout), [
      `insmod ${modDir}/hwet_dep2.ko`,
      `insmod ${modDir}/hwet_dep1.ko`,
      `insmod ${modDir}/hwet_helper.ko`,
      `insmod ${modDir}/hwet_main.ko a=1 b=two`,
    ]);
  });

  it('modulesLoadingOrder loads the last first, each with its own dependencies', async () => {
    const r = await worker(
      'load',
      [
        'modprobe:',
        '  moduleName: hwet_solo',
        '  parameters: [x=1]',
        '  modulesLoadingOrder: [hwet_solo, hwet_other1, hwet_other2]',
      ].join('\n'),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(insmodLines(r.stdout), [
      `insmod ${modDir}/hwet_dep2.ko`,
      `insmod ${modDir}/hwet_other2.ko`,
      `insmod ${modDir}/hwet_other1.ko`,
      `insmod ${modDir}/hwet_solo.ko x=1`,
    ]);
  });

  it('args.load goes before the module name; rawArgs are used as given', async () => {
    const withArgs = await worker(
      'load',
      'modprobe:\n  moduleName: hwet_solo\n  args: {load: [--ignore-install]}\n',
    );
    assert.equal(withArgs.code, 0, withArgs.stderr);
    assert.deepEqual(insmodLines(withArgs.stdout), [`insmod ${modDir}/hwet_solo.ko`]);
    const raw = await worker(
      'load',
      `modprobe:\n  rawArgs:\n    load: [-v, -d, ${join(imageDir, 'opt')}, -a, hwet_solo, hwet_other1]\n    unload: [-r, hwet_solo]\n`,
    );
    assert.equal(raw.code, 0, raw.stderr);
    assert.deepEqual(insmodLines(raw.stdout), [
      `insmod ${modDir}/hwet_solo.ko`,
      `insmod ${modDir}/hwet_other1.ko`,
    ]);
    const calls = (await readFile(callLog, 'utf8')).trim().split('\n');
    assert.ok(calls.includes(`-v -d ${join(imageDir, 'opt')} --ignore-install hwet_solo`));
    assert.ok(calls.includes(`-v -d ${join(imageDir, 'opt')} -a hwet_solo hwet_other1`));
  });

  it('a module missing from the image: exit 1, the module and the reason, a termination message', async () => {
    const termination = join(dir, 'termination-log');
    await writeFile(termination, '');
    const r = await worker('load', 'modprobe:\n  moduleName: hwet_nosuch\n', [
      '--termination-log',
      termination,
    ]);
    assert.equal(r.code, 1);
    const message = new RegExp(
      `could not load module hwet_nosuch: Module hwet_nosuch not found in directory ` +
        `${join(imageDir, 'opt', 'lib', 'modules', KERNEL).replace(/[.+]/g, '\\$&')}; .*depmod -b`,
    );
    assert.match(r.stderr, message);
    assert.match(await readFile(termination, 'utf8'), message);
  });

  it('copies firmware and sets firmware_class.path on load; removes exactly that on unload', async () => {
    await mkdir(join(imageDir, 'firmware', 'hwet'), { recursive: true });
    await writeFile(join(imageDir, 'firmware', 'hwet', 'fw.bin'), 'firmware blob');
    await writeFile(join(imageDir, 'firmware', 'shared.bin'), 'shared');
    const hostFw = join(root, 'var', 'lib', 'firmware');
    await mkdir(hostFw, { recursive: true });
    await writeFile(join(hostFw, 'shared.bin'), 'shared'); // already on the node: not ours
    await writeFile(join(hostFw, 'other.bin'), 'another driver');
    const config = 'modprobe:\n  moduleName: hwet_solo\n  firmwarePath: /firmware\n';

    const load = await worker('load', config, ['--firmware-path', '/var/lib/firmware']);
    assert.equal(load.code, 0, load.stderr);
    assert.deepEqual(insmodLines(load.stdout), [`insmod ${modDir}/hwet_solo.ko`]);
    assert.equal(await readFile(join(hostFw, 'hwet', 'fw.bin'), 'utf8'), 'firmware blob');
    assert.equal(
      await readFile(join(root, 'sys', 'module', 'firmware_class', 'parameters', 'path'), 'utf8'),
      '/var/lib/firmware',
    );

    const unload = await worker('unload', config, ['--firmware-path', '/var/lib/firmware']);
    assert.equal(unload.code, 0, unload.stderr);
    const calls = (await readFile(callLog, 'utf8')).trim().split('\n');
    assert.equal(calls.at(-1), `-r -v -d ${join(imageDir, 'opt')} hwet_solo`);
    assert.equal(await exists(join(hostFw, 'hwet')), false);
    assert.equal(await readFile(join(hostFw, 'shared.bin'), 'utf8'), 'shared');
    assert.equal(await readFile(join(hostFw, 'other.bin'), 'utf8'), 'another driver');
    assert.equal(await exists(join(hostFw, '.kmm-worker')), false);
  });

  it('also answers as `hwe kmm worker load --config FILE`', async () => {
    const file = join(dir, 'plain.yaml');
    await writeFile(file, 'modprobe: {moduleName: hwet_dep1}\n');
    const r = await runHwe([
      'kmm',
      'worker',
      'load',
      '--config',
      file,
      '--root',
      root,
      '--image-dir',
      imageDir,
      '--modprobe',
      dryRun,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(insmodLines(r.stdout), [
      `insmod ${modDir}/hwet_dep2.ko`,
      `insmod ${modDir}/hwet_dep1.ko`,
    ]);
  });
  it("answers to upstream's program name and spelling: kmm-worker kmod load CONFIG -flag", async () => {
    const link = join(dir, 'kmm-worker');
    await symlink(HWE_MAIN, link);
    const file = join(dir, 'upstream.yaml');
    await writeFile(file, 'modprobe: {moduleName: hwet_other1, parameters: [debug=1]}\n');
    const { stdout } = await promisify(execFile)(process.execPath, [
      link,
      'kmod',
      'load',
      file,
      '-root',
      root,
      '-image-dir',
      imageDir,
      '-modprobe',
      dryRun,
    ]);
    assert.deepEqual(insmodLines(stdout), [`insmod ${modDir}/hwet_other1.ko debug=1`]);
  });
});

describe('kmm-worker failures', () => {
  it('"Required key not available" comes back with the module, the reason and what to do', async () => {
    const fake = join(dir, 'modprobe-no-key');
    await writeFile(
      fake,
      `#!/bin/sh\necho "modprobe: ERROR: could not insert 'hwet_main': Required key not available" >&2\nexit 1\n`,
    );
    await chmod(fake, 0o755);
    const file = join(dir, 'key.yaml');
    await writeFile(file, 'modprobe: {moduleName: hwet_main}\n');
    const termination = join(dir, 'termination-key');
    await writeFile(termination, '');
    const r = await runHwe([
      'kmm',
      'worker',
      'kmod',
      'load',
      file,
      '--root',
      root,
      '--image-dir',
      imageDir,
      '--modprobe',
      fake,
      '--termination-log',
      termination,
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /could not load module hwet_main: Required key not available; the node enforces module signatures/,
    );
    assert.match(
      await readFile(termination, 'utf8'),
      /^could not load module hwet_main: Required key/,
    );
  });

  it('an invalid config is exit 2 and names the field', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'modprobe: {moduleName: x, firmwarepath: /fw}\n');
    const r = await runHwe(['kmm', 'worker', 'kmod', 'load', file, '--root', root]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /config .*bad\.yaml: modprobe\.firmwarepath: unknown field/);
  });

  it('no config is a usage error', async () => {
    const r = await runHwe(['kmm', 'worker', 'kmod', 'load']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /give the config file/);
  });
});
