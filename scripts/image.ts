/**
 * Builds the `hwe` container image without a container engine and pushes it to a registry.
 *
 *   npm run image -- [--push REF] [--platform linux/amd64,linux/arm64] [--tls] [--authfile FILE]
 *
 * Layers, bottom to top (tools/image/README.md explains the choice):
 *   base   Debian packages unpacked by mmdebstrap (tools/image/base.sh): libc, libstdc++, kmod, dash
 *   node   Node.js from the npm registry (tools/image/node.sh), stripped of debug symbols
 *   deps   production node_modules (npm ci --omit=dev)
 *   app    dist (without tests, benchmarks, scripts), bin/hwe, package.json, one link per program
 *          name, /etc/passwd and /etc/group
 * The first three are cached under ~/.cache/hwe/image keyed by their inputs; the app layer is
 * made from the checkout's build each time. Pushing uses hwe's own OCI client (src/oci).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  readdirSync,
  statSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { createGzip } from 'node:zlib';
import { PROGRAM_ALIASES } from '../src/cli/programs.js';
import {
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  MediaType,
  type RegistryTLS,
  RegistryClient,
  loadAuthFiles,
  formatPlatform,
  parsePlatform,
  parseReference,
  sha256Digest,
} from '../src/oci/index.js';
import { COMMIT, PACKAGE_ROOT, VERSION } from '../src/version.js';

/** Where the image puts hwe, and the user it runs as unless a manifest says otherwise. */
export const IMAGE_APP_DIR = '/opt/hwe';
export const IMAGE_USER = '65532:65532';
export const IMAGE_BIN_DIR = '/usr/local/bin';
/** The programs the image offers on PATH: `hwe` and every upstream name. */
export const IMAGE_PROGRAMS = ['hwe', ...Object.keys(PROGRAM_ALIASES)];
/** The bundled nfd-worker in the image (`npm run build` makes it; scripts/bundle.ts). */
export const IMAGE_WORKER = `${IMAGE_APP_DIR}/dist/nfd-worker/nfd-worker.cjs`;
/**
 * The node option nfd-worker runs with in the image (on its file's first line; the Dockerfile
 * spells it too). V8's lite mode: no JIT compilers (in a short process they cost more than they
 * save) and feedback vectors allocated lazily, so a one-shot process peaks about 1 MiB lower and
 * a long-running worker stays about 11 MiB lower than with `--jitless` alone, for about 2 ms more
 * CPU per pass (src/nfd/worker/README.md, Start-up).
 */
export const IMAGE_WORKER_NODE_OPTION = '--lite-mode';

/** What `/usr/local/bin/NAME` links to: the launcher, or for nfd-worker its own build. */
export function imageProgramTarget(name: string): string {
  return name === 'nfd-worker' ? IMAGE_WORKER : `${IMAGE_APP_DIR}/bin/hwe`;
}

export interface ImageBuildOptions {
  /** Where to push, `HOST[:PORT]/REPO:TAG`. */
  push: string;
  /** `linux/amd64` and/or `linux/arm64`. */
  platforms: string[];
  /** How to reach the registry (plain HTTP for a local docker-registry). */
  tls?: RegistryTLS;
  commit?: string;
  /** Registry credentials file; default: docker's and podman's login files, when present. */
  authfile?: string;
  /** Progress lines; stderr by default. */
  log?: (line: string) => void;
}

export interface BuiltLayer {
  name: string;
  digest: string;
  diffId: string;
  size: number;
  /** The compressed blob on disk. */
  file: string;
}

export interface BuiltPlatformImage {
  platform: string;
  manifestDigest: string;
  layers: BuiltLayer[];
  /** Bytes a pull transfers: manifest, config and compressed layers. */
  compressedSize: number;
}

export interface BuiltImage {
  /** The reference pushed, and the digest of its index. */
  ref: string;
  digest: string;
  images: BuiltPlatformImage[];
}

