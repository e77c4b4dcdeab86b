"""The life of a job run as users see it: queued → running → finished, or failed.

A ``JobRun`` row is what a page polls while background work goes on (a sweep
started by hand, a bulletin being built). This module is the one place that
moves a run from state to state: the request side creates and enqueues it,
the worker side wraps the work in ``running()``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from rq.job import Job

from jobs.queue import QueueUnavailable, enqueue
from portal.core.clock import Clock
from portal.core.extensions import db
from portal.models import JobRun, User


def create(kind: str, params: dict, *, actor: User | None, clock: Clock) -> JobRun:
    """A queued run with a job id of its own, added to the session (not committed)."""
    run = JobRun(kind=kind, params=params, state="queued", created_by_id=actor.id if actor else None,
                 created_at=clock.now())
    db.session.add(run)
    db.session.flush()
    run.job_id = f"{kind}-{run.id}-{secrets.token_hex(4)}"  # unique even across databases sharing a Redis
    return run


def submit(run: JobRun, func: str, *args, queue: str = "default", timeout: int, description: str,
           unavailable: str | None = None) -> Job:
    """Commit the run (the worker must see it), then enqueue its job.

    When Redis does not answer, QueueUnavailable is raised; with an
    ``unavailable`` message the run is first marked failed with it (the caller
    tells the user); without one it stays queued for the caller to run inline.
    """
    db.session.commit()
    try:
        return enqueue(func, *args, job_id=run.job_id, queue=queue, timeout=timeout, description=description)
    except QueueUnavailable:
        if unavailable is not None:
            run.state, run.message = "failed", unavailable
            db.session.commit()
        raise


class Tracker:
    """What a job reports on its run; every method is a no-op for work started without one."""

    def __init__(self, run: JobRun | None, clock: Clock):
        self.run, self.clock = run, clock

    def progress(self, percent: int, message: str) -> None:
        """Say how far the work is, and commit so the page sees it."""
        if self.run is not None:
            self.run.state, self.run.progress, self.run.message = "running", percent, message
            db.session.commit()

    def finish(self, result: dict, message: str = "") -> None:
        """Mark the run finished; the job's own commit records it with the work."""
        if self.run is not None:
            self.run.state, self.run.progress, self.run.finished_at = "finished", 100, self.clock.now()
            self.run.result, self.run.message = result, message


@contextmanager
def running(run_id: int | None, clock: Clock, *, on_failure=None) -> Iterator[Tracker]:
    """Mark the run running (committed), yield its tracker; a failure rolls the work back.

    On an exception the session is rolled back, ``on_failure()`` may repair
    what the work had claimed, the run is marked failed with the error, that
    is committed, and the exception goes on to RQ (which retries the job).
    """
    run = db.session.get(JobRun, run_id) if run_id else None
    if run is not None:
        run.state, run.started_at, run.message = "running", run.started_at or clock.now(), ""
        db.session.commit()
    try:
        yield Tracker(run, clock)
    except Exception as error:
        db.session.rollback()
        if on_failure is not None:
            on_failure()
        if run_id:
            failed = db.session.get(JobRun, run_id)
            failed.state, failed.finished_at, failed.message = "failed", clock.now(), str(error)[:500]
        db.session.commit()
        raise
