/**
 * kubectl's `exec` credential plugins (client.authentication.k8s.io v1 and v1beta1): a program
 * named in the kubeconfig prints an ExecCredential whose status holds a bearer token or a client
 * certificate. As in client-go, the credential is kept until its expirationTimestamp (or, without
 * one, until the apiserver answers 401), and the plugin runs again after that.
 */
import { spawn } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { isMap } from './objects.js';
import { quoteValue } from './quote.js';

const EXEC_API_VERSIONS = [
  'client.authentication.k8s.io/v1',
  'client.authentication.k8s.io/v1beta1',
] as const;
export type ExecApiVersion = (typeof EXEC_API_VERSIONS)[number];
export type InteractiveMode = 'Never' | 'IfAvailable' | 'Always';

/** A user's `exec` section, checked. */
export interface ExecConfig {
  /** The program, resolved: absolute, or a bare name looked up on PATH. */
  command: string;
  args: string[];
  env: { name: string; value: string }[];
  apiVersion: ExecApiVersion;
  interactiveMode: InteractiveMode;
  installHint?: string;
  /** `provideClusterInfo`: the cluster as KUBERNETES_EXEC_INFO's spec.cluster. */
  cluster?: {
    server: string;
    'certificate-authority-data'?: string;
    'insecure-skip-tls-verify'?: boolean;
  };
  /** For messages: `kubeconfig FILE user NAME`. */
  where: string;
}

/** What a plugin gave. */
export interface ExecCredential {
  token?: string;
  /** PEM client certificate and key (both or neither). */
  cert?: string;
  key?: string;
  /** Epoch ms after which the plugin runs again; absent: until a 401. */
  expiresAt?: number;
}

export class ExecCredentialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExecCredentialError';
  }
}

/**
 * Checks a kubeconfig user's `exec` section as kubectl does. `dir` is the kubeconfig's folder:
 * a command with a `/` in it is relative to it, a bare name is looked up on PATH.
 */
export function parseExecConfig(
  raw: unknown,
  where: string,
  dir: string,
  cluster?: ExecConfig['cluster'],
): ExecConfig {
  const fail = (field: string, what: string): never => {
    throw new ExecCredentialError(`${where}: exec.${field} ${what}`);
  };
  if (!isMap(raw)) return fail('', 'must be a mapping');
  const command = raw.command;
  if (typeof command !== 'string' || command === '') return fail('command', 'is required');
  const apiVersion = raw.apiVersion;
  if (!EXEC_API_VERSIONS.includes(apiVersion as ExecApiVersion)) {
    return fail(
      'apiVersion',
      `must be one of ${EXEC_API_VERSIONS.join(', ')} (got ${JSON.stringify(apiVersion ?? null)})`,
    );
  }
  const args = raw.args ?? [];
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) {
    return fail('args', 'must be a list of strings');
  }
  const env: ExecConfig['env'] = [];
  for (const [i, e] of ((raw.env ?? []) as unknown[]).entries()) {
    if (!isMap(e) || typeof e.name !== 'string' || typeof e.value !== 'string') {
      return fail(`env[${i}]`, 'must have a string name and value');
    }
    env.push({ name: e.name, value: e.value });
  }
  let interactiveMode = raw.interactiveMode as InteractiveMode | undefined;
  if (interactiveMode === undefined) {
    // v1 made the field required; v1beta1 defaults it
    if (apiVersion === 'client.authentication.k8s.io/v1') {
      return fail(
        'interactiveMode',
        'is required for client.authentication.k8s.io/v1 (Never, IfAvailable or Always)',
      );
    }
    interactiveMode = 'IfAvailable';
  }
  if (!['Never', 'IfAvailable', 'Always'].includes(interactiveMode)) {
    return fail(
      'interactiveMode',
      `must be Never, IfAvailable or Always (got ${quoteValue(String(interactiveMode))})`,
    );
  }
  const out: ExecConfig = {
    command: command.includes('/') && !isAbsolute(command) ? resolve(dir, command) : command,
    args: args as string[],
    env,
    apiVersion: apiVersion as ExecApiVersion,
    interactiveMode,
    where,
  };
  if (typeof raw.installHint === 'string' && raw.installHint) out.installHint = raw.installHint;
  if (raw.provideClusterInfo === true && cluster) out.cluster = cluster;
  return out;
}

