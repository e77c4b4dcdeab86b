from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from portal import permissions

bp = Blueprint("main", __name__)


@bp.route("/favicon.ico")
def favicon():
    """Browsers (and Chromium's PDF viewer) ask for this path whatever the page links."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.route("/")
@login_required
def home():
    """The workbench: what this person can reach, by role. Unit staff land on their board."""
    if current_user.has_role("unit_staff") and current_user.unit_id and not permissions.can_view_all_units(current_user):
        return redirect(url_for("boards.board", unit_id=current_user.unit_id))
    return render_template("main/home.html", can=permissions, actor=current_user)
