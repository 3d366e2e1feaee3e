/**
 * Writes the OLM bundles under bundle/ from the manifests under config/ and the examples under
 * examples/, so the bundles never say anything the kustomize install does not. `npm run
 * gen:bundles`; `test/integration/install/olm.test.ts` fails when bundle/ is not up to date.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderBundles } from './olm-bundles.js';
import { PACKAGE_ROOT } from '../src/version.js';

const files = renderBundles();
rmSync(join(PACKAGE_ROOT, 'bundle'), { recursive: true, force: true });
for (const [rel, text] of files) {
  mkdirSync(dirname(join(PACKAGE_ROOT, rel)), { recursive: true });
  writeFileSync(join(PACKAGE_ROOT, rel), text);
}
process.stdout.write(`wrote ${files.size} files under bundle/\n`);
