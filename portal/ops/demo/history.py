"""The year's work: the projects and their node plans, then what happened
to every node by D (submissions, sign-offs, re-commitments, progress) and
the stage each project reached.

Each public function is one step of ``CountyBuilder.build`` (or a part of
one) and draws its dice from the builder in the order the steps run.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from portal.models import (
    STAGES,
    InvestmentReport,
    Node,
    ProgressEntry,
    Project,
    Recommitment,
    Theme,
    Unit,
    User,
)
from portal.ops.demo.data import (
    APPROVE_COMMENTS,
    CATEGORIES,
    CO,
    CONTACT_PROJECT_LEAD,
    DESCRIPTIONS,
    LATE,
    LATE_RECOMMIT,
    LEAD,
    MATTER_TRACKS,
    ON_TIME,
    OPEN,
    PAST_DUE_ODDS,
    PROGRESS_TEXTS,
    PROJECTS,
    RECOMMIT_REASONS,
    RECURRING,
    RECURRING_FOR_TRACK,
    RED_DONE,
    RED_OPEN,
    REJECT_COMMENTS,
    REVIEW,
    SITE,
    STAFF_CASES,
    STAFF_UNIT,
    SUBMISSION_NOTE,
    TRACKS,
    YELLOW_OPEN,
    YELLOW_PENDING,
    YELLOW_RECOMMITTED,
    YELLOW_REJECTED,
    ProjectSpec,
    Step,
)

if TYPE_CHECKING:
    from portal.ops.demo.builder import CountyBuilder


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _weekday_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def add_workdays(day: date, count: int) -> date:
    """The Monday-to-Friday day ``count`` working days after ``day``."""
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def _money(value: float) -> Decimal:
    """An amount in 万元, rounded to the whole 万元 as ledgers show it."""
    return Decimal(round(value)).quantize(Decimal("0.01"))


class NodeLife(NamedTuple):
    """The days a node's story happens on (None: it did not happen)."""

    submitted: date | None = None
    closed: date | None = None
    committed: date | None = None  # the approved re-committed deadline
    decided: date | None = None  # the day that re-commitment was approved


class ProjectPlan(NamedTuple):
    """What settling a project's stage and dates needs to know."""

    initial: str  # the stage at the start of the year
    reaches: dict[str, str]  # node title -> stage reached when it is done
    starts_this_year: bool


# A node as planned: title, standard, unit, weight, is_major, deadline.
_PlannedNode = tuple[str, str, Unit, int, bool, date]


# --------------------------------------------------------------------------
# Projects and their node plans
# --------------------------------------------------------------------------


def build_projects(county: CountyBuilder) -> list[Project]:
    """Every project of the year with its node plan; the contact follows one lead unit's."""
    serials: Counter = Counter()
    abbreviations = {name: abbr for name, abbr, _ in CATEGORIES}
    default_theme = {name: theme for name, _, theme in CATEGORIES}
    projects = []
    for spec in PROJECTS:
        serials[spec.category] += 1
        code = f"{county.year}-{abbreviations[spec.category]}-{serials[spec.category]:03d}"
        project = plan_project(county, spec, code, county.themes[spec.theme or default_theme[spec.category]])
        projects.append(project)
    contact = county.accounts["contact"]
    for project in projects:
        if project.lead_unit.short_name == CONTACT_PROJECT_LEAD:
            project.contacts.append(contact)
            county.contact_projects.append(project)
    county.rows.extend(projects)
    county.summary.projects = len(projects)
    return projects


def _pick_steps(county: CountyBuilder, spec: ProjectSpec) -> tuple[int, list[Step]]:
    """This year's slice of the project's track: the index of its first step, and the steps."""
    rng = county.rng
    track = TRACKS[spec.track]
    if spec.track in MATTER_TRACKS:
        first = 0
        steps = list(track)
    else:
        first = rng.randint(0, max(0, len(track) - 12))
        steps = list(track[first:first + rng.randint(11, 16)])
    return first, steps


