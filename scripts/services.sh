#!/usr/bin/env bash
# Make sure the system parts the portal and its tests need are present and
# running; install a missing one with apt-get. Usage: services.sh redis postgresql fonts chromium nginx
set -euo pipefail

updated=0
apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "services: $* missing and no apt-get here; install it by hand" >&2
    return 1
  fi
  if [ "$updated" = 0 ]; then
    apt-get update -qq >/dev/null
    updated=1
  fi
  echo "services: installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

have_pkg() { dpkg -s "$1" >/dev/null 2>&1; }

ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return; fi
  command -v redis-server >/dev/null || apt_install redis-server redis-tools
  echo "services: starting redis-server on 127.0.0.1:6379"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/jiedian.log
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "services: redis did not start" >&2; return 1
}

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

ensure_postgresql() {
  if ! pg_ready; then
    command -v pg_ctlcluster >/dev/null || apt_install postgresql
    version=$(ls /etc/postgresql | sort -V | tail -n1)
    echo "services: starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 100); do pg_ready && break; sleep 0.1; done
    pg_ready || { echo "services: PostgreSQL did not start" >&2; return 1; }
  fi
  # The tests connect as jiedian/jiedian over TCP; create that role when it
  # does not answer (peer authentication over the socket needs no password).
  if ! PGPASSWORD=jiedian psql -h 127.0.0.1 -U jiedian -d postgres -tAc "select 1" >/dev/null 2>&1; then
    echo "services: creating PostgreSQL role jiedian"
    runuser -u postgres -- psql -q -d postgres -c \
      "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'jiedian') THEN CREATE ROLE jiedian LOGIN SUPERUSER PASSWORD 'jiedian'; ELSE ALTER ROLE jiedian LOGIN SUPERUSER PASSWORD 'jiedian'; END IF; END \$\$;"
  fi
}

ensure_fonts() {
  have_pkg fonts-noto-cjk || apt_install fonts-noto-cjk
  command -v pdftotext >/dev/null || apt_install poppler-utils
  # hb-subset cuts the compact print fonts in a second (fontTools takes minutes).
  command -v hb-subset >/dev/null || apt_install libharfbuzz-bin
}

ensure_chromium() {
  [ -x /usr/bin/chromium ] || apt_install chromium
}

ensure_nginx() {
  # The binary only: tests/ops/test_deploy.py runs the shipped site in a private nginx.
  command -v nginx >/dev/null && return
  # Debian starts its default site on port 80 when the package goes in; keep
  # the machine as it was (policy-rc.d tells the package scripts not to).
  local policy=/usr/sbin/policy-rc.d placed=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; placed=1; fi
  apt_install nginx-light || apt_install nginx
  [ "$placed" = 1 ] && rm -f "$policy"
  return 0
}

for part in "$@"; do
  case "$part" in
    redis) ensure_redis ;;
    postgresql) ensure_postgresql ;;
    fonts) ensure_fonts ;;
    chromium) ensure_chromium ;;
    nginx) ensure_nginx ;;
    *) echo "services: unknown part $part" >&2; exit 2 ;;
  esac
done
