{{/*
Names, labels and the pieces every pod of the chart shares.
Every pod template is built from vigil.podSecurityContext and vigil.containerSecurityContext,
so every pod meets the "restricted" Pod Security Standard; these are deliberately not
overridable beyond the numeric ids and the root filesystem switch.
*/}}

{{- define "vigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object-name prefix. Release "vigil" of chart "vigil" gives "vigil" (what cronjobs/ and the UI assume). */}}
{{- define "vigil.fullname" -}}
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

{{- define "vigil.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "vigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "vigil.labels" -}}
helm.sh/chart: {{ include "vigil.chart" . }}
{{ include "vigil.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vigil
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels of one component: include "vigil.componentLabels" (dict "root" $ "component" "web") */}}
{{- define "vigil.componentLabels" -}}
{{ include "vigil.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "vigil.componentSelectorLabels" -}}
{{ include "vigil.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "vigil.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "vigil.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The one Lease the timers compete for; the Role is limited to this name. */}}
{{- define "vigil.leaseName" -}}
{{- printf "%s-timers" (include "vigil.fullname" .) }}
{{- end }}

{{/* CronJob name of job .name: a CronJob name may have at most 52 characters (the
controller appends an 11-character suffix to name its Jobs). Fails instead of truncating,
so two jobs can never collide. */}}
{{- define "vigil.cronJobName" -}}
{{- $name := printf "%s-%s" (include "vigil.fullname" .root) .name }}
{{- if gt (len $name) 52 }}
{{- fail (printf "CronJob name %q is longer than 52 characters; shorten fullnameOverride or the release name" $name) }}
{{- end }}
{{- $name }}
{{- end }}

{{- define "vigil.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "vigil.configMapName" -}}
{{- include "vigil.fullname" . }}
{{- end }}

{{- define "vigil.secretName" -}}
{{- default (include "vigil.fullname" .) .Values.existingSecret }}
{{- end }}

{{/* Migrations run as a Helm hook unless asked not to, or unless the database is the
in-cluster MariaDB: a pre-install hook runs before any release object exists, so it would
wait forever for a database that is only created after it. */}}
{{- define "vigil.migrationsAsHook" -}}
{{- if and .Values.migrations.asHook (not .Values.mysql.enabled) }}true{{ end }}
{{- end }}

{{/* Graceful shutdown budget: preStop sleep (endpoints drain) + gunicorn's graceful timeout
(requests finish) + the margin for stopping the timers and releasing the Lease. */}}
{{- define "vigil.terminationGracePeriodSeconds" -}}
{{- $s := .Values.shutdown }}
{{- $needed := add $s.preStopSleepSeconds .Values.gunicorn.gracefulTimeoutSeconds .Values.leaderElection.releaseMarginSeconds }}
{{- if kindIs "invalid" $s.terminationGracePeriodSeconds }}
{{- $needed }}
{{- else if lt (int $s.terminationGracePeriodSeconds) (int $needed) }}
{{- fail (printf "shutdown.terminationGracePeriodSeconds=%v is shorter than shutdown.preStopSleepSeconds + gunicorn.gracefulTimeoutSeconds + leaderElection.releaseMarginSeconds = %v" $s.terminationGracePeriodSeconds $needed) }}
{{- else }}
{{- $s.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/* Leader-election timing must nest: retry period < renew deadline < lease duration, so the
leader retries several times before it gives up, and gives up before a follower may take over. */}}
{{- define "vigil.checkLeaseTiming" -}}
{{- with .Values.leaderElection }}
{{- if and .enabled (not (and (lt (int .retryPeriodSeconds) (int .renewDeadlineSeconds)) (lt (int .renewDeadlineSeconds) (int .leaseDurationSeconds)))) }}
{{- fail (printf "leaderElection needs retryPeriodSeconds (%v) < renewDeadlineSeconds (%v) < leaseDurationSeconds (%v)" .retryPeriodSeconds .renewDeadlineSeconds .leaseDurationSeconds) }}
{{- end }}
{{- end }}
{{- end }}

{{/* ---- Pod Security Standard "restricted", for every pod of the chart ---- */}}
{{- define "vigil.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "vigil.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: {{ .Values.podSecurity.readOnlyRootFilesystem }}
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{- define "vigil.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpVolume.sizeLimit }}
{{- end }}

{{- define "vigil.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{- define "vigil.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ .name }}
{{- end }}
{{- end }}
{{- end }}

{{/* envFrom of every app container: the ConfigMap and the Secret (or the hook copies). */}}
{{- define "vigil.envFrom" -}}
- configMapRef:
    name: {{ .configMap }}
- secretRef:
    name: {{ .secret }}
{{- end }}

{{/* ---- Generated secrets, computed once per render and kept across upgrades ----
`lookup` reads the live Secret so `helm upgrade` keeps SECRET_KEY (sessions survive), the
admin password, the metrics token (Prometheus keeps scraping) and the channel keys (saved
channels stay readable); `helm template` has no cluster, so it generates fresh values. The
result is memoized on the root context so the Secret, its checksum and the migration
hook copy all see the same values. */}}
{{- define "vigil.ensureGenerated" -}}
{{- if not (hasKey . "vigilGenerated") }}
{{- $fullname := include "vigil.fullname" . }}
{{- $live := dict }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $fullname }}
{{- if $existing }}{{ $live = default (dict) $existing.data }}{{ end }}
{{- $liveMysql := dict }}
{{- $existingMysql := lookup "v1" "Secret" .Release.Namespace (printf "%s-mysql" $fullname) }}
{{- if $existingMysql }}{{ $liveMysql = default (dict) $existingMysql.data }}{{ end }}
{{- $gen := dict }}
{{- $_ := set $gen "secretKey" (.Values.secretKey | default (get $live "SECRET_KEY" | b64dec) | default (randAlphaNum 64)) }}
{{- $_ := set $gen "adminPassword" (.Values.adminPassword | default (get $live "VIGIL_ADMIN_PASSWORD" | b64dec) | default (randAlphaNum 20)) }}
{{- $_ := set $gen "metricsToken" (.Values.metrics.token | default (get $live "VIGIL_METRICS_TOKEN" | b64dec) | default (randAlphaNum 40)) }}
{{- /* A Fernet key: 32 random bytes in url-safe base64. Kept across upgrades above all: a new
key would make every saved channel unreadable. */}}
{{- $_ := set $gen "channelKeys" (.Values.channelKeys | default (get $live "VIGIL_CHANNEL_KEYS" | b64dec) | default (randBytes 32 | replace "+" "-" | replace "/" "_")) }}
{{- $_ := set $gen "mysqlPassword" (.Values.mysql.auth.password | default (get $liveMysql "mysql-password" | b64dec) | default (randAlphaNum 24)) }}
{{- $_ := set . "vigilGenerated" $gen }}
{{- end }}
{{- end }}

{{/* Where the app's services are, and whether the values say it unambiguously. The
in-cluster servers are on by default (a zero-values install works); turning one off makes
its external URL required, and a URL set while the server is on, or beside existingSecret,
would be silently ignored, so it is refused. Every problem is listed in one error, so a
production install is fixed in one round, not one value at a time. Included by secret.yaml,
which always renders. */}}
{{- define "vigil.checkValues" -}}
{{- $v := .Values }}
{{- $missing := list }}
{{- $conflicts := list }}
{{- if $v.existingSecret }}
{{- range $key := list "secretKey" "adminPassword" }}
{{- if get $v $key }}
{{- $conflicts = append $conflicts (printf "%s is set but existingSecret=%s is used: put it in that Secret instead" $key $v.existingSecret) }}
{{- end }}
{{- end }}
{{- if $v.metrics.token }}
{{- $conflicts = append $conflicts (printf "metrics.token is set but existingSecret=%s is used: put VIGIL_METRICS_TOKEN in that Secret instead" $v.existingSecret) }}
{{- end }}
{{- if $v.channelKeys }}
{{- $conflicts = append $conflicts (printf "channelKeys is set but existingSecret=%s is used: put VIGIL_CHANNEL_KEYS in that Secret instead" $v.existingSecret) }}
{{- end }}
{{- if $v.database.url }}
{{- $conflicts = append $conflicts (printf "database.url is set but existingSecret=%s is used: put DATABASE_URL in that Secret instead" $v.existingSecret) }}
{{- end }}
{{- if or $v.externalRedis.cacheUrl $v.externalRedis.coordinationUrl }}
{{- $conflicts = append $conflicts (printf "externalRedis is set but existingSecret=%s is used: put REDIS_URL and REDIS2_URL in that Secret instead" $v.existingSecret) }}
{{- end }}
{{- if $v.mysql.enabled }}
{{- $conflicts = append $conflicts (printf "mysql.enabled=true (the default) runs an in-cluster MariaDB that nothing would use: existingSecret=%s supplies DATABASE_URL. Set mysql.enabled=false" $v.existingSecret) }}
{{- end }}
{{- if $v.redis.enabled }}
{{- $conflicts = append $conflicts (printf "redis.enabled=true (the default) runs in-cluster Redis that nothing would use: existingSecret=%s supplies REDIS_URL and REDIS2_URL. Set redis.enabled=false" $v.existingSecret) }}
{{- end }}
{{- else }}
{{- if $v.mysql.enabled }}
{{- if $v.database.url }}
{{- $conflicts = append $conflicts "database.url is set but mysql.enabled=true (the default) would use the in-cluster MariaDB instead: set mysql.enabled=false to use database.url" }}
{{- end }}
{{- else if not $v.database.url }}
{{- $missing = append $missing "database.url (DATABASE_URL: the SQLAlchemy URL of the external database, e.g. mysql+pymysql://vigil:PASSWORD@db.example:3306/vigil), since mysql.enabled=false" }}
{{- end }}
{{- if $v.redis.enabled }}
{{- if or $v.externalRedis.cacheUrl $v.externalRedis.coordinationUrl }}
{{- $conflicts = append $conflicts "externalRedis is set but redis.enabled=true (the default) would use the in-cluster Redis instead: set redis.enabled=false to use externalRedis" }}
{{- end }}
{{- else }}
{{- if not $v.externalRedis.cacheUrl }}
{{- $missing = append $missing "externalRedis.cacheUrl (REDIS_URL: the shared cache, may evict, e.g. redis://cache.example:6379/0), since redis.enabled=false" }}
{{- end }}
{{- if not $v.externalRedis.coordinationUrl }}
{{- $missing = append $missing "externalRedis.coordinationUrl (REDIS2_URL: login limits, locks, heartbeats; must not evict, e.g. redis://coord.example:6379/0), since redis.enabled=false" }}
{{- end }}
{{- end }}
{{- end }}
{{- if or $missing $conflicts }}
{{- $lines := list "charts/vigil cannot use these values:" }}
{{- range $missing }}{{ $lines = append $lines (printf "  - missing: %s" .) }}{{ end }}
{{- range $conflicts }}{{ $lines = append $lines (printf "  - conflict: %s" .) }}{{ end }}
{{- if $missing }}
{{- $lines = append $lines "Set the missing values (the chart's README has a production example), or existingSecret to a Secret holding DATABASE_URL, REDIS_URL and REDIS2_URL, or leave mysql.enabled and redis.enabled at true (the default) to try Vigil with in-cluster servers." }}
{{- end }}
{{- fail (join "\n" $lines) }}
{{- end }}
{{- end }}

{{/* Data of the chart's Secret (values are base64-encoded); vigil.checkValues has made
sure the URLs it needs are set. */}}
{{- define "vigil.secretData" -}}
{{- include "vigil.ensureGenerated" . }}
{{- $g := .vigilGenerated }}
{{- $fullname := include "vigil.fullname" . }}
{{- $db := .Values.database.url }}
{{- if .Values.mysql.enabled }}
{{- $db = printf "mysql+pymysql://%s:%s@%s-mysql:3306/%s" .Values.mysql.auth.username (urlquery $g.mysqlPassword) $fullname .Values.mysql.auth.database }}
{{- end }}
{{- $redis := .Values.externalRedis.cacheUrl }}
{{- $redis2 := .Values.externalRedis.coordinationUrl }}
{{- if .Values.redis.enabled }}
{{- $redis = printf "redis://%s-redis-cache:6379/0" $fullname }}
{{- $redis2 = printf "redis://%s-redis-coordination:6379/0" $fullname }}
{{- end }}
SECRET_KEY: {{ $g.secretKey | b64enc | quote }}
DATABASE_URL: {{ $db | b64enc | quote }}
REDIS_URL: {{ $redis | b64enc | quote }}
REDIS2_URL: {{ $redis2 | b64enc | quote }}
VIGIL_ADMIN_PASSWORD: {{ $g.adminPassword | b64enc | quote }}
VIGIL_METRICS_TOKEN: {{ $g.metricsToken | b64enc | quote }}
VIGIL_CHANNEL_KEYS: {{ $g.channelKeys | b64enc | quote }}
{{- end }}

{{/* Data of the ConfigMap: every non-secret setting of app/config.py and gunicorn.conf.py. */}}
{{- define "vigil.configData" -}}
{{- $c := .Values.config }}
{{- $g := .Values.gunicorn }}
VIGIL_ENV: {{ $c.env | quote }}
VIGIL_CACHE: {{ $c.cache | quote }}
VIGIL_CACHE_TTL: {{ $c.cacheTtlSeconds | quote }}
VIGIL_PUBLIC_READS: {{ $c.publicReads | quote }}
VIGIL_ADMIN_USER: {{ $c.adminUser | quote }}
VIGIL_LOGIN_MAX_FAILURES: {{ $c.loginMaxFailures | quote }}
VIGIL_LOGIN_WINDOW_SECONDS: {{ $c.loginWindowSeconds | quote }}
VIGIL_HISTORY_DAYS: {{ $c.historyDays | quote }}
VIGIL_ROLLUP_DAYS: {{ $c.rollupDays | quote }}
VIGIL_CHECK_CONCURRENCY: {{ $c.checkConcurrency | quote }}
VIGIL_MAX_BODY_BYTES: {{ $c.maxBodyBytes | quote }}
VIGIL_EXPOSE_WORKER: {{ $c.exposeWorker | quote }}
VIGIL_TRUSTED_PROXIES: {{ $c.trustedProxies | quote }}
# Run now and pause find the CronJobs by this prefix (<fullname>-<job>).
VIGIL_CRONJOB_PREFIX: {{ include "vigil.fullname" . | quote }}
VIGIL_SEED_URL: {{ $c.seedUrl | default (printf "http://%s:%v/healthz" (include "vigil.fullname" .) .Values.service.port) | quote }}
# The root filesystem is read-only: the instance folder and the host-local lock live in /tmp.
VIGIL_INSTANCE_PATH: "/tmp/vigil"
VIGIL_LOCK_DIR: "/tmp"
GUNICORN_BIND: {{ printf "0.0.0.0:%v" .Values.containerPort | quote }}
GUNICORN_WORKERS: {{ $g.workers | quote }}
GUNICORN_THREADS: {{ $g.threads | quote }}
GUNICORN_TIMEOUT: {{ $g.timeoutSeconds | quote }}
GUNICORN_GRACEFUL_TIMEOUT: {{ $g.gracefulTimeoutSeconds | quote }}
GUNICORN_MAX_REQUESTS: {{ $g.maxRequests | quote }}
GUNICORN_ACCESS_LOG: {{ ternary "1" "0" $g.accessLog | quote }}
# Worker heartbeat files on tmpfs, as gunicorn advises for read-only root filesystems.
GUNICORN_WORKER_TMP_DIR: "/dev/shm"
{{- range $k, $v := $c.extraEnv }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end }}

{{/* The web pods' init container: wait until the database schema is at the code's head
revision, i.e. until `flask db current` prints "<rev> (head)". Pure Python (no shell in
the image needed); exits 1 after the timeout, and the kubelet retries with back-off. A
database that is *ahead* of this code (a rollback) never reports this code's head, so
old pods do not start against a schema they do not know. */}}
{{- define "vigil.waitForSchemaScript" -}}
import os, subprocess, sys, time
timeout = float(os.environ["VIGIL_SCHEMA_WAIT_TIMEOUT"])
interval = float(os.environ["VIGIL_SCHEMA_WAIT_INTERVAL"])
command = [sys.executable, "-m", "flask", "--app", "app", "db", "current"]
deadline = time.monotonic() + timeout
while True:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode == 0:
            state = result.stdout.strip() or "no revision recorded yet"
        else:
            state = (result.stderr.strip().splitlines() or ["exit %d" % result.returncode])[-1]
    except subprocess.TimeoutExpired:
        state = "`flask db current` timed out"
    if "(head)" in state:
        print("database schema is at head: " + state, flush=True)
        sys.exit(0)
    if time.monotonic() >= deadline:
        print("database schema not at head after %gs (%s); have the migrations run?" % (timeout, state), file=sys.stderr, flush=True)
        sys.exit(1)
    print("waiting for migrations: " + state, flush=True)
    time.sleep(interval)
{{- end }}

{{/* The default topology spread of the web pods: across nodes and zones, best effort. */}}
{{- define "vigil.defaultTopologySpread" -}}
{{- range list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
- maxSkew: 1
  topologyKey: {{ . }}
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "vigil.componentSelectorLabels" (dict "root" $.root "component" "web") | nindent 6 }}
  matchLabelKeys: ["pod-template-hash"]
{{- end }}
{{- end }}
