"""The daily sweep as a background job."""

from __future__ import annotations

import os
import time
from datetime import date

from jobs.context import app_context
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
            _pause_for_fault_tests()
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


def _pause_for_fault_tests() -> None:
    """Fault-injection hook for the test suite: hold the open transaction once.

    When ``JIEDIAN_SWEEP_PAUSE_FLAG`` names a file that exists, the file is
    replaced by ``<flag>.pid`` holding this process id and the sweep sleeps
    before committing, so a test can kill exactly this work horse in the
    middle of a sweep; the retry then runs straight through.
    """
    flag = os.environ.get("JIEDIAN_SWEEP_PAUSE_FLAG")
    if flag and os.path.exists(flag):
        os.remove(flag)
        with open(flag + ".pid", "w") as fh:
            fh.write(str(os.getpid()))
        time.sleep(float(os.environ.get("JIEDIAN_SWEEP_PAUSE", "30")))
