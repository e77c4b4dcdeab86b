from __future__ import annotations

import pytest

from portal.config import ConfigError, database_url, from_environment


def test_secret_key_is_required_outside_development():
    with pytest.raises(ConfigError):
        from_environment("/tmp/x", {"JIEDIAN_ENV": "production"})
    cfg = from_environment("/tmp/x", {"JIEDIAN_ENV": "production", "SECRET_KEY": "s3cret"})
    assert cfg["SECRET_KEY"] == "s3cret"


def test_defaults():
    cfg = from_environment("/srv/instance", {})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "sqlite:////srv/instance/jiedian.db"
    assert cfg["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert cfg["JIEDIAN_TZ"] == "Asia/Shanghai"
    assert cfg["WTF_CSRF_TIME_LIMIT"] is None  # tokens last as long as the session


def test_postgres_urls_use_psycopg():
    assert database_url("postgres://u@h/db", "/i") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql://u@h/db", "/i") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql+psycopg://u@h/db", "/i") == "postgresql+psycopg://u@h/db"