def plan_project(county: CountyBuilder, spec: ProjectSpec, code: str, theme: Theme) -> Project:
    rng = county.rng
    track = TRACKS[spec.track]
    first, steps = _pick_steps(county, spec)
    initial = next((s.reaches for s in reversed(track[:first]) if s.reaches), "signed")
    lead = county.units[spec.lead]
    total = rng.uniform(*spec.investment)
    planned = total * (1.0 if spec.track in MATTER_TRACKS else rng.uniform(0.15, 0.45))
    created = county.at(county.plan_day - timedelta(days=rng.randint(0, 12)), rng.randint(9, 17))
    project = Project(
        code=code,
        name=spec.name.format(year=county.year),
        category=county.categories[spec.category],
        theme=theme,
        year=county.year,
        lead_unit=lead,
        lead_leader=county.leader_of[spec.lead],
        stage=initial,
        investment_total=_money(total),
        investment_planned=_money(planned),
        description=describe_project(county, spec, total),
        created_at=created,
        updated_at=created,
    )
    schedule(county, project, steps, spec)
    county.plans[project] = ProjectPlan(
        initial, {s.title: s.reaches for s in steps if s.reaches}, first == 0
    )
    co_units = dict.fromkeys(
        n.unit.short_name for n in project.nodes if n.unit is not lead
    )
    co_units.update(dict.fromkeys(s for s in spec.co if s != spec.lead))
    project.co_units = [county.units[s] for s in co_units]
    project.investment_completed = _money(planned * min(1.0, elapsed(county) * rng.uniform(0.85, 1.12)))
    return project


def elapsed(county: CountyBuilder) -> float:
    """The share of the year gone by D."""
    days = 366 if calendar.isleap(county.year) else 365
    return (county.today - county.year_start).days / days


def describe_project(county: CountyBuilder, spec: ProjectSpec, total: float) -> str:
    rng = county.rng
    return DESCRIPTIONS[spec.track].format(
        yi=f"{total / 10000:.1f}",
        wan=f"{total:,.0f}",
        mu=rng.randrange(80, 1200, 10),
        area=f"{rng.uniform(1.5, 25):.1f}",
        output=f"{total / 10000 * rng.uniform(1.2, 2.5):.1f}",
        tax=f"{total / 10000 * rng.uniform(0.05, 0.12):.2f}",
        km=f"{rng.uniform(1.2, 12):.1f}",
        end=county.year + rng.randint(0, 2),
        villages=rng.randint(3, 12),
        points=rng.randint(120, 480),
        items=rng.randint(12, 60),
        people=rng.randrange(2000, 60000, 100),
    )


def schedule(county: CountyBuilder, project: Project, steps: list[Step], spec: ProjectSpec) -> None:
    """Create the project's nodes with deadlines spread over the year."""
    responsible = _responsibility(county, project.lead_unit, spec)
    plan = _plan_track(county, steps, responsible)
    plan.extend(_plan_recurring(county, project, spec, responsible))
    _create_nodes(county, project, plan)


def _responsibility(county: CountyBuilder, lead: Unit, spec: ProjectSpec) -> Callable[[str], Unit]:
    """Who answers for a step: LEAD, SITE, the co-units in turn (CO) or a named unit."""
    co_cycle = [county.units[s] for s in spec.co if s != spec.lead] or [lead]
    co_turn = 0

    def responsible(who: str) -> Unit:
        nonlocal co_turn
        if who == LEAD:
            return lead
        if who == SITE:
            return county.units[spec.site]
        if who == CO:
            co_turn += 1
            return co_cycle[(co_turn - 1) % len(co_cycle)]
        return county.units[who]

    return responsible


def _plan_track(
    county: CountyBuilder, steps: list[Step], responsible: Callable[[str], Unit]
) -> list[_PlannedNode]:
    """The track's steps, spread evenly over the year with a little jitter."""
    rng = county.rng
    span_start, span_end = date(county.year, 1, 12), date(county.year, 12, 22)
    span = (span_end - span_start).days
    gap = span / len(steps)
    plan: list[_PlannedNode] = []
    for i, step in enumerate(steps):
        offset = (i + 0.5) * gap + rng.uniform(-gap / 3, gap / 3)
        deadline = _weekday_on_or_before(span_start + timedelta(days=round(offset)))
        plan.append((step.title, step.standard, responsible(step.who), step.weight, step.is_major, deadline))
    return plan


def _plan_recurring(
    county: CountyBuilder, project: Project, spec: ProjectSpec, responsible: Callable[[str], Unit]
) -> list[_PlannedNode]:
    """The track's recurring nodes: monthly or quarterly, on one day of the month."""
    planned = float(project.investment_planned)
    title, standard, who, months = RECURRING[RECURRING_FOR_TRACK[spec.track]]
    day_of_month = county.rng.choice((20, 25, 28, 0))  # 0: the month's last day
    plan: list[_PlannedNode] = []
    for month in months:
        share = month / 12
        deadline = _weekday_on_or_before(
            date(county.year, month, day_of_month) if day_of_month else _month_end(county.year, month)
        )
        plan.append((
            title.format(m=month, q=(month + 2) // 3, amount=f"{planned * share:,.0f}",
                         pct=round(share * 100)),
            standard, responsible(who), 1, False, deadline,
        ))
    return plan


