"""The daily sweep as a background job."""

from __future__ import annotations

from datetime import date

from jobs.context import app_context
from jobs.faults import pause_point
from portal.clock import get_clock
from portal.extensions import db
from portal.models import JobRun
from portal.sweep import sweep


def run_sweep(as_of: str | None = None, run_id: int | None = None) -> dict:
    """Sweep for ``as_of`` (default: the county's today) in one transaction.

    A worker killed midway commits nothing; RQ's retry (or the next day's
    sweep, which catches up) issues the cards exactly once.
    """
    with app_context():
        clock = get_clock()
        day = date.fromisoformat(as_of) if as_of else clock.today()
        run = db.session.get(JobRun, run_id) if run_id else None
        if run is not None:
            run.state, run.started_at, run.message = "running", clock.now(), ""
            db.session.commit()
        try:
            result = sweep(day, clock)
            pause_point("sweep")  # fault tests kill the work horse here: cards inserted, nothing committed
            if run is not None:
                run.state, run.finished_at, run.progress, run.result = "finished", clock.now(), 100, result.as_dict()
                run.message = result.line()
            db.session.commit()
        except Exception as error:
            db.session.rollback()
            if run is not None:
                run = db.session.get(JobRun, run_id)
                run.state, run.finished_at, run.message = "failed", clock.now(), str(error)[:500]
                db.session.commit()
            raise
        return result.as_dict()

