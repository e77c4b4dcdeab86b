"""The one scheduler process, with the schedule kept as data.

Every entry names a job, the county-local time it runs and the days it runs
on. Each run gets a deterministic job id (name and slot), so a restarted
scheduler — or a second one started by mistake — never enqueues a slot twice.
A Redis lock keeps a single scheduler active; a missed slot (scheduler down at
the time) is enqueued once when it comes back, and the jobs themselves catch up.
"""

from __future__ import annotations

import logging
import time as systime
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from redis.exceptions import RedisError

from jobs.connection import get_redis, redis_key
from jobs.queue import QueueUnavailable, enqueue

log = logging.getLogger(__name__)

LOCK_SECONDS = 90
TICK_SECONDS = 20


@dataclass(frozen=True)
class Entry:
    name: str
    func: str  # dotted path, imported by the worker
    at: time  # county-local wall time
    weekdays: tuple[int, ...] = tuple(range(7))  # Monday = 0
    timeout: int = 600
    queue: str = "default"
    every: int = 0  # minutes: runs at every multiple of it through the day instead of once at ``at``


# The schedule, in county time. The sweep catches up by itself, so a missed
# run costs nothing but a later card notice.
SCHEDULE: tuple[Entry, ...] = (
    Entry("daily-sweep", "portal.sweeps.tasks.run_sweep", time(0, 10), timeout=1800),
    Entry("weekly-ranking", "portal.documents.tasks.weekly_ranking", time(8, 0), weekdays=(0,), timeout=900, queue="reports"),
    Entry("purge-expired", "jobs.maintenance.purge_expired", time(3, 30), timeout=300),
    # Reminders leave within a minute even when the job queued on commit was lost (Redis down then).
    Entry("deliver", "portal.notifications.tasks.deliver", time(0, 0), every=1, timeout=300),
)


def last_slot(entry: Entry, now: datetime, tz: ZoneInfo) -> datetime:
    """The most recent run time at or before ``now`` (aware, in the county zone)."""
    local = now.astimezone(tz)
    if entry.every:
        minutes = (local.hour * 60 + local.minute) // entry.every * entry.every
        return local.replace(hour=minutes // 60, minute=minutes % 60, second=0, microsecond=0)
    day = local.date()
    for _ in range(8):
        candidate = datetime.combine(day, entry.at, tzinfo=tz)
        if candidate <= local and candidate.weekday() in entry.weekdays:
            return candidate
        day -= timedelta(days=1)
    raise ValueError(f"{entry.name} never runs")


def next_slot(entry: Entry, now: datetime, tz: ZoneInfo) -> datetime:
    """The first run time strictly after ``now`` (aware, in the county zone)."""
    local = now.astimezone(tz)
    if entry.every:
        return last_slot(entry, now, tz) + timedelta(minutes=entry.every)  # wall time; a county has no DST
    day = local.date()
    for _ in range(8):
        candidate = datetime.combine(day, entry.at, tzinfo=tz)
        if candidate > local and candidate.weekday() in entry.weekdays:
            return candidate
        day += timedelta(days=1)
    raise ValueError(f"{entry.name} never runs")


def job_id(entry: Entry, slot: datetime) -> str:
    return f"schedule-{entry.name}-{slot.strftime('%Y%m%d-%H%M')}"


def tick(now: datetime, tz: ZoneInfo, schedule: tuple[Entry, ...] = SCHEDULE) -> list[str]:
    """Enqueue every entry whose latest slot has not been enqueued yet; returns job ids."""
    redis = get_redis()
    started = []
    for entry in schedule:
        slot = last_slot(entry, now, tz)
        key = redis_key("schedule", entry.name, "last")
        stamp = slot.isoformat()
        if (redis.get(key) or b"").decode() >= stamp:
            continue
        ident = job_id(entry, slot)
        enqueue(entry.func, job_id=ident, queue=entry.queue, timeout=entry.timeout, description=ident)
        redis.set(key, stamp)
        started.append(ident)
    return started


def _hold_lock(token: str) -> bool:
    redis, lock = get_redis(), redis_key("scheduler", "lock")
    if redis.set(lock, token, nx=True, ex=LOCK_SECONDS):
        return True
    if (redis.get(lock) or b"").decode() == token:
        redis.expire(lock, LOCK_SECONDS)
        return True
    return False


def run_scheduler(app, ticks: int | None = None) -> None:
    """Loop for ever (or ``ticks`` times): hold the lock, enqueue what is due."""
    import os
    import socket

    from portal.core.clock import get_clock

    token = f"{socket.gethostname()}:{os.getpid()}"
    with app.app_context():
        clock = get_clock()
        count = 0
        while ticks is None or count < ticks:
            count += 1
            try:
                if _hold_lock(token):
                    for ident in tick(clock.now(), clock.tz):
                        log.info("enqueued %s", ident)
                else:
                    log.info("another scheduler holds the lock; standing by")
            except (RedisError, OSError, QueueUnavailable) as error:
                log.warning("Redis unavailable (%s); retrying", error)
            if ticks is None or count < ticks:
                systime.sleep(TICK_SECONDS)
