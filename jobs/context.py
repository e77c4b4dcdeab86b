"""Jobs run inside the worker's app context; outside a worker they make their own."""

from __future__ import annotations

from contextlib import contextmanager

from flask import has_app_context


@contextmanager
def app_context():
    if has_app_context():
        yield
        return
    from portal import create_app

    with create_app().app_context():
        yield