def _create_nodes(county: CountyBuilder, project: Project, plan: list[_PlannedNode]) -> None:
    """The planned nodes, each with a responsible person of its unit."""
    rng = county.rng
    owners: dict[Unit, User] = {}  # who usually answers for a unit's nodes here
    for title_text, standard_text, unit, weight, is_major, deadline in plan:
        people = county.staff[unit.short_name]
        if unit not in owners:
            owners[unit] = rng.choice(people)
        person = owners[unit]
        if unit.short_name == STAFF_UNIT and rng.random() < 0.6:
            person = county.accounts["staff"]
        elif rng.random() < 0.25:
            person = rng.choice(people)
        node = Node(
            project=project,
            title=title_text,
            unit=unit,
            responsible_user=person,
            deadline=deadline,
            standard=standard_text.format(unit=unit.name),
            weight=weight,
            is_major=is_major,
            created_at=project.created_at,
            updated_at=project.created_at,
        )
        county.nodes.append(node)


# --------------------------------------------------------------------------
# What happened by D
# --------------------------------------------------------------------------


def pick_scenario(county: CountyBuilder, deadline: date) -> str:
    overdue = (county.today - deadline).days
    if overdue <= 0:
        ahead = -overdue
        chance = 0.12 if ahead <= 15 else 0.04 if ahead <= 45 else 0.0
        return ON_TIME if county.rng.random() < chance else OPEN
    roll = county.rng.random()
    for scenario, least, most, probability in PAST_DUE_ODDS:
        if least <= overdue <= most:
            if roll < probability:
                return scenario
            roll -= probability
    return ON_TIME


def force_staff_cases(county: CountyBuilder) -> dict[Node, str]:
    """Move a few of the staff unit's nodes so its board shows every case."""
    staff_unit = county.units[STAFF_UNIT]
    candidates = [n for n in county.nodes if n.unit is staff_unit]
    forced: dict[Node, str] = {}
    for scenario, (low, high) in STAFF_CASES:
        first = max(county.today + timedelta(days=low), county.year_start)
        last = min(county.today + timedelta(days=high), date(county.year, 12, 31))
        if first > last:
            continue
        free = [n for n in candidates if n not in forced]
        if not free:
            break
        node = min(free, key=lambda n: abs((n.deadline - first).days) + abs((n.deadline - last).days))
        node.deadline = min(max(node.deadline, first), last)
        node.responsible_user = county.accounts["staff"]
        forced[node] = scenario
    return forced


def live(county: CountyBuilder, node: Node, scenario: str) -> None:
    """Give a node the history of its scenario: status, card, cards, re-commitments."""
    dl = node.deadline
    life = story(county, dl, scenario)
    if life is None:  # the scenario does not fit this deadline by D
        scenario = ON_TIME if dl < county.today else OPEN
        life = story(county, dl, scenario) or NodeLife()
    latest = node.created_at
    late = scenario not in (OPEN, ON_TIME, REVIEW)
    latest = max(latest, recommit(county, node, scenario, life))
    node.committed_deadline = life.committed
    if life.submitted is not None:
        latest = max(latest, _submit(county, node, life, late))
    else:
        node.status = open_status(county, dl, late)
    node.card = "none"  # the rules colour it: the green card at sign-off, the sweep the rest
    node.updated_at = latest
    progress(county, node, life)


def _submit(county: CountyBuilder, node: Node, life: NodeLife, late: bool) -> datetime:
    """Submit the node on ``life.submitted`` and, if ``life.closed``, sign it off;
    returns the time of the last of the two."""
    node.submitted_at = county.at_random(life.submitted, 15, 18)
    node.submitted_on = life.submitted
    node.submitted_by = node.responsible_user
    node.submission_note = SUBMISSION_NOTE
    if life.closed is None:
        node.status = "review"
        return node.submitted_at
    closer = county.rng.choice(county.supervisors + [county.supervisors[0]])
    node.closed_at = county.at_random(life.closed, 9, 12)
    node.closed_by = closer
    node.status = "done"
    if not late:
        # Signed off on time: the card service issues the green card
        # once the node has its id (see CountyBuilder.apply_rules()).
        county.greens.append((node, life.closed, closer))
    return max(node.submitted_at, node.closed_at)


def open_status(county: CountyBuilder, deadline: date, late: bool) -> str:
    if late:
        return "doing"
    ahead = (deadline - county.today).days
    chance = 0.7 if ahead <= 14 else 0.35 if ahead <= 45 else 0.08
    return "doing" if county.rng.random() < chance else "todo"


