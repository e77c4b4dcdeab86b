"""The deployment files agree with each other and with the app's settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal.core.config import ConfigError, from_environment

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NGINX = (DEPLOY / "nginx" / "jiedian.conf").read_text()


def gunicorn_settings(env: dict[str, str] | None = None):
    """deploy/gunicorn.conf.py as gunicorn itself reads it (the file reads the environment)."""
    import os

    from gunicorn.app.base import Application

    class Settings(Application):
        def load_config(self):
            pass

        def load(self):
            raise AssertionError("only the settings are wanted")

    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        settings = Settings()
        settings.load_config_from_file(str(DEPLOY / "gunicorn.conf.py"))
        return settings.cfg
    finally:
        os.environ.clear()
        os.environ.update(saved)


def nginx_value(directive: str) -> str:
    match = re.search(rf"^\s*{directive}\s+([^;]+);", NGINX, re.M)
    assert match, directive
    return match.group(1).strip()


def seconds(value: str) -> int:
    return int(value.rstrip("s"))


def test_gunicorn_settings_load_and_can_be_tuned_from_the_environment():
    default = gunicorn_settings()
    assert default.worker_class_str == "gthread" and default.threads == 4
    assert default.preload_app is True and default.bind == ["127.0.0.1:8000"]
    assert default.post_fork.__module__ != "gunicorn.config"  # ours: it disposes the inherited pool
    assert default.control_socket_disable is True
    tuned = gunicorn_settings({"WEB_CONCURRENCY": "3", "GUNICORN_WORKER_CLASS": "sync",
                               "RUNTIME_DIRECTORY": "/run/jiedian-web"})
    assert tuned.workers == 3 and tuned.worker_class_str == "sync" and tuned.threads == 1
    assert tuned.control_socket == "/run/jiedian-web/gunicorn.ctl" and tuned.control_socket_disable is False


def test_nginx_and_gunicorn_time_out_in_the_right_order():
    settings = gunicorn_settings()
    # nginx waits longer than gunicorn's worker timeout, so gunicorn answers first...
    assert seconds(nginx_value("proxy_read_timeout")) > settings.timeout
    # ...and closes idle upstream connections before gunicorn would.
    assert seconds(nginx_value("keepalive_timeout")) < settings.keepalive


def test_nginx_accepts_exactly_what_the_app_accepts():
    limit = nginx_value("client_max_body_size")
    assert limit.endswith("m")
    assert int(limit[:-1]) * 1024 * 1024 == from_environment("/i", {})["MAX_CONTENT_LENGTH"]
    assert "X-Forwarded-For" in NGINX and "X-Forwarded-Proto" in NGINX


def test_the_environment_example_names_only_settings_that_exist():
    example = (DEPLOY / "jiedian.env.example").read_text()
    names = re.findall(r"^#?([A-Z_]+)=", example, re.M)
    readers = "".join(
        p.read_text()
        for p in [DEPLOY.parent / "portal" / "core" / "config.py", DEPLOY / "gunicorn.conf.py", *DEPLOY.glob("systemd/*")]
    )
    assert names and [n for n in names if n not in readers] == []
    settings = {n: v for n, v in re.findall(r"^([A-Z_]+)=(.*)$", example, re.M)}
    with pytest.raises(ConfigError, match="SECRET_KEY"):  # the example's placeholder key must be replaced
        from_environment("/i", settings)
    cfg = from_environment("/i", settings | {"SECRET_KEY": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"})
    assert cfg["PROXY_COUNT"] == 1 and cfg["SESSION_COOKIE_SECURE"] is True


def test_exactly_one_scheduler_and_templated_workers():
    units = {p.name for p in (DEPLOY / "systemd").iterdir()}
    assert "jiedian-scheduler.service" in units and "jiedian-worker@.service" in units
    assert not any(re.fullmatch(r"jiedian-scheduler@.*", u) for u in units)
    for unit in units - {"jiedian-backup.timer"}:
        assert "EnvironmentFile=/etc/jiedian/jiedian.env" in (DEPLOY / "systemd" / unit).read_text(), unit


def test_the_shipped_nginx_site_runs_in_a_real_nginx(tmp_path):
    """deploy/nginx/jiedian.conf in nginx itself: TLS swapped for a loopback port, gunicorn for a stub.

    nginx checks the syntax, answers an oversized upload with the Chinese
    413 page before the app sees it, passes the X-Forwarded-* headers the app
    trusts, and serves the static files with the caching the comments promise.
    """
    import shutil
    import subprocess
    import tempfile
    import threading
    import time
    import urllib.error
    import urllib.request
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tests.conftest import free_port

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    seen: list[dict] = []

    class Gunicorn(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.do_GET()

        def do_GET(self):
            seen.append(dict(self.headers))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"app")

        def log_message(self, *args):
            pass

    app = ThreadingHTTPServer(("127.0.0.1", free_port()), Gunicorn)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    port = free_port()
    # The release as installed (/opt/jiedian/app, readable by nginx's worker user), not the
    # checkout: a clone under a private (0700) home folder is unreadable to that user.
    release = Path(tempfile.mkdtemp(prefix="jiedian-release-"))
    shutil.copytree(DEPLOY.parent / "portal" / "static", release / "portal" / "static")
    for path in (release, *release.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    site = re.sub(r"server \{\n    listen 80;.*?\n\}\n", "", NGINX, flags=re.S)  # the redirect to https
    site = (site.replace("listen 443 ssl;", f"listen 127.0.0.1:{port};").replace("listen [::]:443 ssl;", "")
            .replace("http2 on;", "").replace("127.0.0.1:8000", f"127.0.0.1:{app.server_port}")
            .replace("/var/log/nginx/", f"{tmp_path}/").replace("/opt/jiedian/app/", f"{release}/"))
    site = re.sub(r"\n\s*ssl_[^\n]*", "", site)
    (tmp_path / "nginx.conf").write_text(
        f"daemon off; worker_processes 1; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{ include /etc/nginx/mime.types; {site} }}\n")
    check = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    server = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    def fetch(path: str, data: bytes | None = None):
        try:
            with urllib.request.urlopen(urllib.request.Request(base + path, data=data), timeout=10) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers, error.read()

    try:
        for _ in range(100):
            try:
                fetch("/healthz")
                break
            except OSError:
                time.sleep(0.05)
        before = len(seen)
        status, headers, body = fetch("/nodes/1/submit", b"x" * (26 * 1024 * 1024))
        assert status == 413 and "charset=utf-8" in headers["Content-Type"]
        assert "上传的文件过大（每次合计不超过 25 MB）" in body.decode() and 'class="error-page"' in body.decode()
        assert len(seen) == before  # the app never saw it

        status, _, body = fetch("/nodes/1/submit", b"note=ok")
        assert (status, body) == (200, b"app")
        forwarded = seen[-1]
        assert forwarded["X-Forwarded-For"] == "127.0.0.1" and forwarded["X-Forwarded-Proto"] == "http"

        status, headers, _ = fetch("/static/app.css")
        assert status == 200 and headers["Cache-Control"] == "public, no-cache"
        vendor = next((DEPLOY.parent / "portal" / "static" / "vendor").glob("htmx-*.js")).name
        status, headers, _ = fetch(f"/static/vendor/{vendor}")
        assert status == 200 and "immutable" in headers["Cache-Control"]

        # HSTS on every answer: a location with add_header of its own drops the server's (M #4).
        for path in ("/static/app.css", f"/static/vendor/{vendor}", "/nodes/1"):
            status, headers, _ = fetch(path)
            assert headers.get("Strict-Transport-Security") == "max-age=31536000", path
        status, headers, _ = fetch("/nodes/1/submit", b"x" * (26 * 1024 * 1024))
        assert status == 413 and headers.get("Strict-Transport-Security") == "max-age=31536000"
    finally:
        shutil.rmtree(release, ignore_errors=True)
        server.terminate()
        server.wait(timeout=10)
        app.shutdown()
        app.server_close()
