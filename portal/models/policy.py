"""The scoring policy in force on a date (SPEC section 3, last paragraph), and the go-live date (rule 11)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from portal.core.extensions import db
from portal.models import CountySetting, ScoringPolicy

# The defaults of SPEC section 3, used until an admin saves a policy.
DEFAULTS = {
    "green_points": Decimal(1),
    "yellow_points": Decimal(0),
    "red_points": Decimal(-1),
    "warn_days": 3,
    "recommit_grace_days": 5,
    "interview_yellow_threshold": 3,
    "recommit_max_days": 60,
    "project_yellow_lag": 10,
    "project_red_lag": 25,
    "receipt_days": 1,
    "feedback_days": 3,
    "resolve_days": 7,
    "major_resolve_months": 1,
    "problem_limit_days": 7,
}


def points(value) -> int | Decimal:
    """A score or card's points as shown: a whole number as such (3, −2), else with its one decimal (−0.5, 12.5).

    Sums come back from the database as Decimal (PostgreSQL), float or int
    (SQLite); every figure a page, a PDF or an export shows goes through here.
    """
    if value is None:
        return 0
    exact = Decimal(str(value)).quantize(Decimal("0.1"))
    return int(exact) if exact == exact.to_integral_value() else exact


def policy_on(as_of: date) -> ScoringPolicy:
    """The policy effective on ``as_of``: the latest row starting on or before it.

    Before any row exists (a fresh county) the SPEC defaults apply, as an
    unsaved ScoringPolicy with no id.
    """
    row = db.session.scalars(
        select(ScoringPolicy)
        .where(ScoringPolicy.effective_from <= as_of)
        .order_by(ScoringPolicy.effective_from.desc())
        .limit(1)
    ).first()
    return row if row is not None else ScoringPolicy(effective_from=date.min, **DEFAULTS)


# -- go-live (启用日期, SPEC rule 11) ------------------------------------------

GO_LIVE_KEY = "go_live_on"


def go_live_on() -> date | None:
    """The county's go-live date (启用日期): no card is effective before it. None: not set, no restriction.

    The one reader of the setting; a primary-key lookup, so within a session
    it is answered from the identity map after the first call.
    """
    row = db.session.get(CountySetting, GO_LIVE_KEY)
    if row is None or not row.value:
        return None
    return date.fromisoformat(str(row.value))
