#!/bin/sh
# The container's entrypoint (and a way to run Rapport the same way outside one).
#
#   rapport-entrypoint serve [rapport serve options]   migrate, then serve on 0.0.0.0:8000
#   rapport-entrypoint COMMAND ...                     any other `rapport` command
#
# Before serving it copies the shipped persona and rubric libraries into RAPPORT_PERSONAS_DIR
# and RAPPORT_RUBRICS_DIR when those folders do not exist yet (a fresh volume), so trainers'
# edits live on the volume, and it waits up to RAPPORT_DB_WAIT seconds (default 60) for the
# database to accept the migration: a database container often starts later than the app.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
shipped=${RAPPORT_SHIPPED_DIR:-/srv/rapport}
[ -d "$shipped/personas" ] || shipped=$(cd "$here/.." && pwd)

seed() {
  # $1: the folder the app reads; $2: the library shipped with this version.
  if [ -n "$1" ] && [ ! -d "$1" ] && [ -d "$2" ]; then
    mkdir -p "$1"
    cp -R "$2"/. "$1"/
    echo "rapport-entrypoint: copied the shipped library into $1"
  fi
}

if [ "${1:-serve}" != "serve" ]; then
  exec rapport "$@"
fi
[ "$#" -gt 0 ] && shift

seed "${RAPPORT_PERSONAS_DIR:-}" "$shipped/personas"
seed "${RAPPORT_RUBRICS_DIR:-}" "$shipped/rubrics"

wait_for=${RAPPORT_DB_WAIT:-60}
waited=0
until rapport db upgrade; do
  waited=$((waited + 2))
  if [ "$waited" -ge "$wait_for" ]; then
    echo "rapport-entrypoint: error: the database did not accept the migration within" \
         "${wait_for}s; check RAPPORT_DATABASE_URL and that the database is running." >&2
    exit 1
  fi
  echo "rapport-entrypoint: waiting for the database (${waited}s of ${wait_for}s)" >&2
  sleep 2
done

# Later options win, so `serve --port 9000` overrides the default port. Behind a proxy, set
# RAPPORT_TRUSTED_PROXIES to the proxy's address (compose.yaml does).
exec rapport serve --host 0.0.0.0 --port 8000 "$@"
