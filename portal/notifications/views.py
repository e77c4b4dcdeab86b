"""The bell: in-app notifications for the signed-in user."""

from __future__ import annotations

from flask import Blueprint, has_request_context, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select, update

from portal.core.clock import get_clock
from portal.core.extensions import db
from portal.models import Notification

bp = Blueprint("notifications", __name__)


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    ) or 0


@bp.route("/notifications")
@login_required
def index():
    rows = db.session.scalars(
        select(Notification).where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(100)
    ).all()
    return render_template("notifications/index.html", rows=rows, clock=get_clock())


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_read():
    db.session.execute(
        update(Notification).where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .values(read_at=get_clock().now())
    )
    db.session.commit()
    return redirect(url_for("notifications.index"), 303)


def _unread_for_current_user() -> int:
    """The bell's count, asked for by the page layout only: a fragment (a moved
    card, a column count) renders without a query for it."""
    # Documents are also rendered by jobs, with no request and no user.
    if has_request_context() and current_user and current_user.is_authenticated:
        return unread_count(current_user.id)
    return 0


def init_app(app) -> None:
    @app.context_processor
    def _bell():
        return {"unread_notifications": _unread_for_current_user}
