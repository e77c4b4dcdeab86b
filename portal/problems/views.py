"""Problems (问题/堵点): the list, raising one, one problem's page and its steps."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from portal import permissions
from portal.core.clock import get_clock
from portal.core.extensions import db
from portal.core.forms import options
from portal.core.inputs import arg_id, arg_page, parse_id
from portal.core.web import apply_change, load_or_403
from portal.models import PROBLEM_LEVELS, PROBLEM_STATES, AuditEntry, Node, Problem, Project, Unit
from portal.problems import services
from portal.problems.forms import RaiseForm, StepForm

bp = Blueprint("problems", __name__)

PAGE_SIZE = 50


@bp.context_processor
def _labels():
    return {"problem_level_label": services.LEVEL_LABELS.get, "problem_state_label": services.STATE_LABELS.get,
            "problem_urgency_label": services.URGENCY_LABELS.get, "problem_step_label": services.STEP_LABELS.get,
            "problem_action_label": lambda code: services.ACTION_LABELS.get(code, code)}


@bp.route("/problems")
@login_required
def index():
    args = request.args
    filters = services.Filters(
        state=args.get("state", "") if args.get("state") in PROBLEM_STATES else "",
        level=args.get("level", "") if args.get("level") in PROBLEM_LEVELS else "",
        type_id=arg_id("type_id"), unit_id=arg_id("unit_id"), project_id=arg_id("project_id"),
        mine=args.get("mine") == "1",
    )
    stmt = services.visible(current_user, filters)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page = arg_page()
    rows = db.session.scalars(stmt.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).unique().all()
    today = get_clock().today()
    late = {p.id: due for p, due in services.overdue(today, limit=10_000)}
    sees_all = permissions.can_view_all_units(current_user)
    return render_template(
        "problems/index.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
        filters=filters, late=late, types=services.types(active_only=False), states=PROBLEM_STATES,
        levels=PROBLEM_LEVELS,
        units=db.session.scalars(select(Unit).order_by(Unit.sort_order, Unit.id)).all() if sees_all else [],
        may_raise=permissions.can_raise_problems(current_user),
    )


def _raise_form(project_id: int | None) -> RaiseForm:
    form = RaiseForm()
    projects = services.projects_for(current_user)
    form.project_id.choices = options(((p.id, f"{p.code} {p.name}") for p in projects), blank="— 请选择 —")
    nodes = []
    if project_id and any(p.id == project_id for p in projects):
        nodes = db.session.scalars(select(Node).where(Node.project_id == project_id).order_by(Node.deadline, Node.id)).all()
    form.node_id.choices = options(((n.id, f"{n.deadline.isoformat()} {n.title}") for n in nodes), blank="— 项目整体 —")
    form.type_id.choices = options(((t.id, t.name) for t in services.types()), blank="— 请选择 —")
    return form


@bp.route("/problems/new", methods=["GET", "POST"])
@login_required
def new():
    if not permissions.can_raise_problems(current_user):
        abort(403)
    if request.method == "GET":
        project_id = arg_id("project_id")
        form = _raise_form(project_id)
        form.project_id.data, form.node_id.data = project_id, arg_id("node_id")
        return render_template("problems/new.html", form=form)
    form = _raise_form(optional_int(request.form.get("project_id")))

    def change():
        project = db.session.get(Project, form.project_id.data)
        node = db.session.get(Node, form.node_id.data) if form.node_id.data else None
        return services.raise_problem(current_user, project, node, form.type_id.data, form.title.data, form.need.data,
                                      form.needed_from.data, form.urgency.data, clock=get_clock())

    def refused(status: int, message: str):
        if not form.errors:
            form.form_errors.append(message)
        return render_template("problems/new.html", form=form), status

    def done(problem: Problem):
        flash("问题已提交，将由分管领导协调；督查室同时知悉。", "success")
        return redirect(url_for("problems.detail", problem_id=problem.id), 303)

    return apply_change(change, form=form, refused=refused, done=done)


def optional_int(raw) -> int | None:
    return parse_id(raw) if raw else None


@bp.route("/problems/<int:problem_id>")
@login_required
def detail(problem_id: int):
    return render_detail(problem_id)


def render_detail(problem_id: int, *, form: StepForm | None = None, status: int = 200):
    problem = load_or_403(Problem, problem_id, permissions.can_view_problem)
    history = db.session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "problem", AuditEntry.object_id == problem.id)
        .order_by(AuditEntry.at, AuditEntry.id).limit(200)
    ).all()
    today = get_clock().today()
    due = dict((p.id, d) for p, d in services.overdue(today, limit=10_000)).get(problem.id)
    return render_template(
        "problems/detail.html", problem=problem, history=history, steps=services.next_steps(current_user, problem),
        form=form or StepForm(formdata=None), next_level=services.next_level(problem), overdue_since=due,
        may_hand_out=permissions.can_hand_out(current_user), clock=get_clock(),
    ), status


@bp.route("/problems/<int:problem_id>/act", methods=["POST"])
@login_required
def act(problem_id: int):
    problem = load_or_403(Problem, problem_id, permissions.can_view_problem)
    form = StepForm()

    def refused(status: int, message: str):
        if not form.errors:
            flash(message, "error")
        return render_detail(problem.id, form=form, status=status)

    def done(message: str):
        flash(message, "success")
        return redirect(url_for("problems.detail", problem_id=problem.id), 303)

    return apply_change(lambda: services.act(current_user, problem, form.step.data, form.text.data, clock=get_clock()),
                        form=form, refused=refused, done=done)

