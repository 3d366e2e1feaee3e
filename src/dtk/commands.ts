import { type Command, lazyCommand } from '../command/index.js';

/** The `hwe dtk` subcommands (Driver Toolkit), each imported only when it runs. */
export const dtkCommands: Command[] = [
  lazyCommand(
    'image',
    'print the driver-toolkit image of a release payload or of a node',
    async () => (await import('./image-command.js')).imageCommand,
  ),
];