const DEBIAN_ARCH: Record<string, string> = { amd64: 'amd64', arm64: 'arm64' };
const STRIP: Record<string, string> = {
  amd64: 'x86_64-linux-gnu-strip',
  arm64: 'aarch64-linux-gnu-strip',
};

function cacheDir(): string {
  return join(process.env.HWE_CACHE ?? join(homedir(), '.cache', 'hwe'), 'image');
}

/** Runs a program; stdout is returned, stderr goes to ours (the tools' own progress). */
function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.on('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out).toString('utf8').trim())
        : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`)),
    );
  });
}

function hasProgram(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, name)));
}

/** A pass-through stream that hashes what flows and reports progress every few seconds. */
function meter(hash: ReturnType<typeof createHash>, onBytes?: (n: number) => void): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      n += chunk.length;
      onBytes?.(n);
      cb(null, chunk);
    },
  });
}

function progress(log: (l: string) => void, what: string, total?: number): (n: number) => void {
  let last = Date.now();
  return (n) => {
    if (Date.now() - last < 5000) return;
    last = Date.now();
    const mb = (b: number) => (b / 1e6).toFixed(0);
    log(`${what}: ${mb(n)}${total ? `/${mb(total)}` : ''} MB`);
  };
}

/**
 * Compresses a tar stream into a gzip layer at `out`, computing the layer's digest (of the
 * compressed bytes) and diffId (of the tar). Results are remembered in `out.json`.
 */
async function gzipLayer(
  name: string,
  tarStream: NodeJS.ReadableStream,
  out: string,
  log: (l: string) => void,
  total?: number,
): Promise<BuiltLayer> {
  const diff = createHash('sha256');
  const blob = createHash('sha256');
  let size = 0;
  await pipeline(
    tarStream,
    meter(diff, progress(log, `compressing the ${name} layer`, total)),
    createGzip({ level: 9 }),
    meter(blob, (n) => (size = n)),
    createWriteStream(`${out}.part`),
  );
  renameSync(`${out}.part`, out);
  const layer = {
    name,
    digest: `sha256:${blob.digest('hex')}`,
    diffId: `sha256:${diff.digest('hex')}`,
    size,
    file: out,
  };
  writeFileSync(`${out}.json`, JSON.stringify(layer));
  return layer;
}

function cachedLayer(out: string): BuiltLayer | undefined {
  if (!existsSync(out) || !existsSync(`${out}.json`)) return undefined;
  return { ...(JSON.parse(readFileSync(`${out}.json`, 'utf8')) as BuiltLayer), file: out };
}

/** A reproducible tar of `paths` under `dir`: sorted, owned by root, timestamps at the epoch. */
function tarOf(dir: string, paths: string[]): NodeJS.ReadableStream {
  const child = spawn(
    'tar',
    [
      '--sort=name',
      '--mtime=@0',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--format=posix',
      '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
      '-C',
      dir,
      '-cf',
      '-',
      ...paths,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  child.on('close', (code) => {
    if (code !== 0) child.stdout.destroy(new Error(`tar of ${dir} exited with ${code}`));
  });
  return child.stdout;
}

async function baseLayer(arch: string, log: (l: string) => void): Promise<BuiltLayer> {
  log(`base (${arch}): Debian packages through mmdebstrap (cached after the first build)`);
  const tar = await run('bash', [join(PACKAGE_ROOT, 'tools/image/base.sh'), DEBIAN_ARCH[arch]!]);
  const out = tar.replace(/\.tar$/, '.tar.gz');
  return cachedLayer(out) ?? gzipLayer('base', createReadStream(tar), out, log, statSync(tar).size);
}

async function nodeLayer(arch: string, log: (l: string) => void): Promise<BuiltLayer> {
  const nodeDir = await run('bash', [join(PACKAGE_ROOT, 'tools/image/node.sh'), arch]);
  // The release binary carries its debug symbols (about 18 MB); a runtime image needs none.
  const strip = [STRIP[arch]!, ...(arch === hostArch() ? ['strip'] : [])].find(hasProgram);
  const out = join(cacheDir(), `node-${basename(nodeDir)}${strip ? '-stripped' : ''}.tar.gz`);
  const cached = cachedLayer(out);
  if (cached) return cached;
  const stage = await mkdtemp(join(tmpdir(), 'hwe-image-node-'));
  try {
    const bin = join(stage, IMAGE_BIN_DIR.slice(1));
    await mkdir(bin, { recursive: true });
    await cp(join(nodeDir, 'bin', 'node'), join(bin, 'node'));
    await mkdir(join(stage, 'usr/share/doc/nodejs'), { recursive: true });
    await cp(join(nodeDir, 'LICENSE'), join(stage, 'usr/share/doc/nodejs/LICENSE'));
    if (strip) await run(strip, [join(bin, 'node')]);
    else log(`node (${arch}): no strip for ${arch} here; the binary keeps its debug symbols`);
    return await gzipLayer(
      'node',
      tarOf(stage, ['usr']),
      out,
      log,
      statSync(join(bin, 'node')).size,
    );
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

async function depsLayer(log: (l: string) => void): Promise<BuiltLayer> {
  const lock = readFileSync(join(PACKAGE_ROOT, 'package-lock.json'));
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const key = sha256Digest(Buffer.concat([lock, Buffer.from(JSON.stringify(pkg.dependencies))]));
  const out = join(cacheDir(), `deps-${key.slice(7, 23)}.tar.gz`);
  const cached = cachedLayer(out);
  if (cached) return cached;
  log('deps: npm ci --omit=dev');
  const stage = await mkdtemp(join(tmpdir(), 'hwe-image-deps-'));
  try {
    const app = join(stage, IMAGE_APP_DIR.slice(1));
    await mkdir(app, { recursive: true });
    await cp(join(PACKAGE_ROOT, 'package.json'), join(app, 'package.json'));
    await cp(join(PACKAGE_ROOT, 'package-lock.json'), join(app, 'package-lock.json'));
    await run(
      'npm',
      ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
      { cwd: app },
    );
    return await gzipLayer(
      'deps',
      tarOf(stage, [`${IMAGE_APP_DIR.slice(1)}/node_modules`]),
      out,
      log,
    );
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/** What of dist/ stays out of the image: compiled tests, benchmarks, build scripts. */
const DIST_LEFT_OUT = new Set(['test', 'bench', 'scripts', 'test-artifacts', '.tsbuildinfo']);

/** The user table of the image: root, and the unprivileged user the programs run as. */
const PASSWD =
  'root:x:0:0:root:/root:/bin/sh\n' +
  'hwe:x:65532:65532:hwe:/nonexistent:/usr/sbin/nologin\n' +
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
const GROUP = 'root:x:0:\nhwe:x:65532:\nnogroup:x:65534:\n';

/** The app layer, staged and written under `stage` (the caller removes it after the push). */
async function appLayer(
  stage: string,
  commit: string,
  log: (l: string) => void,
): Promise<BuiltLayer> {
  const dist = join(PACKAGE_ROOT, 'dist');
  if (!existsSync(join(dist, 'src', 'cli', 'main.js'))) {
    throw new Error('dist/src is missing: run "npm run build" first');
  }
  const app = join(stage, IMAGE_APP_DIR.slice(1));
  // the build's output for programs (dist/src and any other program build), without the
  // compiled tests, benchmarks and scripts, source maps and bundle metafiles
  for (const entry of readdirSync(dist)) {
    if (DIST_LEFT_OUT.has(entry)) continue;
    await cp(join(dist, entry), join(app, 'dist', entry), {
      recursive: true,
      filter: (p) => !/\.test\.js$|\.map$|\.meta\.json$/.test(p),
    });
  }
  await cp(join(PACKAGE_ROOT, 'package.json'), join(app, 'package.json'));
  // The launcher names the runtime's path: the image has no /usr/bin/env.
  const launcher = (await readFile(join(PACKAGE_ROOT, 'bin', 'hwe'), 'utf8')).replace(
    /^#!.*\n/,
    `#!${IMAGE_BIN_DIR}/node\n`,
  );
  await mkdir(join(app, 'bin'), { recursive: true });
  await writeFile(join(app, 'bin', 'hwe'), launcher);
  await chmod(join(app, 'bin', 'hwe'), 0o755);
  // nfd-worker runs its one-file build directly, in V8's lite mode.
  const worker = join(app, IMAGE_WORKER.slice(IMAGE_APP_DIR.length + 1));
  const workerText = (await readFile(worker, 'utf8')).replace(
    /^#!.*\n/,
    `#!${IMAGE_BIN_DIR}/node ${IMAGE_WORKER_NODE_OPTION}\n`,
  );
  await writeFile(worker, workerText);
  await chmod(worker, 0o755);
  const bin = join(stage, IMAGE_BIN_DIR.slice(1));
  await mkdir(bin, { recursive: true });
  for (const name of IMAGE_PROGRAMS) await symlink(imageProgramTarget(name), join(bin, name));
  await mkdir(join(stage, 'etc'));
  await writeFile(join(stage, 'etc', 'passwd'), PASSWD);
  await writeFile(join(stage, 'etc', 'group'), GROUP);
  return gzipLayer('app', tarOf(stage, ['etc', 'opt', 'usr']), join(stage, 'app.tar.gz'), log);
}

