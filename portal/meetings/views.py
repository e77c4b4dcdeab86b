"""Meetings: the list, convening one, its page (agenda, minutes, decisions), the minutes PDF."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from portal import permissions
from portal.core.clock import get_clock
from portal.core.errors import Refused, render_error
from portal.core.extensions import db
from portal.core.forms import EmptyForm, options
from portal.core.web import apply_change, load_or_403
from portal.meetings import services
from portal.meetings.forms import DecisionForm, MeetingForm, MinutesForm
from portal.models import Meeting, Problem, Unit, User

bp = Blueprint("meetings", __name__)


@bp.context_processor
def _labels():
    return {"meeting_kind_label": services.KIND_LABELS.get, "meeting_state_label": services.STATE_LABELS.get}


def _load(meeting_id: int) -> Meeting:
    return load_or_403(Meeting, meeting_id, permissions.can_view_meeting)


@bp.route("/meetings")
@login_required
def index():
    if not permissions.can_view_meetings(current_user):
        abort(403)
    rows = db.session.scalars(select(Meeting).order_by(Meeting.held_on.desc(), Meeting.id.desc()).limit(200)).all()
    return render_template("meetings/index.html", rows=rows, may_run=permissions.can_run_meetings(current_user))


def _meeting_form() -> MeetingForm:
    form = MeetingForm()
    form.chair_id.choices = options(((u.id, f"{u.display_name} {u.title}".strip()) for u in services.chairs()), blank="— 无 —")
    return form


@bp.route("/meetings/new", methods=["GET", "POST"])
@login_required
def new():
    if not permissions.can_run_meetings(current_user):
        abort(403)
    form = _meeting_form()
    if not form.is_submitted():
        form.held_on.data = get_clock().today()
        if current_user.has_role("leader"):
            form.chair_id.data = current_user.id
        return render_template("meetings/new.html", form=form)

    def change():
        chair = db.session.get(User, form.chair_id.data) if form.chair_id.data else None
        return services.create(current_user, kind=form.kind.data, title=form.title.data, held_on=form.held_on.data,
                               chair=chair, place=form.place.data, attendees=form.attendees.data, clock=get_clock())

    def refused(status: int, message: str):
        if not form.errors:
            form.form_errors.append(message)
        return render_template("meetings/new.html", form=form), status

    def done(meeting: Meeting):
        flash("会议已创建，议题已按数据生成。", "success")
        return redirect(url_for("meetings.detail", meeting_id=meeting.id), 303)

    return apply_change(change, form=form, refused=refused, done=done)


def _decision_form(meeting: Meeting, agenda) -> DecisionForm:
    form = DecisionForm()
    units = services.units()
    form.lead_unit_id.choices = options(((u.id, u.name) for u in units), blank="— 请选择 —")
    form.co_unit_ids.choices = options((u.id, u.name) for u in units)
    form.problem_id.choices = options(((p.id, f"{p.project.name}：{p.title}") for p in agenda.problems if p.state != "closed"),
                                      blank="— 无 —")
    return form


@bp.route("/meetings/<int:meeting_id>")
@login_required
def detail(meeting_id: int):
    return render_detail(meeting_id)


def render_detail(meeting_id: int, *, minutes_form=None, decision_form=None, status: int = 200):
    meeting = _load(meeting_id)
    agenda = services.agenda(meeting)
    if minutes_form is None:
        minutes_form = MinutesForm(formdata=None, obj=meeting)
    if decision_form is None:
        decision_form = _decision_form(meeting, agenda)
    return render_template(
        "meetings/detail.html", meeting=meeting, agenda=agenda, minutes_form=minutes_form, decision_form=decision_form,
        may_record=permissions.can_record_meeting(current_user, meeting), issue_form=EmptyForm(formdata=None),
        today=get_clock().today(),
    ), status


@bp.route("/meetings/<int:meeting_id>/minutes", methods=["POST"])
@login_required
def minutes(meeting_id: int):
    meeting = _load(meeting_id)
    if not permissions.can_record_meeting(current_user, meeting):
        abort(403)
    form = MinutesForm()

    def refused(status: int, message: str):
        if not form.errors:
            flash(message, "error")
        return render_detail(meeting.id, minutes_form=form, status=status)

    return apply_change(
        lambda: services.record_minutes(current_user, meeting, form.minutes.data, form.attendees.data, clock=get_clock()),
        form=form, refused=refused, done=lambda _r: _back(meeting, "会议纪要已保存。"))


@bp.route("/meetings/<int:meeting_id>/decide", methods=["POST"])
@login_required
def decide(meeting_id: int):
    meeting = _load(meeting_id)
    if not permissions.can_record_meeting(current_user, meeting):
        abort(403)
    agenda = services.agenda(meeting)
    form = _decision_form(meeting, agenda)

    def change():
        return services.decide(
            current_user, meeting, title=form.title.data, text=form.text.data, proposal=form.proposal.data,
            lead_unit=db.session.get(Unit, form.lead_unit_id.data),
            co_units=[db.session.get(Unit, i) for i in (form.co_unit_ids.data or [])], is_major=form.is_major.data,
            problem=db.session.get(Problem, form.problem_id.data) if form.problem_id.data else None, clock=get_clock())

    def refused(status: int, message: str):
        if not form.errors:
            flash(message, "error")
        return render_detail(meeting.id, decision_form=form, status=status)

    return apply_change(change, form=form, refused=refused,
                        done=lambda a: _back(meeting, f"已当场交办{a.project.lead_unit.name}，督办通知单已签发。"))


@bp.route("/meetings/<int:meeting_id>/issue", methods=["POST"])
@login_required
def issue(meeting_id: int):
    meeting = _load(meeting_id)
    if not permissions.can_record_meeting(current_user, meeting):
        abort(403)
    form = EmptyForm()

    def refused(status: int, message: str):
        flash(message, "error")
        return render_detail(meeting.id, status=status)

    return apply_change(lambda: services.issue_minutes(current_user, meeting, clock=get_clock()), form=form,
                        refused=refused, done=lambda _d: redirect(url_for("meetings.minutes_pdf", meeting_id=meeting.id), 303))


def _back(meeting: Meeting, message: str):
    flash(message, "success")
    return redirect(url_for("meetings.detail", meeting_id=meeting.id), 303)


@bp.route("/meetings/<int:meeting_id>/minutes.pdf")
@login_required
def minutes_pdf(meeting_id: int):
    """会议纪要 as issued: the archived bytes; reading numbers nothing."""
    meeting = _load(meeting_id)
    try:
        pdf = services.archived_pdf(services.minutes_of(meeting))
    except Refused as refusal:
        return render_error(refusal.status, refusal.message)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename=\"minutes-{meeting.id}.pdf\""})
