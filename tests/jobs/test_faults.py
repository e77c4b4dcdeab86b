"""Faults survived: Redis stopped, PostgreSQL restarted, a worker killed mid-job, two users on one node.

Everything here is real: private redis-server and PostgreSQL instances that
the tests stop and start (never the shared ones), RQ workers in their own
processes killed with SIGKILL, and two browsers' worth of sessions.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.core.extensions import db
from portal.models import AuditEntry, CardEvent, Document, JobRun, Node, ProgressEntry
from tests import factories as f
from tests.conftest import (
    BACKEND,
    REDIS_URL,
    ROOT,
    AuthActions,
    IsolatedClient,
    _migrate,
    free_port,
    job_env,
    paused_horse,
    start_worker,
    stop,
    wait_until,
)


@pytest.fixture
def township(app):
    """A township with late nodes, a supervisor and a member of its staff."""
    unit = f.unit("上派镇", league=f.league("乡镇联赛"))
    f.user("sup", roles=["supervisor"], unit=f.unit("县委督查室"))
    f.user("staff", roles=["unit_staff"], unit=unit)
    project = f.project(lead_unit=unit, name="新能源整车配套产业园")
    for day in range(1, 11):
        f.node(project, title=f"节点{day}", deadline=date(2026, 6, day))
    db.session.commit()
    return unit


def _cards() -> int:
    return db.session.scalar(select(func.count(CardEvent.id)))


# -- Redis stopped --------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of the test's own (free port, temporary directory), to stop and start at will.

    It runs with the setting production needs, ``appendonly yes`` (fsync every
    second): the queues are rewritten from the append-only file when Redis comes
    back, so work enqueued before a stop or a crash is still there.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--logfile", "redis.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        from redis.exceptions import RedisError

        from jobs.connection import redis_from_url

        client = redis_from_url(self.url)
        for _ in range(100):
            try:
                if client.ping():
                    return
            except (RedisError, OSError):  # not listening yet, or still loading its append-only file
                pass
            time.sleep(0.1)
        raise AssertionError("the private redis-server did not start")

    def shutdown(self) -> None:
        """SHUTDOWN, as an operator (or systemd) stops Redis: the append-only file is flushed first."""
        from jobs.connection import redis_from_url

        redis_from_url(self.url).shutdown()
        self.process.wait(timeout=30)
        self.process = None


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.process is not None:
        server.process.terminate()
        server.process.wait(timeout=30)


def _healthz(client) -> tuple[int, dict, float]:
    started = time.monotonic()
    response = client.get("/healthz")
    return response.status_code, response.json, time.monotonic() - started


@pytest.mark.slow
def test_redis_stopped_the_portal_serves_and_queued_work_resumes_when_it_returns(login_as, app, clock, township, private_redis, tmp_path):
    from jobs.connection import get_redis
    from jobs.queue import fetch_job
    from jobs.scheduler import SCHEDULE, job_id, last_slot, run_scheduler

    app.config["REDIS_URL"] = private_redis.url
    app.extensions.pop("jiedian.redis", None)
    sup = login_as("sup")
    board = f"/units/{township.id}/board"
    # Work queued while no worker runs (a deploy, a restart): a sweep.
    response = sup.post("/sweeps", page="/sweeps", follow_redirects=True)
    assert response.status_code == 200 and "已开始检查" in response.get_data(as_text=True)
    queued = db.session.scalars(select(JobRun)).one()
    assert queued.state == "queued"
    client_before = get_redis()
    private_redis.shutdown()

    # Redis is down: pages and boards serve, /healthz says so at once, starting work says so in Chinese.
    assert sup.client.get(board).status_code == 200 and "节点1" in sup.client.get(board).get_data(as_text=True)
    assert sup.client.get("/").status_code == 200
    status, body, took = _healthz(sup.client)
    assert status == 200 and body == {"status": "ok", "database": "ok", "redis": "unavailable"} and took < 2
    page = sup.client.get("/sweeps")
    assert page.status_code == 200 and "任务队列暂不可用" in page.get_data(as_text=True)
    refused = sup.post("/sweeps", page="/bulletins")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 503 and "任务队列暂不可用，未能启动检查" in text and "自动补发" in text
    # Nothing written, and the sweep queued before the stop is not given up: Redis still holds it.
    assert db.session.scalars(select(JobRun)).all() == [queued] and queued.state == "queued"
    assert _cards() == 0
    # A bulletin does not wait for the queue: it is built in the request.
    draft = _draft_bulletin(sup, "停机期间的通报")
    response = sup.post(f"/bulletins/{draft.id}/publish", page=f"/bulletins/{draft.id}", follow_redirects=True)
    assert response.status_code == 200 and "任务队列不可用，已直接生成通报" in response.get_data(as_text=True)
    assert db.session.get(Document, draft.id).doc_number == "督通〔2026〕1号"

    # Redis comes back on the same port: the app reconnects by itself, the queue is still there.
    private_redis.start()
    status, body, _ = _healthz(sup.client)
    assert status == 200 and body["redis"] == "ok"
    with app.app_context():
        assert get_redis() is client_before  # the same client, reconnected: no restart
    assert fetch_job(queued.job_id).get_status() == "queued"
    worker = start_worker(app, clock, log=tmp_path / "worker.log", REDIS_URL=private_redis.url)
    try:
        assert wait_until(lambda: db.session.get(JobRun, queued.id).state == "finished", timeout=90), \
            (tmp_path / "worker.log").read_text()[-3000:]
        assert _cards() == 17  # the sweep queued before the stop issued every card, once

        # A worker that lives through an outage resumes by itself when Redis returns.
        private_redis.shutdown()
        log = tmp_path / "worker.log"
        assert wait_until(lambda: "could not connect to Redis" in log.read_text(), timeout=30)  # it met the outage
        assert worker.poll() is None  # and waits, backing off, instead of dying
        run_scheduler(app, ticks=1)  # the scheduler's tick meets the outage too, and carries on
        private_redis.start()
        response = sup.post("/sweeps", page="/sweeps")
        assert response.status_code == 303
        later = db.session.scalars(select(JobRun).order_by(JobRun.id.desc())).first()
        assert wait_until(lambda: db.session.get(JobRun, later.id).state == "finished", timeout=90), \
            (tmp_path / "worker.log").read_text()[-3000:]
        assert worker.poll() is None and _cards() == 17
        # Its next tick enqueues the slot it missed; the daily sweep runs and has nothing left to catch up.
        run_scheduler(app, ticks=1)
        entry = next(e for e in SCHEDULE if e.name == "daily-sweep")
        daily = fetch_job(job_id(entry, last_slot(entry, clock.now(), clock.tz)))
        assert wait_until(lambda: daily.get_status(refresh=True) == "finished", timeout=90), log.read_text()[-3000:]
        assert daily.return_value()["yellow"] == 0 and _cards() == 17
    finally:
        stop(worker)


@pytest.mark.slow
def test_a_worker_busy_when_redis_stops_starts_again_when_it_returns(login_as, app, clock, township, private_redis, tmp_path):
    """RQ quits when Redis goes away in the middle of a job; ``flask worker`` waits and starts a fresh one."""
    app.config["REDIS_URL"] = private_redis.url
    app.extensions.pop("jiedian.redis", None)
    sup = login_as("sup")
    flag = tmp_path / "pause-sweep"
    flag.write_text("1")
    log = tmp_path / "worker.log"
    worker = start_worker(app, clock, log=log, REDIS_URL=private_redis.url, JIEDIAN_SWEEP_PAUSE_FLAG=str(flag),
                          JIEDIAN_SWEEP_PAUSE="3")
    try:
        assert sup.post("/sweeps", page="/sweeps").status_code == 303
        paused_horse(flag, worker)
        private_redis.shutdown()  # while the work horse is in the middle of the sweep
        assert wait_until(lambda: "the worker starts again when it answers" in log.read_text(), timeout=60), \
            log.read_text()[-3000:]
        assert worker.poll() is None
        assert _cards() == 17  # the sweep itself committed; only RQ's bookkeeping met the outage
        private_redis.start()
        assert sup.post("/sweeps", page="/sweeps").status_code == 303
        later = db.session.scalars(select(JobRun).order_by(JobRun.id.desc())).first()
        assert wait_until(lambda: db.session.get(JobRun, later.id).state == "finished", timeout=90), log.read_text()[-3000:]
        assert worker.poll() is None and _cards() == 17  # a fresh worker took it, and no card came twice
    finally:
        stop(worker)


# -- PostgreSQL restarted ---------------------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own: initdb'd in a temporary directory, trust on 127.0.0.1, a free port.

    Run as the ``postgres`` OS user through runuser (PostgreSQL refuses to run as root).
    """

    def __init__(self):
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
        if not versions:
            pytest.fail("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bin = versions[-1].parent
        self.root = Path(tempfile.mkdtemp(prefix="jiedian-pg-"))
        shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.port = free_port()
        self.server = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=120)

    def _ctl(self, *args: str) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", *args)

    def start(self) -> None:
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "-E", "UTF8", "--locale=C", "--no-sync")
        self._ctl("-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1", "start")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every open connection is cut, committed work is kept."""
        self._ctl("-m", "fast", "restart")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._ctl("-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres():
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.mark.slow
@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL only: runs in the JIEDIAN_TEST_DB=postgresql run")
def test_postgresql_restarted_the_very_next_request_succeeds_and_nothing_is_lost(private_postgres, clock, tmp_path):
    """The portal on a private cluster restarted under it (skipped in the SQLite run: there is no server to restart).

    The app is built with the production engine options (``pool_pre_ping``),
    so the pooled connections the restart killed are noticed and replaced
    before a request uses them.
    """
    from sqlalchemy import create_engine, text

    from portal import create_app
    from portal.models import UserSession

    admin = create_engine(private_postgres.server + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE jiedian"))
    admin.dispose()
    url = private_postgres.server + "/jiedian"
    _migrate(url, str(tmp_path))
    portal = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": REDIS_URL,
                         "EVIDENCE_DIR": str(tmp_path / "evidence"), "DOCUMENT_DIR": str(tmp_path / "documents")})
    assert portal.config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True}  # production's, not the suite's
    portal.extensions["jiedian.clock"] = clock
    portal.test_client_class = IsolatedClient
    with portal.app_context():
        try:
            unit = f.unit("上派镇")
            f.user("staff", roles=["unit_staff"], unit=unit)
            project = f.project(lead_unit=unit)
            nodes = [f.node(project, title=f"节点{i}").id for i in range(1, 4)]
            db.session.commit()
            unit_id = unit.id
            staff = AuthActions(portal.test_client())  # this test's own app, not the suite's
            staff.login("staff")
            board = f"/units/{unit_id}/board"
            assert staff.client.get(board).status_code == 200
            assert staff.post(f"/nodes/{nodes[0]}/move", {"status": "doing", "version": 1}, page=board).status_code == 303

            def facts():
                counts = {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                          for model in (Node, AuditEntry, UserSession)}
                db.session.close()  # hand the connection back to the pool, as a request does
                return counts

            before = facts()
            private_postgres.restart()
            # The very next request, on connections the restart cut, succeeds: same session, same board.
            response = staff.client.get(board)
            assert response.status_code == 200 and "节点1" in response.get_data(as_text=True)
            assert staff.client.get("/healthz").json == {"status": "ok", "database": "ok", "redis": "ok"}
            assert facts() == before  # nothing lost
            assert db.session.get(Node, nodes[0]).status == "doing"
            # And writing works as before.
            assert staff.post(f"/nodes/{nodes[1]}/move", {"status": "doing", "version": 1}, page=board).status_code == 303
            assert db.session.get(Node, nodes[1]).status == "doing"
        finally:
            db.session.remove()
            db.engine.dispose()


# -- a worker killed while it renders a bulletin ------------------------------------


def _archive_files(app) -> list[Path]:
    root = Path(app.config["DOCUMENT_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _draft_bulletin(sup: AuthActions, title: str) -> Document:
    response = sup.post("/bulletins", {"period": "month", "date": "2026-06-15", "title": title})
    assert response.status_code == 303
    return db.session.scalars(select(Document).where(Document.title == title)).one()


def _published(document_id: int) -> bool:
    return db.session.get(Document, document_id).state == "published"


@pytest.mark.slow
@pytest.mark.parametrize("point", ["bulletin", "bulletin_archived"])
def test_a_worker_killed_mid_bulletin_leaves_nothing_half_written_and_the_retry_builds_it_once(login_as,
        app, clock, redis, township, tmp_path, point):
    """Killed after rendering (numbered, nothing archived) or after archiving (the row not committed).

    In the second case the archive file is already in place, named by its
    SHA-256, when the kill comes; the retry renders the same bytes under the
    same number and finds that very file, so no orphan is left.
    """
    sup = login_as("sup")
    first = _draft_bulletin(sup, "六月节点工作情况通报")
    flag = tmp_path / "pause-bulletin"
    flag.write_text("1")
    worker = start_worker(app, clock, log=tmp_path / "worker.log", **{f"JIEDIAN_{point.upper()}_PAUSE_FLAG": str(flag),
                                                                       f"JIEDIAN_{point.upper()}_PAUSE": "60"})
    try:
        assert sup.post(f"/bulletins/{first.id}/publish", page=f"/bulletins/{first.id}").status_code == 303
        horse = paused_horse(flag, worker)
        os.kill(horse, signal.SIGKILL)
        db.session.expire_all()
        document = db.session.get(Document, first.id)
        files = _archive_files(app)
        assert not any(p.suffix == ".part" for p in files)  # never a half-written file under any name
        killed_after_archiving = [p.name for p in files]
        if point == "bulletin_archived" and BACKEND == "sqlite":
            # pysqlite sends no BEGIN before a SAVEPOINT, so releasing publish_with_retry's savepoint
            # committed the number and the row, with the file already in place: still whole.
            assert document.state == "published" and killed_after_archiving == [f"{document.sha256}.pdf"]
        else:
            assert document.state == "building"  # still claimed by its job, so nobody starts a second build
            assert (document.serial, document.doc_number, document.sha256) == (None, None, None)  # no number used
            assert len(killed_after_archiving) == (1 if point == "bulletin_archived" else 0)
            assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "document.publish_bulletin")) == 0
        # RQ retries the job after its interval; this time it runs straight through.
        finished = lambda: db.session.scalars(select(JobRun.state)).all() == ["finished"]  # noqa: E731
        assert wait_until(finished, timeout=90), (tmp_path / "worker.log").read_text()[-3000:]
        document = db.session.get(Document, first.id)
        assert document.doc_number == "督通〔2026〕1号"
        files = _archive_files(app)
        assert [p.name for p in files] == [f"{document.sha256}.pdf"]  # exactly one file, the row's
        assert killed_after_archiving in ([], [files[0].name])  # the killed run's file is the very same one
        assert hashlib.sha256(files[0].read_bytes()).hexdigest() == document.sha256
        download = sup.client.get(f"/documents/{document.id}/download")
        assert download.status_code == 200 and hashlib.sha256(download.data).hexdigest() == document.sha256
        runs = db.session.scalars(select(JobRun).where(JobRun.kind == "bulletin")).all()
        assert [(r.state, r.message) for r in runs] == [("finished", "督通〔2026〕1号")]
        assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "document.publish_bulletin")) == 1
        # The next bulletin takes the next number: none skipped, none used twice.
        second = _draft_bulletin(sup, "六月第二期通报")
        assert sup.post(f"/bulletins/{second.id}/publish", page=f"/bulletins/{second.id}").status_code == 303
        assert wait_until(lambda: _published(second.id), timeout=90), (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        stop(worker)
    numbers = db.session.scalars(select(Document.doc_number).where(Document.kind == "bulletin").order_by(Document.serial)).all()
    assert numbers == ["督通〔2026〕1号", "督通〔2026〕2号"]
    rows = db.session.scalars(select(Document).where(Document.state == "published")).all()
    assert sorted(p.name for p in _archive_files(app)) == sorted(f"{d.sha256}.pdf" for d in rows)


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL only (SQLite takes no row locks): runs in the JIEDIAN_TEST_DB=postgresql run")
def test_two_builds_of_one_bulletin_publish_it_once_under_one_number(login_as, app, clock, township, tmp_path, monkeypatch):
    """A worker and the request both build one bulletin: its enqueue timed out after Redis had taken the job.

    The first build numbers and renders it and pauses holding the row; the
    second, on its own connection, waits for the row, then finds it published.
    """
    import threading

    from portal.core.clock import get_clock
    from portal.documents.services import publish_bulletin

    sup = login_as("sup")
    document = _draft_bulletin(sup, "六月节点工作情况通报")
    document.state = "building"
    db.session.commit()
    flag = tmp_path / "pause-bulletin"
    flag.write_text("1")
    monkeypatch.setenv("JIEDIAN_BULLETIN_PAUSE_FLAG", str(flag))
    monkeypatch.setenv("JIEDIAN_BULLETIN_PAUSE", "2")
    numbers: dict[str, str] = {}

    def build(name: str) -> None:
        with app.app_context():  # its own session and connection
            numbers[name] = publish_bulletin(document.id, clock=get_clock()).doc_number
            db.session.commit()

    first = threading.Thread(target=build, args=("first",))
    first.start()
    deadline = time.monotonic() + 60
    while not Path(f"{flag}.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Path(f"{flag}.pid").exists(), "the first build never reached its pause point"
    build("second")  # blocks until the first commits
    first.join(timeout=60)
    assert numbers == {"first": "督通〔2026〕1号", "second": "督通〔2026〕1号"}
    db.session.expire_all()
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "document.publish_bulletin")) == 1
    published = db.session.get(Document, document.id)
    assert (published.state, published.serial) == ("published", 1)
    assert [p.name for p in _archive_files(app)] == [f"{published.sha256}.pdf"]


@pytest.mark.slow
def test_a_bulletin_whose_job_was_lost_can_be_published_again(login_as, app, clock, redis, township, tmp_path):
    """Redis came back without its queues (no append-only file): the bulletin is not left "building" for ever."""
    sup = login_as("sup")
    document = _draft_bulletin(sup, "六月节点工作情况通报")
    page = f"/bulletins/{document.id}"
    assert sup.post(f"{page}/publish", page=page).status_code == 303
    status = sup.client.get(f"{page}/status").get_data(as_text=True)
    assert "every 2s" in status and "正在生成" in status  # queued, no worker yet
    assert sup.post(f"{page}/publish", page=page, follow_redirects=True).get_data(as_text=True).count("已在印发中") == 1
    redis.flushdb()  # the queue is gone
    status = sup.client.get(f"{page}/status").get_data(as_text=True)
    assert "every 2s" not in status and "生成任务中途停止" in status and "编号并印发" in status
    assert sup.post(f"{page}/publish", page=page).status_code == 303
    runs = db.session.scalars(select(JobRun).order_by(JobRun.id)).all()
    assert [r.state for r in runs] == ["failed", "queued"] and "已重新印发" in runs[0].message
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"], cwd=ROOT,
                            env=job_env(app, clock), capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    db.session.expire_all()
    document = db.session.get(Document, document.id)
    assert document.state == "published" and document.doc_number == "督通〔2026〕1号"
    assert [p.name for p in _archive_files(app)] == [f"{document.sha256}.pdf"]


# -- two users on the same node ---------------------------------------------------------

VERSION_RE = re.compile(r'<input[^>]*name="version"[^>]*value="(\d+)"')


def _version_on(page: str) -> str:
    match = VERSION_RE.search(page)
    assert match, "no version on the page"
    return match.group(1)


def _first_node(township) -> Node:
    return db.session.scalars(select(Node).where(Node.unit_id == township.id).order_by(Node.id)).first()


@pytest.mark.parametrize("htmx", [False, True])
def test_progress_on_a_node_someone_changed_meanwhile_is_409_with_the_fresh_node(login_as, app, township, htmx):
    f.user("staff2", roles=["unit_staff"], unit=township)
    node = _first_node(township)
    node_id = node.id
    db.session.commit()
    mine, theirs = login_as("staff"), login_as("staff2")
    page = f"/nodes/{node_id}"
    seen = _version_on(mine.client.get(page).get_data(as_text=True))
    # Meanwhile the other user starts the node (version 1 → 2) …
    their_version = _version_on(theirs.client.get(page).get_data(as_text=True))
    assert theirs.post(f"/nodes/{node_id}/move", {"status": "doing", "version": their_version}, page=page).status_code == 303
    # … and my progress entry, written against the untouched node, arrives.
    headers = {"HX-Request": "true"} if htmx else {}
    mine_data = {"body": "已完成土地评估，待挂牌", "percent": "40"}
    response = mine.post(f"/nodes/{node_id}/progress", {**mine_data, "version": seen}, page=page, headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "已被他人修改" in html
    assert "推进中" in html  # the fresh node …
    assert "已完成土地评估，待挂牌" in html and _version_on(html) == "2"  # … with my text kept, at its version
    if htmx:
        assert response.headers["HX-Retarget"] == "#main" and response.headers["HX-Reselect"] == "#main"
    assert db.session.scalars(select(ProgressEntry)).all() == []  # nothing written
    # Having seen the change, I log it again against the fresh version.
    again = mine.post(f"/nodes/{node_id}/progress", {**mine_data, "version": "2"}, page=page, headers=headers)
    assert again.status_code == (200 if htmx else 303)
    # Entries are only added: the other user logging at the same version keeps theirs too.
    assert theirs.post(f"/nodes/{node_id}/progress", {"body": "已报送挂牌材料", "version": "2"}, page=page).status_code == 303
    assert sorted(e.body for e in db.session.scalars(select(ProgressEntry))) == ["已完成土地评估，待挂牌", "已报送挂牌材料"]
    assert db.session.get(Node, node_id).version == 2  # logging progress does not change the node


def test_progress_without_a_version_is_refused(login_as, app, township):
    node_id = _first_node(township).id
    staff = login_as("staff")
    response = staff.post(f"/nodes/{node_id}/progress", {"body": "已完成土地评估"}, page=f"/nodes/{node_id}")
    assert response.status_code == 422 and "缺少版本" in response.get_data(as_text=True)
    assert db.session.scalars(select(ProgressEntry)).all() == []


def _node_fields(page: str, **changes) -> dict:
    fields = {name: re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page).group(1)
              for name in ("title", "deadline", "weight", "version")}
    fields["unit_id"] = re.search(r'<select[^>]*name="unit_id".*?<option selected value="(\d+)"', page, re.S).group(1)
    fields["standard"] = re.search(r'<textarea[^>]*name="standard"[^>]*>\s*([^<]*)</textarea>', page).group(1)
    return {**fields, "responsible_user_id": "", **changes}


def test_two_supervisors_editing_one_node_the_second_gets_409_and_overwrites_nothing(login_as, app, township):
    f.user("sup2", roles=["supervisor"], unit=township)
    node_id = _first_node(township).id
    db.session.commit()
    first, second = login_as("sup"), login_as("sup2")
    form = f"/nodes/{node_id}/edit"
    first_form, second_form = first.client.get(form).get_data(as_text=True), second.client.get(form).get_data(as_text=True)
    assert _version_on(first_form) == _version_on(second_form) == "1"  # both opened it at version 1
    assert first.post(form, _node_fields(first_form, deadline="2026-07-10")).status_code == 303
    response = second.post(form, _node_fields(second_form, deadline="2026-08-01", weight="3"))
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "已被他人修改" in html
    assert 'value="2026-07-10"' in html and _version_on(html) == "2"  # the fresh record, to redo the change on
    node = db.session.get(Node, node_id)
    assert (node.deadline, node.weight, node.version) == (date(2026, 7, 10), 1, 2)  # the first change stands


def test_a_true_race_on_the_node_row_is_409_too(login_as, app, township):
    """Both requests pass the version check; the database's ``WHERE version = :seen`` decides.

    The other writer commits on its own connection after this request has
    read the node and before it writes (a ``before_flush`` hook), which is the
    window a check in Python cannot close.
    """
    from sqlalchemy import event, update
    from sqlalchemy.orm import Session

    node_id = _first_node(township).id
    sup = login_as("sup")
    form = f"/nodes/{node_id}/edit"
    page = sup.client.get(form).get_data(as_text=True)

    fired = []

    def concurrent_save(session, _context, _instances):
        if not fired and any(isinstance(o, Node) for o in session.dirty):
            fired.append(True)
            with db.engine.begin() as conn:
                conn.execute(update(Node).where(Node.id == node_id).values(deadline=date(2026, 7, 10), version=Node.version + 1))

    event.listen(Session, "before_flush", concurrent_save)
    try:
        response = sup.post(form, _node_fields(page, deadline="2026-08-01"))
    finally:
        event.remove(Session, "before_flush", concurrent_save)
    html = response.get_data(as_text=True)
    assert fired, "the concurrent save never ran"
    assert response.status_code == 409 and "已被他人修改" in html and 'value="2026-07-10"' in html
    node = db.session.get(Node, node_id)
    assert (node.deadline, node.version) == (date(2026, 7, 10), 2)
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "node.update")) == 0
