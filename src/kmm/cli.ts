import { type Command, lazyCommand } from '../cli/command.js';

/**
 * The `hwe kmm` subcommands (Kernel Module Management). Each is imported only when it runs, so a
 * worker pod's `kmm-worker` does not load the operator, and the operator not the signer.
 */
export const kmmCommands: Command[] = [
  lazyCommand(
    'operator',
    'run the KMM operator: Module and node config controllers, worker pods, device plugins',
    async () => (await import('./operator/command.js')).operatorCommand,
  ),
  lazyCommand(
    'hub',
    'run KMM-Hub: ManagedClusterModule → images built and signed on the hub → ManifestWork',
    async () => (await import('./hub/command.js')).hubCommand,
  ),
  lazyCommand(
    'webhook',
    'serve the KMM admission webhook (Module, PreflightValidation, namespace deletion)',
    async () => (await import('./webhook/command.js')).webhookCommand,
  ),
  lazyCommand(
    'worker',
    'load or unload a kernel module on this node (the program of KMM worker pods)',
    async () => (await import('./worker/command.js')).workerCommand,
  ),
  lazyCommand(
    'resolve',
    'show the kernel mapping a Module uses for a kernel (image, build, sign)',
    async () => (await import('./kernelmapping/command.js')).resolveCommand,
  ),
  lazyCommand(
    'validate',
    'run the KMM admission checks on the objects of YAML files',
    async () => (await import('./validation/command.js')).validateCommand,
  ),
  lazyCommand(
    'sign',
    'sign kernel modules in place, as the kernel’s sign-file does',
    async () => (await import('../signing/cli.js')).signCommand,
  ),
  lazyCommand(
    'sign-image',
    'sign the kernel modules inside an image and push the signed image',
    async () => (await import('./signjob/command.js')).signImageCommand,
  ),
];
