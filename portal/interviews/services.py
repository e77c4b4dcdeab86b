"""Interviews (约谈, SPEC rule 6).

The sweep proposes an interview for every red card and for every unit that
reaches the monthly yellow-card threshold (``portal.sweep._propose``); a
supervisor may also propose one by hand. A supervisor then schedules it
(time, place, interviewer, what to bring), the interview is held (minutes,
recorded by a supervisor or by the leader who conducted it) and closed::

    proposed → scheduled → held → closed
    proposed / scheduled → cancelled (with a reason)

Every change writes an audit entry with before and after. State changes are
conditional UPDATEs (``WHERE state IN (…)``), so two people acting on the same
interview at once cannot both move it: the second one gets a 409.
Services flush; the caller commits.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from portal import permissions
from portal.audit import services as audit
from portal.core.clock import Clock
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.documents.services import notice_state as notice_state
from portal.models import CardEvent, Interview, Unit, User, UserRole
from portal.notifications import services as notify

# What the audit entries record before and after a change.
FIELDS = ("state", "scheduled_for", "place", "interviewer_id", "interviewer_name", "bring", "minutes", "held_at", "closed_at")

STATE_NAMES = {
    "proposed": _l("To be scheduled"), "scheduled": _l("Scheduled"), "held": _l("Held"),
    "closed": _l("Closed"), "cancelled": _l("Cancelled"),
}
ACTION_NAMES = {
    "schedule": _l("schedule the interview"), "hold": _l("record the minutes"),
    "close": _l("close the interview"), "cancel": _l("cancel the interview"),
}

# Which states each step may start from.
ALLOWED_FROM = {
    "schedule": ("proposed", "scheduled"),
    "hold": ("scheduled",),
    "close": ("held",),
    "cancel": ("proposed", "scheduled"),
}

# Clearer words for the refusals people will actually meet.
_REFUSALS = {
    ("hold", "proposed"): _l("The interview has no time yet; schedule it before recording the minutes."),
    ("close", "proposed"): _l("The interview has not been held; record its minutes before closing it."),
    ("close", "scheduled"): _l("The interview has not been held; record its minutes before closing it."),
    ("schedule", "held"): _l("The interview has been held; it can no longer be scheduled."),
    ("cancel", "held"): _l("The interview has been held; it cannot be cancelled."),
    ("hold", "held"): _l("The minutes have been recorded; they cannot be recorded again."),
    ("close", "closed"): _l("The interview is already closed."),
}



# -- who may ----------------------------------------------------------------



def next_steps(actor: User, interview: Interview) -> set[str]:
    """The steps this actor may take on this interview now (for the page's forms)."""
    steps = {step for step, states in ALLOWED_FROM.items() if interview.state in states}
    if not permissions.can_change_interviews(actor):
        steps -= {"schedule", "close", "cancel"}
    if not permissions.can_record_minutes(actor, interview):
        steps.discard("hold")
    return steps


def leaders() -> list[User]:
    """Who may be chosen as the interviewer: active leaders."""
    return db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "leader", User.is_active_account)
        .order_by(User.display_name, User.id)
    ).all()


def interviewer_label(user: User) -> str:
    return f"{user.display_name}（{user.title}）" if user.title else user.display_name


# -- steps ------------------------------------------------------------------


def _refuse_unless(step: str, interview: Interview) -> None:
    if interview.state not in ALLOWED_FROM[step]:
        message = _REFUSALS.get((step, interview.state)) or _(
            "The interview is “%(state)s”; you cannot %(action)s.",
            state=str(STATE_NAMES.get(interview.state, interview.state)), action=str(ACTION_NAMES[step]),
        )
        raise Refused(422, str(message))


