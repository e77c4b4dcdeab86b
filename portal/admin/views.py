"""Administration: leagues, units, users, categories and themes (admins only)."""

from __future__ import annotations

import base64
import binascii
import io
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, or_, select

from portal.admin import orgchart, services
from portal.admin.forms import (
    CalendarDayForm,
    CategoryForm,
    DocumentLayoutForm,
    LeagueForm,
    OrgChartConfirmForm,
    OrgChartUploadForm,
    PolicyForm,
    ThemeForm,
    UnitForm,
    UserForm,
)
from portal.core.clock import get_clock
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.core.forms import EmptyForm, options
from portal.core.inputs import arg_year
from portal.core.web import apply_change, flash_redirect
from portal.models import CalendarDay, Category, League, ScoringPolicy, Theme, Unit, User
from portal.models.policy import DEFAULTS as POLICY_DEFAULTS
from portal.models.policy import policy_on
from portal.permissions import can_manage_org, requires

POLICY_FIELDS = tuple(POLICY_DEFAULTS)

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@requires(can_manage_org)
def _only_admins():
    """Every route here is for administrators; the check runs before any of them."""


def _invalid(template: str, **context):
    return render_template(template, **context), 422


def _counts() -> dict:
    return {
        "leagues": db.session.scalar(select(func.count(League.id))),
        "units": db.session.scalar(select(func.count(Unit.id))),
        "users": db.session.scalar(select(func.count(User.id))),
        "categories": db.session.scalar(select(func.count(Category.id))),
        "themes": db.session.scalar(select(func.count(Theme.id))),
    }


@bp.route("/")
def index():
    return render_template("admin/index.html", counts=_counts(), **_document_context(DocumentLayoutForm(formdata=None)))


def _document_context(form: DocumentLayoutForm) -> dict:
    settings = services.document_settings()
    if not form.is_submitted():
        form.office.data, form.cc.data, form.printer.data = settings["office"], settings["cc"], settings["printer"]
    return {"document_form": form, "document_settings": settings}


@bp.route("/documents", methods=["POST"])
def document_settings():
    """发文机关、抄送、印发机关 and the seal image of every printed document (on the overview page)."""
    form = DocumentLayoutForm()

    def refused(status: int, message):
        return render_template("admin/index.html", counts=_counts(), document_error=message,
                               **_document_context(form)), status

    def change():
        upload = form.seal.data
        data = upload.read(services.SEAL_MAX_BYTES + 1) if upload and getattr(upload, "filename", "") else None
        services.set_document_layout(current_user, form.office.data or "", form.cc.data or "", form.printer.data or "",
                                     data, bool(form.remove_seal.data), now=get_clock().now())

    return apply_change(change, form=form, refused=refused,
                        done=lambda result: flash_redirect(_("Saved."), "success", url_for("admin.index") + "#documents"))


@bp.route("/documents/seal.png")
def seal_image():
    """The seal image as documents print it (administrators check what they uploaded)."""
    data = services.seal_image()
    if data is None:  # none uploaded (or removed since): the settings say so
        return redirect(url_for("admin.index") + "#documents")
    return send_file(io.BytesIO(data), mimetype="image/png", download_name="seal.png")


# -- leagues, categories, themes: small named lists ---------------------------

DICTIONARIES = {
    "leagues": (League, LeagueForm, _l("Leagues"), _l("League")),
    "categories": (Category, CategoryForm, _l("Categories"), _l("Category")),
    "themes": (Theme, ThemeForm, _l("Timeline themes"), _l("Theme")),
}


def _dictionary(kind: str):
    if kind not in DICTIONARIES:
        abort(404)
    return DICTIONARIES[kind]


@bp.route("/<any(leagues,categories,themes):kind>")
def dictionary_list(kind: str):
    model, _form, title, _one = _dictionary(kind)
    rows = db.session.scalars(select(model).order_by(model.sort_order, model.id)).all()
    usage = {row.id: services.usage(row) for row in rows}
    return render_template("admin/dictionary_list.html", kind=kind, rows=rows, usage=usage, title=title, form=EmptyForm())


@bp.route("/<any(leagues,categories,themes):kind>/new", methods=["GET", "POST"])
@bp.route("/<any(leagues,categories,themes):kind>/<int:item_id>/edit", methods=["GET", "POST"])
def dictionary_edit(kind: str, item_id: int | None = None):
    model, form_class, title, one = _dictionary(kind)
    item = db.get_or_404(model, item_id) if item_id else None
    form = form_class(obj=item)
    form.editing_id = item_id
    context = {"kind": kind, "form": form, "item": item, "title": title, "one": one}
    if request.method == "POST":
        if not form.validate():
            return _invalid("admin/dictionary_form.html", **context)
        try:
            if item is None and model is League:
                services.check_league_room()
            data = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
            if data.get("sort_order") is None:
                data["sort_order"] = 0
            services.apply_changes(current_user, item or model(), data, f"{model.__tablename__}.{'update' if item else 'create'}")
        except Refused as error:
            form.form_errors.append(str(error))
            return _invalid("admin/dictionary_form.html", **context)
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("admin.dictionary_list", kind=kind), 303)
    return render_template("admin/dictionary_form.html", **context)