/** HEAD of the checkout (git knows worktrees and packed refs), else what hwe itself reports. */
async function checkoutCommit(): Promise<string> {
  try {
    return await run('git', ['-C', PACKAGE_ROOT, 'rev-parse', '--short=12', 'HEAD']);
  } catch {
    return COMMIT;
  }
}

function hostArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

function imageConfig(arch: string, layers: BuiltLayer[], commit: string): ImageConfig {
  return {
    architecture: arch,
    os: 'linux',
    created: '1970-01-01T00:00:00Z',
    config: {
      User: IMAGE_USER,
      Env: [
        `PATH=${IMAGE_BIN_DIR}:/usr/sbin:/usr/bin:/sbin:/bin`,
        `HWE_COMMIT=${commit}`,
        'NODE_ENV=production',
      ],
      Entrypoint: [`${IMAGE_BIN_DIR}/hwe`],
      Cmd: ['--help'],
      WorkingDir: '/',
      Labels: {
        'org.opencontainers.image.title': 'hwe',
        'org.opencontainers.image.version': VERSION,
        'org.opencontainers.image.revision': commit,
        'org.opencontainers.image.licenses': 'Apache-2.0',
      },
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({
      created: '1970-01-01T00:00:00Z',
      created_by: `hwe image: ${l.name}`,
    })),
  };
}

