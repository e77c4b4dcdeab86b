"""Going live mid-year (SPEC rule 11): no card is ever effective before the go-live date.

The county below goes live on 2026-07-01 with its own ledger: nodes due
before then were finished (or not) outside the portal and get no card from
any sweep; nodes due from then on are judged as always. The dashboard and
the rankings count a node closed without a card as complete, and neither on
time nor late.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, update

from portal.admin.services import set_go_live_on
from portal.boards.services import verify
from portal.cards.services import issue_rule_card
from portal.core.extensions import db
from portal.dashboard.cadres import cadre_figures
from portal.dashboard.services import Filters, category_figures, overdue_nodes, total_figures
from portal.models import AuditEntry, CardEvent, Interview, Node, Notification, Recommitment
from portal.models.policy import go_live_on, policy_on
from portal.rankings.services import completion_by_category, unit_scores
from portal.sweeps.services import sweep
from tests import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")
GO_LIVE = date(2026, 7, 1)


def local(day: date, hour: int = 15) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI).astimezone(UTC)


def run(clock, day: date):
    clock.set(day)
    result = sweep(day, clock)
    db.session.commit()
    return result


def cards(node=None):
    stmt = select(CardEvent).order_by(CardEvent.effective_date, CardEvent.id)
    if node is not None:
        stmt = stmt.where(CardEvent.node_id == node.id)
    return db.session.scalars(stmt).all()


def issued() -> set[tuple[int, str, date]]:
    return {(c.node_id, c.colour, c.effective_date) for c in cards()}


def finished(node, day: date) -> None:
    """Closed as the ledger says: signed off, submitted on ``day``, no card."""
    node.status, node.submitted_at, node.submitted_on, node.closed_at = "done", local(day), day, local(day)


def days(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


@pytest.fixture
def county(app, clock):
    """A township going live on 2026-07-01, with nodes due before and after."""
    unit = f.unit("上派镇")
    staff = f.user("staff", roles=["unit_staff"], unit=unit)
    sup = f.user("sup", roles=["supervisor"], unit=f.unit("督查室"))
    leader = f.user("leader", roles=["leader"], unit=f.unit("县政府"))
    leader.units_in_charge.append(unit)
    project = f.project(lead_unit=unit)
    set_go_live_on(sup, GO_LIVE, now=clock.now())
    db.session.commit()
    return {"unit": unit, "staff": staff, "sup": sup, "leader": leader, "project": project}


# -- the setting ----------------------------------------------------------------


def test_go_live_is_unset_by_default_then_set_audited_and_cleared(app, clock):
    sup = f.user("sup", roles=["supervisor"])
    db.session.commit()
    assert go_live_on() is None
    assert set_go_live_on(sup, GO_LIVE, now=clock.now()) == GO_LIVE
    db.session.commit()
    assert go_live_on() == GO_LIVE
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "setting.go_live")).one()
    assert (entry.actor_id, entry.object_type, entry.before, entry.after) == (
        sup.id, "county_setting", {"go_live_on": None}, {"go_live_on": "2026-07-01"})
    set_go_live_on(sup, GO_LIVE, now=clock.now())  # the same date again: nothing changes, nothing recorded
    set_go_live_on(None, None, now=clock.now())  # cleared (by the system)
    db.session.commit()
    assert go_live_on() is None
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "setting.go_live").order_by(AuditEntry.id)).all()
    assert [(e.actor_name, e.after) for e in entries] == [("sup", {"go_live_on": "2026-07-01"}),
                                                          ("系统", {"go_live_on": None})]


# -- the sweep --------------------------------------------------------------------


def test_nodes_due_before_go_live_get_no_card_from_any_sweep(county, clock):
    project = county["project"]
    on_time = f.node(project, title="一季度开工", deadline=date(2026, 3, 31))
    finished(on_time, date(2026, 3, 25))
    late = f.node(project, title="一季度签约", deadline=date(2026, 3, 31))
    finished(late, date(2026, 4, 10))  # finished late, before the portal
    still_open = f.node(project, title="五月供地", deadline=date(2026, 5, 31), status="doing")
    due_eve = f.node(project, title="六月底通水", deadline=date(2026, 6, 30))  # the day before go-live
    db.session.commit()
    # Daily sweeps from well before go-live to the end of the year, and a re-run of each day.
    for day in [*days(date(2026, 6, 15), date(2026, 7, 31)), date(2026, 9, 30), date(2026, 12, 31)]:
        result = run(clock, day)
        assert (result.yellow, result.red, result.warned, result.interviews) == (0, 0, 0, 0), day
    assert cards() == []
    assert db.session.scalar(select(func.count(Interview.id))) == 0
    assert db.session.scalar(select(func.count(Notification.id))) == 0
    for node in (on_time, late, still_open, due_eve):
        db.session.refresh(node)
        assert (node.card, node.is_key_supervision, node.warned_on) == ("none", False, None)
    assert (late.status, late.submitted_on) == ("done", date(2026, 4, 10))  # kept as the ledger says
    # The open one is overdue for a supervisor to judge.
    assert still_open in overdue_nodes(Filters(2026), date(2026, 7, 31))


def test_without_a_go_live_date_the_same_nodes_are_carded(county, clock):
    """The control: the rule above is the go-live date's doing."""
    set_go_live_on(None, None, now=clock.now())
    late = f.node(county["project"], deadline=date(2026, 3, 31))
    finished(late, date(2026, 4, 10))
    still_open = f.node(county["project"], deadline=date(2026, 5, 31), status="doing")
    db.session.commit()
    run(clock, date(2026, 7, 31))
    assert {(c.node_id, c.colour) for c in cards()} == {
        (late.id, "yellow"), (late.id, "red"), (still_open.id, "yellow"), (still_open.id, "red")}


