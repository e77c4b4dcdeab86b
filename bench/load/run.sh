#!/usr/bin/env bash
# `make load`: the demo county on a scratch PostgreSQL database, gunicorn with
# deploy/gunicorn.conf.py and production settings on loopback, LOAD_USERS
# locust users for LOAD_TIME, then a table per request type. Everything it
# starts is stopped and the scratch database dropped, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.venv}
PG=${LOAD_PG:-postgresql+psycopg://jiedian:jiedian@127.0.0.1:5432}
DBNAME=${LOAD_DB:-jiedian_load}
export REDIS_URL=${LOAD_REDIS:-redis://127.0.0.1:6379/14}
USERS=${LOAD_USERS:-50}
DURATION=${LOAD_TIME:-60}        # seconds measured, once every user has logged in
SPAWN_RATE=${LOAD_SPAWN_RATE:-2}  # logins per second (scrypt is slow on purpose)
PORT=${LOAD_PORT:-$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/jiedian-load.XXXXXX")

database() {  # database create|drop
  "$VENV/bin/python" - "$1" "$PG" "$DBNAME" <<'PY'
import sys
from sqlalchemy import create_engine, text
action, server, name = sys.argv[1:]
engine = create_engine(server + "/postgres", isolation_level="AUTOCOMMIT")
with engine.connect() as conn:
    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    if action == "create":
        conn.execute(text(f'CREATE DATABASE "{name}"'))
engine.dispose()
PY
}

server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  database drop || true
  if [ -n "${LOAD_KEEP:-}" ]; then echo "load: results kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

# Production settings, as deploy/jiedian.env.example has them (no nginx in
# the loop: locust fetches pages, not static files).
export FLASK_APP=wsgi JIEDIAN_ENV=production
SECRET_KEY=$("$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(32))')
export SECRET_KEY
export DATABASE_URL="$PG/$DBNAME" EVIDENCE_DIR="$WORK/evidence" DOCUMENT_DIR="$WORK/documents"
export JIEDIAN_BIND="127.0.0.1:$PORT" GUNICORN_ACCESS_LOG="$WORK/access.log"
RAMP=$(( (USERS + SPAWN_RATE - 1) / SPAWN_RATE ))

echo "load: preparing $DBNAME (migrations and the demo county)"
database create
"$VENV/bin/flask" db upgrade >"$WORK/setup.log" 2>&1
"$VENV/bin/flask" demo >>"$WORK/setup.log" 2>&1

"$VENV/bin/gunicorn" -c deploy/gunicorn.conf.py wsgi:app >"$WORK/gunicorn.log" 2>&1 &
server_pid=$!
for _ in $(seq 150); do
  if "$VENV/bin/python" -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:$PORT/healthz', timeout=1).status != 200)" 2>/dev/null; then
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$WORK/gunicorn.log"; echo "load: gunicorn did not start" >&2; exit 1; }
  sleep 0.2
done
processes=${WEB_CONCURRENCY:-$(nproc)}
export LOAD_WAIT=${LOAD_WAIT:-1,5}
echo "load: gunicorn on 127.0.0.1:$PORT, ${GUNICORN_WORKER_CLASS:-gthread} x $processes processes, $(grep -q gthread "$WORK/gunicorn.log" && echo "threads ${GUNICORN_THREADS:-4}" || echo "1 thread"); $USERS users (ramp ${RAMP} s) for ${DURATION} s, ${LOAD_WAIT/,/–} s between clicks; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

"$VENV/bin/python" bench/load/baseline.py "http://127.0.0.1:$PORT"

# LOAD_PROFILE=1: sample the web processes with py-spy for the whole run.
profiler=""
if [ -n "${LOAD_PROFILE:-}" ]; then
  "$VENV/bin/py-spy" record --pid "$server_pid" --subprocesses --rate 50 --format raw \
    --duration "$((RAMP + DURATION))" --output "$WORK/profile.stacks" >"$WORK/py-spy.log" 2>&1 &
  profiler=$!
fi

# Statistics restart once every user is in (--reset-stats): the figures are
# the steady state, not the logins.
status=0
LOAD_CONFLICTS_FILE="$WORK/conflicts.json" "$VENV/bin/locust" -f bench/load/locustfile.py --headless \
  --users "$USERS" --spawn-rate "$SPAWN_RATE" --run-time "$((RAMP + DURATION))s" --stop-timeout 10 --reset-stats \
  --host "http://127.0.0.1:$PORT" --csv "$WORK/load" --only-summary --loglevel WARNING \
  >"$WORK/locust.log" 2>&1 || status=$?
"$VENV/bin/python" bench/load/report.py "$WORK" || status=$?
echo "load: load average after the run $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$profiler" ]; then
  wait "$profiler" || true
  "$VENV/bin/python" bench/load/profile_summary.py "$WORK/profile.stacks" || true
fi
if grep -q "Traceback" "$WORK/gunicorn.log"; then
  echo "load: the server logged errors:" >&2
  grep -B2 -A20 "Traceback" "$WORK/gunicorn.log" | head -60 >&2
  status=1
fi
exit "$status"
