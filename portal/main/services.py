"""The workbench (工作台): what waits for this person today, by role, with counts and direct links.

Each item is one count from one query, and for the items about nodes the
first few nodes themselves, so the page leads straight to the work. The same
counts, summed, are the to-do badge of the top bar (``todo_total``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.orm import joinedload

from portal import permissions
from portal.core.clock import Clock
from portal.core.extensions import db
from portal.models import (
    AuditEntry,
    CardEvent,
    Delivery,
    Document,
    Interview,
    JobRun,
    Node,
    Project,
    Recommitment,
    User,
    leader_unit,
    project_contact,
)
from portal.models.policy import policy_on

EXAMPLES = 5  # nodes shown under an item


@dataclass
class Item:
    key: str
    label: str
    count: int
    url: str
    level: str = "info"  # red | yellow | info: how urgent it reads
    nodes: list[Node] = field(default_factory=list)
    counts_to_badge: bool = True  # the top bar counts what needs doing, not what is only shown


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def _nodes(stmt, examples: bool) -> list[Node]:
    if not examples:
        return []
    return db.session.scalars(
        stmt.options(joinedload(Node.project), joinedload(Node.unit)).order_by(Node.deadline, Node.id).limit(EXAMPLES)
    ).unique().all()


def _due_soon_horizon(today: date) -> date:
    """The last day a deadline counts as due soon: as the cards on the board mark it (``Node.is_due_soon``)."""
    return today + timedelta(days=policy_on(today).warn_days)


def _node_items(scope, clock: Clock, examples: bool, *, prefix: str, board_url: str) -> list[Item]:
    """Overdue, due soon, waiting for a re-commitment and sent back, over the open nodes ``scope`` selects."""
    today = clock.today()
    open_nodes = select(Node).where(scope, Node.is_open)
    overdue = open_nodes.where(Node.effective_deadline < today)
    soon = open_nodes.where(Node.effective_deadline.between(today, _due_soon_horizon(today)))
    asked = exists().where(Recommitment.node_id == Node.id, Recommitment.state.in_(("pending", "approved")))
    to_recommit = open_nodes.where(Node.card == "yellow", ~asked)
    rejected = select(AuditEntry.object_id).where(AuditEntry.action == "node.reject", AuditEntry.object_type == "node",
                                                  AuditEntry.at >= clock.start_of(today - timedelta(days=30)))
    sent_back = select(Node).where(scope, Node.status == "doing", Node.submitted_at.is_(None), Node.id.in_(rejected))
    return [
        Item(f"{prefix}overdue", _("Overdue nodes"), _count(overdue), board_url, "red", _nodes(overdue, examples)),
        Item(f"{prefix}due_soon", _("Due within the warning days"), _count(soon), board_url, "yellow",
             _nodes(soon, examples)),
        Item(f"{prefix}recommit", _("Yellow cards waiting for an explanation and a new date"), _count(to_recommit),
             board_url, "yellow", _nodes(to_recommit, examples)),
        Item(f"{prefix}sent_back", _("Sent back from sign-off"), _count(sent_back), board_url, "yellow",
             _nodes(sent_back, examples)),
    ]


def workbench(actor: User, clock: Clock, *, examples: bool = True, badge: bool = False) -> list[Item]:
    """The items of every role the actor has, in the order a working day takes them.

    ``badge``: only what the top bar counts — every page asks for it, so the items
    that are only shown (a leader's cards and project colours) are not computed.
    """
    today = clock.today()
    week_ago = clock.start_of(today - timedelta(days=7))
    items: list[Item] = []
    if actor.has_role("unit_staff") and actor.unit_id:
        board = url_for("boards.board", unit_id=actor.unit_id)
        items += _node_items(Node.unit_id == actor.unit_id, clock, examples, prefix="unit.", board_url=board)
    if actor.has_role("contact"):
        mine = Node.project_id.in_(select(project_contact.c.project_id).where(project_contact.c.user_id == actor.id))
        open_mine = select(Node).where(mine, Node.is_open)
        items.append(Item("contact.open", _("Open nodes of my projects"), _count(open_mine), url_for("main.home"),
                          "info", _nodes(open_mine, examples), counts_to_badge=False))
        late_or_soon = open_mine.where(Node.effective_deadline <= _due_soon_horizon(today))
        items.append(Item("contact.due", _("Of them overdue or due soon"), _count(late_or_soon), url_for("main.home"),
                          "yellow", _nodes(late_or_soon, examples)))
    if permissions.can_manage_cards(actor):  # the supervisors' office
        items += [
            Item("sup.signoff", _("Sign-offs waiting"), _count(select(Node).where(Node.status == "review")),
                 url_for("boards.signoff"), "yellow"),
            Item("sup.propose", _("Interviews proposed, to schedule"),
                 _count(select(Interview).where(Interview.state == "proposed")), url_for("interviews.index"), "yellow"),
            Item("sup.hold", _("Interviews past their time, minutes not recorded"),
                 _count(select(Interview).where(Interview.state == "scheduled", Interview.scheduled_for < clock.now())),
                 url_for("interviews.index"), "info"),
            Item("sup.bulletins", _("Bulletins drafted, not yet published"),
                 _count(select(Document).where(Document.kind == "bulletin", Document.state == "draft")),
                 url_for("documents.bulletins"), "info"),
            Item("sup.sweeps", _("Overdue checks that failed in the last 7 days"),
                 _count(select(JobRun).where(JobRun.kind == "sweep", JobRun.state == "failed",
                                             JobRun.created_at >= week_ago)),
                 url_for("sweeps.index"), "red"),
        ]
    if actor.has_role("leader"):
        in_charge = select(leader_unit.c.unit_id).where(leader_unit.c.user_id == actor.id)
        pending = select(Recommitment).join(Node).where(Recommitment.state == "pending", Node.unit_id.in_(in_charge))
        items.append(Item("leader.decide", _("Re-commitments waiting for my decision"), _count(pending),
                          url_for("recommitments.index"), "yellow"))
    if actor.has_role("leader") and not badge:
        in_charge = select(leader_unit.c.unit_id).where(leader_unit.c.user_id == actor.id)
        cards = select(CardEvent).where(CardEvent.unit_id.in_(in_charge), CardEvent.is_withdrawn.is_(False),
                                        CardEvent.effective_date.between(today - timedelta(days=6), today))
        items += [
            Item("leader.red", _("Red cards of my units in the last 7 days"), _count(cards.where(CardEvent.colour == "red")),
                 url_for("rankings.index"), "red", counts_to_badge=False),
            Item("leader.yellow", _("Yellow cards of my units in the last 7 days"),
                 _count(cards.where(CardEvent.colour == "yellow")), url_for("rankings.index"), "yellow",
                 counts_to_badge=False),
        ]
        items += _my_projects(actor, today)
    if permissions.can_manage_org(actor):
        items.append(Item("admin.deliveries", _("Reminders that could not be sent"),
                          _count(select(Delivery).where(Delivery.state == "failed", Delivery.created_at >= week_ago)),
                          url_for("notifications.deliveries", state="failed"), "red"))
    return items


def _my_projects(actor: User, today: date) -> list[Item]:
    """The leader's own projects (包保) by colour (rule 8)."""
    from portal.dashboard.progress import project_progress

    ids = db.session.scalars(select(Project.id).where(Project.lead_leader_id == actor.id,
                                                      Project.is_archived.is_(False))).all()
    if not ids:
        return []
    colours = [p.colour for p in project_progress(today, project_ids=ids)]
    url = url_for("dashboard.index")
    return [
        Item("leader.projects_red", _("My projects in red"), colours.count("red"), url, "red", counts_to_badge=False),
        Item("leader.projects_yellow", _("My projects in yellow"), colours.count("yellow"), url, "yellow",
             counts_to_badge=False),
        Item("leader.projects_green", _("My projects in green"), colours.count("green"), url, "info",
             counts_to_badge=False),
    ]


def todo_total(actor: User, clock: Clock) -> int:
    """The top bar's badge: what waits for this person to act on."""
    return sum(item.count for item in workbench(actor, clock, examples=False, badge=True) if item.counts_to_badge)

