/**
 * Messages quote at most a short prefix of a bad value: a 50,000-character value given to each
 * entry point below comes back in an error that is short, says how long the value was and still
 * names what was wrong.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkWorkerConfig } from '../kmm/worker/config.js';
import { compileKernelMapper } from '../kmm/kernelmapping/index.js';
import { compileGlob } from '../kmm/signjob/glob.js';
import { labelValueError, qualifiedNameError, resolveDynamicValue } from '../nfd/eval/policy.js';
import { compileExpression, emptyFeatures } from '../nfd/rules/index.js';
import { labelProblem } from '../nfd/worker/discover.js';
import { parseFeatureFile } from '../nfd/worker/sources/local.js';
import { parsePlatform, parseReference } from '../oci/index.js';

const BIG = 'x'.repeat(50_000);
const LIMIT = 400;

/** The message an entry point answers with: a thrown error's, or a returned problem. */
function messageOf(run: () => unknown): string {
  let r: unknown;
  try {
    r = run();
  } catch (e) {
    return (e as Error).message;
  }
  assert.equal(typeof r, 'string', 'the value was refused');
  return r as string;
}

const cases: { entry: string; names: string; run: () => unknown }[] = [
  {
    entry: 'image reference',
    names: 'image reference',
    run: () => parseReference(`${BIG}:Bad tag`),
  },
  {
    entry: 'image tag (a whole reference stops at 4,096 characters)',
    names: 'tag',
    run: () => parseReference(`registry.example.com/vendor/kmod:-${BIG.slice(0, 4000)}`),
  },
  { entry: 'platform', names: 'platform', run: () => parsePlatform(BIG) },
  {
    entry: 'sign.filesToSign glob',
    names: 'without a closing',
    run: () => compileGlob(`/${BIG}[a`),
  },
  {
    entry: 'label value (worker)',
    names: 'value',
    run: () => labelProblem('feature.node.kubernetes.io/x', `${BIG}!`),
  },
  { entry: 'label prefix (master)', names: 'prefix', run: () => qualifiedNameError(`${BIG}/name`) },
  {
    entry: 'label name (master)',
    names: 'name',
    run: () => qualifiedNameError(`vendor.example.com/${BIG}`),
  },
  { entry: 'label value (master)', names: 'value', run: () => labelValueError(BIG) },
  {
    entry: 'dynamic label value (master)',
    names: '@<domain>.<feature>.<element>',
    run: () => {
      const r = resolveDynamicValue(`@${BIG}`, emptyFeatures());
      return 'error' in r ? r.error : undefined;
    },
  },
  {
    entry: 'NodeFeatureRule regexp (re2js repeats the input)',
    names: 'matchExpressions.x',
    run: () =>
      compileExpression({ op: 'InRegexp', value: [`(${BIG}`] }, 'matchExpressions.x').problem
        ?.message,
  },
  {
    entry: 'kernel mapping regexp (operator)',
    names: 'kernelMappings[0].regexp',
    run: () => {
      const r = compileKernelMapper({
        metadata: { name: 'm', namespace: 'n' },
        spec: {
          moduleLoader: {
            container: {
              modprobe: { moduleName: 'm' },
              kernelMappings: [{ regexp: `(${BIG}`, containerImage: 'r/m:k' }],
            },
          },
        },
      });
      return r.ok ? undefined : r.error.message;
    },
  },
  {
    entry: 'local feature file',
    names: 'expiry-time',
    run: () => parseFeatureFile(`# +expiry-time=${BIG}\nfoo=bar\n`, new Date()).errors[0],
  },
  {
    entry: 'modulesLoadingOrder',
    names: 'modprobe.modulesLoadingOrder',
    run: () =>
      checkWorkerConfig(
        { modprobe: { moduleName: 'a', modulesLoadingOrder: ['a', BIG, BIG] } },
        'load',
      ),
  },
];

describe('bounded echoes', () => {
  for (const c of cases) {
    it(`${c.entry}: a huge value gives a short message naming ${c.names}`, () => {
      const m = messageOf(c.run);
      assert.ok(m.length < LIMIT, `${m.length} characters: ${m.slice(0, 200)}`);
      assert.ok(m.includes(c.names), m);
      assert.match(m, /\(\d{4,} characters\)/, `says how long the value was: ${m}`);
    });
  }
});
