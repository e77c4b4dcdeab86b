"""Who may do what: one named function per decision, used by every view.

Each takes the acting user explicitly (never ``current_user``) so services
and jobs can ask the same questions.
"""

from __future__ import annotations

from functools import wraps
from typing import TYPE_CHECKING

from flask import abort
from flask_login import current_user, login_required

if TYPE_CHECKING:
    from portal.models import Interview, Node, Project, Unit, User


def _authenticated(actor) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False)


def can_manage_org(actor: User) -> bool:
    """Units, leagues, users, categories, themes, scoring policy, calendar: admins."""
    return _authenticated(actor) and actor.has_role("admin")


def can_setup_projects(actor: User) -> bool:
    """节点设立: supervisors (and admins) create, edit and delete projects and nodes."""
    return _authenticated(actor) and actor.has_role("supervisor", "admin")


def can_view_audit(actor: User) -> bool:
    return _authenticated(actor) and actor.has_role("supervisor", "admin")


def can_view_all_units(actor: User) -> bool:
    """Supervisors, leaders and admins see every unit's board and nodes."""
    return _authenticated(actor) and actor.has_role("supervisor", "leader", "admin")


def can_view_unit(actor: User, unit: Unit) -> bool:
    return can_view_all_units(actor) or (_authenticated(actor) and actor.unit_id == unit.id)


def is_project_contact(actor: User, project: Project) -> bool:
    return (
        _authenticated(actor)
        and actor.has_role("contact")
        and any(p.id == project.id for p in actor.contact_projects)
    )


def can_view_project(actor: User, project: Project) -> bool:
    if can_view_all_units(actor) or is_project_contact(actor, project):
        return True
    if not _authenticated(actor) or actor.unit_id is None:
        return False
    unit_ids = {project.lead_unit_id, *(u.id for u in project.co_units)}
    return actor.unit_id in unit_ids or any(n.unit_id == actor.unit_id for n in project.nodes)


def can_report_investment(actor: User, project: Project) -> bool:
    """A month's completed investment: the project's contacts, its lead unit's staff, supervisors and admins."""
    if not _authenticated(actor):
        return False
    if actor.has_role("supervisor", "admin") or is_project_contact(actor, project):
        return True
    return actor.has_role("unit_staff") and actor.unit_id == project.lead_unit_id


def can_view_node(actor: User, node: Node) -> bool:
    """The node's unit, its 配合单位 (read-only), the project's contacts, and those who see every unit."""
    return (
        can_view_all_units(actor)
        or (_authenticated(actor) and actor.unit_id == node.unit_id)
        or is_project_contact(actor, node.project)
        or (_authenticated(actor) and actor.unit_id is not None and any(u.id == actor.unit_id for u in node.co_units))
    )


def can_remove_evidence(actor: User, evidence) -> bool:
    """Whoever uploaded a file may remove it while its node is still open (before it is submitted)."""
    return _authenticated(actor) and evidence.uploaded_by_id == actor.id and evidence.node.is_open


def can_edit_node(actor: User, node: Node) -> bool:
    """Log progress and evidence, move within the unit's own columns."""
    if not _authenticated(actor):
        return False
    if actor.has_role("supervisor", "admin"):
        return True
    if actor.has_role("unit_staff") and actor.unit_id == node.unit_id:
        return True
    return is_project_contact(actor, node.project)


def can_move_node(actor: User, node: Node) -> bool:
    """Drag between 未启动 and 推进中: the node's unit staff, and supervisors."""
    if not _authenticated(actor):
        return False
    if actor.has_role("supervisor", "admin"):
        return True
    return actor.has_role("unit_staff") and actor.unit_id == node.unit_id


def can_submit_node(actor: User, node: Node) -> bool:
    """销号申请 with evidence: the node's unit staff (supervisors may file for them)."""
    return can_move_node(actor, node)


def can_verify_node(actor: User, node: Node) -> bool:
    """销号: verify or reject a submission, reopen a closed node."""
    return _authenticated(actor) and actor.has_role("supervisor")


def can_decide_recommitment(actor: User, node: Node) -> bool:
    """Only a leader in charge (分管) of the node's unit approves its new date."""
    return (
        _authenticated(actor)
        and actor.has_role("leader")
        and any(u.id == node.unit_id for u in actor.units_in_charge)
    )


def can_manage_cards(actor: User) -> bool:
    """Issue or withdraw a card by hand, schedule interviews, publish bulletins."""
    return _authenticated(actor) and actor.has_role("supervisor")


def can_view_cadre_files(actor: User) -> bool:
    return _authenticated(actor) and actor.has_role("leader", "supervisor")


def can_view_interviews(actor: User) -> bool:
    """The list: supervisors, leaders and admins see every unit's; unit staff their own unit's."""
    return can_view_all_units(actor) or (_authenticated(actor) and actor.has_role("unit_staff"))


def can_view_interview(actor: User, interview: Interview) -> bool:
    return can_view_all_units(actor) or ((_authenticated(actor) and actor.has_role("unit_staff")) and actor.unit_id == interview.unit_id)


def can_change_interviews(actor: User) -> bool:
    """Propose, schedule, close and cancel: supervisors (督查室)."""
    return can_manage_cards(actor)


def can_record_minutes(actor: User, interview: Interview) -> bool:
    """Hold (record the minutes): supervisors, and the leader who is the interviewer."""
    if can_manage_cards(actor):
        return True
    return (
        actor is not None
        and getattr(actor, "is_authenticated", False)
        and actor.has_role("leader")
        and interview.interviewer_id is not None
        and interview.interviewer_id == actor.id
    )


def requires(check):
    """View decorator: log in first, then 403 unless ``check(current_user)`` holds."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not check(current_user):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