/** Reads a plugin's stdout: an ExecCredential of the configured apiVersion with a usable status. */
export function parseExecCredentialOutput(
  stdout: string,
  cfg: Pick<ExecConfig, 'apiVersion' | 'command'>,
): ExecCredential {
  const fail = (what: string): never => {
    throw new ExecCredentialError(`exec plugin ${cfg.command}: ${what}`);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    return fail('did not print an ExecCredential as JSON');
  }
  if (!isMap(doc) || doc.kind !== 'ExecCredential') return fail('printed no ExecCredential');
  if (doc.apiVersion !== cfg.apiVersion) {
    return fail(
      `printed apiVersion ${String(doc.apiVersion)}, the kubeconfig asks for ${cfg.apiVersion}`,
    );
  }
  const st = doc.status;
  if (!isMap(st)) return fail('printed an ExecCredential without status');
  const str = (k: string) => (typeof st[k] === 'string' && st[k] !== '' ? st[k] : undefined);
  const out: ExecCredential = {};
  const token = str('token');
  const cert = str('clientCertificateData');
  const key = str('clientKeyData');
  if (token) out.token = token;
  if ((cert === undefined) !== (key === undefined)) {
    return fail('status needs both clientCertificateData and clientKeyData, or neither');
  }
  if (cert && key) {
    out.cert = cert;
    out.key = key;
  }
  if (!token && !cert) return fail('status has neither a token nor a client certificate');
  const exp = str('expirationTimestamp');
  if (exp !== undefined) {
    const t = Date.parse(exp);
    if (Number.isNaN(t))
      return fail(`status.expirationTimestamp ${quoteValue(exp)} is not an RFC 3339 time`);
    out.expiresAt = t;
  }
  return out;
}

export interface ExecCredentialSourceOptions {
  /** Whether stdin is a terminal the plugin may prompt on [process.stdin.isTTY]. */
  stdinIsTerminal?: boolean;
  now?: () => number;
}

/** One plugin's credential, cached and refreshed; requests share one run of the plugin. */
export class ExecCredentialSource {
  private cached: ExecCredential | undefined;
  private running: Promise<ExecCredential> | undefined;
  private readonly now: () => number;
  private readonly terminal: boolean;

  constructor(
    readonly config: ExecConfig,
    opts: ExecCredentialSourceOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.terminal = opts.stdinIsTerminal ?? process.stdin.isTTY === true;
  }

  /** The current credential, running the plugin when there is none or it expired. */
  get(): Promise<ExecCredential> {
    const c = this.cached;
    if (c && (c.expiresAt === undefined || this.now() < c.expiresAt)) return Promise.resolve(c);
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  /** The apiserver refused `used` (401): the next get() runs the plugin again. */
  invalidate(used: ExecCredential): void {
    if (this.cached === used) this.cached = undefined;
  }

  private async run(): Promise<ExecCredential> {
    const cfg = this.config;
    const interactive = cfg.interactiveMode !== 'Never' && this.terminal;
    if (cfg.interactiveMode === 'Always' && !interactive) {
      throw new ExecCredentialError(
        `exec plugin ${cfg.command} (${cfg.where}) has interactiveMode Always but stdin is not a terminal`,
      );
    }
    const info = {
      apiVersion: cfg.apiVersion,
      kind: 'ExecCredential',
      spec: { interactive, ...(cfg.cluster ? { cluster: cfg.cluster } : {}) },
    };
    const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
    for (const e of cfg.env) env[e.name] = e.value;
    const stdout = await new Promise<string>((resolveOut, reject) => {
      const child = spawn(cfg.command, cfg.args, {
        env,
        // the plugin's prompts and messages go to the user, as with kubectl
        stdio: [interactive ? 'inherit' : 'ignore', 'pipe', 'inherit'],
      });
      const chunks: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => chunks.push(d));
      child.on('error', (e: NodeJS.ErrnoException) => {
        const hint = cfg.installHint ? `\n${cfg.installHint}` : '';
        reject(
          new ExecCredentialError(
            e.code === 'ENOENT'
              ? `exec plugin ${cfg.command} (${cfg.where}): command not found${hint}`
              : `exec plugin ${cfg.command}: ${e.message}`,
          ),
        );
      });
      child.on('close', (code, signal) => {
        if (code === 0) resolveOut(Buffer.concat(chunks).toString('utf8'));
        else {
          reject(
            new ExecCredentialError(
              `exec plugin ${cfg.command} (${cfg.where}) failed: ${signal ? `killed by ${signal}` : `exit code ${code}`}`,
            ),
          );
        }
      });
    });
    const cred = parseExecCredentialOutput(stdout, cfg);
    this.cached = cred;
    return cred;
  }
}
