"""Enqueueing: one wrapper with timeouts, deterministic ids and retries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from jobs.connection import get_redis, redis_prefix

QUEUES = ("default", "reports")
# A job still waiting or running under the same id is not enqueued again.
_LIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


class QueueUnavailable(RuntimeError):
    """Redis did not answer: the caller tells the user and carries on."""


def get_queue(name: str = "default") -> Queue:
    """One of this portal's queues (RQ names it ``<prefix>-default``; another portal's is not seen)."""
    return Queue(f"{redis_prefix()}-{name}", connection=get_redis())


def rq_job_id(job_id: str) -> str:
    """The id RQ keeps a job under: the portal's own id (stored in JobRun, used in schedules) with the prefix."""
    return f"{redis_prefix()}-{job_id}"


def fetch_job(job_id: str) -> Job:
    """The RQ job enqueued under the portal's ``job_id`` (raises NoSuchJobError when Redis has none)."""
    return Job.fetch(rq_job_id(job_id), connection=get_redis())


def enqueue(
    func: Callable | str,
    *args: Any,
    job_id: str | None = None,
    queue: str = "default",
    timeout: int = 600,
    retries: int = 2,
    description: str | None = None,
    **kwargs: Any,
) -> Job:
    """Put a job on a queue; with ``job_id``, at most one live job per id.

    Retries wait 10 s, then 10 s, then 60 s (RQ picks the interval by the
    retry count, counting from one): a worker killed mid-job (or a database
    restarting) gets its job run again, and jobs are written to be safe to re-run.
    """
    try:
        q = get_queue(queue)
        if job_id:
            try:
                existing = Job.fetch(rq_job_id(job_id), connection=q.connection)
                if existing.get_status(refresh=True) in _LIVE:
                    return existing
            except NoSuchJobError:
                pass
        return q.enqueue(
            func,
            *args,
            job_id=rq_job_id(job_id) if job_id else None,
            job_timeout=timeout,
            result_ttl=7 * 24 * 3600,
            failure_ttl=30 * 24 * 3600,
            retry=Retry(max=retries, interval=[10, 10, 60]) if retries else None,
            description=description,
            **kwargs,
        )
    except (RedisError, OSError) as error:
        raise QueueUnavailable(str(error)) from error