def test_a_node_due_after_go_live_is_judged_as_usual(county, clock):
    node = f.node(county["project"], deadline=date(2026, 7, 10), responsible_user=county["staff"])
    db.session.commit()
    assert run(clock, date(2026, 7, 7)).warned == 1  # due within three days
    assert run(clock, date(2026, 7, 10)).yellow == 0  # due today: not late yet
    assert run(clock, date(2026, 7, 11)).yellow == 1
    # No re-commitment: red the day after five working days (07-11 Sat → 07-13…07-17).
    run(clock, date(2026, 7, 31))
    assert [(c.colour, c.effective_date) for c in cards(node)] == [
        ("yellow", date(2026, 7, 11)), ("red", date(2026, 7, 18))]
    db.session.refresh(node)
    assert node.card == "red" and node.is_key_supervision


def test_go_live_day_itself_is_judged(county, clock):
    node = f.node(county["project"], deadline=GO_LIVE)
    db.session.commit()
    run(clock, date(2026, 7, 2))
    assert [(c.colour, c.effective_date) for c in cards(node)] == [("yellow", date(2026, 7, 2))]


def test_a_re_committed_node_due_after_go_live_turns_red_after_its_new_date(county, clock):
    node = f.node(county["project"], deadline=date(2026, 7, 6))
    db.session.commit()
    run(clock, date(2026, 7, 7))
    db.session.add(Recommitment(node=node, reason="征迁未完成", new_deadline=date(2026, 7, 20), state="approved",
                                decided_by_id=county["leader"].id, decided_at=local(date(2026, 7, 8), 10),
                                filed_at=local(date(2026, 7, 8), 9)))
    node.committed_deadline = date(2026, 7, 20)
    db.session.commit()
    run(clock, date(2026, 7, 25))
    assert [(c.colour, c.effective_date) for c in cards(node)] == [
        ("yellow", date(2026, 7, 7)), ("red", date(2026, 7, 21))]


