"""The channels a message leaves the portal by: e-mail, WeCom and DingTalk group robots, SMS.

Each channel is a small adapter with one method, ``send(address, message)``,
that either returns (the far end accepted it) or raises ``ChannelError``
saying whether trying again later may help. Their settings come from the
environment (``SMTP_URL``, ``WECOM_WEBHOOK_URL``…, portal.core.config) and
are set by operators only: no address a user types is ever fetched.

Robots post to a group chat; ``address`` is then the phone numbers to
@-mention (comma-separated, may be empty). E-mail takes an address, SMS a
mainland mobile number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import re
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr

CHANNELS = ("email", "wecom", "dingtalk", "sms")
TIMEOUT = 10.0  # seconds for one connection attempt and each read (NOTIFY_TIMEOUT)
SMS_LIMIT = 70  # characters in one SMS (longer ones are split and billed as several)

_MOBILE = re.compile(r"1[3-9]\d{9}")
_EMAIL = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+")


class ChannelError(Exception):
    """The message was not accepted. ``retry``: a later attempt may succeed (time-out, 5xx, rate limit)."""

    def __init__(self, message: str, *, retry: bool):
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class Message:
    """What one delivery says, already in its channel's shape (see portal.notifications.texts)."""

    subject: str  # e-mail subject, robot markdown heading
    text: str  # plain text: the e-mail body, the SMS, the robot text
    html: str = ""  # the e-mail's HTML part
    markdown: str = ""  # the robots' markdown


def mobile_number(raw: str) -> str | None:
    """A mainland mobile number (11 digits, 1[3-9]…) from what people type: spaces, dashes, +86 allowed."""
    digits = re.sub(r"[\s\-()（）]", "", raw or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix):]
    return digits if _MOBILE.fullmatch(digits) else None


def email_address(raw: str) -> str | None:
    address = parseaddr(raw or "")[1].strip()
    return address if _EMAIL.fullmatch(address) and len(address) <= 120 else None


# -- e-mail -----------------------------------------------------------------------


@dataclass(frozen=True)
class Email:
    """SMTP: ``smtp://user:password@host:587?starttls=1``, ``smtps://…@host:465`` (SSL), or no login."""

    host: str
    port: int
    sender: str  # MAIL_FROM: "县委县政府督查室 <duban@example.gov.cn>"
    username: str = ""
    password: str = field(default="", repr=False)
    ssl: bool = False
    starttls: bool = False
    ca_file: str = ""  # a county's own CA (SMTP_CA_FILE); empty: the system's
    timeout: float = TIMEOUT
    name = "email"

    @classmethod
    def from_url(cls, url: str, sender: str, *, ca_file: str = "", timeout: float = TIMEOUT) -> Email:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:587?starttls=1 or smtps://…@host:465")
        query = urllib.parse.parse_qs(parts.query)
        secure = parts.scheme == "smtps"
        return cls(host=parts.hostname, port=parts.port or (465 if secure else 25), sender=sender,
                   username=urllib.parse.unquote(parts.username or ""), password=urllib.parse.unquote(parts.password or ""),
                   ssl=secure, starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"), ca_file=ca_file,
                   timeout=timeout)

    def build(self, to: str, message: Message) -> EmailMessage:
        mail = EmailMessage()
        name, address = parseaddr(self.sender)
        mail["From"] = formataddr((name, address)) if name else address  # non-ASCII names are RFC 2047 encoded
        mail["To"] = to
        mail["Subject"] = message.subject  # encoded as =?utf-8?…?= by the email package
        mail["Message-ID"] = make_msgid(domain=address.rpartition("@")[2] or None)
        mail.set_content(message.text, charset="utf-8")
        if message.html:
            mail.add_alternative(message.html, subtype="html", charset="utf-8")
        return mail

    def send(self, address: str, message: Message) -> None:
        to = email_address(address)
        if to is None:
            raise ChannelError(f"not an e-mail address: {address!r}", retry=False)
        mail = self.build(to, message)
        context = ssl.create_default_context(cafile=self.ca_file or None)
        try:
            if self.ssl:
                server = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with server:
                if self.starttls:
                    server.starttls(context=context)
                if self.username:
                    server.login(self.username, self.password)
                server.send_message(mail)
        except smtplib.SMTPAuthenticationError as error:
            raise ChannelError(f"SMTP login refused: {error.smtp_code} {_text(error.smtp_error)}", retry=False) from error
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            raise ChannelError(f"SMTP refused the recipient: {code} {_text(text)}", retry=400 <= code < 500) from error
        except smtplib.SMTPResponseException as error:
            raise ChannelError(f"SMTP error {error.smtp_code} {_text(error.smtp_error)}",
                               retry=400 <= error.smtp_code < 500) from error
        except smtplib.SMTPNotSupportedError as error:  # a setting, not a passing fault
            raise ChannelError(f"SMTP server does not support it: {error} (does it need ?starttls=1, or smtps://?)",
                               retry=False) from error
        except (smtplib.SMTPException, OSError) as error:  # refused, reset, time-out, TLS
            raise ChannelError(f"SMTP server unreachable: {error}", retry=True) from error


