"""Projects and their nodes: supervisors set them up, others read them."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from portal.core.errors import Refused
from portal.core.extensions import db
from portal.core.forms import EmptyForm, options
from portal.core.inputs import MAX_ID, arg_id, arg_page, arg_year, parse_int
from portal.core.web import apply_change, flash_redirect, load_or_403
from portal.models import STAGES, Category, Node, Project, Theme, Unit, User, UserRole
from portal.permissions import (
    can_report_investment,
    can_setup_projects,
    can_view_all_units,
    can_view_project,
    requires,
)
from portal.projects import services
from portal.projects.forms import CarryForm, InvestmentForm, NodeForm, ProjectForm

bp = Blueprint("projects", __name__)

PAGE_SIZE = 30


def _choices(model, blank: bool):
    rows = db.session.scalars(select(model).where(model.is_active).order_by(model.sort_order, model.id))
    return options(((r.id, r.name) for r in rows), blank=_("— none —") if blank else None)


def _project_units_first(project: Project, blank: bool):
    """Unit choices with the project's own first: its lead unit, then its co-units (联动单位), then the rest."""
    units = db.session.scalars(select(Unit).where(Unit.is_active).order_by(Unit.sort_order, Unit.id)).all()
    lead = {project.lead_unit_id}
    co = {u.id for u in project.co_units} - lead
    rank = {**{i: 0 for i in lead}, **{i: 1 for i in co}}
    tag = {0: _("(lead unit)"), 1: _("(co-unit)")}
    ordered = sorted(units, key=lambda u: rank.get(u.id, 2))
    return options(((u.id, f"{u.name}{tag.get(rank.get(u.id), '')}") for u in ordered),
                   blank=_("— none —") if blank else None)


def _users_with_role(role: str):
    stmt = (
        select(User)
        .join(UserRole)
        .where(UserRole.role == role, User.is_active_account)
        .order_by(User.display_name)
    )
    return db.session.scalars(stmt).all()


@bp.route("/projects")
@login_required
def index():
    if not (can_setup_projects(current_user) or can_view_all_units(current_user)):
        abort(403)
    args = request.args
    stmt = select(Project).options(selectinload(Project.category), selectinload(Project.lead_unit))
    q = (args.get("q") or "").strip()
    if q:
        stmt = stmt.where(or_(Project.name.contains(q), Project.code.contains(q)))
    for name, value in (("year", arg_year("year")), ("category_id", arg_id("category_id")),
                        ("lead_unit_id", arg_id("lead_unit_id"))):
        if value:
            stmt = stmt.where(getattr(Project, name) == value)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    page = arg_page()
    rows = db.session.scalars(stmt.order_by(Project.year.desc(), Project.code).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    node_counts = dict(
        db.session.execute(
            select(Node.project_id, func.count(Node.id)).where(Node.project_id.in_([p.id for p in rows])).group_by(Node.project_id)
        ).all()
    )
    return render_template(
        "projects/index.html",
        rows=rows,
        node_counts=node_counts,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        q=q,
        categories=db.session.scalars(select(Category).order_by(Category.sort_order)).all(),
        years=sorted({y for (y,) in db.session.execute(select(Project.year).distinct())}, reverse=True),
    )


def _project_form(project: Project | None) -> ProjectForm:
    form = ProjectForm(obj=project)
    form.editing_id = project.id if project else None
    form.category_id.choices = _choices(Category, blank=True)
    form.theme_id.choices = _choices(Theme, blank=True)
    form.lead_unit_id.choices = _choices(Unit, blank=True)
    form.co_unit_ids.choices = _choices(Unit, blank=False)
    form.lead_leader_id.choices = options(
        ((u.id, u.display_name) for u in _users_with_role("leader")), blank=_("— none —")
    )
    form.contact_ids.choices = options((u.id, f"{u.display_name}（{u.username}）") for u in _users_with_role("contact"))
    if request.method == "GET" and project is not None:
        form.co_unit_ids.data = [u.id for u in project.co_units]
        form.contact_ids.data = [u.id for u in project.contacts]
    return form


@bp.route("/projects/new", methods=["GET", "POST"])
@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@requires(can_setup_projects)
def project_edit(project_id: int | None = None):
    project = db.get_or_404(Project, project_id) if project_id else None
    form = _project_form(project)
    if request.method == "POST":
        if not form.validate():
            return render_template("projects/project_form.html", form=form, project=project), 422
        data = {name: form[name].data for name in services.PROJECT_FIELDS}
        for money in ("investment_total", "investment_planned", "investment_completed"):
            data[money] = data[money] or 0
        data["description"] = data["description"] or ""
        co_units = [db.session.get(Unit, i) for i in form.co_unit_ids.data or []]
        contacts = [db.session.get(User, i) for i in form.contact_ids.data or []]
        saved = services.save_project(current_user, project or Project(), data, co_units, contacts)
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("projects.detail", project_id=saved.id), 303)
    if project is None and request.method == "GET":
        from portal.core.clock import get_clock

        form.year.data = get_clock().today().year
    return render_template("projects/project_form.html", form=form, project=project)