async function pushBlob(
  client: RegistryClient,
  repo: string,
  layer: BuiltLayer,
  log: (l: string) => void,
): Promise<void> {
  if (await client.hasBlob(repo, layer.digest)) return;
  log(`pushing the ${layer.name} layer (${(layer.size / 1e6).toFixed(1)} MB)`);
  await client.uploadBlobStream(repo, layer, createReadStream(layer.file));
}

/** Builds the image for each platform and pushes it as one index under `opts.push`. */
export async function buildImage(opts: ImageBuildOptions): Promise<BuiltImage> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`image: ${l}\n`));
  const commit = opts.commit ?? (await checkoutCommit());
  const ref = parseReference(opts.push);
  const repo = ref.repository;
  const tag = ref.tag ?? VERSION;
  mkdirSync(cacheDir(), { recursive: true });
  const client = new RegistryClient({
    registry: ref.registry,
    tls: opts.tls ?? { insecure: true },
    dockerConfig: loadAuthFiles(opts.authfile, process.env),
    timeoutMs: 120_000,
  });
  try {
    // fail before the long steps when there is nowhere to push
    await client.ping();
  } catch (e) {
    client.close();
    throw new Error(
      `cannot push to ${ref.registry}: ${(e as Error).message}; start a registry there ` +
        "(Debian's docker-registry serves 127.0.0.1:5000) or name another with --push",
    );
  }
  const stage = await mkdtemp(join(tmpdir(), 'hwe-image-app-'));
  try {
    const deps = await depsLayer(log);
    const app = await appLayer(stage, commit, log);
    const images: BuiltPlatformImage[] = [];
    const manifests: Descriptor[] = [];
    for (const p of opts.platforms) {
      const platform = parsePlatform(p);
      const arch = platform.architecture;
      if (platform.os !== 'linux' || !DEBIAN_ARCH[arch]) {
        throw new Error(`--platform ${p}: hwe's image is built for linux/amd64 and linux/arm64`);
      }
      const base = await baseLayer(arch, log);
      const node = await nodeLayer(arch, log);
      const layers = [base, node, deps, app];
      for (const l of layers) await pushBlob(client, repo, l, log);
      const config = Buffer.from(JSON.stringify(imageConfig(arch, layers, commit)));
      const configRef = await client.uploadBlob(repo, config);
      const manifest: ImageManifest = {
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: configRef.digest, size: configRef.size },
        layers: layers.map((l) => ({
          mediaType: MediaType.OciLayerGzip,
          digest: l.digest,
          size: l.size,
        })),
      };
      const bytes = Buffer.from(JSON.stringify(manifest));
      const digest = await client.putManifest(
        repo,
        sha256Digest(bytes),
        bytes,
        MediaType.OciManifest,
      );
      manifests.push({
        mediaType: MediaType.OciManifest,
        digest,
        size: bytes.length,
        platform: { os: 'linux', architecture: arch },
      });
      const compressedSize = bytes.length + config.length + layers.reduce((s, l) => s + l.size, 0);
      images.push({
        platform: formatPlatform(platform),
        manifestDigest: digest,
        layers,
        compressedSize,
      });
      log(
        `${formatPlatform(platform)}: ${(compressedSize / 1e6).toFixed(1)} MB compressed, manifest ${digest}`,
      );
    }
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
    const indexBytes = Buffer.from(JSON.stringify(index));
    const digest = await client.putManifest(repo, tag, indexBytes, MediaType.OciIndex);
    const pushed = `${ref.registry}/${repo}:${tag}`;
    log(`pushed ${pushed}@${digest}`);
    return { ref: pushed, digest, images };
  } finally {
    client.close();
    await rm(stage, { recursive: true, force: true });
  }
}