def _mixed_county(county) -> None:
    project, leader = county["project"], county["leader"]
    for i, deadline in enumerate([date(2026, 5, 31), date(2026, 6, 29), date(2026, 6, 30), date(2026, 7, 1),
                                  date(2026, 7, 2), date(2026, 7, 8), date(2026, 7, 15), date(2026, 7, 28)]):
        f.node(project, title=f"节点{i}", deadline=deadline)
    early = f.node(project, title="五月已完成", deadline=date(2026, 5, 20))
    finished(early, date(2026, 5, 25))
    late_submitted = f.node(project, title="晚交", deadline=date(2026, 7, 3))
    late_submitted.status, late_submitted.submitted_on = "review", date(2026, 7, 6)
    within_grace = f.node(project, title="宽限期内完成", deadline=date(2026, 7, 9))
    within_grace.status, within_grace.submitted_on = "review", date(2026, 7, 13)
    recommitted = f.node(project, title="重新承诺", deadline=date(2026, 7, 4), committed_deadline=date(2026, 7, 20))
    db.session.add(Recommitment(node=recommitted, reason="征迁未完成", new_deadline=date(2026, 7, 20),
                                state="approved", decided_by_id=leader.id, decided_at=local(date(2026, 7, 6), 10),
                                filed_at=local(date(2026, 7, 6), 9)))
    db.session.commit()


def test_a_catch_up_sweep_after_go_live_issues_what_daily_sweeps_would(county, clock):
    _mixed_county(county)
    last = date(2026, 8, 10)
    for day in days(date(2026, 6, 20), last):
        run(clock, day)
    daily = issued()
    db.session.execute(delete(Notification))
    db.session.execute(delete(Interview))
    db.session.execute(delete(CardEvent))
    db.session.execute(update(Node).values(card="none", is_key_supervision=False))
    db.session.commit()
    run(clock, last)  # one sweep after six weeks without any
    assert issued() == daily
    by_title = {}
    for node_id, colour, effective in daily:
        by_title.setdefault(db.session.get(Node, node_id).title, []).append((colour, effective))
    # Nothing is effective before go-live, and nothing at all for the nodes due before it.
    assert min(effective for _, _, effective in daily) >= GO_LIVE
    assert set(by_title) == {"节点3", "节点4", "节点5", "节点6", "节点7", "晚交", "宽限期内完成", "重新承诺"}
    assert sorted(by_title["节点3"]) == [("red", date(2026, 7, 9)), ("yellow", date(2026, 7, 2))]
    assert by_title["宽限期内完成"] == [("yellow", date(2026, 7, 10))]
    assert sorted(by_title["重新承诺"]) == [("red", date(2026, 7, 21)), ("yellow", date(2026, 7, 5))]


def test_interview_thresholds_count_only_cards_after_go_live(county, clock):
    for day in (2, 3, 4):
        f.node(county["project"], deadline=date(2026, 6, day))  # three late in June, before go-live
    db.session.commit()
    assert run(clock, date(2026, 7, 6)).interviews == 0
    for day in (6, 7, 8):
        f.node(county["project"], deadline=date(2026, 7, day))
    db.session.commit()
    assert run(clock, date(2026, 7, 9)).interviews == 1


# -- cards outside the sweep --------------------------------------------------------


def test_no_rule_card_is_issued_effective_before_go_live(county):
    node = f.node(county["project"], deadline=date(2026, 6, 30))
    db.session.commit()
    assert issue_rule_card(node, "green", date(2026, 6, 30), policy_on(date(2026, 6, 30))) is None
    assert cards(node) == [] and node.card == "none"
    card = issue_rule_card(node, "green", GO_LIVE, policy_on(GO_LIVE))
    assert card is not None and card.effective_date == GO_LIVE and node.card == "green"


def test_verifying_before_go_live_gives_no_green_and_after_it_does(county, clock):
    before, after = (f.node(county["project"], deadline=date(2026, 7, 31), status="review",
                            submitted_on=date(2026, 6, 20), submitted_at=local(date(2026, 6, 20)))
                     for _ in range(2))
    db.session.commit()
    clock.set(date(2026, 6, 25))
    verify(county["sup"], before, clock=clock)
    clock.set(date(2026, 7, 2))
    verify(county["sup"], after, clock=clock)
    db.session.commit()
    assert (before.status, before.card, cards(before)) == ("done", "none", [])
    assert [(c.colour, c.effective_date) for c in cards(after)] == [("green", date(2026, 7, 2))]


# -- the dashboard and the rankings -----------------------------------------------


