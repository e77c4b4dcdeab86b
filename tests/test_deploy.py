"""The deployment files agree with each other and with the app's settings."""

from __future__ import annotations

import re
from pathlib import Path

from portal.config import from_environment

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
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
        for p in [DEPLOY.parent / "portal" / "config.py", DEPLOY / "gunicorn.conf.py", *DEPLOY.glob("systemd/*")]
    )
    assert names and [n for n in names if n not in readers] == []
    cfg = from_environment("/i", {n: v for n, v in re.findall(r"^([A-Z_]+)=(.*)$", example, re.M)})
    assert cfg["PROXY_COUNT"] == 1 and cfg["SESSION_COOKIE_SECURE"] is True


def test_exactly_one_scheduler_and_templated_workers():
    units = {p.name for p in (DEPLOY / "systemd").iterdir()}
    assert "jiedian-scheduler.service" in units and "jiedian-worker@.service" in units
    assert not any(re.fullmatch(r"jiedian-scheduler@.*", u) for u in units)
    for unit in units - {"jiedian-backup.timer"}:
        assert "EnvironmentFile=/etc/jiedian/jiedian.env" in (DEPLOY / "systemd" / unit).read_text(), unit