def close_day(county: CountyBuilder, submitted: date) -> date:
    """The working day a supervisor signs off a submission."""
    return add_workdays(submitted, county.rng.choice((1, 1, 1, 2, 2, 3)))


def closed_by_today(county: CountyBuilder, submitted: date) -> date | None:
    closed = close_day(county, submitted)
    return closed if closed < county.today else None


def story(county: CountyBuilder, dl: date, scenario: str) -> NodeLife | None:
    """The days of a scenario's events for a deadline; None when it cannot fit by D."""
    if scenario == OPEN:
        return NodeLife() if dl >= county.today else None
    if scenario in (ON_TIME, REVIEW):
        return _story_in_time(county, dl, scenario)
    if dl >= county.today:
        return None
    if scenario == LATE:
        latest = min(dl + timedelta(days=4), county.last_day)
        if latest <= dl:
            return None
        submitted = dl + timedelta(days=county.rng.randint(1, (latest - dl).days))
        return NodeLife(submitted, closed_by_today(county, submitted))
    if scenario in (YELLOW_OPEN, YELLOW_PENDING, YELLOW_REJECTED):
        need = {YELLOW_OPEN: 0, YELLOW_PENDING: 1, YELLOW_REJECTED: 2}[scenario]
        return NodeLife() if dl + timedelta(days=need) <= county.last_day else None
    return _story_recommitted(county, dl, scenario)


def _story_in_time(county: CountyBuilder, dl: date, scenario: str) -> NodeLife | None:
    """ON_TIME and REVIEW: submitted by the deadline (and by D), signed off or not yet."""
    last = county.last_day
    latest = min(dl, last)
    if scenario == REVIEW:
        earliest = max(county.year_start, last - timedelta(days=1), dl - timedelta(days=10))
    else:
        earliest = max(county.year_start, latest - timedelta(days=12))
    if latest < earliest:
        return None
    back = min((latest - earliest).days, county.rng.choice((0, 0, 0, 1, 1, 2, 3, 5, 8)))
    submitted = latest - timedelta(days=back)
    closed = None if scenario == REVIEW else closed_by_today(county, submitted)
    return NodeLife(submitted, closed)


def _story_recommitted(county: CountyBuilder, dl: date, scenario: str) -> NodeLife | None:
    """The rest have an approved re-commitment, decided within the grace period."""
    rng, last = county.rng, county.last_day
    decided = dl + timedelta(days=rng.randint(1, 4))
    if decided > last:
        return None
    if scenario == YELLOW_RECOMMITTED:
        committed = max(county.today, decided + timedelta(days=7)) + timedelta(days=rng.randint(0, 15))
        return NodeLife(committed=committed, decided=decided)
    committed = decided + timedelta(days=rng.randint(7, 25))
    if scenario == LATE_RECOMMIT:
        latest = min(committed, last)
        if latest <= decided:
            return None
        submitted = decided + timedelta(days=rng.randint(1, (latest - decided).days))
        return NodeLife(submitted, closed_by_today(county, submitted), committed, decided)
    # Red: the committed date passed too (RED_DONE finished afterwards).
    room = (last - decided).days - (3 if scenario == RED_DONE else 0)
    if room < 3:
        return None
    committed = decided + timedelta(days=min((committed - decided).days, room))
    if scenario == RED_OPEN:
        return NodeLife(committed=committed, decided=decided)
    submitted = committed + timedelta(days=rng.randint(1, min(20, (last - committed).days)))
    return NodeLife(submitted, closed_by_today(county, submitted), committed, decided)


def recommit(county: CountyBuilder, node: Node, scenario: str, life: NodeLife) -> datetime:
    """File the scenario's re-commitments; returns the time of the last event."""
    rng, dl = county.rng, node.deadline
    leader = county.leader_of[node.unit.short_name]
    latest = node.created_at

    def file(filed: date, new_deadline: date, state: str, decided: date | None) -> None:
        nonlocal latest
        latest = max(latest, _file_recommitment(county, node, leader, filed, new_deadline, state, decided))

    day = timedelta(days=1)
    if scenario == YELLOW_PENDING:
        filed = dl + day * rng.randint(1, max(1, (county.last_day - dl).days))
        file(filed, filed + day * rng.randint(7, 20), "pending", None)
    elif scenario == YELLOW_REJECTED:
        file(dl + day, dl + day * rng.randint(20, 40), "rejected", dl + 2 * day)
        if dl + 3 * day <= county.last_day and rng.random() < 0.5:
            file(dl + 3 * day, dl + day * rng.randint(10, 15), "pending", None)
    elif scenario == LATE and life.submitted and life.submitted >= dl + 3 * day and rng.random() < 0.5:
        file(dl + day, dl + day * rng.randint(15, 30), "rejected", dl + 2 * day)
    elif life.decided is not None and life.committed is not None:
        # Approved inside the grace period (story() drew the decision day),
        # sometimes after a first request was turned down.
        filed = dl + day
        if life.decided >= dl + 3 * day and rng.random() < 0.4:
            file(filed, life.committed + day * rng.randint(10, 20), "rejected", dl + 2 * day)
            filed = dl + 3 * day
        file(max(filed, life.decided - day * rng.randint(0, 2)), life.committed, "approved", life.decided)
    return latest


