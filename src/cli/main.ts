import { basename } from 'node:path';
import { dtkCommands } from '../dtk/commands.js';
import { kmmCommands } from '../kmm/commands.js';
import { nfdCommands } from '../nfd/commands.js';
import { COMMIT, VERSION } from '../version.js';
import { type Command, lazyCommand, runCommand } from '../command/index.js';
import { PROGRAM_ALIASES } from './programs.js';

const versionCommand: Command = {
  name: 'version',
  summary: 'print the version and commit of hwe',
  run: ({ stdout }) => {
    stdout.write(JSON.stringify({ version: VERSION, commit: COMMIT }) + '\n');
    return Promise.resolve(0);
  },
};

function group(name: string, summary: string, subcommands: Command[]): Command[] {
  return subcommands.length ? [{ name, summary, subcommands }] : [];
}

export const rootCommand: Command = {
  name: 'hwe',
  summary: 'hwe: hardware enablement for Kubernetes',
  description:
    'hwe labels nodes by the hardware they have (Node Feature Discovery) and gets out-of-tree\n' +
    'kernel modules, firmware and device plugins onto the nodes that need them (Kernel Module\n' +
    'Management), for every kernel the cluster runs.',
  subcommands: [
    lazyCommand(
      'cluster',
      'a local Kubernetes control plane with simulated nodes, for trying hwe out',
      async () => (await import('../cluster/command.js')).clusterCommand,
    ),
    ...group('nfd', 'Node Feature Discovery: worker, master, gc, rule evaluation', nfdCommands),
    ...group('kmm', 'Kernel Module Management: operator, worker, signing, validation', kmmCommands),
    ...group(
      'dtk',
      'Driver Toolkit: find the driver-toolkit image for a release or node',
      dtkCommands,
    ),
    lazyCommand(
      'must-gather',
      'collect KMM and NFD objects, logs and events into a support bundle',
      async () => (await import('../mustgather/command.js')).mustGatherCommand,
    ),
    lazyCommand(
      'dashboard',
      'serve a live, read-only web page of node features, rules and module rollouts',
      async () => (await import('../dashboard/command.js')).dashboardCommand,
    ),
    versionCommand,
  ],
};

async function main(): Promise<void> {
  const program = basename(process.argv[1] ?? 'hwe');
  const prefix = PROGRAM_ALIASES[program] ?? [];
  const code = await runCommand(rootCommand, [...prefix, ...process.argv.slice(2)]);
  process.exitCode = code;
}

await main();
