{{/*
The chart renders the same manifests as `kubectl apply -k config/default`: each file under
files/ is a link to its source in config/, so the two never drift. Rendering only moves the
objects to the chosen namespaces, sets the image, and places the pods.
*/}}

{{- define "hwe.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/*
hwe.render: the objects of one file of config/. Arguments: the root context and the file.
*/}}
{{- define "hwe.render" -}}
{{- $root := index . 0 -}}
{{- $file := index . 1 -}}
{{- $text := $root.Files.Get $file -}}
{{- /* The hub's namespace first: "openshift-kmm" is a prefix of it. */ -}}
{{- $text = $text | replace "openshift-kmm-hub" "HWE-HUB-NAMESPACE" -}}
{{- $text = $text | replace "openshift-kmm" $root.Values.kmm.namespace | replace "openshift-nfd" $root.Values.nfd.namespace -}}
{{- $text = $text | replace "HWE-HUB-NAMESPACE" $root.Values.hub.namespace -}}
{{- $text = $text | replace "openshift-monitoring" $root.Values.metrics.prometheus.namespace | replace "prometheus-k8s" $root.Values.metrics.prometheus.serviceAccount -}}
{{- range $doc := splitList "\n---\n" $text }}
{{- $obj := fromYaml $doc -}}
{{- if $obj.kind }}
{{- if eq $obj.kind "Deployment" }}
{{- $pod := $obj.spec.template.spec -}}
{{- range $c := $pod.containers }}
{{- if eq $c.image "hwe" }}
{{- $_ := set $c "image" (include "hwe.image" $root) -}}
{{- $_ := set $c "imagePullPolicy" $root.Values.image.pullPolicy -}}
{{- end }}
{{- range $e := $c.env }}
{{- if eq (toString $e.value) "hwe" }}{{ $_ := set $e "value" (include "hwe.image" $root) }}{{ end }}
{{- end }}
{{- end }}
{{- if $root.Values.nodeSelector }}{{ $_ := set $pod "nodeSelector" $root.Values.nodeSelector }}{{ end }}
{{- if $root.Values.tolerations }}{{ $_ := set $pod "tolerations" $root.Values.tolerations }}{{ end }}
{{- if eq $obj.metadata.name "kmm-operator-webhook-server" }}{{ $_ := set $obj.spec "replicas" $root.Values.kmm.webhook.replicas }}{{ end }}
{{- end }}
{{- $labels := $obj.metadata.labels | default dict -}}
{{- $_ := set $labels "app.kubernetes.io/managed-by" $root.Release.Service -}}
{{- $_ := set $labels "helm.sh/chart" (printf "%s-%s" $root.Chart.Name $root.Chart.Version) -}}
{{- $_ := set $obj.metadata "labels" $labels }}
---
{{ toYaml $obj }}
{{- end }}
{{- end }}
{{- end -}}
