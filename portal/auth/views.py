from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.auth import services
from portal.auth.forms import ChangePasswordForm, LoginForm
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.core.security import safe_next
from portal.core.web import is_htmx

bp = Blueprint("auth", __name__)

# What a user who must change their password may still reach: the page itself, logging out,
# the language switch (to read the page), static files and the health check.
_BEFORE_CHANGING = {"auth.change_password", "auth.logout", "auth.set_language", "static", "health.healthz"}


@bp.before_app_request
def _password_first():
    """A one-time password leads to the password page before any other page."""
    if request.endpoint is None or request.endpoint in _BEFORE_CHANGING:
        return None
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    back = safe_next(request.full_path.rstrip("?")) if request.method == "GET" and not is_htmx() else None
    target = url_for("auth.change_password", next=back if back not in (None, "/") else None)
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(services.landing_url(current_user))
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
                if user.must_change_password:
                    return redirect(url_for("auth.change_password", next=safe_next(request.args.get("next"))))
                return redirect(safe_next(request.args.get("next")) or services.landing_url(user))
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


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """修改密码: required after a one-time password, open to every user for their own."""
    user = current_user._get_current_object()
    form = ChangePasswordForm(username=user.username)
    status = 200
    if request.method == "POST":
        if not form.validate():
            status = 422
        else:
            try:
                token = services.change_password(user, form.current_password.data, form.new_password.data,
                                                 request.remote_addr or "", request.user_agent.string or "")
            except Refused as refusal:
                db.session.commit()  # only the failed attempt, which the login limit counts
                form.form_errors.append(refusal.message)
                status = refusal.status
            else:
                session["sid"] = token
                db.session.commit()
                flash(_("Your password has been changed. Other sessions of your account have ended."), "success")
                return redirect(safe_next(request.args.get("next")) or services.landing_url(user), 303)
    return render_template("auth/change_password.html", form=form, forced=user.must_change_password), status


@bp.route("/lang/<code>")
def set_language(code: str):
    if code in ("zh_CN", "en"):
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
