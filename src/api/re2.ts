/**
 * re2js, loaded on first use. The API's pattern fields (a NodeFeatureRule's `InRegexp` and
 * `MatchAny` values, a kernel mapping's `regexp`) are RE2 syntax, matched in linear time. The
 * engine compiles synchronously, yet most processes (a one-shot worker with the built-in rules,
 * a KMM operator before its first Module) compile none: loading the library up front costs a
 * one-shot worker about a tenth of its start-up and a process about 2.5 MiB of resident memory.
 * The ESM build is required directly, so that this is the same module instance other code
 * imports (Node >= 20.19 loads ES modules with require); older Node falls back to the package's
 * CommonJS build.
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
