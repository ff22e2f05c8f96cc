# CCVC Gateway: slim Python, pinned dependencies, non-root, with a health check.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    CCVC_ENV=production CCVC_KEYS_DIR=/var/lib/ccvc/keys

WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --disable-pip-version-check -r requirements.lock
COPY cli cli
COPY gateway gateway
COPY schema schema
COPY planner planner
COPY resolvers resolvers
COPY policies policies
COPY db db
COPY docs docs
RUN pip install --disable-pip-version-check --no-deps . \
 && useradd --system --uid 10001 --home /var/lib/ccvc ccvc \
 && mkdir -p /var/lib/ccvc/keys && chown -R ccvc /var/lib/ccvc && chmod 700 /var/lib/ccvc/keys

USER ccvc
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
# Production needs CCVC_DATABASE_URL and a key ring in CCVC_KEYS_DIR (`ccvc keys generate`, on a volume).
CMD ["ccvc", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
