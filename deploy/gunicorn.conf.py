"""gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

Every value can be overridden from the environment (the systemd unit reads
/etc/jiedian/jiedian.env), so one file serves a county server and a bigger
province web machine. The figures behind the defaults are in bench/LOAD.md.
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


# nginx talks to gunicorn over loopback; never expose this port.
bind = os.environ.get("JIEDIAN_BIND", "127.0.0.1:8000")

# gthread: a few threads per process overlap database round trips without
# multiplying processes (each process holds its own SQLAlchemy pool and
# ~120 MB of WeasyPrint and fonts). One process per core; measured against
# sync workers in bench/LOAD.md.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
workers = _int("WEB_CONCURRENCY", multiprocessing.cpu_count())
# gunicorn quietly turns sync into gthread when threads > 1: sync means 1 thread.
threads = _int("GUNICORN_THREADS", 4 if worker_class == "gthread" else 1)

# Interview notices are rendered by WeasyPrint inside the request (a second
# or two); bulletins and rankings go to RQ. 60 s leaves room without letting
# a stuck request hold a worker forever.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
# nginx keeps upstream connections open (keepalive in the site file) and
# closes them after 60 s idle. gunicorn must wait longer, or it may close a
# connection just as nginx sends a request on it (a POST is not retried: 502).
keepalive = _int("GUNICORN_KEEPALIVE", 75)

# Recycle processes now and then: bounds slow growth from PDF rendering.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = 200

# Load the app once in the master, then fork: workers start fast and share
# the imported code. The master must hold no database connection across the
# fork, so every worker disposes the inherited pool first (post_fork). A
# preloaded app does not pick up new code on HUP: upgrades restart the unit.
preload_app = True

# Heartbeat files on tmpfs: a slow disk never makes a worker look dead.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# One line per request on stdout (journald): client address as nginx saw it,
# status, bytes, duration in microseconds.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%({x-forwarded-for}i)s "%(r)s" %(s)s %(B)s %(D)sus "%(a)s"'

# gunicorn's control socket (for gunicornc) defaults to one path per user
# ($HOME/.gunicorn/gunicorn.ctl): a second gunicorn of the same user (another
# county, the load test) would take it over. Put it in the unit's runtime
# directory (systemd sets RUNTIME_DIRECTORY), or turn it off.
_runtime = os.environ.get("RUNTIME_DIRECTORY")
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or (
    os.path.join(_runtime, "gunicorn.ctl") if _runtime else "gunicorn.ctl"
)
control_socket_disable = not (_runtime or os.environ.get("GUNICORN_CONTROL_SOCKET"))

# Only nginx on this machine may set X-Forwarded-* (the app trusts them
# through JIEDIAN_PROXY_COUNT=1).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
proxy_allow_ips = forwarded_allow_ips


def post_fork(server, worker):
    """Give each worker its own connections: drop (without closing) any the master opened."""
    app = getattr(server.app, "callable", None) or server.app.wsgi()
    from portal.core.extensions import db

    with app.app_context():
        db.engine.dispose(close=False)
