/**
 * hwe's API: the custom resources of NFD and KMM as TypeScript types, their CRDs, their API
 * coordinates, and the installer. Each resource is defined once (see schema.ts); the types and
 * the manifests under config/crd/ both come from that definition.
 */
import * as foreign from './foreign.js';
import * as kmm from './kmm.js';
import * as nfd from './nfd.js';
import { apiResource } from './resource.js';

export * from './catalog.js';
export * from './core.js';
export * from './decode.js';
export * from './foreign.js';
export * from './install.js';
export * from './kmm.js';
export * from './nfd.js';
export * from './resource.js';
export { openApiSchema, structuralProblems, type CelRule, type Static } from './schema.js';
// The REST path helper and coordinates type are the runtime's; re-exported for convenience.
export { apiVersionOf, resourcePath, type ResourceType } from '../runtime/resources.js';

// API coordinates, for KubeClient paths and informers (storage versions).
export const NodeFeatures = apiResource<nfd.NodeFeature>(nfd.NodeFeatureResource);
export const NodeFeatureRules = apiResource<nfd.NodeFeatureRule>(nfd.NodeFeatureRuleResource);
export const OpenShiftNodeFeatureRules = apiResource<nfd.NodeFeatureRule>(
  nfd.OpenShiftNodeFeatureRuleResource,
);
export const NodeFeatureGroups = apiResource<nfd.NodeFeatureGroup>(nfd.NodeFeatureGroupResource);
export const NodeFeatureDiscoveries = apiResource<nfd.NodeFeatureDiscovery>(
  nfd.NodeFeatureDiscoveryResource,
);
export const NodeResourceTopologies = apiResource<nfd.NodeResourceTopology>(
  nfd.NodeResourceTopologyResource,
);
export const Modules = apiResource<kmm.Module>(kmm.ModuleResource);
export const NodeModulesConfigs = apiResource<kmm.NodeModulesConfig>(kmm.NodeModulesConfigResource);
export const ModuleImagesConfigs = apiResource<kmm.ModuleImagesConfig>(
  kmm.ModuleImagesConfigResource,
);
export const ModuleBuildSignConfigs = apiResource<kmm.ModuleBuildSignConfig>(
  kmm.ModuleBuildSignConfigResource,
);
export const PreflightValidations = apiResource<kmm.PreflightValidation>(
  kmm.PreflightValidationResource,
);
export const PreflightValidationsOCP = apiResource<kmm.PreflightValidationOCP>(
  kmm.PreflightValidationOCPResource,
);
export const ManagedClusterModules = apiResource<kmm.ManagedClusterModule>(
  kmm.ManagedClusterModuleResource,
);

/** Foreign kinds (test stand-ins here; the real APIs on OpenShift / OCM hubs). */
export const Builds = apiResource(foreign.BuildResource);
export const BuildConfigs = apiResource(foreign.BuildConfigResource);
export const ImageStreams = apiResource(foreign.ImageStreamResource);
export const ClusterVersions = apiResource(foreign.ClusterVersionResource);
export const SecurityContextConstraintsList = apiResource(
  foreign.SecurityContextConstraintsResource,
);
export const ManifestWorks = apiResource(foreign.ManifestWorkResource);
export const ManagedClusters = apiResource(foreign.ManagedClusterResource);
export const ClusterClaims = apiResource(foreign.ClusterClaimResource);
