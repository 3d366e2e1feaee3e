/**
 * A stand-in for the kubelet's pod-resources service: a real gRPC server on a unix socket,
 * speaking the kubelet's own proto (k8s.io/kubelet podresources v1), answering List and
 * GetAllocatableResources from state the test sets. Nodes with a real kubelet answer the same
 * calls on /var/lib/kubelet/pod-resources/kubelet.sock.
 */
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import {
  type AllocatableResourcesResponse,
  type ListPodResourcesResponse,
  PODRESOURCES_PROTO,
  PROTO_LOADER_OPTIONS,
} from '../../../src/nfd/topology/podresources.js';

export interface KubeletState {
  allocatable: AllocatableResourcesResponse;
  list: ListPodResourcesResponse;
  /** Answer GetAllocatableResources with UNIMPLEMENTED, as kubelets before it existed. */
  noAllocatable?: boolean;
}

export class PodResourcesStandIn {
  /** Calls answered, by method. */
  readonly calls = { List: 0, GetAllocatableResources: 0 };

  private constructor(
    private readonly server: grpc.Server,
    readonly socket: string,
    public state: KubeletState,
  ) {}

  static async start(socket: string, state: KubeletState): Promise<PodResourcesStandIn> {
    const def = await loader.load(PODRESOURCES_PROTO, PROTO_LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      v1: { PodResourcesLister: { service: grpc.ServiceDefinition } };
    };
    const server = new grpc.Server();
    const self = new PodResourcesStandIn(server, socket, state);
    server.addService(pkg.v1.PodResourcesLister.service, {
      List: (_call: unknown, cb: grpc.sendUnaryData<ListPodResourcesResponse>) => {
        self.calls.List++;
        cb(null, self.state.list);
      },
      GetAllocatableResources: (
        _call: unknown,
        cb: grpc.sendUnaryData<AllocatableResourcesResponse>,
      ) => {
        self.calls.GetAllocatableResources++;
        if (self.state.noAllocatable)
          cb({ code: grpc.status.UNIMPLEMENTED, details: 'unknown method' }, null);
        else cb(null, self.state.allocatable);
      },
      Get: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
        cb({ code: grpc.status.UNIMPLEMENTED, details: 'not used here' }, null),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    return self;
  }

  /** Stops answering and removes the socket, as a kubelet that went away. */
  stop(): Promise<void> {
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }
}
