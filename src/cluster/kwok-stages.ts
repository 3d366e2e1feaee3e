/**
 * The status template lines that rewrite every Node condition with a fresh heartbeat, and with
 * `transition` a fresh transition time too.
 */
function conditionsTemplate(transition: boolean): string {
  return `      {{ $now := Now }}
      conditions:
      {{ range NodeConditions }}
      - type: {{ .type | Quote }}
        status: {{ .status | Quote }}
        reason: {{ .reason | Quote }}
        message: {{ .message | Quote }}
        lastHeartbeatTime: {{ $now | Quote }}
${transition ? '        lastTransitionTime: {{ $now | Quote }}\n' : ''}      {{ end }}
`;
}

/**
 * How kwok plays simulated Nodes: made Ready once, then a status heartbeat every 5–6 minutes,
 * as a kubelet with node leases reports status when nothing changes. Liveness comes from the
 * node Leases kwok renews (every quarter of `--node-lease-duration-seconds`).
 *
 * kwok v0.7 picks its default heartbeat stage the wrong way round: with leases on it rewrites
 * every Node's status every 20–45 s (its lease-less stage). At 5,000 nodes that is about 200
 * Node writes a second, each one sent to every Node watcher, which leaves a 2-core machine's
 * apiserver little time for anything else. Giving kwok these stages replaces its defaults.
 *
 * Status templates are rendered to strategic merge patches of the Node's status: conditions
 * and addresses merge by type, and what the Node was created with (capacity, nodeInfo) stays.
 */
export const NODE_STAGES = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: hwe-node-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: NotIn
      values: ['True']
  next:
    statusTemplate: |
${conditionsTemplate(true)}      addresses:
      - type: InternalIP
        address: {{ NodeIP | Quote }}
      - type: Hostname
        address: {{ NodeName | Quote }}
      {{ with NodePort }}
      daemonEndpoints:
        kubeletEndpoint:
          Port: {{ . }}
      {{ end }}
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: hwe-node-heartbeat
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.phase'
      operator: In
      values: ['Running']
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: In
      values: ['True']
  delay:
    durationMilliseconds: 300000
    jitterDurationMilliseconds: 360000
  next:
    statusTemplate: |
${conditionsTemplate(false)}`;

/** Whether Stage documents (YAML) include one for Nodes. */
export function hasNodeStage(yaml: string): boolean {
  return /^\s*kind:\s*Node\s*$/m.test(yaml);
}
