"""Assignments (交办事项): the list with the units' 13710 rates, handing out, one matter's page, sign, report, notice."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from portal import permissions
from portal.assignments import services
from portal.assignments.forms import HandOutForm, ReportForm, SignForm
from portal.core.clock import get_clock
from portal.core.errors import Refused, render_error
from portal.core.extensions import db
from portal.core.forms import options
from portal.core.inputs import arg_id, arg_page, arg_year, parse_id
from portal.core.security import safe_next
from portal.core.web import apply_change, load_or_403
from portal.models import ASSIGNMENT_SOURCES, Assignment, Problem, Unit, User, UserRole

bp = Blueprint("assignments", __name__)

PAGE_SIZE = 50


@bp.context_processor
def _labels():
    return {"assignment_source_label": services.SOURCE_LABELS.get, "matter_step_label": services.STEP_LABELS.get}


def _load(assignment_id: int) -> Assignment:
    return load_or_403(Assignment, assignment_id, permissions.can_view_assignment)


@bp.route("/assignments")
@login_required
def index():
    if not permissions.can_view_assignments(current_user):
        abort(403)
    today = get_clock().today()
    year = arg_year("year", today.year)
    state = request.args.get("state", "")
    source = request.args.get("source", "")
    sees_all = permissions.can_view_all_units(current_user)
    unit_id = arg_id("unit_id") if sees_all else None
    stmt = services.visible(current_user, state=state, unit_id=unit_id, source=source)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page = arg_page()
    rows = db.session.scalars(stmt.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).unique().all()
    return render_template(
        "assignments/index.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
        state=state, source=source, unit_id=unit_id, sources=ASSIGNMENT_SOURCES, year=year, today=today,
        steps=services.steps_of, step_state=services.step_state,
        rates=services.rates(date(year, 1, 1), date(year, 12, 31)),
        units=db.session.scalars(select(Unit).order_by(Unit.sort_order, Unit.id)).all() if sees_all else [],
        may_hand_out=permissions.can_hand_out(current_user),
    )


def _hand_out_form() -> HandOutForm:
    form = HandOutForm()
    units = services.unit_choices()
    form.source.choices = options((s, services.SOURCE_LABELS[s]) for s in ASSIGNMENT_SOURCES)
    form.lead_unit_id.choices = options(((u.id, u.name) for u in units), blank="— 请选择 —")
    form.co_unit_ids.choices = options((u.id, u.name) for u in units)
    leaders = db.session.scalars(select(User).join(UserRole, UserRole.user_id == User.id).where(
        UserRole.role == "leader", User.is_active_account).order_by(User.display_name, User.id)).all()
    form.lead_leader_id.choices = options(((u.id, f"{u.display_name} {u.title}".strip()) for u in leaders), blank="— 无 —")
    return form


@bp.route("/assignments/new", methods=["GET", "POST"])
@login_required
def new():
    if not permissions.can_hand_out(current_user):
        abort(403)
    form = _hand_out_form()
    if request.method == "GET":
        problem_id = arg_id("problem_id")
        problem = db.session.get(Problem, problem_id) if problem_id else None
        if problem is not None:
            form.source.data, form.problem_id.data = "problem", str(problem.id)
            form.title.data, form.text.data = problem.title, problem.need
            form.lead_unit_id.data = problem.unit_id
            form.source_ref.data = f"问题/堵点：{problem.project.name}"
        elif request.args.get("source") in ASSIGNMENT_SOURCES:
            form.source.data = request.args["source"]
        return render_template("assignments/new.html", form=form, problem=problem)
    problem_id = parse_id(form.problem_id.data) if form.problem_id.data else None
    problem = db.session.get(Problem, problem_id) if problem_id else None

    def change():
        return services.hand_out(
            current_user, source=form.source.data, source_ref=form.source_ref.data, title=form.title.data,
            text=form.text.data, proposal=form.proposal.data, lead_unit=db.session.get(Unit, form.lead_unit_id.data),
            co_units=[db.session.get(Unit, i) for i in (form.co_unit_ids.data or [])], is_major=form.is_major.data,
            lead_leader=db.session.get(User, form.lead_leader_id.data) if form.lead_leader_id.data else None,
            problem=problem, clock=get_clock())

    def refused(status: int, message: str):
        if not form.errors:
            form.form_errors.append(message)
        return render_template("assignments/new.html", form=form, problem=problem), status

    def done(assignment: Assignment):
        flash("已交办，督办通知单已签发，承办单位已收到提醒。", "success")
        return redirect(url_for("assignments.detail", assignment_id=assignment.project_id), 303)

    return apply_change(change, form=form, refused=refused, done=done)


@bp.route("/assignments/<int:assignment_id>")
@login_required
def detail(assignment_id: int):
    return render_detail(assignment_id)


def render_detail(assignment_id: int, *, report_form: ReportForm | None = None, status: int = 200):
    assignment = _load(assignment_id)
    today = get_clock().today()
    steps = services.steps_of(assignment)
    return render_template(
        "assignments/detail.html", assignment=assignment, project=assignment.project, steps=steps, today=today,
        step_state=services.step_state, may_handle=permissions.can_handle_assignment(current_user, assignment),
        report_form=report_form or ReportForm(formdata=None), sign_form=SignForm(formdata=None),
    ), status


@bp.route("/assignments/<int:assignment_id>/sign", methods=["POST"])
@login_required
def sign(assignment_id: int):
    assignment = _load(assignment_id)
    form = SignForm()
    back = safe_next(form.next.data) or url_for("assignments.detail", assignment_id=assignment.project_id)

    def refused(status: int, message: str):
        flash(message, "error")
        return render_detail(assignment.project_id, status=status)

    def done(node):
        flash("已签收。" if node.submitted_on <= node.deadline else "已签收（超过签收时限）。", "success")
        return redirect(back, 303)

    return apply_change(lambda: services.sign(current_user, assignment, clock=get_clock()), form=form,
                        refused=refused, done=done)


@bp.route("/assignments/<int:assignment_id>/report", methods=["POST"])
@login_required
def report(assignment_id: int):
    assignment = _load(assignment_id)
    if not permissions.can_handle_assignment(current_user, assignment):
        abort(403)
    form = ReportForm()

    def refused(status: int, message: str):
        if not form.errors:
            flash(message, "error")
        return render_detail(assignment.project_id, report_form=form, status=status)

    def done(_node):
        flash("办理情况已反馈；办结后请在办结节点提交销号申请。", "success")
        return redirect(url_for("assignments.detail", assignment_id=assignment.project_id), 303)

    return apply_change(lambda: services.report(current_user, assignment, form.text.data, clock=get_clock()),
                        form=form, refused=refused, done=done)


@bp.route("/assignments/<int:assignment_id>/notice.pdf")
@login_required
def notice(assignment_id: int):
    """The 督办通知单 as issued at the hand-out: the archived bytes."""
    assignment = _load(assignment_id)
    try:
        document = services.notice_of(assignment)
        pdf = services.archived_pdf(document)
    except Refused as refusal:
        return render_error(refusal.status, refusal.message)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename=\"assignment-{assignment.project_id}.pdf\""})
