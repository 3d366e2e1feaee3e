/**
 * Bundles programs whose start-up time matters into one file each (run by `npm run build`
 * after tsc): the nfd-worker, which a DaemonSet starts on every node and `-oneshot` runs as a
 * short process. It is one CommonJS file, `dist/nfd-worker/nfd-worker.cjs`: Node loads that
 * with less work than ES modules (no resolution of chunk files, no module linking), about a
 * tenth of a one-shot process's CPU time. Modules it loads only sometimes (the Kubernetes
 * client for publishing) are in the file but run only when used; yaml (a config file,
 * `-o yaml`) and re2js (a regex in a rule or the label whitelist) come from node_modules when
 * used.
 *
 * The file starts with `#!/usr/bin/env node`; the image replaces that line with its node and
 * `--lite-mode` (IMAGE_WORKER_NODE_OPTION in scripts/image.ts) and links `nfd-worker` to the file.
 * Next to it, `nfd-worker.meta.json` is esbuild's metafile (every module in the file, what
 * imports it, its bytes; esbuild's analyzeMetafile prints it as a table):
 * `src/nfd/worker/bundle.test.ts` reads it to check that modules the worker does not need stay
 * out. The image leaves it out.
 *
 * It also builds the dashboard's page (`hwe dashboard`): src/dashboard/page/main.ts bundled for
 * the browser and set inline into its HTML, one file with nothing to fetch from elsewhere:
 * `dist/dashboard/index.html`.
 *
 * On x86 it also builds the worker's CPUID helper (src/nfd/worker/cpuid-helper) next to the
 * bundle with the system's C compiler; without a compiler the worker reads /dev/cpu/N/cpuid or
 * /proc/cpuinfo instead, and says which.
 */
import { build, type Plugin } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { arch } from 'node:os';
import { fileURLToPath } from 'node:url';

/**
 * Node's modules reached through `process.getBuiltinModule` rather than `require`: the same
 * objects, and the bundle does not depend on how the file is loaded. Each is an ES module whose
 * named exports are the module's plain properties, read once when it loads, so that an import
 * becomes a variable, not a copy of every export as getters (what CommonJS interop does, for
 * each importing module). Properties that are getters (`fs.promises`) are not exported: reading
 * them would load what they stand for, and importing one fails the build. Only the properties
 * some module imports are read.
 */
const builtinsByProcess: Plugin = {
  name: 'builtins-by-process',
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (a) =>
      isBuiltin(a.path) ? { path: a.path, namespace: 'builtin' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (a) => {
      const mod = process.getBuiltinModule(a.path) as Record<string, unknown>;
      const names = Object.keys(mod).filter(
        (k) =>
          /^[A-Za-z_$][\w$]*$/.test(k) &&
          k !== 'default' &&
          !Object.getOwnPropertyDescriptor(mod, k)?.get,
      );
      return {
        contents: [
          `const m = process.getBuiltinModule(${JSON.stringify(a.path)});`,
          'export default m;',
          // A property is read only if some module imports it (the call is marked pure, so the
          // bundler drops the unused ones), and read by descriptor, so that a property the
          // running Node turned into a getter (a deprecated name: `fs.F_OK` in Node 24) does
          // not run (and print its warning) when the bundle was built on another Node.
          'const v = (k) => { const d = Object.getOwnPropertyDescriptor(m, k); return d && d.value; };',
          ...names.map((n) => `export const ${n} = /* @__PURE__ */ v(${JSON.stringify(n)});`),
        ].join('\n'),
        loader: 'js',
      };
    });
  },
};

const dist = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${dist}nfd-worker`;
const outfile = `${outdir}/nfd-worker.cjs`;
rmSync(outdir, { recursive: true, force: true });
const worker = await build({
  entryPoints: [`${dist}src/nfd/worker/main.js`],
  outfile,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  packages: 'bundle',
  logLevel: 'warning',
  // Keep stack traces readable in logs.
  minifyWhitespace: false,
  legalComments: 'none',
  // Loaded from node_modules when used (CommonJS builds of both).
  external: ['yaml', 're2js'],
  // The modules use import.meta.url to find files next to them (the CPUID helper) and to
  // require packages; in the bundle that is the bundle's own URL, made when first asked for
  // (URL parsing is code a one-shot run otherwise never pages in).
  define: { 'import.meta': '__hweImportMeta' },
  banner: {
    js:
      '#!/usr/bin/env node\n' +
      "const __hweImportMeta = { get url() { return require('node:url').pathToFileURL(__filename).href; } };",
  },
  plugins: [builtinsByProcess],
  metafile: true,
});
chmodSync(outfile, 0o755);
// V8 keeps a script's source as one-byte characters when they are all Latin-1; a single other
// character (in a string or a kept comment) doubles the source's size in memory.
const bundled = readFileSync(outfile, 'utf8');
const wide = /[\u0100-\u{10ffff}]/u.exec(bundled);
if (wide) {
  const line = bundled.slice(0, wide.index).split('\n').length;
  const hex = wide[0].codePointAt(0)!.toString(16).padStart(4, '0');
  throw new Error(
    `${outfile}:${line}: ${JSON.stringify(wide[0])} is not a Latin-1 character; write it as \\u${hex} or in plain ASCII`,
  );
}
writeFileSync(`${outdir}/nfd-worker.meta.json`, JSON.stringify(worker.metafile));

if (arch() === 'x64' || arch() === 'ia32') {
  const src = fileURLToPath(
    new URL('../../src/nfd/worker/cpuid-helper/hwe-cpuid.c', import.meta.url),
  );
  const cc = process.env['CC'] || 'cc';
  const r = spawnSync(cc, ['-O2', '-Wall', '-o', `${outdir}/hwe-cpuid`, src], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(
      `build: ${cc} could not build the CPUID helper (${r.error?.message ?? `exit ${r.status}`}); nfd-worker will read /dev/cpu/N/cpuid or /proc/cpuinfo\n`,
    );
  }
}

const pageDir = fileURLToPath(new URL('../../src/dashboard/page/', import.meta.url));
const page = await build({
  entryPoints: [`${pageDir}main.ts`],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  write: false,
  legalComments: 'none',
  logLevel: 'warning',
});
// A script inline in HTML ends at the first "</script", wherever it stands.
const pageJs = page.outputFiles[0]!.text.trim().replace(/<\/script/gi, '<\\/script');
const html = readFileSync(`${pageDir}index.html`, 'utf8').replace('/*APP*/', () => pageJs);
mkdirSync(`${dist}dashboard`, { recursive: true });
writeFileSync(`${dist}dashboard/index.html`, html);
