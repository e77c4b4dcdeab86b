from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.auth import services
from portal.auth.forms import LoginForm
from portal.core.extensions import db
from portal.core.security import safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    status = 200
    if request.method == "POST":
        if not form.validate():
            status = 422
        else:
            ip = request.remote_addr or ""
            result = services.authenticate(form.username.data, form.password.data, ip)
            if result.locked:
                db.session.commit()
                flash(
                    _("Too many failed logins. Try again in %(minutes)d minutes.", minutes=result.retry_minutes),
                    "error",
                )
                status = 429
            elif result.user is None:
                db.session.commit()
                flash(_("Wrong username or password."), "error")
                status = 401
            else:
                user = result.user
                lang = session.get("lang")
                # A new session at every login: nothing from before survives.
                session.clear()
                if lang:
                    session["lang"] = lang
                token = services.log_in(user, ip, request.user_agent.string or "")
                session["sid"] = token
                session.permanent = True
                login_user(user)
                db.session.commit()
                return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    user = current_user._get_current_object()
    services.log_out(user, session.get("sid"))
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>")
def set_language(code: str):
    if code in ("zh_CN", "en"):
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
