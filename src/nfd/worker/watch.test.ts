import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type ChangeKind, ChangeWatcher } from './watch.js';

/** Long enough never to pass on a healthy machine; the watcher has no polling to fall back on. */
const WAIT_MS = 20_000;

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nfd-watch-'));
  after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function watcher(a: ConstructorParameters<typeof ChangeWatcher>[0]): ChangeWatcher {
  const w = new ChangeWatcher(a);
  after(() => w.close());
  return w;
}

/** Waits for the next change, as the worker loop does after a pass. */
async function nextChange(w: ChangeWatcher): Promise<Set<ChangeKind>> {
  w.refresh();
  const changed = await w.next(WAIT_MS);
  assert.ok(changed.size, `no change seen within ${WAIT_MS / 1000}s`);
  return changed;
}

describe('ChangeWatcher', () => {
  it('wakes on a new file, a changed file and a removed file of a watched tree', async () => {
    const dir = join(tempDir(), 'features.d');
    mkdirSync(dir);
    const w = watcher({ dirs: [dir] });
    writeFileSync(join(dir, 'a'), 'a=1\n');
    assert.deepEqual([...(await nextChange(w))], ['files']);
    writeFileSync(join(dir, 'a'), 'a=2\n');
    await nextChange(w);
    rmSync(join(dir, 'a'));
    await nextChange(w);
  });

  it('follows directories made below the tree, however deep and however fast', async () => {
    const dir = join(tempDir(), 'custom.d');
    mkdirSync(dir);
    const w = watcher({ dirs: [dir] });
    // Made in one go: the inner directories exist before any watcher for them.
    mkdirSync(join(dir, 'vendor/rules'), { recursive: true });
    writeFileSync(join(dir, 'vendor/rules/r.yaml'), '- name: r\n');
    await nextChange(w);
    // Now watched: a later file down there wakes it too.
    writeFileSync(join(dir, 'vendor/rules/s.yaml'), '- name: s\n');
    await nextChange(w);
  });

  it('waits for a missing tree and wakes for a file written together with it', async () => {
    const root = tempDir();
    const dir = join(root, 'etc/kubernetes/node-feature-discovery/features.d');
    mkdirSync(join(root, 'etc'));
    const w = watcher({ dirs: [dir] });
    for (let i = 0; i < 20; i++) {
      // Made and filled at once, as a test or an installer does, then removed again.
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'late'), 'late=yes\n');
      await nextChange(w);
      writeFileSync(join(dir, 'later'), 'later=yes\n');
      await nextChange(w);
      rmSync(join(root, 'etc/kubernetes'), { recursive: true });
      await nextChange(w);
    }
  });

  it('follows a directory replaced by another of the same name', async () => {
    const root = tempDir();
    const dir = join(root, 'features.d');
    mkdirSync(dir);
    const w = watcher({ dirs: [dir] });
    mkdirSync(join(root, 'next'));
    writeFileSync(join(root, 'next/a'), 'a=1\n');
    rmSync(dir, { recursive: true });
    renameSync(join(root, 'next'), dir);
    await nextChange(w);
    writeFileSync(join(dir, 'b'), 'b=1\n');
    await nextChange(w);
  });

  it('counts only the named files of a directory', async () => {
    const dir = tempDir();
    const w = watcher({ dirs: [], files: [join(dir, 'cpu_manager_state')] });
    writeFileSync(join(dir, 'other'), 'x');
    w.refresh();
    assert.equal((await w.next(500)).size, 0);
    writeFileSync(join(dir, 'cpu_manager_state'), '{}');
    assert.deepEqual([...(await nextChange(w))], ['files']);
  });

  it('tells a config change from a file change', async () => {
    const root = tempDir();
    const config = join(root, 'conf/nfd-worker.conf');
    mkdirSync(join(root, 'conf'));
    mkdirSync(join(root, 'features.d'));
    const w = watcher({ configFile: config, dirs: [join(root, 'features.d')] });
    writeFileSync(config, 'core: {}\n');
    assert.deepEqual([...(await nextChange(w))], ['config']);
    writeFileSync(join(root, 'features.d/x'), 'x=1\n');
    assert.deepEqual([...(await nextChange(w))], ['files']);
  });

  it('ends a wait when closed', async () => {
    const w = watcher({ dirs: [tempDir()] });
    const waiting = w.next(0);
    w.close();
    assert.equal((await waiting).size, 0);
  });
});
