"""Fault-injection points for the test suite; inert unless a test arms one.

A job calls ``pause_point("sweep")`` (or "bulletin", …) at the moment a
crash would hurt most. The suite arms the point through the environment of
the worker it starts, waits for the work horse to reach it, kills it with
SIGKILL and checks that nothing was left half done and that RQ's retry
finishes the work once.
"""

from __future__ import annotations

import os
import time


def pause_point(name: str) -> None:
    """Hold here once, so a test can kill exactly this process at this point.

    When ``JIEDIAN_<NAME>_PAUSE_FLAG`` names a file that exists, the file is
    removed (the first process to remove it wins, so the point fires once),
    ``<flag>.pid`` is written with this process id, and the process sleeps
    ``JIEDIAN_<NAME>_PAUSE`` seconds (default 30). The retry finds no flag
    and runs straight through.
    """
    prefix = f"JIEDIAN_{name.upper()}_PAUSE"
    flag = os.environ.get(prefix + "_FLAG")
    if not flag:
        return
    try:
        os.remove(flag)
    except FileNotFoundError:
        return
    part = f"{flag}.pid.part"
    with open(part, "w") as fh:
        fh.write(str(os.getpid()))
    os.replace(part, flag + ".pid")  # the test never reads a half-written pid
    time.sleep(float(os.environ.get(prefix, "30")))
