/**
 * What preflight concludes about one Module for one kernel, decided from the Module, the
 * objects it refers to and the registry. Dependencies are passed in so that every outcome is
 * table-tested without a cluster or a registry.
 */
import type { Module } from '../../api/index.js';
import type { ImageExistence, SecretLike } from '../../oci/index.js';
import { usesDtkAuto } from '../build/index.js';
import { resolveKernelMapping, type ResolvedMapping } from '../kernelmapping/index.js';

export type VerificationStatus = 'Success' | 'Failure' | 'InProgress';
export type VerificationStage = 'Image' | 'Done';

export interface Verdict {
  status: VerificationStatus;
  stage: VerificationStage;
  reason: string;
  /**
   * Check again after this long even if nothing changes: the registry could not be asked, or a
   * missing ConfigMap/Secret may be created. Absent: final until the Module changes.
   */
  recheck?: boolean;
  /** With pushBuiltImage: the image must be built (and/or signed) and pushed now. */
  build?: { mapping: ResolvedMapping };
}

export interface VerifyDeps {
  /** A ConfigMap's data in the Module's namespace; undefined when it does not exist. */
  configMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** A Secret in the Module's namespace; undefined when it does not exist. */
  secret(namespace: string, name: string): Promise<SecretLike | undefined>;
  /** Whether an image exists, asked the way the nodes would pull it. */
  imageExists(
    image: string,
    access: { tls: ResolvedMapping['registryTLS']; pullSecrets: SecretLike[] },
  ): Promise<ImageExistence>;
}

export interface VerifyInput {
  module: Module;
  kernelVersion: string;
  pushBuiltImage: boolean;
  /** PreflightValidationOCP's spec.dtkImage: the Driver Toolkit of the target release. */
  dtkImage?: string;
}

const done = (status: 'Success' | 'Failure', reason: string, recheck = false): Verdict => ({
  status,
  stage: 'Done',
  reason,
  ...(recheck ? { recheck } : {}),
});

async function pullSecrets(module: Module, deps: VerifyDeps): Promise<SecretLike[]> {
  const name = module.spec.imageRepoSecret?.name;
  if (!name) return [];
  const s = await deps.secret(module.metadata.namespace ?? '', name);
  return s ? [s] : [];
}

function existenceProblem(what: string, image: string, e: ImageExistence): Verdict | undefined {
  switch (e.state) {
    case 'Exists':
    case 'NotFound':
      return undefined;
    case 'Unauthorized':
      return done(
        'Failure',
        `the registry refused access to ${what} ${image} (${e.error.message}); check ` +
          'spec.imageRepoSecret',
        true,
      );
    default:
      return done(
        'Failure',
        `could not check ${what} ${image}: ${e.error.message}; checked again in a minute`,
        true,
      );
  }
}

/** What is missing for building and signing `m` in its namespace (empty: nothing). */
async function missingInputs(
  input: VerifyInput,
  m: ResolvedMapping,
  deps: VerifyDeps,
  pull: SecretLike[],
): Promise<{ missing: string[]; recheck: boolean; done?: Verdict }> {
  const ns = input.module.metadata.namespace ?? '';
  const missing: string[] = [];
  if (m.build) {
    const cm = m.build.dockerfileConfigMap?.name ?? '';
    const data = cm ? await deps.configMap(ns, cm) : undefined;
    if (!data) missing.push(`ConfigMap ${ns}/${cm} with the Dockerfile`);
    else if (data['dockerfile'] === undefined) {
      missing.push(`key "dockerfile" in ConfigMap ${ns}/${cm}`);
    } else if (usesDtkAuto(data['dockerfile']) && !input.dtkImage) {
      missing.push(
        'the Driver Toolkit image of the target release for DTK_AUTO (no node runs the kernel ' +
          'yet): use a PreflightValidationOCP with spec.dtkImage',
      );
    }
    for (const s of m.build.secrets ?? []) {
      if (s.name && !(await deps.secret(ns, s.name))) missing.push(`build Secret ${ns}/${s.name}`);
    }
  }
  if (m.sign) {
    for (const [ref, key] of [
      [m.sign.keySecret?.name, 'key'],
      [m.sign.certSecret?.name, 'cert'],
    ] as const) {
      const s = ref ? await deps.secret(ns, ref) : undefined;
      if (!s) missing.push(`signing Secret ${ns}/${ref ?? ''} (data key "${key}")`);
      else if (s.data?.[key] === undefined)
        missing.push(`data key "${key}" in Secret ${ns}/${ref}`);
    }
    if (!m.build) {
      const unsigned = m.sign.unsignedImage ?? '';
      if (!unsigned) missing.push('sign.unsignedImage (there is no build to sign)');
      else {
        const e = await deps.imageExists(unsigned, {
          tls: m.sign.unsignedImageRegistryTLS ?? m.registryTLS,
          pullSecrets: pull,
        });
        const problem = existenceProblem('the unsigned image', unsigned, e);
        if (problem) return { missing, recheck: true, done: problem };
        if (e.state === 'NotFound') missing.push(`the unsigned image ${unsigned} (not found)`);
      }
    }
  }
  return { missing, recheck: missing.length > 0 };
}

/**
 * Can the Module be loaded on nodes running `kernelVersion`? A mapping must match; then its
 * image must exist, or be buildable and/or signable. A missing image with no way to make it is
 * a Failure at once (upstream waited for it forever).
 */
export async function verifyModule(input: VerifyInput, deps: VerifyDeps): Promise<Verdict> {
  const { module, kernelVersion } = input;
  if (!module.spec.moduleLoader) {
    return done(
      'Success',
      'no moduleLoader: the Module runs a device plugin for an in-tree driver, so nothing ' +
        'depends on the kernel',
    );
  }
  const r = resolveKernelMapping(module, kernelVersion);
  if (!r.ok) {
    if (r.error.kind === 'NoMatch') {
      return done(
        'Failure',
        `no kernel mapping matches kernel ${kernelVersion}: ${r.error.detail}; add a literal ` +
          'or regexp entry for it to spec.moduleLoader.container.kernelMappings',
      );
    }
    return done('Failure', `the Module cannot be mapped: ${r.error.message}`);
  }
  const m = r.value;
  const image = m.containerImage;
  const pull = await pullSecrets(module, deps);
  const e = await deps.imageExists(image, { tls: m.registryTLS, pullSecrets: pull });
  const problem = existenceProblem('image', image, e);
  if (problem) return problem;
  if (e.state === 'Exists') {
    return done('Success', `image ${image} for kernel ${kernelVersion} exists`);
  }
  if (!m.build && !m.sign) {
    return done(
      'Failure',
      `image ${image} for kernel ${kernelVersion} does not exist, and kernel mapping ` +
        `${m.mappingIndex} has no build or sign section to make it; push the image or add one`,
      true,
    );
  }
  const steps = [m.build && 'built', m.sign && 'signed'].filter(Boolean).join(' and ');
  const inputs = await missingInputs(input, m, deps, pull);
  if (inputs.done) return inputs.done;
  if (inputs.missing.length) {
    return done(
      'Failure',
      `image ${image} does not exist and cannot be ${steps}: missing ${inputs.missing.join('; ')}`,
      inputs.recheck,
    );
  }
  if (!input.pushBuiltImage) {
    return done(
      'Success',
      `image ${image} does not exist; it can be ${steps} (every input is present). Not ` +
        `${steps} now: set spec.pushBuiltImage to build and push it before the upgrade`,
    );
  }
  return {
    status: 'InProgress',
    stage: 'Image',
    reason: `image ${image} does not exist; being ${steps} and pushed`,
    build: { mapping: m },
  };
}
