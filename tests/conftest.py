"""Test fixtures: a real, freshly migrated database per test (SQLite or PostgreSQL).

``JIEDIAN_TEST_DB=sqlite`` (default) or ``postgresql`` picks the database; the
PostgreSQL server is ``JIEDIAN_TEST_PG`` (default: the local one). Redis is a
real redis-server of this test process's own (``JIEDIAN_TEST_REDIS`` names
another, e.g. ``redis://127.0.0.1:6379/15``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

os.environ["JIEDIAN_ENV"] = "testing"

from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from portal import create_app  # noqa: E402
from portal.core.clock import FixedClock  # noqa: E402
from portal.core.extensions import db  # noqa: E402

BACKEND = os.environ.get("JIEDIAN_TEST_DB", "sqlite")
PG_SERVER = os.environ.get("JIEDIAN_TEST_PG", "postgresql+psycopg://jiedian:jiedian@127.0.0.1:5432")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _private_redis() -> str:
    """Start a redis-server for this test process alone and return its URL; it stops when the process exits.

    Its own server, not a numbered database on a shared one: nothing else on
    the machine (a demo portal, another test run, a CI job of another branch)
    can take this suite's jobs or empty its queues, and no test can touch theirs.
    """
    import atexit
    import tempfile
    import time

    directory = tempfile.mkdtemp(prefix="jiedian-test-redis-")
    for _attempt in range(5):
        port = free_port()
        server = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", directory,
             "--save", "", "--appendonly", "no", "--logfile", "redis.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        atexit.register(_stop_private_redis, server, directory)
        url = f"redis://127.0.0.1:{port}/0"
        from redis import Redis
        from redis.exceptions import RedisError

        client = Redis.from_url(url, socket_connect_timeout=0.2)
        for _ in range(100):
            if server.poll() is not None:
                break  # the port was taken meanwhile: try another
            try:
                # Ours, not another process's server that took the port first.
                if client.ping() and client.config_get("dir").get("dir") == os.path.realpath(directory):
                    return url
            except (RedisError, OSError):
                pass
            time.sleep(0.05)
        server.kill()
    raise RuntimeError("could not start a private redis-server for the tests (is redis-server installed?)")


def _stop_private_redis(server: subprocess.Popen, directory: str) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    shutil.rmtree(directory, ignore_errors=True)


def _redis_url() -> str:
    return os.environ.get("JIEDIAN_TEST_REDIS") or _private_redis()


REDIS_URL = _redis_url()
TODAY = date(2026, 6, 15)  # a Monday; every test starts on it unless it travels
ROOT = Path(__file__).resolve().parents[1]


def head_revision() -> str:
    """The newest migration's revision: what a migrated database records."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(ROOT / "migrations")).get_current_head()


def pytest_report_header(config):
    return f"jiedian: database={BACKEND} redis={REDIS_URL}"


def _worker_suffix() -> str:
    # One database per test process: concurrent runs never truncate each other's tables.
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


def _base_config(url: str, tmp: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {} if url.startswith("sqlite") else {"pool_pre_ping": True},
        "REDIS_URL": REDIS_URL,
        "EVIDENCE_DIR": os.path.join(tmp, "evidence"),
        "DOCUMENT_DIR": os.path.join(tmp, "documents"),
        "SERVER_NAME": None,
    }


