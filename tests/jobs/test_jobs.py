"""Background jobs on a real Redis with real RQ workers."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from jobs import scheduler
from jobs.queue import QueueUnavailable, enqueue, fetch_job, get_queue
from portal.core.extensions import db
from portal.models import UserSession
from tests import factories as f
from tests.conftest import ROOT, job_env

SHANGHAI = ZoneInfo("Asia/Shanghai")




def test_next_run_times_are_county_time():
    daily = scheduler.Entry("daily", "x.y", time(0, 10))
    monday = scheduler.Entry("monday", "x.y", time(8, 0), weekdays=(0,))
    # 2026-06-14 16:09 UTC is Monday 2026-06-15 00:09 in Shanghai: one minute before the run.
    now = datetime(2026, 6, 14, 16, 9, tzinfo=UTC)
    assert scheduler.next_slot(daily, now, SHANGHAI) == datetime(2026, 6, 15, 0, 10, tzinfo=SHANGHAI)
    assert scheduler.next_slot(daily, now, SHANGHAI).astimezone(UTC) == datetime(2026, 6, 14, 16, 10, tzinfo=UTC)
    assert scheduler.next_slot(monday, now, SHANGHAI) == datetime(2026, 6, 15, 8, 0, tzinfo=SHANGHAI)
    later = datetime(2026, 6, 15, 0, 30, tzinfo=UTC)  # Monday 08:30 in Shanghai
    assert scheduler.next_slot(monday, later, SHANGHAI) == datetime(2026, 6, 22, 8, 0, tzinfo=SHANGHAI)
    assert scheduler.last_slot(monday, later, SHANGHAI) == datetime(2026, 6, 15, 8, 0, tzinfo=SHANGHAI)


def test_tick_enqueues_each_slot_once(app, redis):
    entry = scheduler.Entry("purge", "jobs.maintenance.purge_expired", time(3, 30))
    now = datetime(2026, 6, 15, 3, 31, tzinfo=SHANGHAI)
    assert scheduler.tick(now, SHANGHAI, (entry,)) == ["schedule-purge-20260615-0330"]
    assert scheduler.tick(now + timedelta(minutes=5), SHANGHAI, (entry,)) == []
    assert scheduler.tick(now + timedelta(days=1), SHANGHAI, (entry,)) == ["schedule-purge-20260616-0330"]


def test_enqueue_with_the_same_id_is_a_no_op_while_live(app, redis):
    first = enqueue("jobs.maintenance.purge_expired", job_id="same")
    second = enqueue("jobs.maintenance.purge_expired", job_id="same")
    assert first.id == second.id
    assert len(get_queue("default")) == 1


def test_enqueue_says_when_redis_is_down(app):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    app.extensions.pop("jiedian.redis", None)
    with pytest.raises(QueueUnavailable):
        enqueue("jobs.maintenance.purge_expired")


def test_a_real_worker_runs_a_job(app, redis, clock):
    old = f.user("old")
    db.session.add(UserSession(id="x" * 64, user_id=old.id, created_at=clock.now() - timedelta(days=200),
                               last_seen_at=clock.now() - timedelta(days=200)))
    db.session.commit()
    job = enqueue("jobs.maintenance.purge_expired", job_id="purge-now")
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
                            cwd=ROOT, env=job_env(app, clock), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    job = fetch_job("purge-now")
    assert job.get_status() == "finished", result.stderr
    assert job.return_value() == {"sessions": 1, "login_attempts": 0, "orphan_files": {"evidence": 0, "documents": 0}}
    assert db.session.scalars(db.select(UserSession)).all() == []


def test_the_schedule_runs_the_sweep_at_ten_past_midnight_county_time():
    entries = {e.name: e for e in scheduler.SCHEDULE}
    sweep = entries["daily-sweep"]
    assert sweep.func == "portal.sweeps.tasks.run_sweep"
    # 16:05 UTC is 00:05 the next day in Shanghai: the next run is five minutes later,
    # at 16:10 UTC — not at 00:10 UTC, as a scheduler reading cron in UTC would have it.
    now = datetime(2026, 6, 14, 16, 5, tzinfo=UTC)
    assert scheduler.next_slot(sweep, now, SHANGHAI).astimezone(UTC) == datetime(2026, 6, 14, 16, 10, tzinfo=UTC)
    assert scheduler.next_slot(sweep, now, SHANGHAI) == datetime(2026, 6, 15, 0, 10, tzinfo=SHANGHAI)


def test_boards_are_served_while_redis_is_unreachable(app, client, redis):
    from tests.conftest import AuthActions

    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    app.extensions.pop("jiedian.redis", None)
    unit = f.unit()
    f.user("staff", roles=["unit_staff"], unit=unit)
    f.node(f.project(lead_unit=unit), title="完成土地摘牌")
    db.session.commit()
    AuthActions(client).login("staff")
    response = client.get(f"/units/{unit.id}/board")
    assert response.status_code == 200 and "完成土地摘牌" in response.get_data(as_text=True)
    assert client.get("/healthz").status_code == 200


# -- M #9: two portals on one Redis ----------------------------------------------------


def test_the_redis_prefix_comes_from_the_database_unless_set():
    from portal.core.config import ConfigError, from_environment, redis_prefix

    a = redis_prefix("postgresql+psycopg://jiedian:one@db.example/county_a")
    assert a.startswith("jiedian-") and a == redis_prefix("postgresql+psycopg://jiedian:rotated@db.example/county_a")
    assert a != redis_prefix("postgresql+psycopg://jiedian:one@db.example/county_b")
    assert redis_prefix("sqlite:///instance/jiedian.db") == redis_prefix(f"sqlite:///{os.path.abspath('instance/jiedian.db')}")
    env = {"JIEDIAN_ENV": "testing"}
    assert from_environment("/srv/x", {**env, "REDIS_PREFIX": "county-b"})["REDIS_PREFIX"] == "county-b"
    with pytest.raises(ConfigError, match="REDIS_PREFIX"):
        from_environment("/srv/x", {**env, "REDIS_PREFIX": "county b:*"})


def test_two_portals_on_one_redis_keep_their_own_queues_locks_and_markers(app, redis, clock, tmp_path):
    """A second county (or a staging copy) on the same Redis takes none of the first's jobs and skips none of its slots."""
    from portal import create_app

    other_url = f"sqlite:///{tmp_path / 'other-county.db'}"
    other = create_app({"SQLALCHEMY_DATABASE_URI": other_url, "REDIS_URL": app.config["REDIS_URL"], "TESTING": True})
    assert other.config["REDIS_PREFIX"] != app.config["REDIS_PREFIX"]

    mine = enqueue("jobs.maintenance.purge_expired", job_id="purge-now")
    with other.app_context():
        theirs = enqueue("os.getpid", job_id="purge-now")  # the same portal-level id, another portal
        assert theirs.id != mine.id and len(get_queue("default")) == 1
    assert len(get_queue("default")) == 1

    # The other portal's worker empties its own queue and leaves this one's job waiting.
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
                            cwd=ROOT, env=job_env(app, clock, DATABASE_URL=other_url), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    with other.app_context():
        assert fetch_job("purge-now").get_status() == "finished"
    assert fetch_job("purge-now").get_status() == "queued"
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
                            cwd=ROOT, env=job_env(app, clock), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert fetch_job("purge-now").get_status() == "finished"

    # Each runs its own scheduler: both hold their lock, both enqueue the same slot for themselves.
    entry = scheduler.Entry("purge", "os.getpid", time(3, 30))
    now = datetime(2026, 6, 15, 3, 31, tzinfo=SHANGHAI)
    assert scheduler._hold_lock("here:1") and scheduler.tick(now, SHANGHAI, (entry,)) == ["schedule-purge-20260615-0330"]
    with other.app_context():
        assert scheduler._hold_lock("there:2")
        assert scheduler.tick(now, SHANGHAI, (entry,)) == ["schedule-purge-20260615-0330"]
        assert not scheduler._hold_lock("here:1")  # within one portal the lock still keeps one scheduler
    assert sorted(key.decode().split(":")[0] for key in redis.keys("*:scheduler:lock")) == sorted(
        [app.config["REDIS_PREFIX"], other.config["REDIS_PREFIX"]])
