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

# The web server runs in the background like the worker and the scheduler
# (not exec'd), so this script outlives it and stops all three together: on
# Ctrl-C, on SIGTERM, and when the web server itself ends.
pids=()
stop_all() {
  trap - EXIT INT TERM
  local pid alive
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # A worker finishes the job in hand first; after 30 s, whatever is left is killed.
  for _ in $(seq 150); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap stop_all EXIT

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
"$VENV/bin/gunicorn" --bind "$HOST:$PORT" --workers "${WEB_WORKERS:-2}" --no-control-socket --access-logfile - wsgi:app & web=$!
pids+=("$web")
status=0
wait "$web" || status=$?  # a signal interrupts this wait and runs its trap
exit "$status"
