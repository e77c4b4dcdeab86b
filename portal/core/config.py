"""Settings, read from the environment once, when the app is created."""

from __future__ import annotations

import hashlib
import os
import re
from datetime import timedelta
from pathlib import Path


class ConfigError(RuntimeError):
    """The environment does not describe a portal that can safely start."""


def database_url(raw: str | None, instance_path: str) -> str:
    """Normalise ``DATABASE_URL``; default to a SQLite file under ``instance/``.

    ``postgresql://`` and ``postgres://`` URLs are pointed at psycopg 3, the
    only PostgreSQL driver we install.
    """
    if not raw:
        return "sqlite:///" + str(Path(instance_path) / "jiedian.db")
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix):]
    return raw


def engine_options(url: str) -> dict:
    """Pool settings that suit the database the URL names."""
    if url.startswith("sqlite"):
        # The default file database is shared by the web process, workers and
        # the CLI: wait for a lock instead of failing at once.
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}


_PREFIX = re.compile(r"[A-Za-z0-9_-]{1,40}")


def redis_prefix(url: str) -> str:
    """The default REDIS_PREFIX: ``jiedian-`` and a digest of the database the portal uses.

    The web process, its workers and its scheduler read the same DATABASE_URL,
    so they agree without a setting; another county (another database) on the
    same Redis gets another prefix. The password is left out (changing it keeps
    the queues), and a SQLite path counts as the absolute file.
    """
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database and parsed.database != ":memory:":
        parsed = parsed.set(database=os.path.abspath(parsed.database))
    digest = hashlib.sha256(parsed.render_as_string(hide_password=True).encode()).hexdigest()[:12]
    return f"jiedian-{digest}"


def checked_redis_prefix(value: str) -> str:
    if not _PREFIX.fullmatch(value):
        raise ConfigError("REDIS_PREFIX must be 1 to 40 letters, digits, '-' or '_' (it starts Redis keys and RQ job ids)")
    return value


# Values people leave in place from an example file or a tutorial.
_PLACEHOLDERS = ("change-me", "changeme", "change_me", "replace-me", "secret", "example", "development", "password",
                 "jiedian", "your-", "xxx")
MIN_SECRET_BYTES = 32


def secret_key_problem(secret: str) -> str | None:
    """Why a production SECRET_KEY is refused: shorter than 32 bytes, or a placeholder left from an example."""
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"SECRET_KEY must have at least {MIN_SECRET_BYTES} bytes (python3 -c 'import secrets; print(secrets.token_hex(32))')"
    folded = secret.casefold()
    if len(set(folded)) < 8 or any(word in folded for word in _PLACEHOLDERS):
        return "SECRET_KEY is a placeholder; set a random one (python3 -c 'import secrets; print(secrets.token_hex(32))')"
    return None


def from_environment(instance_path: str, env: dict[str, str] | None = None) -> dict:
    """Build the Flask config mapping from environment variables."""
    env = dict(os.environ if env is None else env)
    mode = env.get("JIEDIAN_ENV", "development")
    secret = env.get("SECRET_KEY")
    if not secret:
        if mode not in ("development", "testing"):
            raise ConfigError("SECRET_KEY must be set when JIEDIAN_ENV is " + mode)
        secret = "jiedian-development-only-secret"
    elif mode not in ("development", "testing") and (problem := secret_key_problem(secret)):
        raise ConfigError(problem)
    url = database_url(env.get("DATABASE_URL"), instance_path)
    return {
        "JIEDIAN_ENV": mode,
        "TESTING": mode == "testing",
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": url,
        "REDIS_URL": env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        # Every queue, job, lock and schedule marker of this portal on Redis starts
        # with it; unset, create_app derives it from the database (redis_prefix).
        "REDIS_PREFIX": checked_redis_prefix(env["REDIS_PREFIX"]) if env.get("REDIS_PREFIX") else None,
        "JIEDIAN_TZ": env.get("JIEDIAN_TZ", "Asia/Shanghai"),
        # Fixes "today" for a demonstration or a training county; unset in production.
        "JIEDIAN_TODAY": env.get("JIEDIAN_TODAY") or None,
        "EVIDENCE_DIR": env.get("EVIDENCE_DIR") or str(Path(instance_path) / "evidence"),
        "DOCUMENT_DIR": env.get("DOCUMENT_DIR") or str(Path(instance_path) / "documents"),
        # Compact CJK faces for the PDFs, cut once per machine by `flask print-fonts`.
        "PRINT_FONT_DIR": env.get("PRINT_FONT_DIR") or str(Path(instance_path) / "print-fonts"),
        # Printed on every document: the issuing office and the county's prefix
        # of document numbers (肥督约〔2026〕12号 has the prefix 肥督).
        "JIEDIAN_OFFICE_NAME": env.get("JIEDIAN_OFFICE_NAME", "县委县政府督查室"),
        "JIEDIAN_DOC_PREFIX": env.get("JIEDIAN_DOC_PREFIX", "督"),
        # The portal's address as people type it (printed on one-time password sheets, in messages).
        "PORTAL_URL": env.get("PORTAL_URL", ""),
        # The county's own name (清溪县): ledgers prefix unit names with it. Unset: read off the unit names.
        "JIEDIAN_COUNTY": env.get("JIEDIAN_COUNTY", ""),
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": env.get("JIEDIAN_TZ", "Asia/Shanghai"),
        "LANGUAGES": ["zh_CN", "en"],
        # CSRF tokens live as long as the session: a board left open all
        # afternoon must still accept a drag.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_HEADERS": ["X-CSRFToken"],
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "0") == "1",
        "SESSION_IDLE_TIMEOUT": timedelta(minutes=int(env.get("SESSION_IDLE_MINUTES", "120"))),
        # However active, a session ends this long after its login (the idle limit above ends it sooner).
        "SESSION_MAX_AGE": timedelta(hours=int(env.get("SESSION_MAX_HOURS", "12"))),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=int(env.get("SESSION_MAX_HOURS", "12"))),
        "MAX_CONTENT_LENGTH": 25 * 1024 * 1024,
        "LOGIN_MAX_FAILURES": int(env.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_WINDOW": timedelta(minutes=int(env.get("LOGIN_WINDOW_MINUTES", "15"))),
        "LOGIN_MAX_FAILURES_PER_IP": int(env.get("LOGIN_MAX_FAILURES_PER_IP", "30")),
        # Reverse proxies (nginx) in front of gunicorn whose X-Forwarded-For,
        # -Proto and -Host are trusted. Behind nginx this must be 1: otherwise
        # every request seems to come from 127.0.0.1, and the per-address
        # login limit and the audit log see one address for the whole county.
        "PROXY_COUNT": int(env.get("JIEDIAN_PROXY_COUNT", "0")),
        **channel_settings(env),
    }


