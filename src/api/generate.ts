import { stringify } from 'yaml';
import { FOREIGN_RESOURCES } from './foreign.js';
import { HWE_RESOURCES } from './catalog.js';
import { customResourceDefinition, type ResourceDef } from './resource.js';

/** Where the generated manifests live, relative to the package root. */
export const CRD_DIR = 'config/crd';

const HEADER = '# Generated from src/api by `npm run gen:crds`. Do not edit.\n';

const fileName = (d: ResourceDef) => `${d.group}_${d.plural}.yaml`;

/**
 * The generated files under config/crd: relative path → content. Ours go to bases/ (with a
 * kustomization listing them), the test-only stand-ins for foreign APIs to test-only/.
 */
export function renderCrdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const yaml = (d: ResourceDef) =>
    HEADER + stringify(customResourceDefinition(d), { lineWidth: 0, aliasDuplicateObjects: false });
  for (const d of HWE_RESOURCES) files.set(`bases/${fileName(d)}`, yaml(d));
  for (const d of FOREIGN_RESOURCES) files.set(`test-only/${fileName(d)}`, yaml(d));
  files.set(
    'kustomization.yaml',
    HEADER +
      stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: HWE_RESOURCES.map((d) => `bases/${fileName(d)}`),
      }),
  );
  return files;
}
