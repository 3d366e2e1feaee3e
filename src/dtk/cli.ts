import type { Command } from '../cli/command.js';
import { imageCommand } from './image-command.js';

/** The `hwe dtk` subcommands (Driver Toolkit). Each component adds its command here. */
export const dtkCommands: Command[] = [imageCommand];
