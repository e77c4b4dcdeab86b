"""Logging in and out; server-side sessions loaded by Flask-Login."""

from __future__ import annotations

from flask import session
from flask_babel import lazy_gettext as _l

from portal.extensions import login_manager


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"
    # Sessions are ours (UserSession); Flask-Login's own protection would log
    # people out when a mobile network changes their address.
    login_manager.session_protection = None

    from portal.auth import services

    @login_manager.user_loader
    def _load(user_id: str):
        return services.load_session_user(session.get("sid"), user_id)
