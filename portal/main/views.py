from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from portal import permissions

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def home():
    """The workbench: what this person can reach, by role."""
    return render_template("main/home.html", can=permissions, actor=current_user)
