"""The daily sweep as a background job."""

from __future__ import annotations

from datetime import date

from jobs import runs
from jobs.context import app_context
from jobs.faults import pause_point
from portal.core.clock import get_clock
from portal.core.extensions import db
from portal.sweeps.services import sweep


def run_sweep(as_of: str | None = None, run_id: int | None = None) -> dict:
    """Sweep for ``as_of`` (default: the county's today) in one transaction.

    A worker killed midway commits nothing; RQ's retry (or the next day's
    sweep, which catches up) issues the cards exactly once.
    """
    with app_context():
        clock = get_clock()
        day = date.fromisoformat(as_of) if as_of else clock.today()
        with runs.running(run_id, clock) as run:
            result = sweep(day, clock)
            pause_point("sweep")  # fault tests kill the work horse here: cards inserted, nothing committed
            run.finish(result.as_dict(), result.line())
            db.session.commit()
        return result.as_dict()
