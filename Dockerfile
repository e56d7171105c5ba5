# Rapport as a container: the app, its migrations, the shipped personas and rubrics, and the
# fonts that let PDF exports print any script. Runs as an unprivileged user, migrates the
# database on start (deploy/entrypoint.sh) and reports its health on /healthz/live.
#
#   docker build -t rapport .
#   docker run -p 8000:8000 -v rapport-data:/data rapport
#
# compose.yaml runs PostgreSQL, two app containers behind a proxy and, optionally, a model server.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv/rapport
COPY pyproject.toml README.md ./
COPY app ./app
# The dependencies (and the `rapport` command) into a virtualenv the final image copies.
RUN python -m venv /opt/rapport && /opt/rapport/bin/pip install --no-compile .

FROM python:3.11-slim-bookworm
# Fonts for the PDF export: Latin, Greek, Cyrillic, Hebrew, Arabic, Indic, CJK, Korean.
# Not version-pinned: Debian's stable security updates must reach the image.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      fonts-dejavu-core fonts-noto-core fonts-droid-fallback fonts-nanum \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 rapport \
 && useradd --system --uid 10001 --gid rapport --home-dir /data --shell /usr/sbin/nologin rapport \
 && mkdir -p /data \
 && chown rapport:rapport /data
COPY --from=build /opt/rapport /opt/rapport
WORKDIR /srv/rapport
# The source tree itself, read-only for the app's user; PYTHONPATH makes it the `app` that runs,
# so templates, static files and migrations are found beside it.
COPY app ./app
COPY frontend ./frontend
COPY personas ./personas
COPY rubrics ./rubrics
COPY deploy/entrypoint.sh /usr/local/bin/rapport-entrypoint
ENV PATH=/opt/rapport/bin:$PATH \
    PYTHONPATH=/srv/rapport \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RAPPORT_DATA_DIR=/data \
    RAPPORT_PERSONAS_DIR=/data/personas \
    RAPPORT_RUBRICS_DIR=/data/rubrics \
    RAPPORT_LOG_FORMAT=json
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz/live', timeout=2).status != 200)"]
ENTRYPOINT ["rapport-entrypoint"]
CMD ["serve"]
