/**
 * The image controllers' wiring: setupImageControllers builds what the ModuleImagesConfig (MIC)
 * controller (`mic-controller.ts`) and the ModuleBuildSignConfig (MBSC) controller
 * (`mbsc-controller.ts`) share (`context.ts`) and starts both. The MIC controller checks each
 * image once, as the nodes would pull it, and asks for builds and signs through the MBSC named
 * after it; the MBSC controller runs them (kaniko pod or OpenShift Build, and the signing pod),
 * records their results, and collects finished objects after job.gcDelay.
 */
import type { Manager } from '../../runtime/index.js';
import { imagesContext, type ImageControllersOptions } from './context.js';
import { setupMbscController } from './mbsc-controller.js';
import { setupMicController } from './mic-controller.js';
import type { BuildBackend } from './work.js';

export { discoverBuildBackend, type ImageControllersOptions } from './context.js';

/** Wires both controllers into the manager. Call before mgr.start(). */
export async function setupImageControllers(
  mgr: Manager,
  options: ImageControllersOptions,
): Promise<{ backend: BuildBackend }> {
  const ctx = await imagesContext(mgr, options);
  setupMicController(ctx);
  setupMbscController(ctx);
  return { backend: ctx.backend };
}
