# Vigil: one image for the web process, the jobs and the migrations.
#
#   web (default):  docker run -p 8000:8000 --env-file vigil.env IMAGE
#                   = gunicorn -c gunicorn.conf.py app.wsgi:app on $GUNICORN_BIND (0.0.0.0:8000)
#   a job:          docker run --env-file vigil.env IMAGE python -m app.jobs run prune-history
#   migrations:     docker run --env-file vigil.env IMAGE python -m flask --app app db upgrade
#
# The image sets VIGIL_ENV=production, so it needs SECRET_KEY (32+ characters),
# DATABASE_URL, REDIS_URL and REDIS2_URL, and names what is missing otherwise.
# It runs as the numeric user 10001:10001 and works on a read-only root filesystem with a
# writable /tmp (`docker run --read-only --tmpfs /tmp`, or the chart's /tmp emptyDir):
# bytecode is compiled at build time, and the instance folder, the timer lock and the
# Prometheus multi-process files live under /tmp; gunicorn's heartbeat files in /dev/shm
# (a tmpfs in Docker and Kubernetes alike).
#
# Build (BuildKit is required: DOCKER_BUILDKIT=1 with Debian's docker 20.10, or buildx):
#
#   DOCKER_BUILDKIT=1 docker build -t vigil:dev .                          # production: the last stage, `runtime`
#   DOCKER_BUILDKIT=1 docker build --target development -t vigil:sync .   # skaffold dev's image (file sync)
#
# On our own machines (no registry, no Docker daemon) `make image` does it all: it starts
# a private engine (hack/docker-engine.sh; it has no bridge network, so builds and
# containers use --network=host), makes a base with debootstrap (hack/base-image.sh) and
# passes the machine's pip CA bundle as below.
#
# Build arguments:
#   BASE_IMAGE           base of every stage (default python:3.12-slim). Any Debian-like
#                        image with python3 and its venv module works, e.g. the one
#                        hack/base-image.sh makes with debootstrap when no registry can be
#                        reached: --build-arg BASE_IMAGE=vigil-base:bookworm
#   PIP_INDEX_URL,       a PyPI mirror / proxy, passed to pip as is. They are used in the
#   PIP_EXTRA_INDEX_URL  builder stage only, so they never reach the runtime image's
#                        history; still, prefer a mirror that needs no password in the URL.
#   VERSION, REVISION,   OCI labels (org.opencontainers.image.version, .revision, .source,
#   SOURCE_URL, LICENSES .licenses); CI sets them from the tag and the commit.
#
# Behind a TLS-intercepting proxy (corporate networks, some CI machines) pip cannot verify
# PyPI unless it trusts the proxy's CA. Hand the CA bundle to the build as a BuildKit secret
# (it is mounted for the one pip step only and never stored in a layer):
#
#   DOCKER_BUILDKIT=1 docker build --secret id=pip_ca,src=/etc/ssl/certs/ca-certificates.crt -t vigil:dev .
#
# The bundle must hold every CA pip needs (the proxy's and the public ones): it replaces
# pip's own. `pip config list` shows which file pip uses on your machine (its `cert`).
# Without the secret, pip uses its bundled CAs.
#
# No `# syntax=` line on purpose: it would make BuildKit pull a frontend image, and some
# machines cannot reach a registry. The built-in frontend of Docker 20.10+ understands
# everything used here (RUN --mount cache and secret).

ARG BASE_IMAGE=python:3.12-slim

# ---- builder: a virtualenv with the pinned dependencies, and compiled bytecode ----------
FROM ${BASE_IMAGE} AS builder

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_DEFAULT_TIMEOUT=120

# python3, not python: Debian's own python (/usr/bin/python3) has no `python` name, the
# python:*-slim images have both. The venv is made with the base's interpreter, and the
# runtime stage uses the same base, so its symlinks resolve there too.
RUN python3 -m venv /opt/venv

# Declared without defaults: unset, pip sees nothing (an empty PIP_INDEX_URL would break it).
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL

# Only requirements.txt first, so editing the app does not reinstall the dependencies.
COPY requirements.txt /tmp/requirements.txt
# - the cache mount keeps downloaded wheels between builds, outside every layer;
# - the optional secret pip_ca is an extra CA bundle (see the header);
# - pip and setuptools leave the venv once it is filled (about 25 MB, and nothing at run
#   time needs them): the runtime image changes only by a rebuild;
# - bytecode is compiled here, for a read-only root filesystem at run time. unchecked-hash
#   pycs are used without comparing the source's mtime, which COPY may not keep.
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=secret,id=pip_ca,target=/run/secrets/pip_ca,required=false \
    set -eu; \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    /opt/venv/bin/python -m pip install --no-compile -r /tmp/requirements.txt; \
    /opt/venv/bin/python -m pip uninstall --yes --quiet pip setuptools; \
    /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv/lib

WORKDIR /app
COPY pyproject.toml gunicorn.conf.py ./
COPY migrations/ migrations/
COPY app/ app/
RUN /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /app

# ---- runtime-base: what both final stages share (the base, the user, the venv) --------
FROM ${BASE_IMAGE} AS runtime-base

# A numeric user, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
# Written directly: not every base has useradd.
RUN echo 'vigil:x:10001:10001:vigil:/tmp:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'vigil:x:10001:' >> /etc/group

# PROMETHEUS_MULTIPROC_DIR is deliberately NOT set here: gunicorn.conf.py makes a fresh one
# under $TMPDIR (/tmp) for the web process. Set for every process, it would break the jobs
# and `flask db upgrade`: prometheus_client then opens files in that directory as soon as
# a module creates a metric without labels (app/scheduling/status.py does, at import), and
# in a fresh container that directory does not exist.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp \
    VIGIL_ENV=production \
    VIGIL_INSTANCE_PATH=/tmp/vigil \
    GUNICORN_WORKER_TMP_DIR=/dev/shm \
    GUNICORN_BIND=0.0.0.0:8000

COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
EXPOSE 8000
# No ENTRYPOINT: `docker run IMAGE python -m app.jobs run NAME` and Kubernetes `args:`
# replace this command as a whole.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app.wsgi:app"]

# ---- development: `skaffold dev` builds this (--target development) ----------------------
# skaffold's file sync copies edited templates and static files into the running container
# as the container's user (kubectl exec + tar), so the app's files belong to 10001 here;
# with VIGIL_ENV=development Flask reloads an edited template on its next render. The
# chart's ConfigMap sets VIGIL_ENV for pods (skaffold's dev profile sets it to development
# too). Never deploy this stage: the app can rewrite its own code.
FROM runtime-base AS development
ENV VIGIL_ENV=development
COPY --from=builder --chown=10001:10001 /app /app
USER 10001:10001

# ---- runtime (the default, so it stays the LAST stage): no compiler, no pip, no pip cache;
# the app's files belong to root, read-only to the user it runs as ----------------------
FROM runtime-base AS runtime

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE_URL=""
ARG LICENSES=NOASSERTION
LABEL org.opencontainers.image.title="vigil" \
      org.opencontainers.image.description="Vigil, an uptime and health monitor for HTTP endpoints (Flask, gunicorn); web, jobs and migrations in one image" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="${LICENSES}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

COPY --from=builder /app /app
USER 10001:10001