@bp.route("/<any(leagues,categories,themes):kind>/<int:item_id>/delete", methods=["POST"])
def dictionary_delete(kind: str, item_id: int):
    model, *_rest = _dictionary(kind)
    item = db.get_or_404(model, item_id)
    back = url_for("admin.dictionary_list", kind=kind)
    return apply_change(
        lambda: services.delete_entry(current_user, item),
        refused=lambda _status, message: flash_redirect(message, "error", back),
        done=lambda _result: flash_redirect(_("Deleted."), "success", back),
    )


# -- units ----------------------------------------------------------------------


def _league_choices():
    leagues = db.session.scalars(select(League).order_by(League.sort_order, League.id))
    return options(((league.id, league.name) for league in leagues), blank=_("— none —"))


@bp.route("/units")
def units():
    q = (request.args.get("q") or "").strip()
    stmt = select(Unit).order_by(Unit.league_id, Unit.sort_order, Unit.id)
    if q:
        stmt = stmt.where(or_(Unit.name.contains(q), Unit.short_name.contains(q)))
    rows = db.session.scalars(stmt).all()
    return render_template("admin/units.html", rows=rows, q=q)


@bp.route("/units/new", methods=["GET", "POST"])
@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
def unit_edit(unit_id: int | None = None):
    unit = db.get_or_404(Unit, unit_id) if unit_id else None
    form = UnitForm(obj=unit)
    form.editing_id = unit_id
    form.league_id.choices = _league_choices()
    if request.method == "POST":
        if not form.validate():
            return _invalid("admin/unit_form.html", form=form, unit=unit)
        robot = {name: form[name].data or "" for name in ("robot_channel", "robot_url", "robot_secret")}
        data = {name: field.data for name, field in form._fields.items() if name != "csrf_token" and name not in robot}
        data["sort_order"] = data.get("sort_order") or 0
        saved = services.apply_changes(current_user, unit or Unit(), data, "unit.update" if unit else "unit.create")
        services.set_unit_robot(current_user, saved, robot["robot_channel"], robot["robot_url"], robot["robot_secret"])
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("admin.units"), 303)
    return render_template("admin/unit_form.html", form=form, unit=unit)


# -- users ----------------------------------------------------------------------


def _unit_choices(blank: bool = True):
    units = db.session.scalars(select(Unit).where(Unit.is_active).order_by(Unit.sort_order, Unit.id))
    return options(((u.id, u.name) for u in units), blank=_("— none —") if blank else None)


@bp.route("/users")
def users():
    q = (request.args.get("q") or "").strip()
    role = request.args.get("role") or ""
    stmt = select(User).order_by(User.username)
    if q:
        stmt = stmt.where(or_(User.username.contains(q), User.display_name.contains(q)))
    rows = [u for u in db.session.scalars(stmt) if not role or role in u.roles]
    return render_template("admin/users.html", rows=rows, q=q, role=role)


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def user_edit(user_id: int | None = None):
    user = db.get_or_404(User, user_id) if user_id else None
    form = UserForm(obj=user, creating=user is None)
    form.editing_id = user_id
    form.unit_id.choices = _unit_choices()
    form.units_in_charge.choices = _unit_choices(blank=False)
    if request.method == "GET" and user is not None:
        form.roles.data = sorted(user.roles)
        form.units_in_charge.data = [u.id for u in user.units_in_charge]
        form.is_active.data = user.is_active_account
    if request.method == "POST":
        if not form.validate():
            return _invalid("admin/user_form.html", form=form, user=user)
        if user is not None and user.id == current_user.id and (
            "admin" not in form.roles.data or not form.is_active.data
        ):
            form.form_errors.append(_("You cannot remove your own administrator role or deactivate yourself."))
            return _invalid("admin/user_form.html", form=form, user=user)
        data = {
            "username": form.username.data,
            "display_name": form.display_name.data,
            "unit_id": form.unit_id.data,
            "title": form.title.data or "",
            "phone": form.phone.data or "",
            "email": form.email.data or "",
            "is_active_account": form.is_active.data,
        }
        in_charge = [db.session.get(Unit, uid) for uid in form.units_in_charge.data or []]
        services.save_user(current_user, user or User(), data, form.roles.data, in_charge, form.password.data or None)
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("admin.users"), 303)
    return render_template("admin/user_form.html", form=form, user=user)


# -- scoring policy and calendar ----------------------------------------------


