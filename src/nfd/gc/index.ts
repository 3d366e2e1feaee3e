/** nfd-gc: removes NodeFeature and NodeResourceTopology objects of nodes that are gone. */
export { gcCommand } from './command.js';
export { DEFAULT_GRACE_PERIOD_MS, graceLeft, NfdGc, type GcOptions, type GcStats } from './gc.js';
