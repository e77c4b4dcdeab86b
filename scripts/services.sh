#!/usr/bin/env bash
# Make sure the system parts the portal and its tests need are present and
# running; install a missing one with apt-get (waiting for another install's
# package lock first). Usage: services.sh redis postgresql fonts chromium nginx openssl [package-lock]
set -euo pipefail

# Another apt-get or dpkg (unattended-upgrades, an admin's install) may hold
# the package lock: wait for it, up to APT_LOCK_WAIT seconds, then say so.
APT_LOCK_WAIT=${APT_LOCK_WAIT:-900}
APT_LOCKS=${APT_LOCKS:-/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock}

lock_holder() {
  # "pid (command)" of a process holding one of the package locks (POSIX
  # record locks, as apt and dpkg take them), or nothing when all are free.
  # shellcheck disable=SC2086 # the lock list is split on purpose
  python3 - $APT_LOCKS <<'PY'
import fcntl, os, struct, sys
for path in sys.argv[1:]:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        continue
    try:
        probe = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        kind, _, _, _, pid = struct.unpack("hhqqi", fcntl.fcntl(fd, fcntl.F_GETLK, probe))
    finally:
        os.close(fd)
    if kind != fcntl.F_UNLCK:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = " ".join(f.read().replace(b"\0", b" ").decode(errors="replace").split())
        except OSError:
            command = "?"
        print(f"pid {pid} ({command[:80]}) on {path}")
        break
PY
}

wait_for_package_lock() {  # until the locks are free or the deadline (in $SECONDS) passes
  local deadline=$1 holder said=0
  while holder=$(lock_holder) && [ -n "$holder" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "services: another package install still holds the package lock after ${APT_LOCK_WAIT} s: $holder." >&2
      echo "services: let it finish (or stop it), then run this again." >&2
      return 1
    fi
    if [ "$said" = 0 ]; then
      echo "services: waiting for another package install to finish: $holder (up to ${APT_LOCK_WAIT} s)" >&2
      said=1
    fi
    sleep 2
  done
  [ "$said" = 0 ] || echo "services: the package lock is free" >&2
}

apt_get() {
  # apt-get "$@" once the package lock is free; if another install took it in
  # between (apt-get then fails), wait again, within the same time limit.
  local deadline=$((SECONDS + APT_LOCK_WAIT)) rc
  while :; do
    wait_for_package_lock "$deadline" || return 1
    if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=10 "$@"; then return 0; else rc=$?; fi
    if [ -n "$(lock_holder)" ] && [ "$SECONDS" -lt "$deadline" ]; then continue; fi
    return "$rc"
  done
}

updated=0
apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "services: $* missing and no apt-get here; install it by hand" >&2
    return 1
  fi
  if [ "$updated" = 0 ]; then
    apt_get update -qq >/dev/null || { echo "services: apt-get update failed" >&2; return 1; }
    updated=1
  fi
  echo "services: installing $*"
  apt_get install -y -qq --no-install-recommends "$@" >/dev/null || {
    echo "services: could not install $*" >&2; return 1; }
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

has_cjk_fonts() {
  # The print fonts are cut from Noto Serif CJK SC and Noto Sans CJK SC.
  fc-list 'Noto Serif CJK SC' family 2>/dev/null | grep -q . && fc-list 'Noto Sans CJK SC' family 2>/dev/null | grep -q .
}

FANDOL_DIR=/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol
has_fandol_fonts() {
  [ -f "$FANDOL_DIR/FandolFang-Regular.otf" ] && [ -f "$FANDOL_DIR/FandolKai-Regular.otf" ] && [ -f "$FANDOL_DIR/FandolHei-Regular.otf" ]
}

ensure_fonts() {
  if ! has_cjk_fonts; then
    apt_install fonts-noto-cjk fontconfig || true
    if ! has_cjk_fonts; then
      echo "services: the Chinese fonts (Noto Serif/Sans CJK SC, Debian package fonts-noto-cjk) are missing and could not be installed." >&2
      echo "services: without them every PDF would print boxes instead of Chinese, so this stops here. Install fonts-noto-cjk, then run again." >&2
      return 1
    fi
  fi
  # The open faces of an official document (GB/T 9704): FandolFang (仿宋, the
  # body), FandolKai (楷体), FandolHei (黑体) and FandolSong, shipped by
  # texlive-lang-chinese; the print fonts are cut from them (portal/documents/fonts.py).
  has_fandol_fonts || apt_install texlive-lang-chinese || true
  if ! has_fandol_fonts; then
    echo "services: the Fandol faces (Debian package texlive-lang-chinese) are missing; documents fall back to the Noto faces." >&2
  fi
  command -v pdftotext >/dev/null || apt_install poppler-utils
  # hb-subset cuts the compact print fonts in a second (fontTools takes minutes).
  command -v hb-subset >/dev/null || apt_install libharfbuzz-bin
}

ensure_openssl() {
  # The reminder tests make a certificate for their TLS mail servers.
  command -v openssl >/dev/null || apt_install openssl
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
    openssl) ensure_openssl ;;
    nginx) ensure_nginx ;;
    package-lock) wait_for_package_lock $((SECONDS + APT_LOCK_WAIT)) ;;  # only wait for other installs
    *) echo "services: unknown part $part" >&2; exit 2 ;;
  esac
done
