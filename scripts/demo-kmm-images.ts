/**
 * Builds the demo's kernel module images and pushes them to a registry over plain HTTP, as a
 * vendor's pipeline would: one image per kernel, tagged with the kernel version, holding
 * /opt/lib/modules/<kernel>/extra/{kmm_demo,kmm_demo_dep}.ko and depmod's index. The modules
 * are tiny ELF objects with the .modinfo that kmod reads (no kernel headers needed); kmm_demo
 * uses a symbol of kmm_demo_dep, so modprobe loads the dependency first.
 *
 *   node dist/scripts/demo-kmm-images.js REGISTRY REPOSITORY KERNEL...
 */
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { RegistryClient, type LayerFile } from '../src/oci/index.js';
import { makeModuleTree } from '../test/fixtures/kmm/modtree.js';
import { pushTestImage } from '../test/support/registry.js';

async function filesUnder(root: string, dir: string): Promise<LayerFile[]> {
  const out: LayerFile[] = [];
  for (const name of await readdir(dir)) {
    const p = join(dir, name);
    const st = await stat(p);
    if (st.isDirectory()) out.push(...(await filesUnder(root, p)));
    else out.push({ path: relative(root, p), data: await readFile(p), mode: st.mode & 0o777 });
  }
  return out;
}

const [registry, repository, ...kernels] = process.argv.slice(2);
if (!registry || !repository || !kernels.length) {
  process.stderr.write('usage: demo-kmm-images REGISTRY REPOSITORY KERNEL...\n');
  process.exit(2);
}
const client = new RegistryClient({ registry, tls: { insecure: true } });
try {
  for (const kernel of kernels) {
    const work = await mkdtemp(join(tmpdir(), 'hwe-demo-image-'));
    try {
      await makeModuleTree(work, '/opt', kernel, [
        { name: 'kmm_demo_dep', exports: ['kmm_demo_dep_fn'] },
        { name: 'kmm_demo', uses: ['kmm_demo_dep_fn'] },
      ]);
      const files = await filesUnder(work, join(work, 'opt'));
      const { digest } = await pushTestImage(client, repository, kernel, { layers: [files] });
      process.stdout.write(
        `pushed ${registry}/${repository}:${kernel} (${digest.slice(0, 19)}…)\n`,
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
} finally {
  client.close();
}
