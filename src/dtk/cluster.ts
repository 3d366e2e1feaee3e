import { type KubeClient, isKubeError } from '../runtime/client.js';
import type { ImageStream, ImageStreamProblem } from './imagestream.js';
import { DTK_IMAGESTREAM, dtkImageForNode } from './node.js';
import { quoteValue } from '../runtime/quote.js';

export interface NodeDtkResult {
  node: string;
  osImage: string;
  kernelVersion: string | undefined;
  tag: string;
  image: string;
}

export type NodeDtkProblemKind =
  ImageStreamProblem['kind'] | 'NoOsVersion' | 'NodeNotFound' | 'NoImageStream';

export class NodeDtkError extends Error {
  constructor(
    readonly kind: NodeDtkProblemKind,
    message: string,
  ) {
    super(message);
    this.name = 'NodeDtkError';
  }
}

interface NodeLike {
  status?: { nodeInfo?: { osImage?: string; kernelVersion?: string } };
}

/**
 * The DTK image for a node of a running cluster: the node's osImage looked up in the
 * driver-toolkit ImageStream (openshift/driver-toolkit unless another is named).
 */
export async function dtkImageForClusterNode(
  client: KubeClient,
  nodeName: string,
  stream: { namespace: string; name: string } = DTK_IMAGESTREAM,
): Promise<NodeDtkResult> {
  let node: NodeLike;
  try {
    node = await client.request<NodeLike>(`/api/v1/nodes/${encodeURIComponent(nodeName)}`);
  } catch (e) {
    if (isKubeError(e, 'NotFound'))
      throw new NodeDtkError('NodeNotFound', `node ${quoteValue(nodeName)} not found`);
    throw e;
  }
  const osImage = node.status?.nodeInfo?.osImage ?? '';
  let is: ImageStream;
  const where = `${stream.namespace}/${stream.name}`;
  try {
    is = await client.request<ImageStream>(
      `/apis/image.openshift.io/v1/namespaces/${encodeURIComponent(stream.namespace)}/imagestreams/${encodeURIComponent(stream.name)}`,
    );
  } catch (e) {
    if (isKubeError(e, 'NotFound')) {
      throw new NodeDtkError(
        'NoImageStream',
        `ImageStream ${where} not found; the driver-toolkit ImageStream exists on OpenShift clusters (or name another with --imagestream)`,
      );
    }
    throw e;
  }
  const r = dtkImageForNode(is, osImage);
  if ('problem' in r)
    throw new NodeDtkError(r.problem.kind, `node ${quoteValue(nodeName)}: ${r.problem.message}`);
  return { node: nodeName, osImage, kernelVersion: node.status?.nodeInfo?.kernelVersion, ...r };
}
