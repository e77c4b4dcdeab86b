"""Languages: Simplified Chinese by default, English on request."""

from __future__ import annotations

from babel import Locale
from flask import session
from flask_babel import get_locale

from portal.core.extensions import babel

# Parsed once: Flask-Babel would parse the selector's string on every request,
# and Babel's parse scans every locale it knows (a fifth of a millisecond).
_LOCALES = {name: Locale.parse(name) for name in ("zh_CN", "en")}


def select_locale() -> Locale:
    from flask import has_request_context
    from flask_login import current_user

    if not has_request_context():
        return _LOCALES["zh_CN"]  # jobs and the command line speak the county's language
    wanted = session.get("lang")
    if not wanted and current_user and current_user.is_authenticated:
        wanted = current_user.locale
    return _LOCALES.get(wanted, _LOCALES["zh_CN"])


def _translations():
    """This request's catalogue, looked up once: Flask-Babel finds it again on every call,
    which cost a 300-card board a third of its rendering time."""
    from flask import g
    from flask_babel import get_translations

    found = g.get("_jiedian_translations")
    if found is None:
        found = g._jiedian_translations = get_translations()
    return found


def init_app(app) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )

    @app.context_processor
    def _lang():
        locale = get_locale()
        return {"html_lang": "zh-CN" if locale and locale.language == "zh" else "en"}


_CHINESE = None


def translate(msgid: str, **variables) -> str:
    """``gettext`` in an app context; outside one, the Chinese catalog's text.

    For pure functions (cell values, unit matching) that tests and scripts call
    without an app, where Flask-Babel would answer the English message id.
    """
    from flask import has_app_context

    if has_app_context():
        from flask_babel import gettext

        return gettext(msgid, **variables)
    global _CHINESE
    if _CHINESE is None:
        from pathlib import Path

        from babel.support import Translations

        _CHINESE = Translations.load(str(Path(__file__).resolve().parents[1] / "translations"), ["zh_Hans_CN"])
    text = _CHINESE.ugettext(msgid)
    return text % variables if variables else text
