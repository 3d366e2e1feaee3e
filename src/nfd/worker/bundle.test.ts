/**
 * What the one-file nfd-worker (`dist/nfd-worker/nfd-worker.cjs`, scripts/bundle.ts) holds,
 * read from the metafile the build writes next to it. Each module in the file costs start-up
 * time on every node, so those the worker has no use for must stay out: TypeBox (the API's
 * schemas are plain JSON at run time) and the schemas of the API's resources (the worker checks
 * its config file and custom rules against the config schema and the rule shapes only).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const META = fileURLToPath(new URL('../../../nfd-worker/nfd-worker.meta.json', import.meta.url));

interface Metafile {
  inputs: Record<string, { imports: { path: string }[] }>;
  outputs: Record<string, { entryPoint?: string; inputs: Record<string, unknown> }>;
}

function readMeta(): Metafile {
  assert.ok(existsSync(META), `${META} is missing: run "npm run build" (scripts/bundle.ts)`);
  return JSON.parse(readFileSync(META, 'utf8')) as Metafile;
}

/** The modules in the file, as the metafile names them (paths relative to the build's cwd). */
function bundledModules(meta: Metafile): string[] {
  const out = Object.entries(meta.outputs).find(([f]) => f.endsWith('nfd-worker.cjs'));
  assert.ok(out, 'the metafile describes nfd-worker.cjs');
  return Object.keys(out[1].inputs);
}

/** How the entry point reaches `module`: the chain of imports, for the failure message. */
function importChain(meta: Metafile, entry: string, module: string): string[] {
  const from = new Map<string, string>([[entry, '']]);
  const queue = [entry];
  while (queue.length) {
    const m = queue.shift()!;
    if (m === module) break;
    for (const { path } of meta.inputs[m]?.imports ?? [])
      if (!from.has(path)) {
        from.set(path, m);
        queue.push(path);
      }
  }
  const chain: string[] = [];
  for (let m: string | undefined = module; m; m = from.get(m)) chain.unshift(m);
  return chain;
}

describe('the one-file nfd-worker', () => {
  const meta = readMeta();
  const modules = bundledModules(meta);
  const entry = Object.values(meta.outputs).find((o) => o.entryPoint)?.entryPoint ?? '';

  it('holds the worker, the schema decoder and the rule shapes it checks custom rules with', () => {
    for (const m of ['src/nfd/worker/main.js', 'src/api/decode.js', 'src/api/nfd-rule.js'])
      assert.ok(
        modules.some((x) => x.endsWith(m)),
        `${m} is not in the file: ${modules.join(', ')}`,
      );
  });

  const unwanted: [string, (m: string) => boolean][] = [
    ['TypeBox', (m) => m.includes('/@sinclair/typebox/')],
    [
      "the API's resource schemas (nfd.ts, kmm.ts, foreign.ts, resource.ts, index.ts)",
      (m) => /(^|\/)src\/api\/(nfd|kmm|resource|foreign|index)\.js$/.test(m),
    ],
  ];
  for (const [what, test] of unwanted)
    it(`does not hold ${what}`, () => {
      const found = modules.filter(test);
      // Each chain up to the first unwanted module: how they came in, once per way in.
      const ways = new Set(
        found.map((m) => {
          const chain = importChain(meta, entry, m);
          return chain.slice(0, chain.findIndex(test) + 1).join(' → ');
        }),
      );
      assert.deepEqual(found, [], `in the file through: ${[...ways].join('; ')}`);
    });
});
