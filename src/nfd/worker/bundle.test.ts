/**
 * What the one-file nfd-worker (`dist/nfd-worker/nfd-worker.cjs`, scripts/bundle.ts) holds,
 * read from the metafile the build writes next to it. Each module in the file costs start-up
 * time on every node, so those the worker has no use for must stay out: TypeBox (the API's
 * schemas are plain JSON at run time) and the schemas of the API's resources (the worker checks
 * its config file and custom rules against the config schema and the rule shapes only).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hostFixture } from '../../../test/fixtures/hosts/index.js';
import { IMAGE_WORKER_NODE_OPTION } from '../../../scripts/image.js';

const META = fileURLToPath(new URL('../../../nfd-worker/nfd-worker.meta.json', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../../../nfd-worker/nfd-worker.cjs', import.meta.url));

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

describe('a one-shot run of the one-file nfd-worker', () => {
  it('reads a gzip kernel config without loading zlib or streams, and prints no warning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hwe-bundle-'));
    try {
      const probe = join(dir, 'probe.cjs');
      const list = join(dir, 'modules.json');
      writeFileSync(
        probe,
        `process.on('exit', () => process.getBuiltinModule('node:fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify(process.moduleLoadList)));`,
      );
      const r = spawnSync(
        process.execPath,
        [
          IMAGE_WORKER_NODE_OPTION,
          '--require',
          probe,
          BUNDLE,
          '-oneshot',
          '-no-publish',
          '-o',
          'json',
          `-host-root=${hostFixture('amd-debian')}`,
        ],
        { encoding: 'utf8', env: { ...process.env, NODE_NAME: 'node-1' } },
      );
      assert.equal(r.status, 0, r.stderr);
      // Node's own warnings (a deprecated property read, …) start with "(node:PID)".
      assert.doesNotMatch(r.stderr, /\(node:\d+\)/);
      const out = JSON.parse(r.stdout) as {
        spec: { features: { attributes: Record<string, { elements: Record<string, string> }> } };
      };
      assert.equal(out.spec.features.attributes['kernel.config']?.elements.MLX5_CORE, 'm');
      const worker = JSON.parse(readFileSync(list, 'utf8')) as string[];
      // What Node loads for itself, whatever it runs, is not the worker's doing.
      const bare = spawnSync(process.execPath, [
        IMAGE_WORKER_NODE_OPTION,
        '--require',
        probe,
        '-e',
        '0',
      ]);
      assert.equal(bare.status, 0);
      const own = new Set(JSON.parse(readFileSync(list, 'utf8')) as string[]);
      const loaded = worker.filter(
        (m) => !own.has(m) && /^NativeModule (zlib|stream|internal\/streams\/)/.test(m),
      );
      assert.deepEqual(loaded, [], 'node:zlib and the stream classes cost about 2.7 MiB');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
