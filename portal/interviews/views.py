"""Interviews (约谈): the list, one interview's page, and its steps."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from portal import permissions
from portal.core.clock import get_clock
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.core.forms import options
from portal.core.inputs import arg_id, arg_page
from portal.core.templating import CARD_LABELS
from portal.core.web import apply_change, load_or_403
from portal.interviews import services
from portal.interviews.forms import CancelForm, MinutesForm, ProposeForm, ScheduleForm
from portal.models import INTERVIEW_STATES, AuditEntry, CardEvent, Interview, Node, Unit, User

bp = Blueprint("interviews", __name__)

PAGE_SIZE = 50
CARD_CHOICE_DAYS = 92  # cards offered for a proposal by hand: about the last three months
CARD_CHOICE_LIMIT = 500

STATE_LABELS = {
    "proposed": _l("To be scheduled"),
    "scheduled": _l("Scheduled"),
    "held": _l("Held"),
    "closed": _l("Closed"),
    "cancelled": _l("Cancelled"),
}
TRIGGER_LABELS = {
    "red": _l("Red card"),
    "yellow_threshold": _l("Yellow cards in a month"),
    "manual": _l("Proposed by the supervision office"),
}
ACTION_LABELS = {
    "interview.propose": _l("Proposal"),
    "interview.schedule": _l("Scheduling"),
    "interview.reschedule": _l("Rescheduling"),
    "interview.notice": _l("Notice issued"),
    "interview.hold": _l("Minutes recorded"),
    "interview.close": _l("Closure"),
    "interview.cancel": _l("Cancellation"),
}


@bp.context_processor
def _labels():
    return {
        "interview_action_label": lambda code: ACTION_LABELS.get(code, code),
        "interview_state_label": lambda code: STATE_LABELS.get(code, code),
        "interview_trigger_label": lambda code: TRIGGER_LABELS.get(code, code),
    }


def _load(interview_id: int) -> Interview:
    return load_or_403(Interview, interview_id, permissions.can_view_interview)


def _unit_choices():
    units = db.session.scalars(select(Unit).where(Unit.is_active).order_by(Unit.sort_order, Unit.id))
    return options(((u.id, u.name) for u in units), blank=_("— choose —"))


def _card_rows():
    since = get_clock().today() - timedelta(days=CARD_CHOICE_DAYS)
    return db.session.execute(
        select(CardEvent.id, CardEvent.colour, CardEvent.effective_date, Unit.id.label("unit_id"), Unit.name, Node.title)
        .join(Unit, Unit.id == CardEvent.unit_id)
        .join(Node, Node.id == CardEvent.node_id)
        .where(CardEvent.colour.in_(("yellow", "red")), CardEvent.is_withdrawn.is_(False), CardEvent.effective_date >= since)
        .order_by(Unit.sort_order, Unit.id, CardEvent.effective_date.desc(), CardEvent.id.desc())
        .limit(CARD_CHOICE_LIMIT)
    ).all()


def _card_groups(rows) -> list[tuple[int, str, list[tuple[int, str]]]]:
    """The cards to choose from, per unit (N #7: checkboxes per unit, not one list mixing all units)."""
    groups: dict[int, tuple[int, str, list]] = {}
    for r in rows:
        groups.setdefault(r.unit_id, (r.unit_id, r.name, []))[2].append(
            (r.id, f"{CARD_LABELS[r.colour]} · {r.effective_date.isoformat()} · {r.title}"))
    return list(groups.values())


def _propose_form() -> ProposeForm:
    form = ProposeForm()  # the posted data on a POST, empty otherwise
    rows = _card_rows()
    form.unit_id.choices = _unit_choices()
    form.card_ids.choices = options((r.id, r.title) for r in rows)
    form.card_groups = _card_groups(rows)
    return form


def _schedule_form(interview: Interview, *, posted: bool = False) -> ScheduleForm:
    if posted:
        form = ScheduleForm()
    else:  # a rescheduling starts from the current arrangements
        form = ScheduleForm(formdata=None, obj=interview, when=interview.scheduled_for)
    form.interviewer_id.choices = options(
        ((u.id, services.interviewer_label(u)) for u in services.leaders()), blank=_("— none —")
    )
    return form


# -- reading ----------------------------------------------------------------


@bp.route("/interviews")
@login_required
def index():
    return render_index()


def render_index(*, propose_form: ProposeForm | None = None, status: int = 200):
    if not permissions.can_view_interviews(current_user):
        abort(403)
    args = request.args
    sees_all = permissions.can_view_all_units(current_user)
    stmt = select(Interview)
    if not sees_all:
        stmt = stmt.where(Interview.unit_id == current_user.unit_id)
    state = args.get("state", "")
    if state in INTERVIEW_STATES:
        stmt = stmt.where(Interview.state == state)
    unit_id = arg_id("unit_id") if sees_all else None
    if unit_id:
        stmt = stmt.where(Interview.unit_id == unit_id)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = arg_page()
    rows = db.session.scalars(
        stmt.options(joinedload(Interview.unit), selectinload(Interview.cards))
        .order_by(Interview.proposed_on.desc(), Interview.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    may_propose = permissions.can_change_interviews(current_user)
    if may_propose and propose_form is None:
        propose_form = _propose_form()
    return render_template(
        "interviews/index.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        state=state if state in INTERVIEW_STATES else "",
        unit_id=unit_id,
        states=INTERVIEW_STATES,
        units=db.session.scalars(select(Unit).order_by(Unit.sort_order, Unit.id)).all() if sees_all else [],
        propose_form=propose_form if may_propose else None,
        clock=get_clock(),
    ), status


@bp.route("/interviews/<int:interview_id>")
@login_required
def detail(interview_id: int):
    return render_detail(interview_id)


def render_detail(interview_id: int, *, forms: dict | None = None, status: int = 200):
    """The interview page; a refused step comes back on it with its form."""
    interview = db.session.scalars(
        select(Interview)
        .where(Interview.id == interview_id)
        .options(
            joinedload(Interview.unit),
            joinedload(Interview.interviewer),
            selectinload(Interview.cards).joinedload(CardEvent.node).joinedload(Node.project),
        )
    ).first()
    if interview is None:
        abort(404)
    if not permissions.can_view_interview(current_user, interview):
        abort(403)
    forms = forms or {}
    steps = services.next_steps(current_user, interview)
    history = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_type == "interview", AuditEntry.object_id == interview.id)
        .order_by(AuditEntry.at, AuditEntry.id)
        .limit(200)
    ).all()
    proposed_by = db.session.get(User, interview.proposed_by_id) if interview.proposed_by_id else None
    page = render_template(
        "interviews/detail.html",
        interview=interview,
        proposed_by=proposed_by,
        cards=sorted(interview.cards, key=lambda c: (c.effective_date, c.id)),
        history=history,
        steps=steps,
        schedule_form=forms.get("schedule") or (_schedule_form(interview) if "schedule" in steps else None),
        minutes_form=forms.get("hold") or MinutesForm(formdata=None),
        cancel_form=forms.get("cancel") or CancelForm(formdata=None),
        refused_forms=[f for f in forms.values() if f is not None and f.errors],
        notice=services.notice_state(interview),
        clock=get_clock(),
    )
    return page, status


# -- steps ------------------------------------------------------------------


def _done(interview: Interview, message: str):
    flash(message, "success")
    return redirect(url_for("interviews.detail", interview_id=interview.id), 303)


def _step(interview: Interview, change, done: str, *, form=None, key: str | None = None):
    """One step on the interview page: a refused form comes back beside its fields, a refused step as a message."""

    def refused(status: int, message: str):
        if form is None or not form.errors:
            flash(message, "error")
        return render_detail(interview.id, forms={key: form} if form is not None else None, status=status)

    return apply_change(change, form=form, refused=refused, done=lambda _result: _done(interview, done))


@bp.route("/interviews/new", methods=["POST"])
@login_required
def new():
    if not permissions.can_change_interviews(current_user):
        abort(403)
    form = _propose_form()
    if not form.validate():
        return render_index(propose_form=form, status=422)
    unit = db.session.get(Unit, form.unit_id.data)
    try:
        interview = services.propose_manual(current_user, unit, form.card_ids.data or [], form.reason.data, clock=get_clock())
        db.session.commit()
    except Refused as error:
        db.session.rollback()
        form.form_errors.append(error.message)
        return render_index(propose_form=form, status=error.status)
    return _done(interview, _("The interview is proposed; schedule it when the time is set."))


@bp.route("/interviews/<int:interview_id>/schedule", methods=["POST"])
@login_required
def schedule(interview_id: int):
    interview = _load(interview_id)
    if not permissions.can_change_interviews(current_user):
        abort(403)
    form = _schedule_form(interview, posted=True)
    return _step(interview, lambda: services.schedule(
        current_user, interview, form.when_utc(), form.place.data, form.interviewer_id.data,
        form.interviewer_name.data or "", form.bring.data or "", clock=get_clock()),
        _("The interview is scheduled and the unit has been notified."), form=form, key="schedule")


@bp.route("/interviews/<int:interview_id>/hold", methods=["POST"])
@login_required
def hold(interview_id: int):
    interview = _load(interview_id)
    if not permissions.can_record_minutes(current_user, interview):
        abort(403)
    form = MinutesForm()
    return _step(interview, lambda: services.hold(current_user, interview, form.minutes.data, clock=get_clock()),
                 _("The minutes are recorded."), form=form, key="hold")


@bp.route("/interviews/<int:interview_id>/close", methods=["POST"])
@login_required
def close(interview_id: int):
    interview = _load(interview_id)
    if not permissions.can_change_interviews(current_user):
        abort(403)
    return _step(interview, lambda: services.close(current_user, interview, clock=get_clock()), _("The interview is closed."))


@bp.route("/interviews/<int:interview_id>/cancel", methods=["POST"])
@login_required
def cancel(interview_id: int):
    interview = _load(interview_id)
    if not permissions.can_change_interviews(current_user):
        abort(403)
    form = CancelForm()
    return _step(interview, lambda: services.cancel(current_user, interview, form.reason.data, clock=get_clock()),
                 _("The interview is cancelled."), form=form, key="cancel")
