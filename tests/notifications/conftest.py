"""Real protocol servers on loopback for the reminder channels.

``smtp_server``: aiosmtpd, accepting any login, keeping every message as the
parsed ``email.message.EmailMessage``. ``http_receiver``: an HTTP server
standing in for the WeCom and DingTalk robots and the SMS gateway; it keeps
every request and answers from a script (``receiver.answer(status, body,
delay)``, once each, then the default).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import free_port


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"))


@dataclass
class Receiver:
    url: str
    requests: list[Request] = field(default_factory=list)
    script: list[tuple[int, bytes, float]] = field(default_factory=list)
    default: tuple[int, bytes, float] = (200, b'{"errcode": 0, "errmsg": "ok", "code": 0}', 0.0)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, status: int, body: dict | str | bytes = b"", delay: float = 0.0, times: int = 1) -> None:
        raw = json.dumps(body).encode() if isinstance(body, dict) else body.encode() if isinstance(body, str) else body
        with self.lock:
            self.script.extend([(status, raw, delay)] * times)

    def next_answer(self) -> tuple[int, bytes, float]:
        with self.lock:
            return self.script.pop(0) if self.script else self.default


@pytest.fixture
def http_receiver():
    port = free_port()
    receiver = Receiver(url=f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            with receiver.lock:
                receiver.requests.append(Request(self.command, parts.path, parse_qs(parts.query),
                                                 {k.lower(): v for k, v in self.headers.items()}, body))
            status, answer, delay = receiver.next_answer()
            if delay:
                time.sleep(delay)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_POST = do_GET = do_PUT = _handle  # noqa: N815 - http.server's names

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list = field(default_factory=list)
    envelopes: list = field(default_factory=list)
    logins: list = field(default_factory=list)


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    box = Mailbox("127.0.0.1", free_port())

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            box.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            box.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.original_content))
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        box.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"right-password", handled=False)

    controller = Controller(Handler(), hostname=box.host, port=box.port, authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def tls_certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1 (openssl), used as the mail server's and as the client's CA."""
    import shutil
    import subprocess

    assert shutil.which("openssl"), "openssl is needed (scripts/services.sh installs it)"
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return key, cert


@pytest.fixture
def tls_smtp_server(tls_certificate):
    """Two aiosmtpd servers with one certificate: STARTTLS required before login, and SMTPS (TLS from the start)."""
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    key, cert = tls_certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Mailbox("127.0.0.1", free_port())
    implicit = Mailbox("127.0.0.1", free_port())

    class Handler:
        def __init__(self, mailbox):
            self.mailbox = mailbox

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            self.mailbox.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.mailbox.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.original_content))
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data.password == b"right-password", handled=False)

    starttls = Controller(Handler(box), hostname=box.host, port=box.port, authenticator=authenticator,
                          tls_context=context, require_starttls=True, auth_require_tls=True)
    smtps = Controller(Handler(implicit), hostname=implicit.host, port=implicit.port, authenticator=authenticator,
                       ssl_context=context, auth_require_tls=False)
    starttls.start()
    smtps.start()
    yield box, implicit, str(cert)
    starttls.stop()
    smtps.stop()