def _move(step: str, interview: Interview, values: dict) -> None:
    """Apply ``values`` only if the row is still in a state the step may start from."""
    result = db.session.execute(
        update(Interview)
        .where(Interview.id == interview.id, Interview.state.in_(ALLOWED_FROM[step]))
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:
        raise Refused(409, _("Someone else has just acted on this interview; reload the page to see its latest state."))
    db.session.refresh(interview)


def propose_manual(actor: User, unit: Unit, card_ids: list[int], reason: str, *, clock: Clock) -> Interview:
    """A supervisor proposes an interview by hand, with a reason and (optionally) the cards behind it."""
    if not permissions.can_change_interviews(actor):
        raise Refused(403, _("Only supervisors may propose an interview."))
    reason = (reason or "").strip()
    if not reason:
        raise Refused(422, _("Proposing an interview needs a reason."))
    if not unit.is_active:
        raise Refused(422, _("This unit is deactivated; no interview can be proposed."))
    wanted = sorted(set(card_ids or []))
    cards = db.session.scalars(select(CardEvent).where(CardEvent.id.in_(wanted))).all() if wanted else []
    if len(cards) != len(wanted) or any(c.unit_id != unit.id for c in cards):
        raise Refused(422, _("The chosen cards do not belong to this unit."))
    if any(c.is_withdrawn for c in cards):
        raise Refused(422, _("A withdrawn card cannot be a ground for an interview."))
    interview = Interview(
        unit_id=unit.id, trigger="manual", trigger_key=None, state="proposed", proposed_on=clock.today(),
        proposed_by_id=actor.id, place="", interviewer_name="", bring="", minutes="", cards=list(cards),
    )
    db.session.add(interview)
    db.session.flush()
    audit.record(actor, "interview.propose", interview, summary=f"{unit.name}：{reason}",
                 after={"unit_id": unit.id, "trigger": "manual", "cards": wanted, "reason": reason, "state": "proposed"})
    notify.send([s for s in notify.supervisors() if s != actor.id] + notify.unit_staff([unit.id])[unit.id],
                "interview.proposed", f"拟对{unit.name}进行约谈", body=reason,
                link=f"/interviews/{interview.id}", key=f"interview:{interview.id}", now=clock.now())
    return interview


def schedule(
    actor: User,
    interview: Interview,
    when: datetime,
    place: str,
    interviewer_id: int | None,
    interviewer_name: str,
    bring: str,
    *,
    clock: Clock,
) -> None:
    """Set (or change) the time, place, interviewer and what to bring; the unit's staff are told."""
    if not permissions.can_change_interviews(actor):
        raise Refused(403, _("Only supervisors may schedule an interview."))
    _refuse_unless("schedule", interview)
    if when.tzinfo is None:
        raise ValueError("the interview time must be timezone-aware")
    when = when.astimezone(UTC)
    if when <= clock.now():
        raise Refused(422, _("The interview time must be in the future."))
    place = (place or "").strip()
    if not place:
        raise Refused(422, _("Please enter the place of the interview."))
    interviewer_name = (interviewer_name or "").strip()
    if interviewer_id is not None:
        leader = db.session.get(User, interviewer_id)
        if leader is None or not leader.is_active_account or not leader.has_role("leader"):
            raise Refused(422, _("The interviewer must be an active county leader's account."))
        interviewer_name = interviewer_name or interviewer_label(leader)
    if not interviewer_name:
        raise Refused(422, _("Please choose or enter the interviewer."))
    before = audit.snapshot(interview, FIELDS)
    action = "interview.reschedule" if interview.state == "scheduled" else "interview.schedule"
    _move("schedule", interview, {
        "state": "scheduled", "scheduled_for": when, "place": place, "interviewer_id": interviewer_id,
        "interviewer_name": interviewer_name, "bring": (bring or "").strip(),
    })
    local = clock.local(when).strftime("%Y-%m-%d %H:%M")
    unit = interview.unit
    audit.record(actor, action, interview, summary=f"{unit.name}：{local} {place}，约谈人{interviewer_name}",
                 before=before, after=audit.snapshot(interview, FIELDS))
    staff = notify.unit_staff([unit.id])[unit.id]
    body = f"约谈人：{interviewer_name}。请单位主要负责人{unit.head_name}准时参加。" if unit.head_name else f"约谈人：{interviewer_name}。请单位主要负责人准时参加。"
    if interview.bring:
        body += f"请携带：{interview.bring}"
    notify.send(staff + [interviewer_id], "interview.scheduled", f"{unit.name}约谈定于{local}在{place}举行",
                body=body, link=f"/interviews/{interview.id}",
                key=f"interview-scheduled:{interview.id}:{when.isoformat()}", now=clock.now())


def hold(actor: User, interview: Interview, minutes: str, *, clock: Clock) -> None:
    """Record the minutes: the interview has taken place."""
    if not permissions.can_record_minutes(actor, interview):
        raise Refused(403, _("Only supervisors or this interview's interviewer may record the minutes."))
    _refuse_unless("hold", interview)
    minutes = (minutes or "").strip()
    if not minutes:
        raise Refused(422, _("Please enter the minutes."))
    now = clock.now()
    if interview.scheduled_for is not None and now < interview.scheduled_for:
        raise Refused(422, _("The interview's scheduled time has not come yet, so no minutes can be recorded; if it was held early, change its time first."))
    before = audit.snapshot(interview, FIELDS)
    _move("hold", interview, {"state": "held", "minutes": minutes, "held_at": now})
    audit.record(actor, "interview.hold", interview, summary=f"{interview.unit.name}：已约谈",
                 before=before, after=audit.snapshot(interview, FIELDS))


def close(actor: User, interview: Interview, *, clock: Clock) -> None:
    """办结: the follow-up is done."""
    if not permissions.can_change_interviews(actor):
        raise Refused(403, _("Only supervisors may close an interview."))
    _refuse_unless("close", interview)
    before = audit.snapshot(interview, FIELDS)
    _move("close", interview, {"state": "closed", "closed_at": clock.now()})
    audit.record(actor, "interview.close", interview, summary=f"{interview.unit.name}：已办结",
                 before=before, after=audit.snapshot(interview, FIELDS))


def cancel(actor: User, interview: Interview, reason: str, *, clock: Clock) -> None:
    """Cancel a proposed or scheduled interview, with a reason; if it was scheduled, the unit is told."""
    if not permissions.can_change_interviews(actor):
        raise Refused(403, _("Only supervisors may cancel an interview."))
    _refuse_unless("cancel", interview)
    reason = (reason or "").strip()
    if not reason:
        raise Refused(422, _("Cancelling an interview needs a reason."))
    was_scheduled = interview.state == "scheduled"
    before = audit.snapshot(interview, FIELDS)
    _move("cancel", interview, {"state": "cancelled"})
    after = audit.snapshot(interview, FIELDS) | {"reason": reason}
    unit = interview.unit
    audit.record(actor, "interview.cancel", interview, summary=f"{unit.name}：{reason}", before=before, after=after)
    if was_scheduled:
        staff = notify.unit_staff([unit.id])[unit.id]
        notify.send(staff + [interview.interviewer_id], "interview.cancelled", f"{unit.name}的约谈已取消",
                    body=reason, link=f"/interviews/{interview.id}",
                    key=f"interview-cancelled:{interview.id}", now=clock.now())
