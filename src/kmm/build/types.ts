/**
 * The shapes the build and sign renderers read and write. Pods are described by the few fields
 * hwe sets; the API server fills in the rest.
 */
import type { KubeObject, OwnerReference } from '../../runtime/index.js';

export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

export interface PodVolume {
  name: string;
  secret?: { secretName: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  configMap?: { name: string; items?: KeyToPath[]; defaultMode?: number };
  emptyDir?: Record<string, never>;
}

export interface PodVolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

export interface PodContainer {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value: string }[];
  volumeMounts?: PodVolumeMount[];
  terminationMessagePolicy?: 'File' | 'FallbackToLogsOnError';
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsNonRoot?: boolean;
    capabilities?: { drop?: string[] };
  };
}

export interface ContainerStateTerminated {
  exitCode: number;
  reason?: string;
  message?: string;
  finishedAt?: string;
}

export interface Pod extends KubeObject {
  spec: {
    restartPolicy: 'Never' | 'OnFailure' | 'Always';
    containers: PodContainer[];
    volumes?: PodVolume[];
    nodeSelector?: Record<string, string>;
    serviceAccountName?: string;
    automountServiceAccountToken?: boolean;
    securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type: string } };
    tolerations?: unknown[];
    nodeName?: string;
  };
  status?: {
    phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
    reason?: string;
    message?: string;
    containerStatuses?: {
      name: string;
      state?: {
        terminated?: ContainerStateTerminated;
        waiting?: { reason?: string; message?: string };
      };
    }[];
  };
}

/** An OpenShift `build.openshift.io/v1` Build, as far as hwe writes and reads it. */
export interface OpenShiftBuild extends KubeObject {
  spec: {
    serviceAccount?: string;
    nodeSelector?: Record<string, string> | null;
    source: { type: 'Dockerfile'; dockerfile: string };
    strategy: {
      type: 'Docker';
      dockerStrategy: {
        buildArgs?: { name: string; value: string }[];
        pullSecret?: { name: string };
        noCache?: boolean;
        volumes?: {
          name: string;
          source: { type: 'Secret'; secret: { secretName: string } };
          mounts: { destinationPath: string }[];
        }[];
      };
    };
    output: {
      to?: { kind: 'DockerImage'; name: string };
      pushSecret?: { name: string };
    };
  };
  status?: {
    phase?: 'New' | 'Pending' | 'Running' | 'Complete' | 'Failed' | 'Error' | 'Cancelled';
    reason?: string;
    message?: string;
    logSnippet?: string;
    completionTimestamp?: string;
  };
}

/** Who the build or sign object belongs to, and the names it carries. */
export interface WorkOwner {
  /** The ModuleBuildSignConfig (its controller reference). */
  ownerReference: OwnerReference;
  namespace: string;
  /** The Module's name (MOD_NAME; labels). */
  moduleName: string;
}
