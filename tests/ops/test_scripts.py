"""The set-up scripts as a fresh machine runs them: `make run`'s run.sh and services.sh.

run.sh starts the real thing (gunicorn, `flask worker`, `flask scheduler`) on a
scratch database and the test Redis; services.sh is given lock files of the
test's own, held by a real process the way apt and dpkg hold theirs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

SERVICES = ROOT / "scripts" / "services.sh"


def _children(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _healthz(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return json.loads(answer.read())
    except (OSError, ValueError):
        return None


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_stopping_make_run_stops_its_worker_and_scheduler_too(app, redis, tmp_path, how):
    """M #8: run.sh ended with `exec gunicorn`, which dropped its clean-up trap; the worker and scheduler lived on."""
    port = free_port()
    env = {**os.environ, "VENV": sys.prefix, "PORT": str(port), "WEB_WORKERS": "1", "JIEDIAN_ENV": "development",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}", "REDIS_URL": app.config["REDIS_URL"],
           "EVIDENCE_DIR": str(tmp_path / "evidence"), "DOCUMENT_DIR": str(tmp_path / "documents"),
           "PRINT_FONT_DIR": str(tmp_path / "fonts")}
    env.pop("REDIS_PREFIX", None)
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        run = subprocess.Popen(["bash", str(ROOT / "scripts" / "run.sh")], cwd=tmp_path, env=env, stdout=out,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        children: list[int] = []
        while time.monotonic() < deadline:
            assert run.poll() is None, log.read_text()[-3000:]
            children = _children(run.pid)
            commands = " | ".join(_command(pid) for pid in children)
            if _healthz(port) == {"status": "ok", "database": "ok", "redis": "ok"} and " worker" in commands \
                    and " scheduler" in commands and "gunicorn" in commands:
                break
            time.sleep(0.5)
        else:
            pytest.fail("the portal did not start:\n" + log.read_text()[-3000:])
        time.sleep(1)  # the worker's and gunicorn's own children (RQ's scheduler, gunicorn's worker)
        children = _children(run.pid)

        if how == "SIGTERM":  # systemd, a process manager, kill
            run.send_signal(signal.SIGTERM)
        else:  # the terminal sends SIGINT to the whole foreground group
            os.killpg(run.pid, signal.SIGINT)
        status = run.wait(timeout=60)
        assert status in (130, 143), log.read_text()[-3000:]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in children):
            time.sleep(0.2)
        left = [f"{pid}: {_command(pid)}" for pid in children if _alive(pid)]
        assert left == [], "\n".join(left) + "\n" + log.read_text()[-3000:]
        assert _healthz(port) is None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)


# -- services.sh: another install holding the package lock (M #7) ---------------------------


class HeldLock:
    """A process that holds a POSIX lock on ``path`` (as apt-get and dpkg do) until it is let go."""

    def __init__(self, path: Path, seconds: float):
        path.touch()
        code = (f"import fcntl,os,time\nfd=os.open({str(path)!r},os.O_RDWR)\nfcntl.lockf(fd,fcntl.LOCK_EX)\n"
                f"print('held',flush=True)\ntime.sleep({seconds})\n")
        self.process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "held"

    def release(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        self.process.stdout.close()


def _services(*parts: str, env: dict) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    result = subprocess.run(["bash", str(SERVICES), *parts], env={**os.environ, **env}, capture_output=True,
                            text=True, timeout=120)
    return result, time.monotonic() - started


def test_services_waits_for_another_install_to_let_go_of_the_package_lock(tmp_path):
    locks = [tmp_path / "lock-frontend", tmp_path / "lock"]
    for lock in locks:
        lock.touch()
    held = HeldLock(locks[1], seconds=3)
    try:
        result, took = _services("package-lock", env={"APT_LOCKS": " ".join(map(str, locks)), "APT_LOCK_WAIT": "60"})
    finally:
        held.release()
    assert result.returncode == 0, result.stderr
    assert took >= 2.5  # it waited for the holder, then went on
    assert f"pid {held.process.pid}" in result.stderr and "waiting for another package install" in result.stderr
    assert "the package lock is free" in result.stderr


def test_services_gives_up_after_its_time_limit_with_a_clear_message(tmp_path):
    lock = tmp_path / "lock-frontend"
    held = HeldLock(lock, seconds=120)
    try:
        result, took = _services("package-lock", env={"APT_LOCKS": str(lock), "APT_LOCK_WAIT": "2"})
    finally:
        held.release()
    assert result.returncode == 1 and took < 30
    assert f"still holds the package lock after 2 s: pid {held.process.pid}" in result.stderr
    assert "run this again" in result.stderr


def test_make_run_stops_when_the_chinese_fonts_cannot_be_had(tmp_path):
    """M #7: `make run` used to go on with "CJK fonts missing" and serve PDFs printing boxes."""
    (tmp_path / "fonts.conf").write_text(  # a fontconfig that knows no fonts: the fonts are "missing"
        f'<?xml version="1.0"?>\n<fontconfig><dir>{tmp_path / "none"}</dir><cachedir>{tmp_path / "cache"}</cachedir>'
        "</fontconfig>\n")
    lock = tmp_path / "lock-frontend"
    held = HeldLock(lock, seconds=120)  # and another install holds the lock past the limit: nothing can be installed
    env = {"FONTCONFIG_FILE": str(tmp_path / "fonts.conf"), "APT_LOCKS": str(lock), "APT_LOCK_WAIT": "1",
           "VENV": sys.prefix, "PORT": str(free_port()), "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}"}
    try:
        # .installed is fresh in a checkout that ran the tests: make goes straight to the services.
        result = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "run", f"VENV={sys.prefix}"],
                                env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    finally:
        held.release()
    assert result.returncode != 0, result.stdout[-2000:]
    assert "Chinese fonts" in result.stderr and "fonts-noto-cjk" in result.stderr
    assert "is starting at" not in result.stdout and not (tmp_path / "run.db").exists()
