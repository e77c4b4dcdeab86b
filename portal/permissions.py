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
    from portal.models import Assignment, Interview, Meeting, Node, Problem, Project, Unit, User


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


# -- the meeting loop: problems, assignments, meetings -------------------------


def can_raise_problems(actor: User) -> bool:
    """问题/堵点 are raised by unit staff, project contacts and supervisors."""
    return _authenticated(actor) and actor.has_role("unit_staff", "contact", "supervisor")


def can_raise_problem_on(actor: User, project: Project) -> bool:
    """On a project the actor works on: their unit's, their contact projects; supervisors on any."""
    if not can_raise_problems(actor):
        return False
    if actor.has_role("supervisor") or is_project_contact(actor, project):
        return True
    return actor.has_role("unit_staff") and can_view_project(actor, project)


def can_view_problem(actor: User, problem: Problem) -> bool:
    """Those who read every unit, the unit it blocks, whoever raised it, the project's contacts and its 包保领导."""
    if can_view_all_units(actor):
        return True
    if not _authenticated(actor):
        return False
    return (
        problem.raised_by_id == actor.id
        or (actor.has_role("unit_staff") and actor.unit_id == problem.unit_id)
        or is_project_contact(actor, problem.project)
    )


def holds_problem(actor: User, problem: Problem) -> bool:
    """Whose coordination the problem waits for at its level: the unit's leader in charge (分管),
    the project's 包保领导, or (at a meeting) the supervisors' office; supervisors act at every level."""
    if not _authenticated(actor):
        return False
    if actor.has_role("supervisor"):
        return True
    if not actor.has_role("leader"):
        return False
    if problem.level == "in_charge":
        return any(u.id == problem.unit_id for u in actor.units_in_charge)
    if problem.level == "lead_leader":
        return problem.project.lead_leader_id == actor.id
    return False


def raised_problem(actor: User, problem: Problem) -> bool:
    """Confirm or reopen: whoever raised it, or the staff of the unit it blocks."""
    return _authenticated(actor) and (
        problem.raised_by_id == actor.id or (actor.has_role("unit_staff") and actor.unit_id == problem.unit_id)
    )


def can_hand_out(actor: User) -> bool:
    """交办: the supervisors' office enters assignments (meeting decisions, instructions, inspection feedback)."""
    return _authenticated(actor) and actor.has_role("supervisor")


def can_view_assignments(actor: User) -> bool:
    return _authenticated(actor) and actor.has_role("supervisor", "leader", "admin", "unit_staff")


def can_view_assignment(actor: User, assignment: Assignment) -> bool:
    """An assignment is a matter: those who may read its project (its lead unit and co-units)."""
    return can_view_project(actor, assignment.project)


def can_handle_assignment(actor: User, assignment: Assignment) -> bool:
    """Sign for receipt and report back: the lead unit's staff (supervisors may do it for them)."""
    return _authenticated(actor) and (
        actor.has_role("supervisor") or (actor.has_role("unit_staff") and actor.unit_id == assignment.project.lead_unit_id)
    )


def can_view_meetings(actor: User) -> bool:
    return can_view_all_units(actor)


def can_view_meeting(actor: User, meeting: Meeting) -> bool:
    return can_view_all_units(actor)


def can_run_meetings(actor: User) -> bool:
    """Convene, record minutes and hand out decisions: the supervisors' office, and leaders who chair."""
    return _authenticated(actor) and actor.has_role("supervisor", "leader")


def can_record_meeting(actor: User, meeting: Meeting) -> bool:
    return _authenticated(actor) and (actor.has_role("supervisor") or (actor.has_role("leader") and meeting.chair_id == actor.id))


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
