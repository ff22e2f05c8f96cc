# CCVC Gateway: slim Python 3.11, the locked dependencies, a non-root user, a health check.
# Two stages: the first installs into /opt/venv (pip, its caches and build dependencies stay there);
# the second gets the venv and the source, and nothing else. No secret is baked in: keys, database URL,
# tokens and the backup key come at run time (deploy/compose.yaml, deploy/k8s/).
# tests/deploy/test_image.py lints this file and runs its CMD and HEALTHCHECK outside a container.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
COPY cli cli
COPY seed seed
COPY gateway gateway
COPY schema schema
COPY planner planner
COPY resolvers resolvers
COPY evidence evidence
COPY policies policies
COPY db db
COPY docs docs
# requirements.lock pins the development tools too: as constraints, it fixes the version of every
# runtime dependency pyproject.toml names (the CV's font, fontpkg-be-vietnam-pro, among them) and
# installs none of the tools. Editable, like `make install`: the code runs from /app, where the site's
# /docs/ pages are found beside it (gateway/site.py).
RUN pip install --constraint requirements.lock --editable .

FROM python:3.11-slim-bookworm
# pg_dump and pg_restore for `ccvc backup` on PostgreSQL (the same major version as the server, or newer:
# bookworm's is 15, as in deploy/compose.yaml). The CV needs no system font: it ships in the venv.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --gid 0 --home-dir /var/lib/ccvc --no-create-home ccvc \
 && mkdir -p /var/lib/ccvc/keys /var/lib/ccvc/backups \
 && chown -R 10001:0 /var/lib/ccvc && chmod 700 /var/lib/ccvc/keys
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
# CCVC_HOST, CCVC_PORT and CCVC_WORKERS are `ccvc serve`'s defaults, so the command below stays fixed. One
# worker per container, scaled by replicas: with several, uvicorn's supervisor keeps the listening socket
# open after SIGTERM until the slowest request ends, and new connections wait there (found by review).
# Workers write their metrics under PROMETHEUS_MULTIPROC_DIR (on /tmp: the one place written outside volumes).
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CCVC_ENV=production CCVC_HOST=0.0.0.0 CCVC_PORT=8000 CCVC_WORKERS=1 \
    CCVC_KEYS_DIR=/var/lib/ccvc/keys CCVC_BACKUP_DIR=/var/lib/ccvc/backups \
    PROMETHEUS_MULTIPROC_DIR=/tmp/ccvc-metrics
USER 10001
EXPOSE 8000
# Python itself asks /healthz (the slim image has no curl); a refusal or a non-2xx answer raises: exit 1.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('CCVC_PORT', '8000') + '/healthz', timeout=2)"]
# Production needs CCVC_DATABASE_URL, CCVC_PUBLIC_URL and a key ring in CCVC_KEYS_DIR (a volume or a
# Secret; `ccvc keys generate` makes one); `ccvc db upgrade` runs once before the gateways start.
CMD ["ccvc", "serve"]
