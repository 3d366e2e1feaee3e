import type { Command } from '../cli/command.js';
import { resolveCommand } from './kernelmapping/command.js';
import { workerCommand } from './worker/command.js';
import { signCommand } from '../signing/index.js';
import { validateCommand } from './validation/command.js';
import { webhookCommand } from './webhook/command.js';

/** The `hwe kmm` subcommands (Kernel Module Management). Each component adds its command here. */
export const kmmCommands: Command[] = [
  signCommand,
  resolveCommand,
  workerCommand,
  validateCommand,
  webhookCommand,
];
