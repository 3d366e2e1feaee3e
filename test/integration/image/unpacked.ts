/**
 * An image unpacked on disk and run the way a container runtime runs it, without one: pulled
 * with hwe's OCI client, its layers extracted in order into a root, and programs started with
 * chroot in a private mount namespace under the image's environment and user. Needs root.
 * Used by the image test and `npm run bench -- image`.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type PlatformSpec,
  type RegistryTLS,
  type ResolvedImage,
  RegistryClient,
  parseReference,
  resolveImage,
} from '../../../src/oci/index.js';
import { type CliResult, runProgram } from '../../support/cli.js';

/** What a container runtime gives every container: the usual devices and /proc. */
const RUNTIME_MOUNTS: [string, string][] = [
  ...['null', 'zero', 'full', 'random', 'urandom'].map((d): [string, string] => [
    `/dev/${d}`,
    `/dev/${d}`,
  ]),
  ['/proc', '/proc'],
];

export interface UnpackedImage {
  image: ResolvedImage;
  root: string;
  /** The image's environment (config.Env), as a runtime sets it. */
  env: NodeJS.ProcessEnv;
  /** The image's user (config.User). */
  user: string;
}

/** Pulls `ref` for `platform` and extracts its layers into `root` (created; must not exist). */
export async function unpackImage(
  ref: string,
  tls: RegistryTLS,
  platform: PlatformSpec,
  root: string,
): Promise<UnpackedImage> {
  const r = parseReference(ref);
  const client = new RegistryClient({ registry: r.registry, tls });
  await mkdir(root, { recursive: true });
  let image: ResolvedImage;
  try {
    image = await resolveImage(client, r, { platform });
    for (const layer of image.manifest.layers) {
      const file = `${root}.layer.tar.gz`;
      await writeFile(file, await client.getBlob(r.repository, layer.digest, layer.size));
      const x = await runProgram('tar', ['--numeric-owner', '-xpzf', file, '-C', root]);
      await rm(file);
      if (x.code !== 0) throw new Error(`unpacking layer ${layer.digest}: ${x.stderr}`);
    }
  } finally {
    client.close();
  }
  // mount points for what the runtime mounts
  for (const [, to] of RUNTIME_MOUNTS) {
    if (to.startsWith('/dev/')) {
      await mkdir(join(root, 'dev'), { recursive: true });
      await writeFile(join(root, to), '');
    } else await mkdir(join(root, to), { recursive: true });
  }
  const cfg = (image.config.config ?? {}) as { Env?: string[]; User?: string };
  const env = Object.fromEntries(
    (cfg.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
  return { image, root, env, user: cfg.User || '0:0' };
}

/**
 * Runs ARGS in the unpacked image as `user` (default: the image's), with the runtime's mounts
 * and `mounts` (host path → path in the image, read-only) in a private mount namespace.
 */
export function runInImage(
  img: UnpackedImage,
  args: string[],
  opts: { user?: string; mounts?: [string, string][]; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const at = (to: string) => q(join(img.root, to));
  const binds = [
    ...RUNTIME_MOUNTS.map(([from, to]) => `mount --bind ${q(from)} ${at(to)}`),
    ...(opts.mounts ?? []).map(
      ([from, to]) => `mount --bind ${q(from)} ${at(to)} && mount -o remount,bind,ro ${at(to)}`,
    ),
  ];
  const chroot = `exec chroot --userspec=${q(opts.user ?? img.user)} ${q(img.root)} ${args.map(q).join(' ')}`;
  return runProgram('unshare', ['--mount', '--', 'sh', '-c', [...binds, chroot].join(' && ')], {
    env: { ...img.env, ...opts.env },
  });
}
