"""/sweeps: a supervisor starts a sweep and watches it over HTMX."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from jobs.connection import redis_available
from jobs.queue import QueueUnavailable
from portal.core.clock import get_clock
from portal.core.extensions import db
from portal.models import JobRun
from portal.permissions import can_manage_cards, requires
from portal.sweeps.services import start_sweep

bp = Blueprint("sweeps", __name__)


def _page(message: str | None = None, level: str = "info", status: int = 200):
    runs = db.session.scalars(select(JobRun).where(JobRun.kind == "sweep").order_by(JobRun.id.desc()).limit(20)).all()
    return render_template(
        "sweeps/index.html", runs=runs, queue_up=redis_available(), message=message, level=level,
        clock=get_clock(), today=get_clock().today(),
    ), status


@bp.route("/sweeps")
@requires(can_manage_cards)
def index():
    return _page()


@bp.route("/sweeps", methods=["POST"])
@requires(can_manage_cards)
def start():
    try:
        start_sweep(current_user, get_clock().today())
    except QueueUnavailable:
        return _page("任务队列暂不可用，未能启动检查。门户照常运行，每日定时检查会自动补发遗漏的红黄牌。", "error", 503)
    return _page("已开始检查，完成后结果会显示在下方。", "success")


@bp.route("/sweeps/<int:run_id>")
@requires(can_manage_cards)
def status(run_id: int):
    run = db.session.get(JobRun, run_id)
    if run is None or run.kind != "sweep":
        abort(404)
    if not request.headers.get("HX-Request"):
        return _page()
    return render_template("sweeps/_run.html", run=run, clock=get_clock())
