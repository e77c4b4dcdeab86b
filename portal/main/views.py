from __future__ import annotations

from flask import Blueprint, has_request_context, redirect, render_template, url_for
from flask_login import current_user, login_required

from portal import permissions
from portal.core.clock import get_clock
from portal.main import services

bp = Blueprint("main", __name__)


@bp.route("/favicon.ico")
def favicon():
    """Browsers (and Chromium's PDF viewer) ask for this path whatever the page links."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.route("/")
@login_required
def home():
    """The workbench (工作台): what waits for this person today, by role, with counts and direct links."""
    return render_template("main/home.html", can=permissions, actor=current_user,
                           items=services.workbench(current_user, get_clock()))


def _todo_for_current_user() -> int:
    """The top bar's to-do badge, asked for by the page layout only (fragments render none)."""
    if has_request_context() and current_user and current_user.is_authenticated:
        return services.todo_total(current_user, get_clock())
    return 0


def init_app(app) -> None:
    @app.context_processor
    def _todo():
        return {"todo_count": _todo_for_current_user}
