"""Reading a unit's board: one query for the cards, a few for the filter lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from portal.extensions import db
from portal.models import CARDS, STATUSES, Category, Node, Project, User
from portal.nodes.services import days_overdue, is_due_soon


@dataclass
class Filters:
    project_id: int | None = None
    category_id: int | None = None
    card: str | None = None
    person_id: int | None = None
    q: str = ""

    @classmethod
    def from_args(cls, args) -> Filters:
        card = args.get("card") or None
        return cls(
            project_id=args.get("project_id", type=int),
            category_id=args.get("category_id", type=int),
            card=card if card in CARDS else None,
            person_id=args.get("person_id", type=int),
            q=(args.get("q") or "").strip()[:60],
        )

    def as_args(self) -> dict:
        values = {"project_id": self.project_id, "category_id": self.category_id, "card": self.card,
                  "person_id": self.person_id, "q": self.q}
        return {k: v for k, v in values.items() if v not in (None, "")}

    def apply(self, stmt):
        if self.project_id:
            stmt = stmt.where(Node.project_id == self.project_id)
        if self.category_id:
            stmt = stmt.where(Project.category_id == self.category_id)
        if self.card:
            stmt = stmt.where(Node.card == self.card)
        if self.person_id:
            stmt = stmt.where(Node.responsible_user_id == self.person_id)
        if self.q:
            stmt = stmt.where(or_(Node.title.contains(self.q), Project.name.contains(self.q)))
        return stmt


@dataclass
class CardView:
    """A node as a board card shows it."""

    node: Node
    due_soon: bool
    overdue_days: int


@dataclass
class Board:
    columns: dict[str, list[CardView]] = field(default_factory=lambda: {s: [] for s in STATUSES})

    @property
    def counts(self) -> dict[str, int]:
        return {status: len(cards) for status, cards in self.columns.items()}


def card_view(node: Node, today: date, warn_days: int) -> CardView:
    return CardView(node, is_due_soon(node, today, warn_days), days_overdue(node, today))


def load_board(unit_id: int, filters: Filters, today: date, warn_days: int) -> Board:
    """All of a unit's cards in one query (project, category and person joined in)."""
    stmt = (
        select(Node)
        .join(Node.project)
        .options(contains_eager(Node.project).joinedload(Project.category), joinedload(Node.responsible_user))
        .where(Node.unit_id == unit_id)
        .order_by(Node.deadline, Node.id)
    )
    board = Board()
    for node in db.session.scalars(filters.apply(stmt)).unique():
        board.columns[node.status].append(card_view(node, today, warn_days))
    return board


def column_counts(unit_id: int, filters: Filters) -> dict[str, int]:
    stmt = select(Node.status, func.count(Node.id)).join(Node.project).where(Node.unit_id == unit_id)
    counts = dict(db.session.execute(filters.apply(stmt).group_by(Node.status)).all())
    return {status: counts.get(status, 0) for status in STATUSES}


def filter_choices(unit_id: int) -> dict:
    """The unit's projects, categories and people, for the filter lists."""
    projects = db.session.execute(
        select(Project.id, Project.name).where(Project.id.in_(select(Node.project_id).where(Node.unit_id == unit_id))).order_by(Project.name)
    ).all()
    categories = db.session.execute(select(Category.id, Category.name).order_by(Category.sort_order, Category.id)).all()
    people = db.session.execute(
        select(User.id, User.display_name).where(User.id.in_(select(Node.responsible_user_id).where(Node.unit_id == unit_id))).order_by(User.display_name)
    ).all()
    return {"projects": projects, "categories": categories, "people": people}
