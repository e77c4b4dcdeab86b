"""The sweep through the CLI, a real RQ worker, two at once, a worker killed midway and one stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.core.extensions import db
from portal.models import CardEvent, JobRun
from tests import factories as f
from tests.conftest import ROOT, job_env, paused_horse, start_worker, stop, wait_until


@pytest.fixture
def late_nodes(app):
    unit = f.unit("上派镇")
    f.user("sup", roles=["supervisor"], unit=f.unit("督查室"))
    project = f.project(lead_unit=unit)
    for day in range(1, 11):
        f.node(project, title=f"节点{day}", deadline=date(2026, 6, day))
    db.session.commit()
    return 10


def _flask(app, clock, *args, **extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=job_env(app, clock, **extra),
                          capture_output=True, text=True, timeout=180)


def _card_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(CardEvent.id)))


def test_cli_prints_the_one_line(app, clock, late_nodes):
    result = _flask(app, clock, "sweep", "--as-of", "2026-06-15")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sweep as_of=2026-06-15 yellow=10 red=7 warned=0 interviews=8"
    again = _flask(app, clock, "sweep", "--as-of", "2026-06-15")
    assert again.stdout.strip() == "sweep as_of=2026-06-15 yellow=0 red=0 warned=0 interviews=0"
    future = _flask(app, clock, "sweep", "--as-of", "2026-06-16")
    assert future.returncode != 0 and "future" in future.stderr
    bad = _flask(app, clock, "sweep", "--as-of", "15/06/2026")
    assert bad.returncode != 0 and "YYYY-MM-DD" in bad.stderr


def test_cli_enqueue_runs_on_a_real_worker(app, clock, redis, late_nodes):
    worker = start_worker(app, clock)
    try:
        result = _flask(app, clock, "sweep", "--enqueue", "--timeout", "120")
    finally:
        stop(worker)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("sweep as_of=2026-06-15 yellow=10 ")
    run = db.session.scalars(select(JobRun)).one()
    assert run.state == "finished" and run.result["yellow"] == 10


def test_two_sweeps_at_once_issue_each_card_once(app, clock, late_nodes):
    procs = [
        subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "sweep"], cwd=ROOT, env=job_env(app, clock),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    yellow = sum(int(out.split("yellow=")[1].split()[0]) for out, _ in outputs)
    assert yellow == late_nodes
    rows = db.session.execute(select(CardEvent.node_id, CardEvent.colour, func.count()).group_by(CardEvent.node_id, CardEvent.colour)).all()
    assert all(count == 1 for _, _, count in rows)
    assert _card_count() == 17  # ten yellow; seven red (those whose grace period ended by 06-14)


def test_sweep_page_starts_a_sweep_and_shows_its_status(app, clock, redis, late_nodes):
    from tests.conftest import AuthActions

    sup = AuthActions(app.test_client())
    sup.login("sup")
    page = sup.client.get("/sweeps").get_data(as_text=True)
    assert "立即检查" in page
    response = sup.post("/sweeps", page="/sweeps")
    assert response.status_code == 303 and response.headers["Location"].endswith("/sweeps")  # M #5: PRG
    shown = sup.client.get("/sweeps").get_data(as_text=True)
    assert "已开始检查" in shown
    for _ in range(2):  # refreshing the page it landed on starts nothing
        assert sup.client.get("/sweeps").status_code == 200
    run = db.session.scalars(select(JobRun)).one()
    assert run.state == "queued"
    fragment = sup.client.get(f"/sweeps/{run.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in fragment  # keeps polling while queued
    result = _flask(app, clock, "worker", "--burst")
    assert result.returncode == 0, result.stderr
    fragment = sup.client.get(f"/sweeps/{run.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "已完成" in fragment and "黄牌 10 张" in fragment and "every 2s" not in fragment


def test_sweep_page_without_redis_says_so_and_keeps_serving(app, clock, late_nodes):
    from tests.conftest import AuthActions

    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    sup = AuthActions(app.test_client())
    sup.login("sup")
    page = sup.client.get("/sweeps").get_data(as_text=True)
    assert "任务队列暂不可用" in page
    response = sup.post("/sweeps", page="/sweeps")
    assert response.status_code == 503 and "自动补发" in response.get_data(as_text=True)
    assert sup.client.get("/healthz").json["redis"] == "unavailable"
    # Nothing lost: the next sweep catches up.
    assert _flask(app, clock, "sweep").stdout.strip().startswith("sweep as_of=2026-06-15 yellow=10")


def test_a_worker_killed_mid_sweep_leaves_nothing_and_the_retry_finishes(app, clock, redis, late_nodes, tmp_path):
    from portal.sweeps.services import start_sweep

    flag = tmp_path / "pause-once"
    flag.write_text("1")
    worker = start_worker(app, clock, JIEDIAN_SWEEP_PAUSE_FLAG=str(flag), JIEDIAN_SWEEP_PAUSE="60")
    try:
        run, _job = start_sweep(None, clock.today())
        horse = paused_horse(flag, worker)
        os.kill(horse, signal.SIGKILL)  # the cards are inserted, the transaction still open
        assert _card_count() == 0  # all or nothing: the killed run left no card
        # RQ retries the job after its interval; this time it runs straight through.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and _card_count() < 17:
            time.sleep(0.5)
        assert _card_count() == 17
    finally:
        stop(worker)
    rows = db.session.execute(select(CardEvent.node_id, CardEvent.colour, func.count()).group_by(CardEvent.node_id, CardEvent.colour)).all()
    assert all(count == 1 for _, _, count in rows)


@pytest.mark.slow
def test_sigterm_stops_an_idle_worker_at_once_and_a_busy_one_after_its_job(app, clock, redis, late_nodes, tmp_path):
    """What systemd's stop (and the suite's ``stop``) sends: the worker ends, and does not start itself again."""
    from rq import Worker

    from portal.sweeps.services import start_sweep

    idle = start_worker(app, clock)
    try:
        # Registered, then idle: RQ registers a worker before it installs its signal handlers,
        # so a SIGTERM in between would meet the default handler (-15) instead of RQ's.
        assert wait_until(lambda: [w.get_state() for w in Worker.all(connection=redis)] == ["idle"], timeout=60)
        idle.terminate()
        assert idle.wait(timeout=20) == 0
        assert Worker.all(connection=redis) == []  # unregistered: it did not come back as a fresh worker
    finally:
        stop(idle)

    flag = tmp_path / "pause-once"
    flag.write_text("1")
    busy = start_worker(app, clock, JIEDIAN_SWEEP_PAUSE_FLAG=str(flag), JIEDIAN_SWEEP_PAUSE="3")
    try:
        run, _job = start_sweep(None, clock.today())
        paused_horse(flag, busy)
        busy.terminate()  # warm shutdown: the job in hand is finished first
        assert busy.wait(timeout=60) == 0
    finally:
        stop(busy)
    db.session.expire_all()
    assert db.session.get(JobRun, run.id).state == "finished" and _card_count() == 17
    assert Worker.all(connection=redis) == []
