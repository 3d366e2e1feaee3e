/**
 * Writes the CRD manifests under config/crd from the resource definitions in src/api, and
 * removes generated files that no longer have a definition. `npm run gen:crds`.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CRD_DIR, renderCrdFiles } from '../src/api/generate.js';
import { PACKAGE_ROOT } from '../src/version.js';

const root = join(PACKAGE_ROOT, CRD_DIR);
const files = renderCrdFiles();
for (const sub of ['bases', 'test-only']) {
  mkdirSync(join(root, sub), { recursive: true });
  for (const f of readdirSync(join(root, sub)))
    if (f.endsWith('.yaml') && !files.has(`${sub}/${f}`)) rmSync(join(root, sub, f));
}
for (const [rel, text] of files) {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
}
process.stdout.write(`wrote ${files.size} files under ${CRD_DIR}/\n`);
