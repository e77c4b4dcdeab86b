"""Languages: Simplified Chinese by default, English on request."""

from __future__ import annotations

from flask import session
from flask_babel import get_locale

from portal.extensions import babel


def select_locale() -> str:
    from flask import has_request_context
    from flask_login import current_user

    if not has_request_context():
        return "zh_CN"  # jobs and the command line speak the county's language
    wanted = session.get("lang")
    if not wanted and current_user and current_user.is_authenticated:
        wanted = current_user.locale
    return wanted if wanted in ("zh_CN", "en") else "zh_CN"


def init_app(app) -> None:
    babel.init_app(app, locale_selector=select_locale)

    @app.context_processor
    def _lang():
        locale = get_locale()
        return {"html_lang": "zh-CN" if locale and locale.language == "zh" else "en"}
