/**
 * npm run bench -- NAME [ARGS...]: runs bench/NAME.ts, which prints its figures.
 * With no name, lists the benchmarks. Benchmarks print; they never assert timings.
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const names = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== 'main.js' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (!name || !names.includes(name)) {
  process.stderr.write(
    `${name ? `no benchmark "${name}"; ` : ''}usage: npm run bench -- NAME [ARGS...]\nbenchmarks: ${names.join(', ')}\n`,
  );
  process.exit(name ? 2 : 0);
}
const mod = (await import(`./${name}.js`)) as { default: (args: string[]) => void | Promise<void> };
await mod.default(args);
