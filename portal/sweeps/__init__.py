"""Starting sweeps by hand and watching them run."""

from __future__ import annotations

import secrets
from datetime import date

from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import select

from jobs.queue import QueueUnavailable, enqueue
from portal import audit
from portal.clock import get_clock
from portal.extensions import db
from portal.models import JobRun, User


def start_sweep(actor: User | None, day: date) -> tuple[JobRun, Job]:
    """Record and enqueue a sweep for ``day``; a sweep already waiting or running is reused.

    Commits (the worker must see the record). Raises QueueUnavailable when
    Redis does not answer; the record then says so, and the next daily sweep
    catches up on its own.
    """
    live = db.session.scalars(
        select(JobRun).where(JobRun.kind == "sweep", JobRun.state.in_(("queued", "running")))
        .order_by(JobRun.id.desc())
    ).first()
    if live is not None and live.params.get("as_of") == day.isoformat() and live.job_id:
        from jobs.connection import get_redis

        try:
            return live, Job.fetch(live.job_id, connection=get_redis())
        except NoSuchJobError:  # the job expired or Redis was flushed: start afresh
            live.state = "failed"
        except (RedisError, OSError) as error:
            # Redis is down, not empty: the queued sweep is still there (Redis
            # keeps its queues on disk) and runs when Redis returns.
            raise QueueUnavailable(str(error)) from error
    run = JobRun(kind="sweep", params={"as_of": day.isoformat()}, state="queued",
                 created_by_id=actor.id if actor else None, created_at=get_clock().now())
    db.session.add(run)
    db.session.flush()
    run.job_id = f"sweep-{run.id}-{secrets.token_hex(4)}"  # unique even across databases sharing a Redis
    audit.record(actor, "sweep.start", run, summary=f"as_of={day.isoformat()}")
    db.session.commit()
    try:
        job = enqueue("jobs.sweep.run_sweep", day.isoformat(), run.id, job_id=run.job_id, timeout=1800,
                      description=f"sweep {day.isoformat()}")
    except QueueUnavailable:
        run.state, run.message = "failed", "任务队列不可用，未能启动；每日定时检查会自动补上。"
        db.session.commit()
        raise
    return run, job
