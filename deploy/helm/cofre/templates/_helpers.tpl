{{/* Names, labels and the shared Pod Security pieces of every cofre pod. */}}

{{- define "cofre.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cofre.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of one component: call with (dict "ctx" $ "component" "coordinator"). */}}
{{- define "cofre.selectorLabels" -}}
app.kubernetes.io/name: {{ .ctx.Chart.Name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "cofre.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{- define "cofre.agentNamespace" -}}
{{- default .Release.Namespace .Values.agent.namespace -}}
{{- end -}}

{{/* The agent runs only on simulated clusters: on hardware the launcher makes its own evidence. */}}
{{- define "cofre.agentEnabled" -}}
{{- if eq .Values.tee "sim" }}true{{ end -}}
{{- end -}}

{{- define "cofre.coordinatorHost" -}}
{{ include "cofre.fullname" . }}-coordinator.{{ .Release.Namespace }}.svc
{{- end -}}

{{- define "cofre.sealer" -}}
{{- if .Values.coordinator.sealer -}}
{{ .Values.coordinator.sealer }}
{{- else if .Values.dev -}}
sim
{{- else -}}
keyfile
{{- end -}}
{{- end -}}

{{/*
Pod-level security context: Pod Security Standard "restricted". fsGroup makes
the state volume and the mounted Secrets readable by the non-root user.
*/}}
{{- define "cofre.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.runAsUser }}
runAsGroup: {{ .Values.runAsGroup }}
fsGroup: {{ .Values.runAsGroup }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container-level security context: Pod Security Standard "restricted". */}}
{{- define "cofre.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Copies a key file from a Secret volume into a memory-backed emptyDir at mode
0400. Why: cofre refuses key files that group or others may read (as ssh does),
but with fsGroup the kubelet adds group read to every file of a Secret volume
(defaultMode 0400 becomes 0440), and without fsGroup a non-root process cannot
read the root-owned file at all. The copy never touches a disk.
Call with (dict "ctx" $ "name" "seal-key" "src" "/secrets/seal/seal.key" "dst" "/run/cofre-keys/seal.key").
*/}}
{{- define "cofre.keyCopyInit" -}}
- name: copy-{{ .name }}
  image: {{ include "cofre.image" .ctx }}
  imagePullPolicy: {{ .ctx.Values.image.pullPolicy }}
  command: ["install", "-m", "0400", {{ .src | quote }}, {{ .dst | quote }}]
  securityContext:
    {{- include "cofre.containerSecurityContext" .ctx | nindent 4 }}
  resources:
    requests: {cpu: 10m, memory: 16Mi}
    limits: {cpu: 100m, memory: 32Mi}
  volumeMounts:
    - {name: {{ .volume }}, mountPath: {{ dir .src }}, readOnly: true}
    - {name: keys, mountPath: {{ dir .dst }}}
{{- end -}}

{{/* Fails rendering on values that would deploy something unsafe or broken. */}}
{{- define "cofre.validate" -}}
{{- if not (has .Values.tee (list "sim" "sevsnp" "tdx" "sgx")) -}}
{{- fail (printf "tee %q: want sim, sevsnp, tdx or sgx" .Values.tee) -}}
{{- end -}}
{{- if and (eq .Values.tee "sim") (not .Values.dev) -}}
{{- fail "tee sim needs dev: true: simulated evidence gives no confidentiality and is for development clusters only" -}}
{{- end -}}
{{- if not .Values.sim.secretName -}}
{{- fail "sim.secretName is required: this build's coordinator produces its own evidence on the sim TEE (cofre sim init)" -}}
{{- end -}}
{{- $sealer := include "cofre.sealer" . -}}
{{- if not (has $sealer (list "sim" "keyfile")) -}}
{{- fail (printf "coordinator.sealer %q: want sim or keyfile" $sealer) -}}
{{- end -}}
{{- if and (eq $sealer "keyfile") (not .Values.coordinator.keyFileSecret) -}}
{{- fail "coordinator.keyFileSecret is required with sealer keyfile (a Secret with seal.key)" -}}
{{- end -}}
{{- if and (eq $sealer "sim") (not .Values.dev) -}}
{{- fail "coordinator.sealer sim needs dev: true: a simulated sealing key protects nothing" -}}
{{- end -}}
{{- $owners := .Values.coordinator.admitOwners -}}
{{- if and $owners.configMap $owners.secret -}}
{{- fail "coordinator.admitOwners: set configMap or secret, not both" -}}
{{- end -}}
{{- if and (or $owners.configMap $owners.secret) (not $owners.keys) -}}
{{- fail "coordinator.admitOwners.keys: name the owner key files in the ConfigMap or Secret" -}}
{{- end -}}
{{- if not .Values.dev -}}
{{- if not $owners.keys -}}
{{- fail "coordinator.admitOwners is required in production: without it anyone may create a manifest" -}}
{{- end -}}
{{- if .Values.attestd.enabled -}}
{{- if not .Values.attestd.tlsSecret -}}
{{- fail "attestd.tlsSecret is required in production (a kubernetes.io/tls Secret)" -}}
{{- end -}}
{{- if not .Values.attestd.kekSecret -}}
{{- fail "attestd.kekSecret is required in production (a Secret with kek, 32 bytes)" -}}
{{- end -}}
{{- if not .Values.attestd.adminCAConfigMap -}}
{{- fail "attestd.adminCAConfigMap is required in production (a ConfigMap with ca.pem)" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