@bp.route("/projects/<int:project_id>")
@login_required
def detail(project_id: int):
    project = load_or_403(Project, project_id, can_view_project)
    return _detail_page(project)


def _investment_form(project: Project, today) -> InvestmentForm:
    form = InvestmentForm()
    months = services.reportable_months(project, today)
    form.month.choices = options((m.isoformat(), f"{m.year}年{m.month}月") for m in months)
    if form.month.data is None and months:
        form.month.data = months[0].isoformat()
    return form


def _detail_page(project: Project, investment_form: InvestmentForm | None = None, error: str | None = None,
                 status: int = 200):
    from portal.core.clock import get_clock

    clock = get_clock()
    today = clock.today()
    nodes = db.session.scalars(
        select(Node)
        .where(Node.project_id == project.id)
        .options(selectinload(Node.unit), selectinload(Node.responsible_user))
        .order_by(Node.deadline, Node.id)
    ).all()
    progress = services.progress_of(project, today)
    responsible = {n.unit_id for n in nodes}
    without_nodes = [u for u in [project.lead_unit, *project.co_units] if u is not None and u.id not in responsible]
    if investment_form is None and can_report_investment(current_user, project):
        investment_form = _investment_form(project, today)
    return render_template(
        "projects/detail.html", project=project, nodes=nodes, form=EmptyForm(), progress=progress, stages=STAGES,
        without_nodes=list(dict.fromkeys(without_nodes)), investment_form=investment_form, investment_error=error,
        investment=services.investment_history(project), clock=clock,
    ), status


@bp.route("/projects/<int:project_id>/investment", methods=["POST"])
@login_required
def report_investment(project_id: int):
    """A month's completed investment (月报), from the project page."""
    from portal.core.clock import get_clock

    project = load_or_403(Project, project_id, can_report_investment)
    today = get_clock().today()
    form = _investment_form(project, today)

    def change():
        month = date.fromisoformat(form.month.data)
        return services.report_investment(current_user, project, month, form.completed.data, form.note.data or "", today)

    return apply_change(
        change, form=form,
        refused=lambda status, message: _detail_page(
            db.session.get(Project, project_id), form, None if status == 422 and form.errors else message, status),
        done=lambda report: flash_redirect(
            _("Completed investment for %(month)s saved.", month=f"{report.month.year}年{report.month.month}月"),
            "success", url_for("projects.detail", project_id=project_id) + "#investment"),
    )


@bp.route("/projects/<int:project_id>/carry", methods=["GET", "POST"])
@requires(can_setup_projects)
def carry(project_id: int):
    """结转: carry the project into next year with its open nodes; a page that says what moves, then the move."""
    from portal.core.clock import get_clock

    project = db.get_or_404(Project, project_id)
    today = get_clock().today()
    form = CarryForm()
    if request.method == "GET":
        form.code.data = services.carried_code(project)
        form.end_date.data = max(project.end_date or date.min, date(project.year + 1, 12, 31))
    moving = [n for n in project.nodes if n.is_open]
    staying = [n for n in project.nodes if not n.is_open]

    def page(status: int, error: str | None = None):
        return render_template("projects/carry.html", project=project, form=form, moving=moving, staying=staying,
                               problem=error or services.carry_problem(project, today)), status

    if request.method == "GET":
        return page(200)
    return apply_change(
        lambda: services.carry_over(current_user, project, form.code.data, form.end_date.data, today),
        form=form,
        refused=lambda status, message: page(status, None if status == 422 and form.errors else message),
        done=lambda carried: flash_redirect(
            _("Carried into %(year)d: %(count)d open nodes moved with it.", year=carried.year, count=len(moving)),
            "success", url_for("projects.detail", project_id=carried.id)),
    )


