import type { KubeClient } from './client.js';

/**
 * A client made on first use and closed when `signal` aborts. A command that may never talk to
 * the apiserver (a dry run, a one-shot pass that only prints) loads none of the client code.
 */
export function lazyKubeClient(
  kubeconfig: string | undefined,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): () => Promise<KubeClient> {
  let client: Promise<KubeClient> | undefined;
  return () =>
    (client ??= Promise.all([import('./kubeconfig.js'), import('./client.js')]).then(
      ([{ resolveAccess }, { KubeClient }]) => {
        const c = new KubeClient(resolveAccess({ kubeconfig, env }));
        signal.addEventListener('abort', () => c.close(), { once: true });
        return c;
      },
    ));
}