def _file_recommitment(
    county: CountyBuilder, node: Node, leader: User,
    filed: date, new_deadline: date, state: str, decided: date | None,
) -> datetime:
    """One re-commitment by the node's responsible person, decided by its unit's leader
    if ``decided``; returns the time of its last event."""
    rng = county.rng
    filed_at = county.at_random(filed, 8, 11)
    row = Recommitment(
        node=node, reason=rng.choice(RECOMMIT_REASONS), new_deadline=new_deadline,
        filed_by=node.responsible_user, filed_at=filed_at, state=state,
    )
    latest = filed_at
    if decided is not None:
        row.decided_by = leader
        row.decided_at = county.at_random(decided, 14, 17)
        row.comment = rng.choice(APPROVE_COMMENTS if state == "approved" else REJECT_COMMENTS)
        latest = max(latest, row.decided_at)
    county.rows.append(row)
    return latest


def progress(county: CountyBuilder, node: Node, life: NodeLife) -> None:
    """A few progress log lines on some of the nodes that have started."""
    rng = county.rng
    if node.status == "todo":
        return
    if rng.random() > (0.3 if node.status == "done" else 0.6):
        return
    end = (life.submitted - timedelta(days=1)) if life.submitted else county.last_day
    start = max(county.year_start, node.deadline - timedelta(days=40))
    if end < start:
        return
    days = sorted(rng.sample(range((end - start).days + 1), min(rng.randint(1, 3), (end - start).days + 1)))
    percent = 0
    for offset in days:
        percent = min(95, percent + rng.randint(15, 40))
        texts = next(t for ceiling, t in PROGRESS_TEXTS if percent <= ceiling)
        author = node.responsible_user
        if node.project in county.contact_projects and rng.random() < 0.5:
            author = county.accounts["contact"]
        county.rows.append(
            ProgressEntry(
                node=node,
                author=author,
                body=rng.choice(texts).format(percent=percent),
                percent=percent,
                created_at=county.at_random(start + timedelta(days=offset), 9, 18),
            )
        )
        county.summary.progress_entries += 1


def settle_projects(county: CountyBuilder, projects: list[Project]) -> None:
    """Each project's stage (the furthest its closed nodes reached) and its dates."""
    rng = county.rng
    for project in projects:
        plan = county.plans[project]
        stage = STAGES.index(plan.initial)
        for node in project.nodes:
            reached = plan.reaches.get(node.title)
            if node.status == "done" and reached:
                stage = max(stage, STAGES.index(reached))
        project.stage = STAGES[stage]
        deadlines = [n.deadline for n in project.nodes]
        if plan.starts_this_year:
            project.start_date = min(deadlines)
        else:  # under way since an earlier year; long ago if already built
            years_back = 1 if plan.initial == "signed" else rng.randint(1, 2)
            project.start_date = date(county.year - years_back, rng.randint(1, 12), 1)
        end = _month_end(county.year + rng.randint(0, 2), rng.choice((6, 12)))
        project.end_date = max(end, max(deadlines))


def report_investment(county: CountyBuilder, projects: list[Project]) -> None:
    """Each project's monthly completed-investment reports up to last month, ending at its completed figure.

    Drawn without dice (a smooth curve to the figure), so the rest of the county is unchanged.
    """
    last = county.today.month - 1
    if last < 1:
        return
    for project in projects:
        completed = Decimal(project.investment_completed or 0)
        reporter = project.contacts[0] if project.contacts else county.staff[project.lead_unit.short_name][0]
        for month in range(1, last + 1):
            figure = completed if month == last else (completed * Decimal((month / last) ** 1.15)).quantize(Decimal("0.01"))
            reported = min(date(county.year, month + 1, 5), county.last_day)  # month < 12: last is at most November
            county.rows.append(InvestmentReport(project=project, month=date(county.year, month, 1), completed=figure,
                                                note="统计月报", reported_by=reporter,
                                                reported_at=county.at(reported, 10)))