def test_nodes_closed_before_go_live_count_as_complete_but_neither_on_time_nor_late(county, clock):
    project, sup, staff = county["project"], county["sup"], county["staff"]
    kw = {"responsible_user": staff}
    finished(f.node(project, deadline=date(2026, 3, 31), **kw), date(2026, 3, 25))  # on time, no card
    finished(f.node(project, deadline=date(2026, 4, 30), **kw), date(2026, 5, 10))  # late, no card
    early = f.node(project, deadline=date(2026, 9, 30), **kw)  # due after go-live, finished before it
    finished(early, date(2026, 6, 10))
    open_before = f.node(project, deadline=date(2026, 5, 31), status="doing", **kw)  # overdue, for a supervisor
    green = f.node(project, deadline=date(2026, 7, 20), status="review", submitted_on=date(2026, 7, 15),
                   submitted_at=local(date(2026, 7, 15)), **kw)
    late = f.node(project, deadline=date(2026, 7, 10), status="review", submitted_on=date(2026, 7, 14),
                  submitted_at=local(date(2026, 7, 14)), **kw)
    db.session.commit()
    run(clock, date(2026, 7, 15))  # late gets its yellow (effective 07-11)
    verify(sup, green, clock=clock)
    verify(sup, late, clock=clock)
    db.session.commit()
    assert (green.card, late.card, open_before.card) == ("green", "yellow", "none")

    as_of = date(2026, 7, 31)
    (ranked,) = completion_by_category(2026, as_of)
    # Due: the five with deadlines by 07-31; signed off: four; judged (with a card): two.
    assert (ranked.due, ranked.done, ranked.on_time, ranked.judged) == (5, 4, 1, 2)
    assert ranked.rate == 0.8 and ranked.on_time_rate == 0.5
    (row,) = category_figures(Filters(2026), as_of)
    assert (row.due, row.done, row.on_time, row.judged, row.overdue) == (5, 4, 1, 2, 1)
    assert row.on_time_rate == 0.5
    total = total_figures([row], "全部")
    assert (total.judged, total.on_time_rate) == (2, 0.5)
    # At year end the early finisher is due too: complete, still not judged.
    (year_end,) = completion_by_category(2026, date(2026, 12, 31))
    assert (year_end.due, year_end.done, year_end.judged, year_end.on_time_rate) == (6, 5, 2, 0.5)
    # Cadre files count cards: one green, one yellow. Rankings count the nodes due (rule 14): the two judged
    # after go-live, one on time; the node due before go-live and those closed without a card are not judged.
    (cadre,) = cadre_figures(2026, as_of)
    assert (cadre.done, cadre.overdue, cadre.green, cadre.yellow, cadre.on_time_rate) == (5, 1, 1, 1, 0.5)
    score = unit_scores(date(2026, 1, 1), date(2026, 12, 31), today=as_of)[county["unit"].id]
    assert (score.green, score.yellow, score.red, score.due, score.on_time_rate) == (1, 1, 0, 2, 0.5)


def test_the_dashboard_page_shows_the_on_time_rate_of_judged_nodes(county, clock, login_as):
    project = county["project"]
    finished(f.node(project, deadline=date(2026, 4, 30)), date(2026, 5, 10))  # closed before go-live, no card
    f.node(project, deadline=date(2026, 5, 31), status="doing")  # open since before go-live
    green = f.node(project, deadline=date(2026, 7, 14), status="review", submitted_on=date(2026, 7, 13),
                   submitted_at=local(date(2026, 7, 13)))
    db.session.commit()
    clock.set(date(2026, 7, 16))
    verify(county["sup"], green, clock=clock)
    db.session.commit()
    html = login_as("sup").client.get("/dashboard?year=2026").get_data(as_text=True)
    kpis = re.findall(r'<div class="kpi[^"]*"><span>[^<]*</span><strong>([^<]*)</strong>', html)
    # Nodes, completion (2 of 3 due signed off), on time (1 green of 1 judged, not 1 of 2 signed off), overdue.
    assert kpis[:4] == ["3", "66.7%", "100.0%", "1"]
