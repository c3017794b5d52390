{{/* The chart name (label app.kubernetes.io/name). */}}
{{- define "wallarm-cloud.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
<fullname>: the usual Helm rule. The release name alone when it already contains the chart
name (release `wallarm-cloud` → `wallarm-cloud`), else `<release>-<chart>`.
*/}}
{{- define "wallarm-cloud.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "wallarm-cloud.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* `<fullname>-<suffix>`, kept a valid DNS label. Call with (list . "suffix"). */}}
{{- define "wallarm-cloud.componentName" -}}
{{- $root := index . 0 -}}
{{- printf "%s-%s" (include "wallarm-cloud.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "wallarm-cloud.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "wallarm-cloud.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: wallarm-sidecar
{{- end -}}

{{- define "wallarm-cloud.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wallarm-cloud.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: cloud
{{- end -}}

{{/* The image reference: a digest wins over the tag; an empty tag is the appVersion. */}}
{{- define "wallarm-cloud.image" -}}
{{- $image := .Values.image -}}
{{- $name := ternary (printf "%s/%s" (trimSuffix "/" $image.registry) $image.repository) $image.repository (ne ($image.registry | default "") "") -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $name $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $name ($image.tag | default .Chart.AppVersion | toString) -}}
{{- end -}}
{{- end -}}

{{/* "true" when the chart makes its own Secret (an admin token or a URL given inline). */}}
{{- define "wallarm-cloud.ownSecret" -}}
{{- $admin := and .Values.adminToken.value (not .Values.adminToken.existingSecret.enabled) -}}
{{- $pg := .Values.database.postgresql -}}
{{- $url := and (eq .Values.database.type "postgresql") $pg.url (not $pg.existingSecret.enabled) -}}
{{- ternary "true" "" (or (not (empty $admin)) (not (empty $url))) -}}
{{- end -}}

{{/* The Secret and key of the admin token, as "name/key"; empty when there is none. */}}
{{- define "wallarm-cloud.adminTokenRef" -}}
{{- $given := .Values.adminToken -}}
{{- if $given.existingSecret.enabled -}}
{{- printf "%s/%s" $given.existingSecret.secretName ($given.existingSecret.secretKey | default "admin-token") -}}
{{- else if $given.value -}}
{{- printf "%s/admin-token" (include "wallarm-cloud.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The Secret and key of the PostgreSQL URL, as "name/key"; empty with SQLite. */}}
{{- define "wallarm-cloud.databaseUrlRef" -}}
{{- $pg := .Values.database.postgresql -}}
{{- if eq .Values.database.type "postgresql" -}}
{{- if $pg.existingSecret.enabled -}}
{{- printf "%s/%s" $pg.existingSecret.secretName ($pg.existingSecret.secretKey | default "database-url") -}}
{{- else -}}
{{- printf "%s/database-url" (include "wallarm-cloud.fullname" .) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The Service's port: service.port, else 443 with TLS and 80 without. */}}
{{- define "wallarm-cloud.servicePort" -}}
{{- if kindIs "invalid" .Values.service.port -}}
{{- ternary 443 80 .Values.tls.enabled -}}
{{- else -}}
{{- .Values.service.port | int -}}
{{- end -}}
{{- end -}}

{{/* What the chart refuses to render, with a one-line reason. */}}
{{- define "wallarm-cloud.validate" -}}
{{- $db := .Values.database -}}
{{- if and (eq $db.type "sqlite") (gt (int .Values.replicaCount) 1) -}}
{{- fail "replicaCount: SQLite serves one pod only; use database.type=postgresql for more" -}}
{{- end -}}
{{- if and (eq $db.type "postgresql") (not $db.postgresql.existingSecret.enabled) (not $db.postgresql.url) -}}
{{- fail "database.postgresql: give url, or existingSecret.enabled with its secretName" -}}
{{- end -}}
{{- if and (eq $db.type "postgresql") $db.postgresql.existingSecret.enabled (not $db.postgresql.existingSecret.secretName) -}}
{{- fail "database.postgresql.existingSecret.secretName: the Secret holding the URL" -}}
{{- end -}}
{{- if and .Values.adminToken.existingSecret.enabled (not .Values.adminToken.existingSecret.secretName) -}}
{{- fail "adminToken.existingSecret.secretName: the Secret holding the admin token" -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.secretName) -}}
{{- fail "tls.secretName: the kubernetes.io/tls Secret to serve (tls.crt, tls.key)" -}}
{{- end -}}
{{- end -}}
