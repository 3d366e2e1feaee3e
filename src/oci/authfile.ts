import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type DockerConfig, mergeDockerConfigs, parseDockerConfig } from './auth.js';
import { OciError } from './errors.js';

/**
 * The credential files tools read, lowest priority first: Docker's config
 * (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`), then the containers auth file
 * (`$XDG_RUNTIME_DIR/containers/auth.json`), then `$REGISTRY_AUTH_FILE`.
 */
export function defaultAuthFiles(env: NodeJS.ProcessEnv, home: string = homedir()): string[] {
  const files = [join(env.DOCKER_CONFIG ?? join(home, '.docker'), 'config.json')];
  if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  return files;
}

/**
 * Loads credentials. An explicit file must exist; default files are skipped when absent.
 * Docker's `credsStore` helpers are not run: their secrets stay with the helper.
 */
export function loadAuthFiles(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): DockerConfig {
  if (explicit !== undefined) {
    let text: string;
    try {
      text = read(explicit);
    } catch (e) {
      throw new OciError('InvalidContent', `registry config ${explicit}: ${(e as Error).message}`);
    }
    return parseDockerConfig(text, explicit);
  }
  const configs: DockerConfig[] = [];
  for (const f of defaultAuthFiles(env)) {
    let text: string;
    try {
      text = read(f);
    } catch {
      continue;
    }
    configs.push(parseDockerConfig(text, f));
  }
  return mergeDockerConfigs(...configs);
}
