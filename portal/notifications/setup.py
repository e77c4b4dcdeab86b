"""Where each channel's settings come from: the environment first, else what an administrator set.

The operators' environment file wins whole for a channel it sets (``SMTP_URL``,
``WECOM_WEBHOOK_URL``, ``DINGTALK_WEBHOOK_URL``, ``SMS_GATEWAY_URL``): the page
shows those as set there and read-only. Otherwise an administrator sets the
channel on ``/admin/channels`` (a county setting per channel). Secrets stay
in the environment in both cases: the mail password (``SMTP_PASSWORD``, or
inside ``SMTP_URL``) and the DingTalk signing secret (``DINGTALK_SECRET``);
the webhook and gateway addresses are the administrators' to set, and no
address a user types is ever fetched.
"""

from __future__ import annotations

from urllib.parse import quote

from portal.core.extensions import db
from portal.models import CountySetting, User

KEYS = {name: f"channel.{name}" for name in ("email", "wecom", "dingtalk", "sms")}
ENV_KEY = {"email": "SMTP_URL", "wecom": "WECOM_WEBHOOK_URL", "dingtalk": "DINGTALK_WEBHOOK_URL",
           "sms": "SMS_GATEWAY_URL"}
# What an administrator may set per channel (never a password or a secret).
FIELDS = {
    "email": ("host", "port", "security", "username", "sender"),
    "wecom": ("url",),
    "dingtalk": ("url",),
    "sms": ("url", "method", "format", "body", "success", "sign", "template"),
}


def from_environment(config, name: str) -> bool:
    return bool(config.get(ENV_KEY[name]))


def stored(name: str) -> dict:
    row = db.session.get(CountySetting, KEYS[name])
    return dict(row.value) if row is not None and isinstance(row.value, dict) else {}


def effective(config) -> dict:
    """The settings ``channels.configured`` reads: the environment's, completed by the administrators'."""
    merged = dict(config)
    if not from_environment(config, "email") and (email := stored("email")).get("host"):
        scheme = "smtps" if email.get("security") == "ssl" else "smtp"
        login = ""
        if email.get("username"):
            password = config.get("SMTP_PASSWORD", "")
            login = quote(email["username"], safe="") + (":" + quote(password, safe="") if password else "") + "@"
        query = "?starttls=1" if email.get("security") == "starttls" else ""
        port = f":{int(email['port'])}" if email.get("port") else ""
        merged["SMTP_URL"] = f"{scheme}://{login}{email['host']}{port}{query}"
        merged["MAIL_FROM"] = config.get("MAIL_FROM") or email.get("sender", "")
    for name in ("wecom", "dingtalk"):
        if not from_environment(config, name) and (robot := stored(name)).get("url"):
            merged[ENV_KEY[name]] = robot["url"]
    if not from_environment(config, "sms") and (sms := stored("sms")).get("url"):
        merged["SMS_GATEWAY_URL"] = sms["url"]
        for field, key in (("method", "SMS_GATEWAY_METHOD"), ("format", "SMS_GATEWAY_FORMAT"),
                           ("body", "SMS_GATEWAY_BODY"), ("success", "SMS_GATEWAY_SUCCESS"), ("sign", "SMS_SIGN"),
                           ("template", "SMS_TEMPLATE_ID")):
            if sms.get(field):
                merged[key] = sms[field]
    return merged


def save(actor: User, name: str, values: dict, clock) -> None:
    """An administrator sets a channel (audited; empty values clear it; the caller commits)."""
    from portal.audit import services as audit

    values = {k: v for k, v in values.items() if k in FIELDS[name] and v not in (None, "")}
    row = db.session.get(CountySetting, KEYS[name])
    before = dict(row.value) if row is not None and isinstance(row.value, dict) else None
    if row is None:
        row = CountySetting(key=KEYS[name])
        db.session.add(row)
    row.value, row.updated_at, row.updated_by_id = values, clock.now(), actor.id
    db.session.flush()

    def shown(settings):  # a webhook's token stays out of the log: the address up to its query
        return {k: (str(v).split("?")[0] if k == "url" else v) for k, v in (settings or {}).items()}

    audit.record(actor, f"setting.channel_{name}", object_type="county_setting", summary=KEYS[name],
                 before=shown(before) if before is not None else None, after=shown(values))
