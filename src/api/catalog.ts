import { FOREIGN_RESOURCES } from './foreign.js';
import * as kmm from './kmm.js';
import * as nfd from './nfd.js';
import type { ResourceDef } from './resource.js';

/** Every resource hwe defines and installs. */
export const HWE_RESOURCES: readonly ResourceDef[] = [
  nfd.NodeFeatureResource,
  nfd.NodeFeatureRuleResource,
  nfd.NodeFeatureGroupResource,
  nfd.NodeFeatureDiscoveryResource,
  nfd.OpenShiftNodeFeatureRuleResource,
  nfd.NodeResourceTopologyResource,
  kmm.ModuleResource,
  kmm.NodeModulesConfigResource,
  kmm.ModuleImagesConfigResource,
  kmm.ModuleBuildSignConfigResource,
  kmm.PreflightValidationResource,
  kmm.PreflightValidationOCPResource,
  kmm.ManagedClusterModuleResource,
];

/** Ours and the test-only stand-ins for foreign APIs: what integration tests install. */
export const ALL_RESOURCES: readonly ResourceDef[] = [...HWE_RESOURCES, ...FOREIGN_RESOURCES];
