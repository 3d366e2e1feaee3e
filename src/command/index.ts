export {
  type Command,
  type CommandContext,
  type FlagSpec,
  type FlagType,
  type FlagValues,
  type RunOptions,
  UsageError,
  helpText,
  lazyCommand,
  parseFlags,
  runCommand,
} from './command.js';
export { readInputText } from './input.js';
