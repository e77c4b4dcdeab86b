"""The RQ worker: one app per process, a fresh database pool in every job."""

from __future__ import annotations

import logging
import signal
import time

from redis.exceptions import RedisError
from rq import Worker

from jobs.connection import get_redis
from jobs.queue import QUEUES, get_queue
from portal.core.extensions import db

log = logging.getLogger(__name__)


class PortalWorker(Worker):
    """Disposes the SQLAlchemy engine before forking a work horse.

    A forked child must not share the parent's pooled connections: two
    processes on one socket corrupt each other's conversations with PostgreSQL.
    """

    #: Set by the first SIGTERM or SIGINT. RQ marks a stop only when one
    #: comes while a job runs; an idle worker just leaves ``work()``, the way
    #: it also leaves on an error it logged.
    stop_asked = False

    def fork_work_horse(self, job, queue):
        db.engine.dispose()
        return super().fork_work_horse(job, queue)

    def perform_job(self, job, queue):
        # In the work horse, which leaves by os._exit: let the parsed print
        # stylesheets remove their temporary font files now.
        from portal.documents.render import release

        try:
            return super().perform_job(job, queue)
        finally:
            release()

    def handle_warm_shutdown_request(self):
        self.stop_asked = True
        super().handle_warm_shutdown_request()


def _wait_for_redis(longest: float = 30.0) -> None:
    """Sleep until Redis answers again, backing off up to ``longest`` seconds between tries."""
    # Nothing runs now: a stop request may end the process at once.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    pause = 1.0
    while True:
        try:
            if get_redis().ping():
                return
        except (RedisError, OSError):
            pass
        time.sleep(pause)
        pause = min(pause * 2, longest)


def run_worker(app, burst: bool = False, queues: tuple[str, ...] = QUEUES) -> bool:
    """Work the portal's queues inside an app context (jobs inherit it).

    An idle RQ worker waits out a Redis outage by itself, but one that is busy
    with a job (or starting up) when Redis goes away quits. So, like the
    scheduler, ``flask worker`` outlives the outage: it waits for Redis and
    starts a fresh worker. RQ finds the interrupted job in its started registry
    and fails or retries it; jobs are written to be safe to run again.
    """
    with app.app_context():
        while True:
            # with_scheduler: retries wait in RQ's scheduled registry, and a
            # worker-run scheduler (one at a time, by lock) puts them back.
            worker = PortalWorker([get_queue(name) for name in queues], connection=get_redis())
            try:
                worked = worker.work(burst=burst, with_scheduler=True)
            except (RedisError, OSError) as error:
                if burst:
                    raise
                log.warning("Redis unavailable (%s); the worker starts again when it answers", error)
            else:
                # RQ's work() also returns when it met an error it logged
                # ("found an unhandled exception, quitting"), e.g. Redis going
                # away just as a job finished. Only a stop that was asked for
                # (a signal) or a burst ends the command.
                if burst or worker.stop_asked:
                    return worked
                log.warning("the worker stopped on an error; it starts again when Redis answers")
            _wait_for_redis()