@bp.route("/policy", methods=["GET", "POST"])
def policy():
    today = get_clock().today()
    current = policy_on(today)
    form = PolicyForm(today=today)
    if request.method == "GET":
        for name in POLICY_FIELDS:
            form[name].data = getattr(current, name)
        form.effective_from.data = today
    rows = db.session.scalars(select(ScoringPolicy).order_by(ScoringPolicy.effective_from.desc())).all()
    if request.method == "POST":
        if not form.validate():
            return render_template("admin/policy.html", form=form, rows=rows, current=current, today=today), 422
        data = {name: form[name].data for name in (*POLICY_FIELDS, "effective_from", "note")}
        for name in POLICY_FIELDS:  # a field the form left out keeps the value in force
            if data[name] is None:
                data[name] = getattr(current, name)
        services.save_policy(current_user, data, now=get_clock().now())
        db.session.commit()
        flash(_("The new policy is saved; it applies from its date and leaves past cards as they were."), "success")
        return redirect(url_for("admin.policy"), 303)
    return render_template("admin/policy.html", form=form, rows=rows, current=current, today=today)


@bp.route("/calendar", methods=["GET", "POST"])
def calendar():
    year = arg_year("year", get_clock().today().year)
    form = CalendarDayForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("admin/calendar.html", form=form, rows=services.calendar_rows(year), year=year), 422
        services.save_calendar_day(current_user, form.day.data, form.is_workday.data == "1", form.name.data)
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("admin.calendar", year=form.day.data.year), 303)
    return render_template("admin/calendar.html", form=form, rows=services.calendar_rows(year), year=year)


@bp.route("/calendar/<day:day>/delete", methods=["POST"])
def calendar_delete(day: date):
    parsed = day
    row = db.get_or_404(CalendarDay, parsed)
    services.delete_calendar_day(current_user, row)
    db.session.commit()
    flash(_("Deleted."), "success")
    return redirect(url_for("admin.calendar", year=parsed.year), 303)


# -- the organisation chart in one workbook -----------------------------------------


def _orgchart_upload(form: OrgChartUploadForm, error: str | None = None, status: int = 200):
    return render_template("admin/orgchart.html", form=form, error=error, sheets=orgchart.SHEETS), status


def _orgchart_report(report, filename: str, content: str, status: int, notice: str | None = None):
    confirm = OrgChartConfirmForm(formdata=None, content=content, filename=filename, fingerprint=report.fingerprint)
    problems = report.problems[: orgchart.SHOWN_PROBLEMS]
    return render_template(
        "admin/orgchart_report.html", report=report, filename=filename, confirm=confirm, notice=notice,
        problems=problems, hidden=len(report.problems) - len(problems), sheets=orgchart.SHEETS,
        upload=OrgChartUploadForm(formdata=None),
    ), status


@bp.route("/orgchart")
def orgchart_index():
    return _orgchart_upload(OrgChartUploadForm())


@bp.route("/orgchart/template.xlsx")
def orgchart_template():
    return send_file(io.BytesIO(orgchart.template_workbook()), mimetype=orgchart.XLSX_MIMETYPE, as_attachment=True,
                     download_name="组织架构导入模板.xlsx", max_age=0)


@bp.route("/orgchart/check", methods=["POST"])
def orgchart_check():
    """The dry run: the file read and checked, the plan and every problem shown; nothing written."""
    form = OrgChartUploadForm()
    if not form.validate():
        return _orgchart_upload(form, status=422)
    upload = form.file.data
    data = upload.read(orgchart.MAX_BYTES + 1)
    try:
        report = orgchart.check(data)
    except Refused as refusal:
        return _orgchart_upload(form, refusal.message, refusal.status)
    content = base64.b64encode(data).decode("ascii")
    return _orgchart_report(report, upload.filename or "", content, 200 if report.ok else 422)


@bp.route("/orgchart/commit", methods=["POST"])
def orgchart_commit():
    """The checked file again: checked once more, then written in one transaction; the passwords shown once."""
    form = OrgChartConfirmForm()
    data = None
    if form.validate():
        try:
            data = base64.b64decode(form.content.data, validate=True)
        except (binascii.Error, ValueError):
            data = None
    if not data:
        return _orgchart_upload(OrgChartUploadForm(formdata=None),
                                _("The checked file is missing or damaged: upload it again."), 422)
    filename = form.filename.data or ""
    clock = get_clock()
    try:
        report = orgchart.check(data)
        if not report.ok:
            return _orgchart_report(report, filename, form.content.data, 422)
        if report.fingerprint != form.fingerprint.data:
            return _orgchart_report(report, filename, form.content.data, 409, _(
                "The organisation changed after this file was checked, so nothing was imported. "
                "Here is the new check: confirm again to import it."))
        result = orgchart.apply(current_user, report, clock=clock)
        pdf = orgchart.passwords_pdf(result.accounts, today=clock.today()) if result.accounts else None
        db.session.commit()
    except Refused as refusal:
        db.session.rollback()
        return _orgchart_upload(OrgChartUploadForm(formdata=None), refusal.message, refusal.status)
    return render_template(
        "admin/orgchart_result.html", result=result, filename=filename,
        pdf=base64.b64encode(pdf).decode("ascii") if pdf else None,
        pdf_name=f"一次性登录密码单-{clock.today().isoformat()}.pdf",
    )