const USAGE = `usage: npm run image -- [--push HOST[:PORT]/REPO[:TAG]] [--platform P[,P]] [--tls] [--commit SHA] [--authfile FILE]
  --push      where to push [127.0.0.1:5000/hwe:${VERSION}, a local docker-registry]
  --platform  linux/amd64, linux/arm64 or both, comma-separated [linux/amd64,linux/arm64]
  --tls       the registry speaks HTTPS (default: plain HTTP, as a local docker-registry does)
  --commit    the commit to stamp into the image [this checkout's HEAD]
  --authfile  registry credentials [docker's and podman's login files, when present]
`;

async function main(argv: string[]): Promise<number> {
  const opts: ImageBuildOptions = {
    push: `127.0.0.1:5000/hwe:${VERSION}`,
    platforms: ['linux/amd64', 'linux/arm64'],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--push') opts.push = value();
    else if (a === '--platform') opts.platforms = value().split(',').filter(Boolean);
    else if (a === '--commit') opts.commit = value();
    else if (a === '--authfile') opts.authfile = value();
    else if (a === '--tls') opts.tls = {};
    else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      return 0;
    } else throw new Error(`unknown argument "${a}"\n${USAGE}`);
  }
  const built = await buildImage(opts);
  // the blobs' paths are of this run's work files, not worth printing
  process.stdout.write(
    JSON.stringify(built, (k, v: unknown) => (k === 'file' ? undefined : v), 2) + '\n',
  );
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      process.stderr.write(`image: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
