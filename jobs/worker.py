"""The RQ worker: one app per process, a fresh database pool in every job."""

from __future__ import annotations

from rq import Worker

from jobs.connection import get_redis
from jobs.queue import QUEUES
from portal.extensions import db


class PortalWorker(Worker):
    """Disposes the SQLAlchemy engine before forking a work horse.

    A forked child must not share the parent's pooled connections: two
    processes on one socket corrupt each other's conversations with PostgreSQL.
    """

    def fork_work_horse(self, job, queue):
        db.engine.dispose()
        return super().fork_work_horse(job, queue)


def run_worker(app, burst: bool = False, queues: tuple[str, ...] = QUEUES) -> bool:
    """Work the portal's queues inside an app context (jobs inherit it)."""
    with app.app_context():
        worker = PortalWorker(list(queues), connection=get_redis())
        # with_scheduler: retries wait in RQ's scheduled registry, and a
        # worker-run scheduler (one at a time, by lock) puts them back.
        return worker.work(burst=burst, with_scheduler=True)