@bp.route("/projects/<int:project_id>/delete", methods=["POST"])
@requires(can_setup_projects)
def project_delete(project_id: int):
    project = db.get_or_404(Project, project_id)
    return apply_change(
        lambda: services.delete_project(current_user, project),
        refused=lambda _status, message: flash_redirect(message, "error", url_for("projects.detail", project_id=project_id)),
        done=lambda _result: flash_redirect(_("Project deleted."), "success", url_for("projects.index")),
    )


def _node_form(project: Project, node: Node | None, *, fresh: bool = False) -> NodeForm:
    """The node form: bound to what was posted, or (``fresh``) filled from the row alone."""
    form = NodeForm(formdata=None, obj=node, project=project) if fresh else NodeForm(obj=node, project=project)
    form.unit_id.choices = _project_units_first(project, blank=True)
    form.co_unit_ids.choices = _project_units_first(project, blank=False)
    if request.method == "GET" or fresh:
        if node is not None:
            form.co_unit_ids.data = [u.id for u in node.co_units]
        else:  # a new node: the unit asked for (the project page's "add a node for this unit"), else the lead unit
            wanted = arg_id("unit_id")
            form.unit_id.data = wanted if wanted in {c.value for c in form.unit_id.choices} else project.lead_unit_id
    people = db.session.scalars(
        select(User).where(User.is_active_account, User.unit_id.is_not(None)).order_by(User.unit_id, User.display_name)
    )
    form.responsible_user_id.choices = options(
        ((u.id, f"{u.display_name}（{u.unit.label}）") for u in people), blank=_("— none —")
    )
    if (request.method == "GET" or fresh) and node is not None:
        form.version.data = str(node.version)
    elif request.method == "POST":
        # Only the version the browser sent counts; never fill it in from the row,
        # or a form without one would silently overwrite a concurrent change.
        form.version.data = request.form.get("version", "")
    return form


@bp.route("/projects/<int:project_id>/nodes/new", methods=["GET", "POST"])
@bp.route("/nodes/<int:node_id>/edit", methods=["GET", "POST"])
@requires(can_setup_projects)
def node_edit(project_id: int | None = None, node_id: int | None = None):
    node = db.get_or_404(Node, node_id) if node_id else None
    project = node.project if node else db.get_or_404(Project, project_id)
    form = _node_form(project, node)
    context = {"form": form, "node": node, "project": project}
    if request.method == "POST":
        if not form.validate():
            return render_template("projects/node_form.html", **context), 422
        data = {name: form[name].data for name in services.NODE_FIELDS}
        expected = parse_int(form.version.data, 0, MAX_ID)
        if node is not None and expected is None:
            form.form_errors.append(_("The form is missing its version; reload the page."))
            return render_template("projects/node_form.html", **context), 422
        try:
            co_units = [db.session.get(Unit, i) for i in form.co_unit_ids.data or []]
            saved = services.save_node(current_user, node or Node(project_id=project.id), data, expected, co_units)
            db.session.commit()
        except (services.StaleError, StaleDataError):
            db.session.rollback()
            fresh = db.session.get(Node, node_id)
            # Not bound to the posted fields: the user must see the other change, not their own again.
            form = _node_form(project, fresh, fresh=True)
            form.form_errors.append(
                _("Someone else changed this node while you were editing. The form now shows their version; make your change again.")
            )
            return render_template("projects/node_form.html", form=form, node=fresh, project=project), 409
        except Refused as refused:
            db.session.rollback()
            form.form_errors.append(refused.message)
            return render_template("projects/node_form.html", **context), refused.status
        flash(_("Saved."), "success")
        return redirect(url_for("projects.detail", project_id=saved.project_id), 303)
    return render_template("projects/node_form.html", **context)


@bp.route("/nodes/<int:node_id>/delete", methods=["POST"])
@requires(can_setup_projects)
def node_delete(node_id: int):
    node = db.get_or_404(Node, node_id)
    back = url_for("projects.detail", project_id=node.project_id)
    return apply_change(
        lambda: services.delete_node(current_user, node),
        refused=lambda _status, message: flash_redirect(message, "error", back),
        done=lambda _result: flash_redirect(_("Node deleted."), "success", back),
    )
