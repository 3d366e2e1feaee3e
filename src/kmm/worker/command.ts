import { access, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import {
  type Command,
  type CommandContext,
  type FlagSpec,
  UsageError,
} from '../../command/index.js';
import { COMMIT, VERSION } from '../../version.js';
import { parseWorkerConfig, type WorkerAction } from './config.js';
import { WorkerError } from './errors.js';
import { spawnModprobe } from './modprobe.js';
import { DEFAULT_FIRMWARE_HOST_PATH, loadKmod, unloadKmod, type WorkerEnv } from './worker.js';
import { quoteValue } from '../../runtime/quote.js';

/** kubelet's default terminationMessagePath: what is written there shows in the pod status. */
const TERMINATION_LOG = '/dev/termination-log';
/** The kubelet keeps at most this much of a termination message. */
const TERMINATION_LOG_MAX = 4096;

const FLAGS: FlagSpec[] = [
  {
    name: 'config',
    type: 'string',
    placeholder: 'FILE',
    help: 'module config (upstream ModuleConfig YAML); may also be given as the argument',
  },
  {
    name: 'firmware-path',
    type: 'string',
    placeholder: 'DIR',
    help:
      `host firmware directory to copy modprobe.firmwarePath into (default ` +
      `${DEFAULT_FIRMWARE_HOST_PATH}); when given on load, also written to ` +
      'firmware_class.path, as upstream',
  },
  {
    name: 'root',
    type: 'string',
    placeholder: 'DIR',
    default: '/',
    help: "the host's root as seen by the worker: /proc/modules, /sys and the firmware directory",
  },
  {
    name: 'image-dir',
    type: 'string',
    placeholder: 'DIR',
    default: '/tmp',
    help: "where the module image's files were unpacked (modprobe -d <image-dir>/<dirName>)",
  },
  {
    name: 'modprobe',
    type: 'string',
    placeholder: 'PATH',
    default: 'modprobe',
    help: 'the modprobe program (a wrapper adding -n gives a dry run)',
  },
  {
    name: 'termination-log',
    type: 'string',
    placeholder: 'FILE',
    default: TERMINATION_LOG,
    help: 'on failure, the reason is written here if the file exists (the kubelet creates it)',
  },
];

async function writeTerminationLog(path: string, message: string): Promise<void> {
  try {
    await access(path);
    await writeFile(path, message.slice(0, TERMINATION_LOG_MAX));
  } catch {
    // not in a pod, or not writable: stderr already has the message
  }
}

async function run(action: WorkerAction, ctx: CommandContext): Promise<number> {
  const { flags, args, stderr, path } = ctx;
  if (args.length > 1)
    throw new UsageError(`unexpected argument ${quoteValue(args[1])}; see --help`);
  const file = (flags.config as string | undefined) ?? args[0];
  if (!file) throw new UsageError('give the config file as the argument or with --config FILE');
  if (flags.config !== undefined && args.length) {
    throw new UsageError('give the config file either as the argument or with --config, not both');
  }
  const firmwareFlag = flags['firmware-path'] as string | undefined;
  if (firmwareFlag !== undefined && !isAbsolute(firmwareFlag)) {
    throw new UsageError(
      `--firmware-path: ${quoteValue(firmwareFlag)} must be an absolute path on the host`,
    );
  }
  const log = (m: string) => stderr.write(`kmm-worker: ${m}\n`);
  log(`hwe ${VERSION} (commit ${COMMIT}): ${action} with ${file}`);
  const env: WorkerEnv = {
    root: flags.root as string,
    imageDir: flags['image-dir'] as string,
    firmwareHostPath: firmwareFlag ?? DEFAULT_FIRMWARE_HOST_PATH,
    setFirmwareClassPath: action === 'load' && firmwareFlag !== undefined,
    modprobe: spawnModprobe(flags.modprobe as string, ctx),
    log,
  };
  try {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new WorkerError('InvalidConfig', `cannot read ${file}: ${(e as Error).message}`);
    }
    const cfg = parseWorkerConfig(text);
    await (action === 'load' ? loadKmod(cfg, env) : unloadKmod(cfg, env));
    return 0;
  } catch (e) {
    if (!(e instanceof WorkerError)) throw e;
    const message = e.kind === 'InvalidConfig' ? `config ${file}: ${e.message}` : e.message;
    stderr.write(`${path}: ${message}\n`);
    await writeTerminationLog(flags['termination-log'] as string, message);
    return e.kind === 'InvalidConfig' ? 2 : 1;
  }
}

function actionCommand(action: WorkerAction): Command {
  return {
    name: action,
    summary:
      action === 'load'
        ? 'copy firmware, remove in-tree modules, modprobe the module'
        : 'modprobe -r the module, remove the firmware its load copied',
    usage: '[CONFIG]',
    flags: FLAGS,
    run: (ctx) => run(action, ctx),
  };
}

export const workerCommand: Command = {
  name: 'worker',
  summary: 'load or unload a kernel module on this node (the program of KMM worker pods)',
  description:
    'Loads or unloads a kernel module on the node it runs on, from a module image unpacked in\n' +
    '--image-dir, as described by a module config. Also runs as `kmm-worker`, with upstream\n' +
    "KMM's spelling: kmm-worker kmod load /etc/kmm-worker/config.yaml --firmware-path DIR.\n" +
    'Exit status: 0 done; 1 failed (the reason names the module); 2 invalid config or usage.',
  subcommands: [
    {
      name: 'kmod',
      summary: "manage kernel modules (upstream's spelling of load and unload)",
      subcommands: [actionCommand('load'), actionCommand('unload')],
    },
    actionCommand('load'),
    actionCommand('unload'),
  ],
};
