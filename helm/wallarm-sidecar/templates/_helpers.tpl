{{/* The chart name (label app.kubernetes.io/name). */}}
{{- define "wallarm-sidecar.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
<fullname>: the usual Helm rule. The release name alone when it already contains the chart
name (release `wallarm-sidecar` → `wallarm-sidecar`), else `<release>-<chart>`
(release `wlrm-sidecar` → `wlrm-sidecar-wallarm-sidecar`).
*/}}
{{- define "wallarm-sidecar.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "wallarm-sidecar.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* `<fullname>-<suffix>`, kept a valid DNS label. Call with (list . "suffix"). */}}
{{- define "wallarm-sidecar.componentName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "wallarm-sidecar.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "wallarm-sidecar.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object; call with (list . "component"). */}}
{{- define "wallarm-sidecar.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ include "wallarm-sidecar.chart" $root }}
{{ include "wallarm-sidecar.selectorLabels" . }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: wallarm-sidecar
{{- end -}}

{{/* Selector labels; call with (list . "component"). */}}
{{- define "wallarm-sidecar.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "wallarm-sidecar.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/*
The controller's and postanalytics' values: the top-level `controller` / `postanalytics`
with `config.controller` / `config.postanalytics` (the documentation's ARM64 spelling)
merged over them. Returned as YAML; use with fromYaml.
*/}}
{{- define "wallarm-sidecar.componentValues" -}}
{{- $root := index . 0 -}}
{{- $key := index . 1 -}}
{{- $merged := deepCopy (index $root.Values $key | default dict) -}}
{{- $nested := dig $key dict ($root.Values.config | default dict) -}}
{{- if kindIs "map" $nested -}}
{{- $merged = mergeOverwrite $merged (deepCopy $nested) -}}
{{- end -}}
{{- /* Charts before wstore called postanalytics' store `tarantool`: the same keys. */ -}}
{{- if and (eq $key "postanalytics") (kindIs "map" $merged.tarantool) -}}
{{- $_ := set $merged "wstore" (mergeOverwrite (deepCopy ($merged.wstore | default dict)) (deepCopy $merged.tarantool)) -}}
{{- $_ := unset $merged "tarantool" -}}
{{- end -}}
{{- toYaml $merged -}}
{{- end -}}

{{- define "wallarm-sidecar.controller" -}}
{{- include "wallarm-sidecar.componentValues" (list . "controller") -}}
{{- end -}}

{{- define "wallarm-sidecar.postanalytics" -}}
{{- include "wallarm-sidecar.componentValues" (list . "postanalytics") -}}
{{- end -}}

{{/*
An image reference; call with (list . $componentImage). Empty keys of the component's
image come from the top-level `image`; a digest wins over the tag.
*/}}
{{- define "wallarm-sidecar.image" -}}
{{- $root := index . 0 -}}
{{- $own := index . 1 | default dict -}}
{{- $registry := $own.registry | default $root.Values.image.registry -}}
{{- $repository := $own.repository | default $root.Values.image.repository -}}
{{- $digest := $own.digest | default $root.Values.image.digest -}}
{{- $tag := $own.tag | default $root.Values.image.tag | default $root.Chart.AppVersion | toString -}}
{{- $name := ternary (printf "%s/%s" (trimSuffix "/" $registry) $repository) $repository (ne $registry "") -}}
{{- if $digest -}}
{{- printf "%s@%s" $name $digest -}}
{{- else -}}
{{- printf "%s:%s" $name $tag -}}
{{- end -}}
{{- end -}}

{{- define "wallarm-sidecar.pullPolicy" -}}
{{- $root := index . 0 -}}
{{- $own := index . 1 | default dict -}}
{{- $own.pullPolicy | default $root.Values.image.pullPolicy -}}
{{- end -}}

{{/* imagePullSecrets of a pod (empty when none); call with (list . $componentPullSecrets). */}}
{{- define "wallarm-sidecar.imagePullSecrets" -}}
{{- $root := index . 0 -}}
{{- $secrets := concat ($root.Values.imagePullSecrets | default list) (index . 1 | default list) | uniq -}}
{{- if $secrets -}}
imagePullSecrets:
{{- range $secrets }}
{{- if kindIs "map" . }}
  - name: {{ .name }}
{{- else }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}
{{- end -}}

{{/*
The injected containers' image map as InjectionSettings reads it: the user's
config.sidecar.image map, its empty keys filled from the release's image (a string
config.sidecar.image is used as it is by wallarm-sidecar.controllerConfig).
*/}}
{{- define "wallarm-sidecar.sidecarImage" -}}
{{- $given := dig "sidecar" "image" dict (.Values.config | default dict) -}}
{{- if kindIs "map" $given -}}
{{- $registry := .Values.image.registry -}}
{{- $tag := .Values.image.digest | default .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- $image := dict "registry" $registry "image" .Values.image.repository "tag" $tag "pullPolicy" .Values.image.pullPolicy -}}
{{- range $key, $value := ($given | default dict) -}}
{{- if not (kindIs "invalid" $value) -}}
{{- if ne (toString $value) "" -}}
{{- $_ := set $image $key $value -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml $image -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the API token, and its key. */}}
{{- define "wallarm-sidecar.tokenSecretName" -}}
{{- $existing := .Values.config.wallarm.api.existingSecret | default dict -}}
{{- if $existing.enabled -}}
{{- $existing.secretName -}}
{{- else -}}
{{- include "wallarm-sidecar.componentName" (list . "token") -}}
{{- end -}}
{{- end -}}

{{/* Changes when the token or its Secret changes, so the pods that read it roll. */}}
{{- define "wallarm-sidecar.tokenChecksum" -}}
{{- $api := .Values.config.wallarm.api -}}
{{- printf "%s/%s/%s" (include "wallarm-sidecar.tokenSecretName" .) (include "wallarm-sidecar.tokenSecretKey" .) (toString ($api.token | default "")) | sha256sum -}}
{{- end -}}

{{- define "wallarm-sidecar.tokenSecretKey" -}}
{{- $existing := .Values.config.wallarm.api.existingSecret | default dict -}}
{{- ternary ($existing.secretKey | default "token") "token" (eq (toString $existing.enabled) "true") -}}
{{- end -}}

{{/* Where postanalytics (wstore) listens: the release's Service or postanalytics.external. */}}
{{- define "wallarm-sidecar.wstore" -}}
{{- $post := include "wallarm-sidecar.postanalytics" . | fromYaml -}}
{{- if $post.external.enabled -}}
host: {{ $post.external.host | quote }}
port: {{ $post.external.port | int }}
{{- else -}}
host: {{ printf "%s.%s.svc" (include "wallarm-sidecar.componentName" (list . "postanalytics")) .Release.Namespace | quote }}
port: 3313
{{- end -}}
{{- end -}}

{{/* The controller's config file: the config tree, without the token, plus wstore. */}}
{{- define "wallarm-sidecar.controllerConfig" -}}
{{- $config := deepCopy (.Values.config | default dict) -}}
{{- $config = omit $config "controller" "postanalytics" "wstore" -}}
{{- $wallarm := $config.wallarm | default dict -}}
{{- $api := omit ($wallarm.api | default dict) "token" -}}
{{- $_ := set $wallarm "api" $api -}}
{{- $_ := set $config "wallarm" $wallarm -}}
{{- $sidecar := $config.sidecar | default dict -}}
{{- if kindIs "string" $sidecar.image -}}
{{- $_ := set $sidecar "image" (trim $sidecar.image) -}}
{{- else -}}
{{- $_ := set $sidecar "image" (include "wallarm-sidecar.sidecarImage" . | fromYaml) -}}
{{- end -}}
{{- $_ := set $config "sidecar" $sidecar -}}
{{- $_ := set $config "wstore" (include "wallarm-sidecar.wstore" . | fromYaml) -}}
{{- toYaml $config -}}
{{- end -}}

{{/* The webhook's serving certificate Secret (certgen, cert-manager or given). */}}
{{- define "wallarm-sidecar.tlsSecretName" -}}
{{- include "wallarm-sidecar.componentName" (list . "admission-tls") -}}
{{- end -}}

{{/* Which of the three certificate modes is on: certgen, certManager or secret. */}}
{{- define "wallarm-sidecar.certificateMode" -}}
{{- $webhook := (include "wallarm-sidecar.controller" . | fromYaml).admissionWebhook -}}
{{- if and $webhook.certManager.enabled $webhook.secret.enabled -}}
{{- fail "controller.admissionWebhook: enable certManager or secret, not both" -}}
{{- else if $webhook.certManager.enabled -}}
certManager
{{- else if $webhook.secret.enabled -}}
secret
{{- else -}}
certgen
{{- end -}}
{{- end -}}

{{/* A PEM value given either as PEM or base64 of PEM, as base64. */}}
{{- define "wallarm-sidecar.pemBase64" -}}
{{- $value := . | toString | trim -}}
{{- if contains "-----BEGIN" $value -}}
{{- printf "%s\n" $value | b64enc -}}
{{- else -}}
{{- $value | nospace -}}
{{- end -}}
{{- end -}}

{{/* The security context of a pod; call with (list . $component). */}}
{{- define "wallarm-sidecar.podSecurityContext" -}}
{{- $root := index . 0 -}}
{{- $own := (index . 1).podSecurityContext | default dict -}}
{{- toYaml (mergeOverwrite (deepCopy ($root.Values.podSecurityContext | default dict)) $own) -}}
{{- end -}}

{{- define "wallarm-sidecar.containerSecurityContext" -}}
{{- $root := index . 0 -}}
{{- $own := (index . 1).containerSecurityContext | default dict -}}
{{- toYaml (mergeOverwrite (deepCopy ($root.Values.containerSecurityContext | default dict)) $own) -}}
{{- end -}}

{{/* Affinity: the user's, else pods of the component spread over nodes. */}}
{{- define "wallarm-sidecar.affinity" -}}
{{- $root := index . 0 -}}
{{- $values := index . 1 -}}
{{- $component := index . 2 -}}
{{- if $values.affinity -}}
{{- toYaml $values.affinity -}}
{{- else -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "wallarm-sidecar.selectorLabels" (list $root $component) | nindent 12 }}
{{- end -}}
{{- end -}}

{{/*
Env of the postanalytics containers that talk to the Cloud (register, jobs, appstructure):
where the Cloud is, who the node is (the pod), and the `wallarm` volume where `register`
(or jobs) writes node-registration.json and the others read it. Called with
(list $ withToken): appstructure never registers, so it does not get the token.
*/}}
{{- define "wallarm-sidecar.postanalyticsEnv" -}}
{{- $root := index . 0 -}}
{{- $withToken := index . 1 -}}
{{- $api := $root.Values.config.wallarm.api -}}
- name: WALLARM_API_HOST
  value: {{ $api.host | quote }}
- name: WALLARM_API_PORT
  value: {{ $api.port | toString | quote }}
- name: WALLARM_API_USE_SSL
  value: {{ $api.useSSL | toString | lower | quote }}
- name: WALLARM_API_CA_VERIFY
  value: {{ $api.caVerify | toString | lower | quote }}
- name: WALLARM_LABELS
  value: {{ printf "group=%s" $api.nodeGroup | quote }}
- name: WALLARM_NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: WALLARM_NODE_DIR
  value: /opt/wallarm/etc/wallarm
{{- if $withToken }}
- name: WALLARM_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "wallarm-sidecar.tokenSecretName" $root }}
      key: {{ include "wallarm-sidecar.tokenSecretKey" $root }}
{{- end }}
{{- end -}}

{{- define "wallarm-sidecar.postanalyticsMounts" -}}
- name: wallarm
  mountPath: /opt/wallarm/etc/wallarm
- name: tmp
  mountPath: /tmp
{{- end -}}
