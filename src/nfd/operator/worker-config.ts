/**
 * Checks the rendered nfd-worker.conf with the worker's own parser, so that a mistake in
 * `workerConfig.configData` is reported on the CR (naming the option) instead of by every
 * worker pod after the roll-out.
 */
import { buildConfig, ConfigError, parseConfigText } from '../worker/config.js';
import { WORKER_CONFIG_KEY } from './constants.js';
import { RenderError, type Operand } from './render.js';

export async function validateWorkerConfig(objects: Operand[]): Promise<void> {
  const cm = objects.find((o) => o.kind === 'ConfigMap');
  const text = (cm?.data as Record<string, string> | undefined)?.[WORKER_CONFIG_KEY] ?? '';
  try {
    buildConfig(await parseConfigText(text));
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new RenderError('spec.workerConfig.configData', e.message);
  }
}
