/**
 * The kubelet's pod-resources API v1 (`k8s.io/kubelet/pkg/apis/podresources/v1/api.proto`,
 * kept under ./proto) over its unix socket. The gRPC modules are imported on first use, so that
 * commands other than the topology updater never load them.
 *
 * Messages keep the proto's field names (`cpu_ids`, `pod_resources`, …); int64 and uint64 values
 * are JavaScript numbers (CPU ids and byte counts stay far below 2^53).
 */
import { join } from 'node:path';
import type { Client, ServiceError } from '@grpc/grpc-js';
import type { Options } from '@grpc/proto-loader';
import { PACKAGE_ROOT } from '../../version.js';

export interface NUMANode {
  ID: number;
}
export interface TopologyInfo {
  nodes: NUMANode[];
}
export interface ContainerDevices {
  resource_name: string;
  device_ids: string[];
  topology?: TopologyInfo | null;
}
export interface ContainerMemory {
  memory_type: string;
  size: number;
  topology?: TopologyInfo | null;
}
export interface ContainerResources {
  name: string;
  devices: ContainerDevices[];
  cpu_ids: number[];
  memory: ContainerMemory[];
}
export interface PodResources {
  name: string;
  namespace: string;
  containers: ContainerResources[];
}
export interface ListPodResourcesResponse {
  pod_resources: PodResources[];
}
export interface AllocatableResourcesResponse {
  devices: ContainerDevices[];
  cpu_ids: number[];
  memory: ContainerMemory[];
}

/** The proto tree: `k8s.io/kubelet/...` and the gogo options file it imports. */
export const PROTO_ROOT = join(PACKAGE_ROOT, 'src/nfd/topology/proto');
export const PODRESOURCES_PROTO = 'k8s.io/kubelet/pkg/apis/podresources/v1/api.proto';

/** Options for @grpc/proto-loader shared by the client and the tests' kubelet stand-in. */
export const PROTO_LOADER_OPTIONS: Options = {
  includeDirs: [PROTO_ROOT],
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
};

/** A call to the kubelet that failed; `unimplemented` when the kubelet lacks the method. */
export class PodResourcesError extends Error {
  constructor(
    message: string,
    readonly unimplemented = false,
  ) {
    super(message);
    this.name = 'PodResourcesError';
  }
}

export interface PodResourcesClient {
  list(): Promise<ListPodResourcesResponse>;
  getAllocatableResources(): Promise<AllocatableResourcesResponse>;
  close(): void;
}

type ListerClient = new (...a: ConstructorParameters<typeof Client>) => Client;
interface Loaded {
  grpc: typeof import('@grpc/grpc-js');
  pkg: { v1: { PodResourcesLister: ListerClient } };
}
let loaded: Promise<Loaded> | undefined;

/** The gRPC library and the service, loaded once per process. */
async function load(): Promise<Loaded> {
  const [grpc, loader] = await Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader')]);
  const def = await loader.load(PODRESOURCES_PROTO, PROTO_LOADER_OPTIONS);
  return { grpc, pkg: grpc.loadPackageDefinition(def) as unknown as Loaded['pkg'] };
}

/** Connects (lazily, on the first call) to the kubelet's pod-resources socket. */
export async function podResourcesClient(
  socket: string,
  timeoutMs = 10_000,
): Promise<PodResourcesClient> {
  const { grpc, pkg } = await (loaded ??= load());
  const client = new pkg.v1.PodResourcesLister(
    `unix:${socket}`,
    grpc.credentials.createInsecure(),
    {
      // List answers grow with the pods of a busy node (upstream allows 16 MiB too).
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
    },
  );
  type Unary = (
    req: object,
    opts: { deadline: number },
    cb: (err: ServiceError | null, res: unknown) => void,
  ) => void;
  const call = <T>(method: 'List' | 'GetAllocatableResources'): Promise<T> =>
    new Promise((resolve, reject) => {
      const fn = (client as unknown as Record<string, Unary>)[method]!;
      fn.call(client, {}, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (!err) return resolve(res as T);
        const unimplemented = err.code === grpc.status.UNIMPLEMENTED;
        reject(
          new PodResourcesError(
            `kubelet pod-resources ${method} on ${socket}: ${err.details || err.message}` +
              (unimplemented ? '' : ' (is the kubelet running and -podresources-socket right?)'),
            unimplemented,
          ),
        );
      });
    });
  return {
    list: () => call<ListPodResourcesResponse>('List'),
    getAllocatableResources: () => call<AllocatableResourcesResponse>('GetAllocatableResources'),
    close: () => client.close(),
  };
}
