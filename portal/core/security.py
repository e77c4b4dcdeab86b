"""Response headers: a strict CSP (no inline script), no sniffing, no framing; safe redirects."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None: a ``next`` never leads to another host.

    Browsers read ``//host`` and ``/\\host`` (a backslash, or a tab or newline
    they strip) as another host, so those are refused along with any scheme.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(ch == "\\" or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _has_nul(data) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in data.lists())


def init_app(app) -> None:
    @app.before_request
    def _refuse_nul():
        # PostgreSQL text cannot hold NUL (the query itself fails), and no browser field sends
        # one: refuse it before any form or filter sees it, with nothing written.
        if _has_nul(request.args) or (request.method == "POST" and _has_nul(request.form)):
            abort(422)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Everything but the static files is someone's data (pages, evidence, PDFs, exports): no
        # browser or proxy keeps a copy, whatever a view or send_file (max_age=0 gives no-cache) said.
        if request.endpoint != "static" and not response.cache_control.public:
            response.headers["Cache-Control"] = "private, no-store"
        return response
