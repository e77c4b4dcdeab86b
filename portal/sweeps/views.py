"""/sweeps: a supervisor starts a sweep and watches it over HTMX."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.core.clock import get_clock
from portal.core.extensions import db
from portal.core.web import flash_redirect
from portal.models import JobRun
from portal.permissions import can_manage_cards, requires
from portal.sweeps.services import QueueUnavailable, queue_available, start_sweep

bp = Blueprint("sweeps", __name__)


def _page(message: str | None = None, level: str = "info", status: int = 200):
    runs = db.session.scalars(select(JobRun).where(JobRun.kind == "sweep").order_by(JobRun.id.desc()).limit(20)).all()
    return render_template(
        "sweeps/index.html", runs=runs, queue_up=queue_available(), message=message, level=level,
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
        return _page(
            _("The job queue is unavailable, so the check could not start. The portal works as usual;"
              " the daily scheduled check will issue any missed cards."),
            "error", 503,
        )
    # POST → redirect → GET: refreshing the page shows the run, it does not start another.
    return flash_redirect(_("The check has started; its result will show below when it is done."), "success",
                          url_for("sweeps.index"))


@bp.route("/sweeps/<int:run_id>")
@requires(can_manage_cards)
def status(run_id: int):
    run = db.session.get(JobRun, run_id)
    if run is None or run.kind != "sweep":
        abort(404)
    if not request.headers.get("HX-Request"):
        return _page()
    return render_template("sweeps/_run.html", run=run, clock=get_clock())
