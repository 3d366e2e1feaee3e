export {
  type Command,
  type CommandContext,
  type FlagSpec,
  type FlagValues,
  UsageError,
  booleanFlag,
  lazyCommand,
  listFlag,
  numberFlag,
  stringFlag,
  runCommand,
} from './command.js';
export { readInputText } from './input.js';
export { abortOnStopSignal, stopSignal } from './signals.js';
