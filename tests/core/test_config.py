from __future__ import annotations

import pytest

from portal.core.config import ConfigError, database_url, from_environment


def test_secret_key_is_required_outside_development():
    with pytest.raises(ConfigError):
        from_environment("/tmp/x", {"JIEDIAN_ENV": "production"})
    key = "9f2c4e7a1b3d5f60718293a4b5c6d7e8f9a0b1c2d3e4f5061728394a5b6c7d8e"
    assert from_environment("/tmp/x", {"JIEDIAN_ENV": "production", "SECRET_KEY": key})["SECRET_KEY"] == key


def test_defaults():
    cfg = from_environment("/srv/instance", {})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "sqlite:////srv/instance/jiedian.db"
    assert cfg["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert cfg["JIEDIAN_TZ"] == "Asia/Shanghai"
    assert cfg["WTF_CSRF_TIME_LIMIT"] is None  # tokens last as long as the session


def test_proxy_count_defaults_to_none_trusted():
    assert from_environment("/i", {})["PROXY_COUNT"] == 0
    assert from_environment("/i", {"JIEDIAN_PROXY_COUNT": "1"})["PROXY_COUNT"] == 1


@pytest.mark.parametrize(("proxies", "seen"), [(0, "127.0.0.1"), (1, "203.0.113.7")])
def test_behind_nginx_the_client_address_comes_from_the_proxy(app, proxies, seen):
    """The login limit per address and the audit log need the real client's address."""
    from sqlalchemy import select

    from portal import create_app
    from portal.core.extensions import db
    from portal.models import LoginAttempt
    from tests.conftest import csrf_from

    proxied = create_app({**app.config, "PROXY_COUNT": proxies})
    client = proxied.test_client()
    # Over HTTPS Flask-WTF also checks the Referer against the host.
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "Referer": "https://localhost/login"}
    page = client.get("/login", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    response = client.post("/login", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"},
                           data={"username": "nobody", "password": "wrong-password", "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 401
    with proxied.app_context():
        assert db.session.scalars(select(LoginAttempt.ip)).all() == [seen]
        db.session.remove()
        db.engine.dispose()


def test_postgres_urls_use_psycopg():
    assert database_url("postgres://u@h/db", "/i") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql://u@h/db", "/i") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql+psycopg://u@h/db", "/i") == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("secret", ["change-me", "s3cret", "jiedian-development-only-secret", "x" * 40,
                                    "change-me-change-me-change-me-change-me", "0123456789abcdef0123456789abcdef"[:31]])
def test_placeholder_and_short_secret_keys_are_refused_in_production(secret):
    """M #4: the shipped example's SECRET_KEY=change-me used to pass the production check."""
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        from_environment("/tmp/x", {"JIEDIAN_ENV": "production", "SECRET_KEY": secret})


def test_a_random_secret_key_is_accepted_in_production():
    import secrets

    key = secrets.token_hex(32)
    assert from_environment("/tmp/x", {"JIEDIAN_ENV": "production", "SECRET_KEY": key})["SECRET_KEY"] == key
    # development and testing keep their own key when none is set
    assert from_environment("/tmp/x", {})["SECRET_KEY"]
