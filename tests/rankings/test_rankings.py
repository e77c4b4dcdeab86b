"""Ranking (rule 7): one pure function, set-based sums, periods across year ends."""

from __future__ import annotations

from datetime import date

from portal.core.extensions import db
from portal.core.periods import period_bounds
from portal.models import CardEvent
from portal.rankings.services import UnitScore, league_tables, rank
from tests import factories as f


def test_period_bounds_iso_weeks_across_the_year_end():
    # 2026-01-01 is a Thursday: ISO week 1 of 2026 runs Mon 2025-12-29 to Sun 2026-01-04.
    assert period_bounds("week", date(2026, 1, 1)) == (date(2025, 12, 29), date(2026, 1, 4))
    assert period_bounds("week", date(2025, 12, 29)) == (date(2025, 12, 29), date(2026, 1, 4))
    assert period_bounds("month", date(2026, 2, 14)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert period_bounds("quarter", date(2026, 11, 22)) == (date(2026, 10, 1), date(2026, 12, 31))
    assert period_bounds("quarter", date(2026, 5, 2)) == (date(2026, 4, 1), date(2026, 6, 30))
    assert period_bounds("year", date(2026, 6, 1)) == (date(2026, 1, 1), date(2026, 12, 31))


def test_rule7_rank_ties_break_on_on_time_rate_then_red_cards():
    rows = rank([
        UnitScore(1, "甲", score=3, green=3, yellow=1, due=4, on_time=3),   # 75 %
        UnitScore(2, "乙", score=3, green=3, yellow=0, due=3, on_time=3),   # 100 %
        UnitScore(3, "丙", score=3, green=3, yellow=0, red=1, due=4, on_time=3),   # the red card's node due too: 75 %
        UnitScore(4, "丁", score=5, green=5, due=5, on_time=5),
        UnitScore(5, "戊", score=3, green=3, yellow=0, due=3, on_time=3),   # equal to 乙 on all four
    ])
    # 丙 and 甲 tie on score and 75 %: 丙 has fewer yellow cards (rule 14), its red card comes after.
    assert [(r.rank, r.unit.name) for r in rows] == [(1, "丁"), (2, "乙"), (2, "戊"), (4, "丙"), (5, "甲")]


def test_rule14_units_with_nothing_due_rank_ahead_of_late_ones():
    """Rule 7 counted a unit with nothing judged as 0 %; rule 14 as on time: it missed nothing."""
    rows = rank([UnitScore(1, "甲", score=0), UnitScore(2, "乙", score=0, green=1, yellow=1, due=2, on_time=1)])
    assert [r.unit.name for r in rows] == ["甲", "乙"]
    assert rows[0].unit.on_time_rate is None


def _card(node, colour, points, day, withdrawn=False):
    db.session.add(CardEvent(node=node, unit=node.unit, colour=colour, points=points, effective_date=day,
                             is_withdrawn=withdrawn, is_manual=withdrawn or colour == "red" and points == -5))


def test_rule7_league_tables_sum_cards_skip_withdrawn_and_show_movement(app):
    towns = f.league("乡镇联赛")
    solo = f.league("园区联赛")
    a, b, c = f.unit("甲镇", league=towns), f.unit("乙镇", league=towns), f.unit("丙镇", league=towns)
    park = f.unit("开发区", league=solo)
    project = f.project(lead_unit=a)
    na, nb, nc = f.node(project, unit=a), f.node(project, unit=b), f.node(project, unit=c)
    f.node(project, unit=park)
    # Last week (2026-06-08..14): 乙 led. This week (06-15..21): 甲 leads, 乙's card withdrawn.
    _card(nb, "green", 2, date(2026, 6, 10))
    _card(na, "green", 1, date(2026, 6, 15))
    _card(nb, "green", 3, date(2026, 6, 16), withdrawn=True)
    _card(nc, "yellow", 0, date(2026, 6, 17))
    db.session.commit()
    (start, end), tables = league_tables("week", date(2026, 6, 17), today=date(2026, 6, 22))
    assert (start, end) == (date(2026, 6, 15), date(2026, 6, 21))
    by_name = {t.name: t for t in tables}
    town = [(r.rank, r.unit.name, r.unit.score, r.movement) for r in by_name["乡镇联赛"].rows]
    # 乙 and 丙 tie on points (0); 乙 had nothing due, 丙 a late node with a yellow card (rule 14): 乙 is second.
    assert town == [(1, "甲镇", 1, 1), (2, "乙镇", 0, -1), (3, "丙镇", 0, -1)]
    assert [(r.rank, r.unit.name, r.unit.score) for r in by_name["园区联赛"].rows] == [(1, "开发区", 0)]  # a league of one


def test_week_one_spans_the_new_year(app):
    league = f.league()
    unit = f.unit(league=league)
    node = f.node(f.project(lead_unit=unit, year=2025), unit=unit, deadline=date(2025, 12, 30))
    _card(node, "green", 1, date(2025, 12, 30))
    _card(node, "yellow", -1, date(2026, 1, 2))
    db.session.commit()
    (_, _), tables = league_tables("week", date(2026, 1, 1), today=date(2026, 1, 5))
    row = tables[0].rows[0]
    assert (row.unit.score, row.unit.green, row.unit.yellow) == (0, 1, 1)


def test_rankings_page_and_bad_input(app, client, auth):
    league = f.league("乡镇联赛")
    unit = f.unit("上派镇", league=league)
    f.user("staff", roles=["unit_staff"], unit=unit)
    db.session.commit()
    auth.login("staff")
    html = client.get("/rankings?period=month&date=2026-06-15").get_data(as_text=True)
    assert "上派镇" in html and "乡镇联赛" in html and "按时完成率" in html and "2026年6月" in html
    bad = client.get("/rankings?period=decade")
    assert bad.status_code == 400 and "period" in bad.get_data(as_text=True)
    bad = client.get("/rankings?period=week&date=2026-13-01")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.get_data(as_text=True)
    assert client.get(f"/rankings/units/{unit.id}?year=2026").status_code == 200
