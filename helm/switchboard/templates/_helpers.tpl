{{/* Chart name, at most 63 characters (a DNS label). */}}
{{- define "switchboard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects: <release>-switchboard, or the release name if it already says so. */}}
{{- define "switchboard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "switchboard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "switchboard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchboard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "switchboard.labels" -}}
helm.sh/chart: {{ include "switchboard.chart" . }}
{{ include "switchboard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "switchboard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "switchboard.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "switchboard.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{/* PUBLIC_URL: publicUrl, else the ingress host; empty when neither is known. */}}
{{- define "switchboard.publicUrl" -}}
{{- if .Values.publicUrl }}
{{- .Values.publicUrl | trimSuffix "/" }}
{{- else if and .Values.ingress.enabled .Values.ingress.host }}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) .Values.ingress.host }}
{{- end }}
{{- end }}

{{/* The Secret the pods read, or empty when there is none. */}}
{{- define "switchboard.secretName" -}}
{{- if .Values.existingSecret }}
{{- .Values.existingSecret }}
{{- else if include "switchboard.secretData" . }}
{{- include "switchboard.fullname" . }}
{{- end }}
{{- end }}

{{/* The chart Secret's data: non-empty secrets and REDIS_URL, base64-encoded. */}}
{{- define "switchboard.secretData" -}}
{{- range $key, $value := .Values.secrets }}
{{- if $value }}
{{ $key }}: {{ $value | toString | b64enc | quote }}
{{- end }}
{{- end }}
{{- if .Values.redis.url }}
REDIS_URL: {{ .Values.redis.url | toString | b64enc | quote }}
{{- end }}
{{- end }}

{{/* A setting as the string the app reads: whole numbers without an exponent (YAML gives helm float64s). */}}
{{- define "switchboard.envValue" -}}
{{- /* nested, not `and`: Go templates before Go 1.18 (helm 3.6) evaluate every operand of `and` */}}
{{- if kindIs "float64" . }}
{{- if eq (float64 (int64 .)) . }}
{{- int64 . }}
{{- else }}
{{- . }}
{{- end }}
{{- else }}
{{- . }}
{{- end }}
{{- end }}

{{/* Most pods that can run at once: the HPA's maximum, or replicaCount. */}}
{{- define "switchboard.maxReplicas" -}}
{{- if .Values.autoscaling.enabled }}
{{- .Values.autoscaling.maxReplicas | int }}
{{- else }}
{{- .Values.replicaCount | int }}
{{- end }}
{{- end }}

{{/* Fewest pods normally running: what a PodDisruptionBudget protects. */}}
{{- define "switchboard.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}
{{- .Values.autoscaling.minReplicas | int }}
{{- else }}
{{- .Values.replicaCount | int }}
{{- end }}
{{- end }}

{{/* The app drains for at most this long after SIGTERM (close-with-grace delay in src/server.ts). */}}
{{- define "switchboard.drainSeconds" -}}25{{- end }}

{{/*
Refuses value combinations that would deploy something broken. Called from the Deployment, so
`helm template`, `helm install` and `helm lint` all stop with the message.
*/}}
{{- define "switchboard.validate" -}}
{{- $max := include "switchboard.maxReplicas" . | int }}
{{- $hasRedis := or .Values.redis.url (and .Values.existingSecret .Values.redis.inExistingSecret) }}
{{- if and (gt $max 1) (not $hasRedis) }}
{{- if .Values.autoscaling.enabled }}
{{- fail (printf "switchboard: autoscaling.maxReplicas=%d needs an external Redis: set redis.url (or REDIS_URL in existingSecret with redis.inExistingSecret=true). Without REDIS_URL call state lives in one pod's memory, so several pods would each see only part of every call." $max) }}
{{- else }}
{{- fail (printf "switchboard: replicaCount=%d needs an external Redis: set redis.url (or REDIS_URL in existingSecret with redis.inExistingSecret=true). Without REDIS_URL call state lives in one pod's memory, so several pods would each see only part of every call." $max) }}
{{- end }}
{{- end }}
{{- if .Values.existingSecret }}
{{- range $key, $value := .Values.secrets }}
{{- if $value }}
{{- fail (printf "switchboard: secrets.%s is set together with existingSecret=%s; put %s into that Secret instead (the chart creates no Secret when existingSecret is set)." $key $.Values.existingSecret $key) }}
{{- end }}
{{- end }}
{{- if .Values.redis.url }}
{{- fail (printf "switchboard: redis.url is set together with existingSecret=%s; put REDIS_URL into that Secret and set redis.inExistingSecret=true." .Values.existingSecret) }}
{{- end }}
{{- end }}
{{- if and .Values.redis.inExistingSecret (not .Values.existingSecret) }}
{{- fail "switchboard: redis.inExistingSecret=true needs existingSecret (the name of the Secret holding REDIS_URL)." }}
{{- end }}
{{- $drain := include "switchboard.drainSeconds" . | int }}
{{- $needed := add (.Values.shutdown.preStopSleepSeconds | int) $drain 1 }}
{{- if lt (.Values.shutdown.terminationGracePeriodSeconds | int) (int $needed) }}
{{- fail (printf "switchboard: shutdown.terminationGracePeriodSeconds=%d is too short: preStop sleeps %ds and the app drains for up to %ds after SIGTERM, so it must be at least %d." (.Values.shutdown.terminationGracePeriodSeconds | int) (.Values.shutdown.preStopSleepSeconds | int) $drain $needed) }}
{{- end }}
{{- if and .Values.texml.existingConfigMap .Values.texml.files }}
{{- fail "switchboard: set either texml.files or texml.existingConfigMap, not both." }}
{{- end }}
{{- if and .Values.audio.existingConfigMap .Values.audio.files }}
{{- fail "switchboard: set either audio.files or audio.existingConfigMap, not both." }}
{{- end }}
{{- if and .Values.callCenter.existingConfigMap .Values.callCenter.file }}
{{- fail "switchboard: set either callCenter.file or callCenter.existingConfigMap, not both." }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) }}
{{- fail "switchboard: ingress.enabled=true needs ingress.host (the public host name Telnyx reaches)." }}
{{- end }}
{{- end }}

{{- define "switchboard.texmlOverridden" -}}
{{- if or .Values.texml.files .Values.texml.existingConfigMap }}true{{ end }}
{{- end }}

{{- define "switchboard.audioOverridden" -}}
{{- if or .Values.audio.files .Values.audio.existingConfigMap }}true{{ end }}
{{- end }}

{{- define "switchboard.callCenterMounted" -}}
{{- if or .Values.callCenter.file .Values.callCenter.existingConfigMap }}true{{ end }}
{{- end }}

{{/* ConfigMap key of a template path: ConfigMap keys cannot hold "/", so partials/x.xml is partials__x.xml. */}}
{{- define "switchboard.texmlKey" -}}
{{- . | replace "/" "__" }}
{{- end }}
