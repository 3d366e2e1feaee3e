import { type Command, lazyCommand } from '../command/index.js';

/**
 * The `hwe nfd` subcommands (Node Feature Discovery). Each is imported only when it runs, so that
 * a one-shot `hwe nfd worker` pass does not pay for the master's or the rule evaluator's modules.
 */
export const nfdCommands: Command[] = [
  lazyCommand(
    'eval',
    'print what nfd-master would apply to a node, from NodeFeature and NodeFeatureRule YAML',
    async () => (await import('./eval/command.js')).evalCommand,
  ),
  lazyCommand(
    'worker',
    'nfd-worker: discover node features and publish them as a NodeFeature object',
    async () => (await import('./worker/command.js')).workerCommand,
  ),
  lazyCommand(
    'master',
    'nfd-master: label nodes from NodeFeature objects and NodeFeatureRules',
    async () => (await import('./master/command.js')).masterCommand,
  ),
  lazyCommand(
    'gc',
    'nfd-gc: delete NodeFeature and NodeResourceTopology objects of deleted nodes',
    async () => (await import('./gc/command.js')).gcCommand,
  ),
  lazyCommand(
    'topology-updater',
    'nfd-topology-updater: publish per-NUMA-zone resources as a NodeResourceTopology',
    async () => (await import('./topology/command.js')).topologyUpdaterCommand,
  ),
  lazyCommand(
    'operator',
    'the NFD operator: deploy nfd-master, nfd-worker, nfd-gc from NodeFeatureDiscovery objects',
    async () => (await import('./operator/command.js')).operatorCommand,
  ),
];
