#!/usr/bin/env bash
# Start the demo portal: database, demo county, web, and (when Redis answers)
# one worker and the scheduler. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-5000}
export FLASK_APP=wsgi

"$VENV/bin/flask" db upgrade
"$VENV/bin/flask" demo --if-empty
"$VENV/bin/flask" print-fonts

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

if "$VENV/bin/python" -c "import os,redis,sys; sys.exit(0 if redis.Redis.from_url(os.environ.get('REDIS_URL','redis://127.0.0.1:6379/0'), socket_connect_timeout=0.5).ping() else 1)" 2>/dev/null; then
  "$VENV/bin/flask" worker & pids+=($!)
  "$VENV/bin/flask" scheduler & pids+=($!)
  queue="worker and scheduler started"
else
  queue="Redis is not answering: no worker or scheduler (the portal still serves)"
fi

cat <<TXT

  节点 Jiedian is starting at http://$HOST:$PORT/
  $queue
  Demo accounts (password jiedian-demo): admin, supervisor, leader, staff, contact

TXT
exec "$VENV/bin/gunicorn" --bind "$HOST:$PORT" --workers "${WEB_WORKERS:-2}" --access-logfile - wsgi:app