def _migrate(url: str, tmp: str) -> None:
    from flask_migrate import upgrade

    app = create_app(_base_config(url, tmp))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def create_pg_database(name: str) -> str:
    """Drop and create a scratch database on the test server; returns its URL."""
    admin = create_engine(PG_SERVER + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{PG_SERVER}/{name}"


def drop_pg_database(name: str) -> None:
    admin = create_engine(PG_SERVER + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """A migrated, empty database: a file to copy (SQLite) or a database to truncate (PostgreSQL)."""
    tmp = str(tmp_path_factory.mktemp("template"))
    if BACKEND == "postgresql":
        name = f"jiedian_test_{_worker_suffix()}"
        url = create_pg_database(name)
        _migrate(url, tmp)
        yield url
        drop_pg_database(name)
        return
    path = os.path.join(tmp, "template.db")
    _migrate("sqlite:///" + path, tmp)
    yield path


def _seed_rows():
    """The rows the data migrations insert (the holiday calendar), to restore after a truncate."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "migrations" / "versions" / "0002_calendar_days.py"
    spec = importlib.util.spec_from_file_location("calendar_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.calendar_day, module._rows()


def _problem_type_rows():
    """The problem types migration 0006j seeds."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "migrations" / "versions" / "0006j_meetings.py"
    spec = importlib.util.spec_from_file_location("meetings_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.problem_type_table, module.problem_type_rows()


def _truncate_all(engine) -> None:
    """Empty every table, then put back what the migrations seed (as a fresh database has it)."""
    table, rows = _seed_rows()
    types_table, type_rows = _problem_type_rows()
    with engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
            )
        ]
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        conn.execute(table.insert(), rows)
        conn.execute(types_table.insert(), type_rows)


@contextmanager
def scratch_app(tmp, print_font_dir: str):
    """An app on a migrated database of its own, with an app context pushed.

    For fixtures wider than one test (a county built once per module); the
    database is dropped when the block ends.
    """
    tmp = str(tmp)
    name = f"jiedian_scratch_{_worker_suffix()}_{uuid.uuid4().hex[:8]}"
    url = create_pg_database(name) if BACKEND == "postgresql" else "sqlite:///" + os.path.join(tmp, "scratch.db")
    try:
        _migrate(url, tmp)
        app = create_app(_base_config(url, tmp) | {"PRINT_FONT_DIR": print_font_dir})
        app.extensions["jiedian.clock"] = FixedClock(TODAY)
        app.test_client_class = IsolatedClient
        with app.app_context():
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        if BACKEND == "postgresql":
            drop_pg_database(name)


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, like in production.

    The test keeps an app context pushed for its own queries; without this a
    request would reuse it and share ``g`` (CSRF tokens) and the database
    session with the test. After a request the test's session is expired, so
    what the test reads next comes fresh from the database.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()
        return response


@pytest.fixture
def clock():
    return FixedClock(TODAY)


@pytest.fixture(scope="session")
def print_font_dir(tmp_path_factory):
    """The compact print fonts, cut once per test session as `flask print-fonts` does."""
    from portal.documents import fonts

    path = tmp_path_factory.mktemp("print-fonts")
    fonts.build(path)
    return str(path)


@pytest.fixture
def app(database_template, tmp_path, clock, print_font_dir):
    """A fresh app on an empty migrated database, with an app context pushed."""
    if BACKEND == "postgresql":
        url = database_template
    else:
        path = tmp_path / "test.db"
        shutil.copyfile(database_template, path)
        url = "sqlite:///" + str(path)
    app = create_app(_base_config(url, str(tmp_path)) | {"PRINT_FONT_DIR": print_font_dir})
    app.extensions["jiedian.clock"] = clock
    app.test_client_class = IsolatedClient
    ctx = app.app_context()
    ctx.push()
    try:
        yield app
    finally:
        db.session.remove()
        if BACKEND == "postgresql":
            _truncate_all(db.engine)
        db.engine.dispose()
        ctx.pop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


class AuthActions:
    """Log in and out through the real forms, CSRF included."""

    def __init__(self, client):
        self.client = client

    def csrf(self, path: str = "/login") -> str:
        return csrf_from(self.client.get(path, follow_redirects=True).get_data(as_text=True))

    def login(self, username: str, password: str = "password-123"):
        token = self.csrf("/login")
        return self.client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )

    def logout(self):
        token = self.csrf("/")
        return self.client.post("/logout", data={"csrf_token": token})

    def post(self, path: str, data: dict | None = None, page: str | None = None, **kwargs):
        """POST a form with the CSRF token taken from ``page`` (default: the same path)."""
        token = self.csrf(page or path)
        return self.client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def login_as(app):
    """Log a user in on a test client of their own: ``staff = login_as("staff"); staff.post(...)``."""

    def login(username: str, password: str = "password-123") -> AuthActions:
        actions = AuthActions(app.test_client())
        assert actions.login(username, password).status_code == 302, f"{username} could not log in"
        return actions

    return login


@pytest.fixture
def redis(app):
    """The test process's Redis, emptied before and after the test."""
    from jobs.connection import get_redis

    client = get_redis()
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def count_queries(app):
    """Count the SQL statements run inside a ``with count_queries() as counter:`` block."""
    from contextlib import contextmanager

    from sqlalchemy import event

    @contextmanager
    def counting():
        counter = {"n": 0, "statements": []}

        def _count(_conn, _cursor, statement, *_args, **_kwargs):
            counter["n"] += 1
            counter["statements"].append(statement)

        event.listen(db.engine, "before_cursor_execute", _count)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", _count)

    return counting


def job_env(app, clock, **extra) -> dict:
    """The environment of a CLI command or worker run as a subprocess on this test's database and Redis."""
    return {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": app.config["REDIS_URL"],
            "JIEDIAN_ENV": "testing", "JIEDIAN_TODAY": clock.today().isoformat(),
            "DOCUMENT_DIR": app.config["DOCUMENT_DIR"], "EVIDENCE_DIR": app.config["EVIDENCE_DIR"], **extra}


def start_worker(app, clock, log: Path | None = None, **extra) -> subprocess.Popen:
    """A real RQ worker (``flask worker``) in its own process group; ``log`` keeps its output.

    The group holds the worker, its work horse and RQ's scheduler process, so
    ``stop`` can make sure none of them outlives the test: a stray worker on
    the test Redis database would take the next test's jobs.
    """
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker"]
    env = job_env(app, clock, **extra)
    if log is None:
        return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen, grace: float = 30) -> None:
    """Stop a worker from ``start_worker`` as systemd would: SIGTERM, then SIGKILL what is left of its group."""
    import signal
    from contextlib import suppress

    if process.poll() is None:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    with suppress(ProcessLookupError):  # ProcessLookupError: the whole group has already gone
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (an RQ worker's work horse)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def paused_horse(flag: Path, worker: subprocess.Popen, timeout: float = 60) -> int:
    """Wait for the work horse to reach an armed ``jobs.faults.pause_point``; returns its pid."""
    import time

    pid_file = Path(f"{flag}.pid")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not pid_file.exists():
        assert worker.poll() is None, "the worker died"
        time.sleep(0.2)
    assert pid_file.exists(), f"the job never reached its pause point ({flag.name})"
    horse = int(pid_file.read_text())
    assert horse in child_pids(worker.pid)  # the work horse, not the worker itself
    return horse


def wait_until(predicate, timeout: float = 90, every: float = 0.5) -> bool:
    """Poll ``predicate`` (the test's session expired before each call) until it holds or time runs out."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)


def post_at_once(app, posts, **kwargs) -> list:
    """POST every ``(client, url, data)`` at the same moment, each in its own thread with its own app
    context (as each request of a real server has); the status codes, or the error a request raised."""
    import threading

    start = threading.Barrier(len(posts))
    statuses: list = [None] * len(posts)

    def post(i, client, url, data):
        start.wait()
        try:
            with app.app_context():
                statuses[i] = client.post(url, data=data, **kwargs).status_code
        except Exception as error:  # noqa: BLE001 - shown in the caller's assertion
            statuses[i] = repr(error)

    threads = [threading.Thread(target=post, args=(i, *p)) for i, p in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses

