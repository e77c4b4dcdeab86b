"""Logging in and out; server-side sessions loaded by Flask-Login."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_url

from portal.core.extensions import login_manager


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
        return services.load_session_user(session.get("sid"), user_id,
                                          on_idle=lambda: setattr(g, "session_ended", "idle"),
                                          on_expired=lambda: setattr(g, "session_ended", "max_age"))

    @login_manager.unauthorized_handler
    def _unauthorized():
        # Flask-Login's own handler, with a message that says why when the session idled out.
        if g.get("session_ended") == "idle":
            minutes = int(current_app.config["SESSION_IDLE_TIMEOUT"].total_seconds() // 60)
            flash(_("You were away for more than %(minutes)d minutes, so your session ended. Please log in again.",
                    minutes=minutes), "info")
        elif g.get("session_ended") == "max_age":
            hours = int(current_app.config["SESSION_MAX_AGE"].total_seconds() // 3600)
            flash(_("You logged in more than %(hours)d hours ago, so your session ended. Please log in again.",
                    hours=hours), "info")
        else:
            flash(login_manager.login_message, login_manager.login_message_category)
        return redirect(login_url(login_manager.login_view, next_url=request.url))
