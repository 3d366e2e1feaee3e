/**
 * re2js, loaded on first use. The engine compiles regexes synchronously, yet most rule sets
 * (the worker's built-in custom rules among them) have none: loading the library up front costs
 * a one-shot worker about a tenth of its start-up. The ESM build is required directly, so that
 * this is the same module instance other code imports (Node ≥ 20.19 loads ES modules with
 * require); older Node falls back to the package's CommonJS build.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

type RE2JSClass = typeof import('re2js').RE2JS;

let loaded: RE2JSClass | undefined;

export function re2(): RE2JSClass {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  let mod: typeof import('re2js');
  try {
    mod = require(fileURLToPath(import.meta.resolve('re2js'))) as typeof import('re2js');
  } catch {
    mod = require('re2js') as typeof import('re2js');
  }
  loaded = mod.RE2JS;
  return loaded;
}
