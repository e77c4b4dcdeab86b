"""SPEC rule 14, the ranking revised: on-time over the nodes due in the period, ties that separate
a unit with late nodes from one with nothing due, no ranking for units outside the leagues, the last
complete period by default, the year to date beside it and the last place marked."""

from __future__ import annotations

from datetime import date

from portal.core.extensions import db
from portal.models import CardEvent
from portal.rankings.services import UnitScore, league_tables, rank
from tests import factories as f

TODAY = date(2026, 6, 24)  # a Wednesday; last week is 06-15..06-21


def _card(node, colour, points, day):
    db.session.add(CardEvent(node=node, unit=node.unit, colour=colour, points=points, effective_date=day))


def test_rule14_ties_break_on_on_time_then_fewer_yellow_then_fewer_red():
    rows = rank([
        UnitScore(1, "三黄", score=0, yellow=3, due=3, on_time=0),  # three late nodes
        UnitScore(2, "无到期", score=0),  # nothing due: missed nothing
        UnitScore(3, "一黄", score=0, yellow=1, due=2, on_time=1),
        UnitScore(4, "一黄一红", score=0, yellow=1, red=1, due=2, on_time=1),
    ])
    assert [(r.rank, r.unit.name) for r in rows] == [(1, "无到期"), (2, "一黄"), (3, "一黄一红"), (4, "三黄")]
    assert rows[0].unit.on_time_rate is None and rows[-1].unit.on_time_rate == 0.0
    assert [r.is_last for r in rows] == [False, False, False, True]
    assert not any(r.is_last for r in rank([UnitScore(1, "甲"), UnitScore(2, "乙")]))  # all equal: nobody last


def test_rule14_on_time_counts_the_nodes_due_in_the_period(app):
    league = f.league("乡镇联赛")
    town, other = f.unit("上派镇", league=league), f.unit("三河镇", league=league)
    project = f.project(lead_unit=town)
    on_time = f.node(project, deadline=date(2026, 6, 16), status="done", card="green")
    old = f.node(project, deadline=date(2026, 6, 5), status="doing", card="red")  # due earlier, red this week
    still_open = f.node(project, deadline=date(2026, 6, 19), status="doing")  # late, the card not yet swept
    f.node(project, deadline=date(2026, 6, 26), status="doing")  # due next week: not counted
    f.node(project, deadline=date(2026, 6, 17), status="done", card="none")  # closed before go-live: never judged
    _card(on_time, "green", 1, date(2026, 6, 16))
    _card(old, "red", -1, date(2026, 6, 18))
    f.node(f.project(lead_unit=other), unit=other, deadline=date(2026, 6, 18), status="done", card="green")
    db.session.commit()
    (_, _), tables = league_tables("week", date(2026, 6, 17), today=TODAY)
    rows = {r.unit.name: r for r in tables[0].rows}
    town_row = rows["上派镇"]
    assert (town_row.unit.due, town_row.unit.on_time) == (3, 1)  # on time, the red one, the open late one
    assert town_row.unit.red == 1 and town_row.unit.on_time_rate < 1  # a red card never beside 100 %
    assert rows["三河镇"].unit.on_time_rate == 1.0
    assert still_open.id  # (kept for the reader: the open node is the third)


def test_rule14_units_outside_any_league_are_never_ranked(app):
    league = f.league("乡镇联赛")
    f.unit("上派镇", league=league)
    f.unit("县委县政府督查室")  # the office itself
    f.unit("县政府")
    db.session.commit()
    (_, _), tables = league_tables("week", date(2026, 6, 17), today=TODAY)
    assert [t.name for t in tables] == ["乡镇联赛"]
    assert [r.unit.name for t in tables for r in t.rows] == ["上派镇"]


def test_rule14_the_year_to_date_sits_beside_the_period(app):
    league = f.league("乡镇联赛")
    town = f.unit("上派镇", league=league)
    project = f.project(lead_unit=town)
    _card(f.node(project), "green", 2, date(2026, 3, 2))
    _card(f.node(project), "green", 1, date(2026, 6, 16))
    _card(f.node(project), "yellow", -1, date(2026, 6, 23))  # after the period: not in its year to date
    db.session.commit()
    (_, _), tables = league_tables("week", date(2026, 6, 17), today=TODAY)
    row = tables[0].rows[0]
    assert (row.unit.score, row.ytd_score) == (1, 3)


def test_rule14_pages_open_on_the_last_complete_period(app, client, auth, clock):
    league = f.league("乡镇联赛")
    f.unit("上派镇", league=league)
    f.unit("县委县政府督查室")
    f.user("staff", roles=["unit_staff"], unit=f.unit("三河镇", league=league))
    db.session.commit()
    clock.set(TODAY)
    auth.login("staff")
    week = client.get("/rankings").get_data(as_text=True)
    assert "2026年第25周（6月15日—6月21日）" in week  # last week, not the one that began on Monday
    assert "date=2026-06-21" in week  # and the printable PDF prints the same week
    assert "县委县政府督查室" not in week and "未分组单位" not in week
    assert "全年累计" in week
    month = client.get("/rankings?period=month").get_data(as_text=True)
    assert "2026年5月" in month
    chosen = client.get("/rankings?period=week&date=2026-06-24").get_data(as_text=True)
    assert "2026年第26周" in chosen  # a date asked for is shown as asked
    assert "同分时依次比较" in week  # the tie-break is stated on the page
