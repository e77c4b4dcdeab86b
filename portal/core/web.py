"""Helpers every view uses: load-or-403, htmx detection, period arguments, the change-and-commit step."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import abort, flash, redirect, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.core.clock import get_clock
from portal.core.errors import Refused, render_error
from portal.core.extensions import db
from portal.core.inputs import BadArgument, arg_date
from portal.core.periods import PERIODS

T = TypeVar("T")


def is_htmx() -> bool:
    return bool(request.headers.get("HX-Request"))


def load_or_403(model: type[T], object_id: int, may: Callable[[object, T], bool]) -> T:
    """The row with this id (404 when there is none) if the current user ``may`` see it, else 403."""
    obj = db.get_or_404(model, object_id)
    if not may(current_user, obj):
        abort(403)
    return obj


def form_errors(form) -> str:
    """A form's messages as one line, for a flash."""
    return "；".join(str(e) for errors in form.errors.values() for e in errors)


def apply_change(change: Callable[[], T], *, form=None, refused: Callable[[int, str], object],
                 done: Callable[[T], object]):
    """Validate → one service call → commit once → the success response; or the refusal re-rendered.

    ``refused(status, message)`` builds the response for an invalid form (422,
    the form's messages) and for a ``Refused`` from the service (its status and
    message, after a rollback, so nothing of the change is written).
    """
    if form is not None and not form.validate():
        return refused(422, form_errors(form))
    try:
        result = change()
        db.session.commit()
    except Refused as refusal:
        db.session.rollback()
        return refused(refusal.status, refusal.message)
    return done(result)


def flash_redirect(message: str, category: str, url: str):
    """Say something on the next page and go there (303: the browser follows with a GET)."""
    flash(message, category)
    return redirect(url, 303)


def period_args(default_day=None):
    """(period, day) from ``?period=…&date=…``, or an error response (400) in the user's language.

    Without a date, ``default_day(kind, today)`` chooses it (rankings open on the
    last complete period); without that, today.
    """
    kind = request.args.get("period", "week")
    if kind not in PERIODS:
        return None, render_error(400, _("period must be week, month, quarter or year."))
    today = get_clock().today()
    try:
        day = arg_date("date", default_day(kind, today) if default_day else today)
    except BadArgument as bad:
        return None, render_error(400, bad.message)
    return (kind, day), None
