"""Next year's plan, on a December date: the projects running past the year carried over by the real rule
(``projects.services.carry_over``, their open nodes moving with them), each with its first nodes of next year.

Runs last, after the sweep: its dice come after every other draw, so the rest
of the county is the same as on any other date.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from portal.core.extensions import db
from portal.models import Node, Project
from portal.ops.demo import history
from portal.ops.demo.data import PROJECTS, RECURRING, RECURRING_FOR_TRACK, STAFF_UNIT, TRACKS
from portal.projects.services import carried_code, carry_over

if TYPE_CHECKING:
    from portal.ops.demo.builder import CountyBuilder

PLANNING_MONTH = 12  # the demo plans next year in December
FIRST_HALF = (date(1, 1, 20), date(1, 6, 30))  # next year's first nodes fall in its first half


def plan_next_year(county: CountyBuilder) -> list[Project]:
    """Carry every project running into next year and give it its next steps; [] before December."""
    if county.today.month != PLANNING_MONTH:
        return []
    following = county.year + 1
    specs = {spec.name.format(year=county.year): spec for spec in PROJECTS}
    running = db.session.scalars(
        select(Project).where(Project.year == county.year, Project.end_date >= date(following, 1, 1))
        .order_by(Project.code)
    ).all()
    supervisor = county.accounts["supervisor"]
    carried = []
    for project in running:
        spec = specs.get(project.name)
        if spec is None:
            continue
        done_titles = {n.title for n in project.nodes}
        new = carry_over(supervisor, project, carried_code(project), None, county.today)
        new.investment_planned = history._money(float(project.investment_planned) * county.rng.uniform(0.8, 1.3))
        _first_nodes(county, new, spec, done_titles)
        carried.append(new)
    db.session.flush()
    return carried


def _first_nodes(county: CountyBuilder, project: Project, spec, done_titles: set[str]) -> None:
    """Next year's first two to four steps of the project's track (or its recurring reports when the track is done)."""
    rng = county.rng
    track = TRACKS[spec.track]
    last = max((i for i, step in enumerate(track) if step.title in done_titles), default=-1)
    steps = list(track[last + 1:last + 1 + rng.randint(2, 4)])
    responsible = history._responsibility(county, project.lead_unit, spec)
    following = county.year + 1
    first, end = FIRST_HALF[0].replace(year=following), FIRST_HALF[1].replace(year=following)
    plan = []
    if steps:
        gap = (end - first).days / len(steps)
        for i, step in enumerate(steps):
            offset = round((i + 1) * gap - gap / 3 * rng.random())
            deadline = history._weekday_on_or_before(first + timedelta(days=offset))
            plan.append((step.title, step.standard, responsible(step.who), step.weight, step.is_major, deadline))
    else:
        title, standard, who, months = RECURRING[RECURRING_FOR_TRACK[spec.track]]
        planned = float(project.investment_planned)
        for month in [m for m in months if m <= 6][:3]:
            share = month / 12
            plan.append((title.format(m=month, q=(month + 2) // 3, amount=f"{planned * share:,.0f}", pct=round(share * 100)),
                         standard, responsible(who), 1, False, history._month_end(following, month)))
    created = county.at(county.last_day, 10)
    for title, standard, unit, weight, is_major, deadline in plan:
        people = county.staff[unit.short_name]
        person = county.accounts["staff"] if unit.short_name == STAFF_UNIT else rng.choice(people)
        node = Node(project=project, title=title, unit=unit, responsible_user=person, deadline=deadline,
                    standard=standard.format(unit=unit.name), weight=weight, is_major=is_major,
                    created_at=created, updated_at=created)
        county.nodes.append(node)
        db.session.add(node)