# A window of quiet hours, "21:00-08:00" (across midnight) or "12:00-14:00"; "" for none.
QUIET_HOURS = re.compile(r"(([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d)?")


def channel_settings(env: dict[str, str]) -> dict:
    """The reminder channels (portal/notifications/channels.py), from the environment; empty: not used.

    Checked here, so a mistyped URL stops the portal at start instead of
    failing every delivery later.
    """
    settings = {
        "SMTP_URL": env.get("SMTP_URL", ""),  # smtp://user:password@host:587?starttls=1, smtps://…@host:465
        "MAIL_FROM": env.get("MAIL_FROM", ""),  # 县委县政府督查室 <duban@example.gov.cn>
        # The mail password when the server is set on the channels page (SMTP_URL carries its own).
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD", ""),
        "SMTP_CA_FILE": env.get("SMTP_CA_FILE", ""),  # the CA of a mail server with an internal certificate
        "NOTIFY_TIMEOUT": float(env.get("NOTIFY_TIMEOUT", "10")),  # seconds per connection and read
        "WECOM_WEBHOOK_URL": env.get("WECOM_WEBHOOK_URL", ""),
        "DINGTALK_WEBHOOK_URL": env.get("DINGTALK_WEBHOOK_URL", ""),
        "DINGTALK_SECRET": env.get("DINGTALK_SECRET", ""),
        "SMS_GATEWAY_URL": env.get("SMS_GATEWAY_URL", ""),
        "SMS_GATEWAY_METHOD": env.get("SMS_GATEWAY_METHOD", "POST").upper(),
        "SMS_GATEWAY_FORMAT": env.get("SMS_GATEWAY_FORMAT", "json"),
        "SMS_GATEWAY_BODY": env.get("SMS_GATEWAY_BODY", ""),
        "SMS_GATEWAY_SUCCESS": env.get("SMS_GATEWAY_SUCCESS", "http"),
        "SMS_SIGN": env.get("SMS_SIGN", ""),
        "SMS_TEMPLATE_ID": env.get("SMS_TEMPLATE_ID", ""),
        # SMS waits out the night (county time): held, then sent when it ends.
        "SMS_QUIET_HOURS": env.get("SMS_QUIET_HOURS", "21:00-08:00"),
        # The morning digest, for those who chose it (county time).
        "NOTIFY_DIGEST_AT": env.get("NOTIFY_DIGEST_AT", "08:30"),
    }
    smtp = settings["SMTP_URL"]
    if smtp:
        if not re.fullmatch(r"smtps?://[^/?#]+(:\d+)?/?(\?.*)?", smtp):
            raise ConfigError("SMTP_URL must look like smtp://user:password@host:587?starttls=1 or smtps://user:password@host:465")
        if "@" not in settings["MAIL_FROM"]:
            raise ConfigError("MAIL_FROM must be set with SMTP_URL: 县委县政府督查室 <duban@example.gov.cn>")
    for name in ("WECOM_WEBHOOK_URL", "DINGTALK_WEBHOOK_URL", "SMS_GATEWAY_URL"):
        if settings[name] and not re.fullmatch(r"https?://[^\s]+", settings[name]):
            raise ConfigError(f"{name} must be an http:// or https:// URL")
    if settings["SMS_GATEWAY_METHOD"] not in ("POST", "GET", "PUT"):
        raise ConfigError("SMS_GATEWAY_METHOD must be POST, GET or PUT")
    if settings["SMS_GATEWAY_FORMAT"] not in ("json", "form"):
        raise ConfigError("SMS_GATEWAY_FORMAT must be json or form")
    success = settings["SMS_GATEWAY_SUCCESS"]
    if success != "http" and not re.fullmatch(r"json:[A-Za-z0-9_.]+=.*", success):
        raise ConfigError("SMS_GATEWAY_SUCCESS must be http or json:field=value (json:code=0)")
    if not QUIET_HOURS.fullmatch(settings["SMS_QUIET_HOURS"]):
        raise ConfigError("SMS_QUIET_HOURS must look like 21:00-08:00 (or be empty for none)")
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", settings["NOTIFY_DIGEST_AT"]):
        raise ConfigError("NOTIFY_DIGEST_AT must be a time such as 08:30")
    return settings
