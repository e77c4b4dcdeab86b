"""The command view: dashboard (挂图作战), year timeline (时光轴), project colours (rule 8), cadre files."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from portal.core.extensions import db
from portal.dashboard.progress import elapsed_share, project_colour, project_progress
from portal.dashboard.services import (
    Filters,
    card_counts,
    category_figures,
    key_supervision_nodes,
    overdue_nodes,
)
from portal.dashboard.timeline import year_timeline
from portal.models import CardEvent, ScoringPolicy
from portal.rankings.services import completion_by_category
from tests import factories as f

TODAY = date(2026, 6, 15)


# -- project colour (SPEC rule 8) ---------------------------------------------


@pytest.mark.parametrize(
    ("closed", "elapsed", "colour"),
    [
        (0.50, 0.50, "green"),   # on schedule
        (0.90, 0.10, "green"),   # ahead
        (0.41, 0.50, "green"),   # lag 9
        (0.40, 0.50, "yellow"),  # lag 10: yellow from the threshold on
        (0.26, 0.50, "yellow"),  # lag 24
        (0.25, 0.50, "red"),     # lag 25: red from the threshold on
        (0.00, 1.00, "red"),
    ],
)
def test_rule8_project_colour_at_its_thresholds(closed, elapsed, colour):
    assert project_colour(closed, elapsed, 10, 25) == colour


def test_elapsed_share_is_clamped_and_handles_a_one_day_schedule():
    assert elapsed_share(date(2026, 1, 1), date(2026, 1, 11), date(2026, 1, 6)) == 0.5
    assert elapsed_share(date(2026, 1, 1), date(2026, 1, 11), date(2025, 12, 1)) == 0.0
    assert elapsed_share(date(2026, 1, 1), date(2026, 1, 11), date(2027, 1, 1)) == 1.0
    assert elapsed_share(date(2026, 3, 1), date(2026, 3, 1), date(2026, 3, 1)) == 1.0
    assert elapsed_share(None, date(2026, 3, 1), date(2026, 3, 1)) is None


def test_rule8_project_colours_use_weights_dates_node_span_and_the_policy(app):
    # Schedule 2026-01-01..2026-12-31: on 2026-07-02, 182 of 364 days (50 %) have elapsed.
    year = dict(start_date=date(2026, 1, 1), end_date=date(2026, 12, 31))
    green = f.project(**year)
    f.node(green, weight=1, status="done")
    f.node(green, weight=1)
    yellow = f.project(**year)  # 3 of 8 weight closed = 37.5 %, lag 12.5
    f.node(yellow, weight=3, status="done")
    f.node(yellow, weight=5)
    red = f.project(**year)  # 1 of 5 = 20 %, lag 30
    f.node(red, weight=1, status="done")
    f.node(red, weight=4, status="review")  # submitted but not signed off: not closed
    # No project dates: the schedule is the span of its node deadlines (03-01..07-01 → all elapsed).
    span = f.project()
    f.node(span, deadline=date(2026, 3, 1), status="done")
    f.node(span, deadline=date(2026, 7, 1))
    empty = f.project(**year)  # no nodes: not judged
    db.session.commit()
    as_of = date(2026, 7, 2)
    got = {p.project_id: p for p in project_progress(as_of)}
    assert got[green.id].colour == "green" and got[green.id].closed_share == 0.5
    assert got[yellow.id].colour == "yellow" and round(got[yellow.id].lag, 1) == 12.5
    assert got[red.id].colour == "red"
    assert got[span.id].start == date(2026, 3, 1) and got[span.id].end == date(2026, 7, 1)
    assert got[span.id].elapsed_share == 1.0 and got[span.id].colour == "red"  # 50 % behind
    assert got[empty.id].colour is None
    # The thresholds are the policy's on that date.
    db.session.add(ScoringPolicy(effective_from=date(2026, 7, 1), green_points=1, yellow_points=0, red_points=-1,
                                 warn_days=3, recommit_grace_days=5, interview_yellow_threshold=3,
                                 recommit_max_days=60, project_yellow_lag=15, project_red_lag=60))
    db.session.commit()
    got = {p.project_id: p.colour for p in project_progress(as_of)}
    assert (got[yellow.id], got[red.id], got[span.id]) == ("green", "yellow", "yellow")
    assert {p.project_id: p.colour for p in project_progress(date(2026, 6, 30))}[red.id] == "red"


def test_project_page_shows_colour_schedule_investment_and_stage(app, client, auth):
    f.user("leader1", roles=["leader"])
    project = f.project(start_date=date(2026, 1, 1), end_date=date(2026, 12, 31), stage="building",
                        investment_planned=2000, investment_completed=500)
    f.node(project, weight=1, status="done")
    f.node(project, weight=3)
    db.session.commit()
    auth.login("leader1")
    html = client.get(f"/projects/{project.id}").get_data(as_text=True)
    # On 06-15, 165 of 364 days (45.3 %) have elapsed and 1 of 4 weight (25 %) is closed: lag 20 → yellow.
    assert "黄色：滞后" in html
    assert "45.3%" in html and "25.0%" in html
    assert "年度计划投资完成" in html and "500 / 2000" not in html
    assert 'class="reached current">在建' in html
    assert project.name in html and "节点" in html  # the existing content stays


# -- a small county -----------------------------------------------------------


@pytest.fixture
def categorised_county(app):
    """Two categories, two leagues; nodes as of 2026-06-15 (a Monday)."""
    towns, depts = f.league("乡镇联赛"), f.league("部门联赛")
    town, dept = f.unit("甲镇", league=towns), f.unit("县交通局", league=depts)
    industry, city = f.category("产业项目"), f.category("城市建设")
    innovation, urban = f.theme("产业创新"), f.theme("城乡发展")
    a = f.project(lead_unit=town, category=industry, theme=innovation, name="新能源整车")
    b = f.project(lead_unit=dept, category=city, theme=urban, name="过境公路")
    n = {
        # due and done: one on time (green), one late (yellow)
        "green": f.node(a, deadline=date(2026, 5, 10), status="done", card="green", is_major=True),
        "late_done": f.node(a, deadline=date(2026, 5, 20), status="done", card="yellow"),
        # overdue now: not submitted, past the deadline (late from 06-15 on)
        "overdue": f.node(a, deadline=date(2026, 6, 14), status="doing", is_key_supervision=True, card="yellow"),
        # due today: not yet late
        "due_today": f.node(a, deadline=date(2026, 6, 15), status="todo"),
        # past the deadline but re-committed to later: not overdue
        "recommitted": f.node(b, unit=dept, deadline=date(2026, 6, 1), committed_deadline=date(2026, 6, 30),
                              status="doing", card="yellow", is_major=True),
        # submitted, waiting for sign-off: not overdue
        "review": f.node(b, unit=town, deadline=date(2026, 6, 10), status="review", is_key_supervision=True),
        # key supervision but closed: not listed
        "key_done": f.node(b, unit=dept, deadline=date(2026, 4, 1), status="done", card="green", is_key_supervision=True),
        "later": f.node(b, unit=dept, deadline=date(2026, 9, 30), is_major=True),
    }
    f.node(f.project(category=industry, year=2025), deadline=date(2025, 6, 1))  # another year
    for node, colour, day in [(n["green"], "green", date(2026, 6, 15)), (n["late_done"], "yellow", date(2026, 5, 21)),
                              (n["overdue"], "yellow", date(2026, 6, 15)), (n["recommitted"], "yellow", date(2026, 6, 2)),
                              (n["key_done"], "green", date(2026, 6, 12))]:
        db.session.add(CardEvent(node=node, unit=node.unit, colour=colour, points=1 if colour == "green" else 0,
                                 effective_date=day))
    db.session.add(CardEvent(node=n["overdue"], unit=town, colour="red", points=-1, effective_date=date(2026, 6, 15),
                             is_manual=True, is_withdrawn=True))  # withdrawn: never counts
    db.session.commit()
    return {"nodes": n, "towns": towns, "depts": depts, "industry": industry, "city": city, "urban": urban,
            "town": town, "dept": dept}


def test_category_figures_match_the_rankings_and_add_overdue_and_key(categorised_county):
    rows = category_figures(Filters(2026), TODAY)
    assert [(r.name, r.due, r.done, r.on_time) for r in rows] == [
        (c.name, c.due, c.done, c.on_time) for c in completion_by_category(2026, TODAY)
    ]
    industry, city = rows
    assert (industry.nodes, industry.due, industry.done, industry.on_time, industry.overdue, industry.key_open) == (
        4, 4, 2, 1, 1, 1)
    assert industry.rate == 0.5 and industry.on_time_rate == 0.5
    assert (city.nodes, city.due, city.done, city.overdue, city.key_open) == (4, 3, 1, 0, 1)


def test_filters_narrow_every_figure(categorised_county):
    only_city = category_figures(Filters(2026, category_id=categorised_county["city"].id), TODAY)
    assert [r.name for r in only_city] == ["城市建设"]
    by_theme = category_figures(Filters(2026, theme_id=categorised_county["urban"].id), TODAY)
    assert [r.nodes for r in by_theme] == [0, 4]
    towns = category_figures(Filters(2026, league_id=categorised_county["towns"].id), TODAY)  # the node's unit's league
    assert [r.nodes for r in towns] == [4, 1]
    assert category_figures(Filters(2025), TODAY)[0].nodes == 1


def test_cards_this_week_and_month_skip_withdrawn(categorised_county):
    cards = card_counts(Filters(2026), TODAY)
    assert (cards["week"].start, cards["week"].end) == (date(2026, 6, 15), TODAY)
    assert (cards["week"].green, cards["week"].yellow, cards["week"].red) == (1, 1, 0)
    assert (cards["month"].green, cards["month"].yellow, cards["month"].red) == (2, 2, 0)
    depts = card_counts(Filters(2026, league_id=categorised_county["depts"].id), TODAY)
    assert (depts["month"].green, depts["month"].yellow) == (1, 1)


def test_overdue_and_key_supervision_lists(categorised_county):
    n = categorised_county["nodes"]
    assert [x.id for x in overdue_nodes(Filters(2026), TODAY)] == [n["overdue"].id]
    assert [x.id for x in overdue_nodes(Filters(2026), date(2026, 7, 1))] == [
        n["overdue"].id, n["due_today"].id, n["recommitted"].id]
    assert [x.id for x in key_supervision_nodes(Filters(2026))] == [n["review"].id, n["overdue"].id]


def test_dashboard_page_shows_the_figures(categorised_county, client, auth):
    f.user("staff1", roles=["unit_staff"], unit=categorised_county["town"])
    db.session.commit()
    auth.login("staff1")  # everyone logged in may read the dashboard
    response = client.get("/dashboard")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "挂图作战" in html and "<svg" in html and "style=" not in html
    assert "产业项目" in html and "50.0%" in html
    assert categorised_county["nodes"]["overdue"].title in html
    html = client.get(f"/dashboard?year=2026&category={categorised_county['city'].id}").get_data(as_text=True)
    assert f'<option value="{categorised_county["city"].id}" selected>' in html


@pytest.mark.parametrize("query", ["year=abc", "year=20x6", "year=99999", "category=abc", "category=9999",
                                   "theme=-1", "league=1.5"])
def test_bad_filters_are_refused_with_a_400_in_chinese(categorised_county, client, auth, query):
    f.user("leader1", roles=["leader"])
    db.session.commit()
    auth.login("leader1")
    response = client.get(f"/dashboard?{query}")
    assert response.status_code == 400
    assert "请" in response.get_data(as_text=True)


def test_empty_filters_mean_all(categorised_county, client, auth):
    f.user("leader1", roles=["leader"])
    db.session.commit()
    auth.login("leader1")
    assert client.get("/dashboard?year=&category=&theme=&league=").status_code == 200
    assert client.get("/timeline?year=abc").status_code == 400


def _projects(count: int) -> None:
    unit, category, theme = f.unit(), f.category(), f.theme()
    for i in range(count):
        project = f.project(lead_unit=unit, category=category, theme=theme)
        f.node(project, deadline=date(2026, 5, 1), status="doing", is_key_supervision=i % 2 == 0, is_major=True)
        f.node(project, deadline=date(2026, 7, 1), status="done", card="green", weight=2)
    db.session.commit()


def test_dashboard_query_count_does_not_grow_with_projects(app, client, auth, count_queries):
    f.user("leader1", roles=["leader"])
    db.session.commit()
    auth.login("leader1")
    counts = []
    for batch in (10, 90):  # 10 projects, then 100
        _projects(batch)
        for path in ("/dashboard", "/timeline"):
            with count_queries() as counter:
                assert client.get(path).status_code == 200
            counts.append((path, counter["n"]))
    assert counts[:2] == counts[2:], counts


# -- the year timeline -------------------------------------------------------


def test_timeline_bands_and_months(categorised_county, client, auth):
    n = categorised_county["nodes"]
    unthemed = f.project(lead_unit=categorised_county["town"], category=categorised_county["industry"])
    f.node(unthemed, deadline=date(2026, 12, 1), is_major=True, title="未分主题节点")
    db.session.commit()
    bands = year_timeline(2026, "其他")
    assert [b.name for b in bands] == ["产业创新", "城乡发展", "其他"]
    assert [i.node_id for i in bands[0].months[4]] == [n["green"].id]
    assert [i.node_id for i in bands[1].months[5]] == [n["recommitted"].id]  # planned month, not the re-committed
    assert [i.node_id for i in bands[1].months[8]] == [n["later"].id]
    assert bands[2].count == 1 and bands[0].count == 1

    f.user("staff1", roles=["unit_staff"], unit=categorised_county["town"])
    db.session.commit()
    auth.login("staff1")
    html = client.get("/timeline?year=2026").get_data(as_text=True)
    assert "时光轴" in html and "产业创新" in html and "未分主题节点" in html
    assert "tl-item card-yellow" in html and "tl-item card-green tl-done" in html
    assert html.count('class="is-now') >= 2 and "tl-today-mark" in html  # June is this month
    assert "style=" not in html
    assert "tl-today-mark" not in client.get("/timeline?year=2025").get_data(as_text=True)


# -- cadre files -------------------------------------------------------------


def test_cadre_files_are_for_leaders_and_supervisors(categorised_county, client, auth):
    person = f.user("zhang", roles=["unit_staff"], unit=categorised_county["town"], display_name="张三")
    for key in ("green", "late_done", "overdue"):
        categorised_county["nodes"][key].responsible_user = person
    f.user("leader1", roles=["leader"])
    f.user("super1", roles=["supervisor"])
    db.session.commit()
    for username in ("leader1", "super1"):
        auth.login(username)
        assert client.get("/cadres").status_code == 200
        assert client.get(f"/cadres/{person.id}").status_code == 200
        auth.logout()
    auth.login("zhang")
    assert client.get("/cadres").status_code == 403
    assert client.get(f"/cadres/{person.id}").status_code == 403


def test_cadre_figures(categorised_county, client, auth):
    person = f.user("zhang", roles=["unit_staff"], unit=categorised_county["town"], display_name="张三")
    for key in ("green", "late_done", "overdue"):
        categorised_county["nodes"][key].responsible_user = person
    f.user("leader1", roles=["leader"])
    db.session.commit()
    from portal.dashboard.cadres import cadre_cards_by_month, cadre_figures

    (figures,) = cadre_figures(2026, TODAY)
    assert (figures.name, figures.nodes, figures.done, figures.overdue) == ("张三", 3, 2, 1)
    assert (figures.green, figures.yellow, figures.red) == (1, 2, 0)  # the withdrawn red does not count
    assert figures.on_time_rate == pytest.approx(1 / 3)
    months = cadre_cards_by_month(person.id, 2026)
    assert months[4] == (5, 0, 1, 0) and months[5] == (6, 1, 1, 0)
    auth.login("leader1")
    html = client.get("/cadres").get_data(as_text=True)
    assert "张三" in html and "33.3%" in html
    html = client.get(f"/cadres/{person.id}").get_data(as_text=True)
    assert categorised_county["nodes"]["overdue"].title in html and "第2季度" in html
    assert client.get("/cadres/99999").status_code == 404


def test_services_do_not_depend_on_the_wall_clock(categorised_county, clock):
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    assert category_figures(Filters(2026), TODAY)[0].overdue == 1
