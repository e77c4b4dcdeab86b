"""Template globals: permission checks and the Chinese labels of codes."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from portal import permissions
from portal.core.forms import EVIDENCE_KIND_LABELS
from portal.models import EVIDENCE_KINDS
from portal.models.policy import points

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "supervisor": _l("Supervisor"),
    "leader": _l("Leader"),
    "unit_staff": _l("Unit staff"),
    "contact": _l("Project contact"),
}
STAGE_LABELS = {
    "signed": _l("Signed"),
    "started": _l("Started"),
    "building": _l("Under construction"),
    "completed": _l("Completed"),
    "producing": _l("In production"),
    "performing": _l("At full output"),
}
STATUS_LABELS = {
    "todo": _l("Not started"),
    "doing": _l("In progress"),
    "review": _l("Awaiting sign-off"),
    "done": _l("Signed off"),
}
CARD_LABELS = {
    "none": _l("No card"),
    "green": _l("Green card"),
    "yellow": _l("Yellow card"),
    "red": _l("Red card"),
}
DELIVERY_STATE_LABELS = {
    "pending": _l("Waiting"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
}


def money(value) -> str:
    """An amount as offices write it: thousands separated, two decimals (44,554.00); "—" for none."""
    if value is None or value == "":
        return "—"
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (ArithmeticError, ValueError):
        return str(value)


def _json_text(value) -> str:
    """Before/after values as readable JSON (Chinese kept, HTML escaped by Jinja)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _label_of(name: str, labels: dict):
    """A template helper giving a code's label, translated once per request rather than once per card."""
    from flask import g

    def label(code: str) -> str:
        translated = g.setdefault("_jiedian_labels", {})
        table = translated.get(name)
        if table is None:
            table = translated[name] = {key: str(value) for key, value in labels.items()}
        return table.get(code, code)

    return label


def init_app(app) -> None:
    app.jinja_env.filters["json_text"] = _json_text
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["points"] = points
    app.jinja_env.globals.update(
        timedelta=timedelta,
        role_label=_label_of("role", ROLE_LABELS),
        stage_label=_label_of("stage", STAGE_LABELS),
        status_label=_label_of("status", STATUS_LABELS),
        card_label=_label_of("card", CARD_LABELS),
        delivery_state_label=_label_of("delivery_state", DELIVERY_STATE_LABELS),
        evidence_kind_label=_label_of("evidence_kind", EVIDENCE_KIND_LABELS),
        evidence_kinds=[(k, EVIDENCE_KIND_LABELS[k]) for k in EVIDENCE_KINDS],
        **{
            name: getattr(permissions, name)
            for name in dir(permissions)
            if name.startswith(("can_", "is_"))
        },
    )
