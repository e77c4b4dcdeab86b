"""The generator of the demo county: ``build(today)`` and the builder that
holds the dice, the clock and the lookups while the steps run.

The steps are in ``organisation`` (leagues, units, people, settings) and
``history`` (projects, node plans and what happened to them); the builder
runs them in a fixed order, then lets the real rules issue the cards.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, select

from portal.audit import services as audit
from portal.cards.services import issue_rule_card
from portal.core.clock import Clock, FixedClock
from portal.core.extensions import db
from portal.models import (
    CardEvent,
    Category,
    Interview,
    Node,
    Project,
    Recommitment,
    ScoringPolicy,
    Theme,
    Unit,
    User,
)
from portal.ops.demo import history, next_year, organisation
from portal.ops.demo.data import (
    ACCOUNTS,
    COUNTY,
    DEMO_PASSWORD,
    GIVEN,
    GREEN_REASON,
    INTERVIEW_BRING,
    INTERVIEW_MINUTES,
    INTERVIEW_PLACE,
    LEADERS,
    RECENT_INTERVIEW_DAYS,
    SEED,
    SURNAMES,
    SWEEP_AT,
    Account,
)
from portal.sweeps.services import sweep


def build(today: date) -> DemoSummary:
    """Add the demo county as of ``today`` to the session and flush; the caller commits."""
    return CountyBuilder(today).build()




@dataclass
class DemoSummary:
    """What ``build`` made: the figures the CLI prints."""

    today: date
    leagues: int = 0
    units: int = 0
    users: int = 0
    projects: int = 0
    nodes: int = 0
    nodes_by_status: Counter = field(default_factory=Counter)
    nodes_by_card: Counter = field(default_factory=Counter)
    cards_by_colour: Counter = field(default_factory=Counter)
    recommitments: Counter = field(default_factory=Counter)
    interviews: Counter = field(default_factory=Counter)
    progress_entries: int = 0
    loop: dict = field(default_factory=dict)  # meetings, problems raised and solved, assignments
    accounts: tuple[Account, ...] = ACCOUNTS

    def describe(self) -> str:
        """Multi-line text: the figures, then the demo accounts."""

        def counts(counter: Counter, keys: Iterable[str]) -> str:
            return " · ".join(f"{key} {counter.get(key, 0):,}" for key in keys)

        lines = [
            f"Demo county {COUNTY}, year {self.today.year}, as of {self.today.isoformat()}",
            f"  leagues {self.leagues} · units {self.units} · users {self.users:,} · "
            f"projects {self.projects}",
            f"  nodes {self.nodes:,}: {counts(self.nodes_by_status, ('todo', 'doing', 'review', 'done'))}",
            f"  node cards: {counts(self.nodes_by_card, ('none', 'green', 'yellow', 'red'))}",
            f"  card events: {counts(self.cards_by_colour, ('green', 'yellow', 'red'))}",
            f"  re-commitments: {counts(self.recommitments, ('approved', 'pending', 'rejected'))}",
            f"  interviews: {counts(self.interviews, ('proposed', 'scheduled', 'held'))}",
            f"  progress entries {self.progress_entries:,}",
            f"  meeting loop: meetings {self.loop.get('meetings', 0)} · problems {self.loop.get('problems', 0)} "
            f"(solved {self.loop.get('solved', 0)}) · assignments {self.loop.get('assignments', 0)}",
            f"Demo accounts (password: {DEMO_PASSWORD}):",
        ]
        width = max(len(a.username) for a in self.accounts)
        for account in self.accounts:
            lines.append(
                f"  {account.username:<{width}}  {account.role:<10}  "
                f"{account.display_name}，{account.unit}{account.title}"
            )
        return "\n".join(lines)



# --------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------


class CountyBuilder:
    """Builds the county in one pass; holds the dice and the lookups.

    Every random draw comes from ``rng``, seeded with SEED, in the order
    ``build`` runs the steps: the same D always gives the same county.
    """

    def __init__(self, today: date) -> None:
        self.today = today
        self.year = today.year
        self.year_start = date(self.year, 1, 1)
        self.last_day = today - timedelta(days=1)  # the latest day anything happened on
        self.rng = random.Random(SEED)
        self.clock = Clock(current_app.config.get("JIEDIAN_TZ") or "Asia/Shanghai")
        # The year's plan was set up in late December (节点设立).
        self.plan_day = date(self.year - 1, 12, 20)
        self.summary = DemoSummary(today=today)
        self.used_names: set[str] = {a.display_name for a in ACCOUNTS} | {ld[1] for ld in LEADERS}
        self.units: dict[str, Unit] = {}
        self.staff: dict[str, list[User]] = {}
        self.leader_of: dict[str, User] = {}
        self.accounts: dict[str, User] = {}
        self.supervisors: list[User] = []
        self.nodes: list[Node] = []
        self.rows: list[object] = []  # everything else to add
        self.contact_projects: list[Project] = []
        self.greens: list[tuple[Node, date, User]] = []
        self.plans: dict[Project, history.ProjectPlan] = {}
        # Set by organisation.build_settings():
        self.categories: dict[str, Category]
        self.themes: dict[str, Theme]
        self.policy: ScoringPolicy

    # -- helpers -----------------------------------------------------------
    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """A county-local time of day as an aware UTC datetime."""
        return datetime.combine(day, time(hour, minute), tzinfo=self.clock.tz).astimezone(UTC)

    def at_random(self, day: date, first_hour: int, last_hour: int) -> datetime:
        return self.at(day, self.rng.randint(first_hour, last_hour), self.rng.randrange(0, 60, 5))

    def person(self) -> str:
        """A new plausible Chinese name, unique in the county."""
        while True:
            given = "".join(self.rng.sample(GIVEN, 2 if self.rng.random() < 0.7 else 1))
            name = self.rng.choice(SURNAMES) + given
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    # -- the whole county ------------------------------------------------------
    def build(self) -> DemoSummary:
        self.set_up_county()
        projects = self.plan_year()
        self.live_year(projects)
        self.meeting_loop()
        self.apply_rules()
        self.plan_next_year()
        self.record_load()
        return self.summary

    def set_up_county(self) -> None:
        """The organisation and the settings, flushed before the year's work."""
        organisation.build_org(self)
        organisation.build_settings(self)
        db.session.add_all(self.rows)
        db.session.flush()  # the policy's id goes on every card
        self.rows = []

    def plan_year(self) -> list[Project]:
        """The projects and their node plans, as set up in late December."""
        return history.build_projects(self)

    def live_year(self, projects: list[Project]) -> None:
        """What happened to every node by D, and the stage each project reached; then flush."""
        forced = history.force_staff_cases(self)
        for node in self.nodes:
            history.live(self, node, forced.get(node) or history.pick_scenario(self, node.deadline))
        history.settle_projects(self, projects)
        history.report_investment(self, projects)
        self.summary.nodes = len(self.nodes)
        db.session.add_all(self.rows)
        db.session.add_all(self.nodes)
        db.session.flush()

    def meeting_loop(self) -> None:
        """The year's problems, meetings and assignments, through the services (``loop``)."""
        from portal.ops.demo.loop import build_loop

        self.summary.loop = build_loop(self)
        self.summary.nodes = db.session.scalar(select(func.count()).select_from(Node))
        self.summary.projects = db.session.scalar(select(func.count()).select_from(Project))

    def record_load(self) -> None:
        """The one audit entry of the load."""
        audit.record(
            None,
            "demo.load",
            summary=(
                f"演示数据 {COUNTY}（{self.today.isoformat()}）：{self.summary.units} 个单位、"
                f"{self.summary.projects} 个项目、{self.summary.nodes} 个节点"
            ),
        )
        db.session.flush()

    def plan_next_year(self) -> None:
        """In December, next year's plan: cross-year projects carried over, with their first nodes."""
        carried = next_year.plan_next_year(self)
        if carried:
            db.session.flush()
            self.summary.projects = db.session.scalar(select(func.count(Project.id)))
            self.summary.nodes = db.session.scalar(select(func.count(Node.id)))
            self.count()

    # -- the rules, and the interviews they proposed ---------------------------
    def apply_rules(self) -> None:
        """Cards by the real rules: green at each on-time sign-off, then the sweep up to D."""
        for node, closed, closer in self.greens:
            issue_rule_card(node, "green", closed, self.policy, actor=closer, reason=GREEN_REASON)
        sweep(self.today, FixedClock(self.today, self.clock.tz.key))
        self.follow_up_interviews()
        db.session.flush()
        self.count()

    def follow_up_interviews(self) -> None:
        """The supervisors' part: interviews the sweep proposed weeks ago were scheduled and held."""
        proposed = db.session.scalars(select(Interview).where(Interview.state == "proposed")).all()
        for interview in proposed:
            interview.created_at = self.at(interview.proposed_on, SWEEP_AT.hour, SWEEP_AT.minute)
            if (self.today - interview.proposed_on).days > RECENT_INTERVIEW_DAYS:
                self.schedule_interview(interview, interview.unit, interview.proposed_on)

    def schedule_interview(self, interview: Interview, unit: Unit, proposed_on: date) -> None:
        leader = self.leader_of[unit.short_name]
        day = history.add_workdays(proposed_on, self.rng.randint(3, 6))
        interview.scheduled_for = self.at(day, 15)
        interview.place = INTERVIEW_PLACE
        interview.interviewer = leader
        interview.interviewer_name = f"{leader.display_name}（{leader.title}）"
        interview.bring = INTERVIEW_BRING
        interview.state = "scheduled"
        if day < self.today:
            interview.state = "held"
            interview.held_at = self.at(day, 16)
            interview.minutes = INTERVIEW_MINUTES

    def count(self) -> None:
        """The figures of the summary, read back from what the rules made."""
        summary = self.summary
        summary.nodes_by_status = Counter(dict(db.session.execute(select(Node.status, func.count()).group_by(Node.status)).all()))
        summary.nodes_by_card = Counter(dict(db.session.execute(select(Node.card, func.count()).group_by(Node.card)).all()))
        summary.cards_by_colour = Counter(dict(db.session.execute(select(CardEvent.colour, func.count()).group_by(CardEvent.colour)).all()))
        summary.recommitments = Counter(dict(db.session.execute(select(Recommitment.state, func.count()).group_by(Recommitment.state)).all()))
        summary.interviews = Counter(dict(db.session.execute(select(Interview.state, func.count()).group_by(Interview.state)).all()))