def _text(raw) -> str:
    return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)


# -- HTTP (the robots and the SMS gateway) ------------------------------------------


def _post(url: str, body: bytes, content_type: str, method: str = "POST", timeout: float = TIMEOUT) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body if method != "GET" else None, method=method,
                                     headers={"Content-Type": content_type, "User-Agent": "jiedian"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - operators' URLs only
            return answer.status, answer.read(1 << 20)
    except urllib.error.HTTPError as error:
        status = error.code
        error.close()  # it holds the answer's socket
        raise ChannelError(f"HTTP {status} from {_host(url)}", retry=status >= 500 or status == 429) from error
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:  # refused, reset, DNS, time-out
        reason = getattr(error, "reason", error)
        raise ChannelError(f"{_host(url)} unreachable: {reason}", retry=True) from error


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _json(raw: bytes, who: str) -> dict:
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ChannelError(f"{who} answered something other than JSON", retry=True) from error
    if not isinstance(answer, dict):
        raise ChannelError(f"{who} answered something other than a JSON object", retry=True)
    return answer


def _mentions(address: str) -> list[str]:
    return [number for raw in (address or "").split(",") if (number := mobile_number(raw))]


@dataclass(frozen=True)
class WeCom:
    """企业微信 (and 政务微信) group robot: ``…/cgi-bin/webhook/send?key=…``; markdown messages."""

    url: str = field(repr=False)
    timeout: float = TIMEOUT
    name = "wecom"
    _RETRY = frozenset({-1, 45009, 45033})  # busy, over the per-minute limit, too many at once

    def send(self, address: str, message: Message) -> None:
        mobiles = _mentions(address)
        if mobiles:  # markdown cannot @-mention by phone: a text message can
            payload = {"msgtype": "text", "text": {"content": message.text, "mentioned_mobile_list": mobiles}}
        else:
            payload = {"msgtype": "markdown", "markdown": {"content": message.markdown or message.text}}
        _, raw = _post(self.url, json.dumps(payload, ensure_ascii=False).encode(), "application/json; charset=utf-8",
                       timeout=self.timeout)
        answer = _json(raw, "WeCom")
        if answer.get("errcode", 0) != 0:
            code = answer.get("errcode")
            raise ChannelError(f"WeCom errcode {code}: {answer.get('errmsg', '')}", retry=code in self._RETRY)


@dataclass(frozen=True)
class DingTalk:
    """钉钉 (and 浙政钉) custom robot: ``…/robot/send?access_token=…``, signed with its secret when it has one."""

    url: str = field(repr=False)
    secret: str = field(default="", repr=False)
    timeout: float = TIMEOUT
    name = "dingtalk"
    _RETRY = frozenset({-1, 130101, 660026})  # busy, over 20 a minute, too frequent

    def signed_url(self, now_ms: int | None = None) -> str:
        """The webhook with ``timestamp`` and ``sign`` = base64(HMAC-SHA256(secret, "timestamp\\nsecret"))."""
        if not self.secret:
            return self.url
        timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
        digest = hmac.new(self.secret.encode(), f"{timestamp}\n{self.secret}".encode(), hashlib.sha256).digest()
        sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
        return f"{self.url}{'&' if '?' in self.url else '?'}timestamp={timestamp}&sign={sign}"

    def send(self, address: str, message: Message) -> None:
        mobiles = _mentions(address)
        text = message.markdown or message.text
        if mobiles:  # DingTalk shows a mention only when the text names the number too
            text += "\n\n" + " ".join(f"@{m}" for m in mobiles)
        payload = {"msgtype": "markdown", "markdown": {"title": message.subject, "text": text},
                   "at": {"atMobiles": mobiles, "isAtAll": False}}
        _, raw = _post(self.signed_url(), json.dumps(payload, ensure_ascii=False).encode(),
                       "application/json; charset=utf-8", timeout=self.timeout)
        answer = _json(raw, "DingTalk")
        if answer.get("errcode", 0) != 0:
            code = answer.get("errcode")
            raise ChannelError(f"DingTalk errcode {code}: {answer.get('errmsg', '')}", retry=code in self._RETRY)


@dataclass(frozen=True)
class Sms:
    """A county's own SMS platform behind one generic HTTP gateway.

    ``body`` is a template of the request: JSON (``{"mobile": "{phone}", "content": "{text}"}``)
    or a form (``mobile={phone}&content={text}``); the placeholders are ``{phone}``,
    ``{text}``, ``{sign}`` and ``{template}``, filled in escaped for the format. ``success``
    says how the gateway reports success: ``http`` (any 2xx), or ``json:field=value``
    (``json:code=0``, ``json:result.status=OK``) on a 2xx answer.
    """

    url: str = field(repr=False)
    method: str = "POST"
    body: str = ""  # empty: DEFAULT_SMS_BODY
    content_type: str = "json"  # json | form
    success: str = "http"
    sign: str = ""  # the signature (签名) registered with the platform: 【清溪县督查室】
    template: str = ""  # a template id, for platforms that require one
    timeout: float = TIMEOUT
    name = "sms"

    def request_body(self, phone: str, text: str) -> bytes:
        values = {"phone": phone, "text": text, "sign": self.sign, "template": self.template}
        template = self.body or DEFAULT_SMS_BODY
        if self.content_type == "form":
            filled = template
            for key, value in values.items():
                filled = filled.replace("{" + key + "}", urllib.parse.quote_plus(value))
            return filled.encode()
        filled = template
        for key, value in values.items():
            filled = filled.replace("{" + key + "}", json.dumps(value, ensure_ascii=False)[1:-1])
        return filled.encode()

    def send(self, address: str, message: Message) -> None:
        phone = mobile_number(address)
        if phone is None:
            raise ChannelError(f"not a mainland mobile number: {address!r}", retry=False)
        body = self.request_body(phone, message.text)
        content_type = ("application/x-www-form-urlencoded" if self.content_type == "form"
                        else "application/json; charset=utf-8")
        url = self.url
        if self.method.upper() == "GET":
            url = f"{url}{'&' if '?' in url else '?'}{body.decode()}"
        _, raw = _post(url, body, content_type, self.method.upper(), timeout=self.timeout)
        if self.success.startswith("json:"):
            path, _, expected = self.success[5:].partition("=")
            value = _json(raw, "the SMS gateway")
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if str(value) != expected:
                raise ChannelError(f"the SMS gateway refused it: {path}={value!r} (expected {expected})", retry=False)


# -- which channels this portal has -------------------------------------------------

DEFAULT_SMS_BODY = '{"mobile": "{phone}", "content": "{text}", "sign": "{sign}", "template": "{template}"}'


def configured(config) -> dict[str, Email | WeCom | DingTalk | Sms]:
    """The channels the settings (app.config, read from the environment) describe, by name."""
    found: dict[str, Email | WeCom | DingTalk | Sms] = {}
    timeout = float(config.get("NOTIFY_TIMEOUT") or TIMEOUT)
    if config.get("SMTP_URL"):
        found["email"] = Email.from_url(config["SMTP_URL"], config.get("MAIL_FROM", ""),
                                        ca_file=config.get("SMTP_CA_FILE", ""), timeout=timeout)
    if config.get("WECOM_WEBHOOK_URL"):
        found["wecom"] = WeCom(config["WECOM_WEBHOOK_URL"], timeout=timeout)
    if config.get("DINGTALK_WEBHOOK_URL"):
        found["dingtalk"] = DingTalk(config["DINGTALK_WEBHOOK_URL"], config.get("DINGTALK_SECRET", ""), timeout=timeout)
    if config.get("SMS_GATEWAY_URL"):
        found["sms"] = Sms(config["SMS_GATEWAY_URL"], method=config.get("SMS_GATEWAY_METHOD", "POST"),
                           body=config.get("SMS_GATEWAY_BODY", ""),
                           content_type=config.get("SMS_GATEWAY_FORMAT", "json"),
                           success=config.get("SMS_GATEWAY_SUCCESS", "http"), sign=config.get("SMS_SIGN", ""),
                           template=config.get("SMS_TEMPLATE_ID", ""), timeout=timeout)
    return found
