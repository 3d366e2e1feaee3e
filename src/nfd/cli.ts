import type { Command } from '../cli/command.js';
import { evalCommand } from './eval/index.js';
import { gcCommand } from './gc/cli.js';
import { masterCommand } from './master/cli.js';
import { workerCommand } from './worker/cli.js';

/** The `hwe nfd` subcommands (Node Feature Discovery). Each component adds its command here. */
export const nfdCommands: Command[] = [evalCommand, workerCommand, masterCommand, gcCommand];
