"""The overdue sweep, rule by rule, travelling in time (SPEC section 3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, update

from portal.core.extensions import db
from portal.models import CardEvent, Interview, Node, Notification, Recommitment, ScoringPolicy
from portal.sweeps.services import SweepDateError, sweep
from tests import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def township_project(app):
    unit = f.unit("上派镇")
    staff = f.user("staff", roles=["unit_staff"], unit=unit)
    leader = f.user("leader", roles=["leader"], unit=f.unit("县政府"))
    leader.units_in_charge.append(unit)
    project = f.project(lead_unit=unit)
    db.session.commit()
    return {"unit": unit, "staff": staff, "leader": leader, "project": project}


def run(clock, day: date):
    clock.set(day)
    result = sweep(day, clock)
    db.session.commit()
    return result


def cards(node=None, colour=None):
    stmt = select(CardEvent).order_by(CardEvent.effective_date, CardEvent.id)
    if node is not None:
        stmt = stmt.where(CardEvent.node_id == node.id)
    if colour:
        stmt = stmt.where(CardEvent.colour == colour)
    return db.session.scalars(stmt).all()


def local(day: date, hour: int = 15) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI).astimezone(UTC)


def submitted(node, day: date, status="review"):
    node.status, node.submitted_at, node.submitted_on = status, local(day), day


def approve(node, on: date, new_date: date, leader):
    db.session.add(Recommitment(node=node, reason="征迁未完成", new_deadline=new_date, state="approved",
                                decided_by_id=leader.id, decided_at=local(on, 10), filed_at=local(on, 9)))
    node.committed_deadline = new_date


def test_rule2_on_time_gets_no_card(township_project, clock):
    node = f.node(township_project["project"], deadline=date(2026, 6, 10))
    submitted(node, date(2026, 6, 10))
    db.session.commit()
    assert run(clock, date(2026, 6, 20)).yellow == 0
    assert cards() == []


def test_rule2_late_gets_yellow_from_the_next_day_once(township_project, clock):
    node = f.node(township_project["project"], deadline=date(2026, 6, 10), weight=2)
    db.session.commit()
    assert run(clock, date(2026, 6, 10)).yellow == 0  # due today: not late yet
    result = run(clock, date(2026, 6, 11))
    assert result.yellow == 1
    assert result.line() == "sweep as_of=2026-06-11 yellow=1 red=0 warned=0 interviews=0"
    (card,) = cards(node)
    assert (card.colour, card.effective_date, card.points, card.issued_by_id) == ("yellow", date(2026, 6, 11), 0, None)
    db.session.refresh(node)
    assert node.card == "yellow" and node.version == 2
    # Idempotent: the same day again, and later days, issue nothing new.
    assert run(clock, date(2026, 6, 11)).yellow == 0
    assert run(clock, date(2026, 6, 12)).yellow == 0
    assert len(cards(node)) == 1


def test_rule2_submitted_late_before_the_sweep_ran_still_gets_yellow(township_project, clock):
    node = f.node(township_project["project"], deadline=date(2026, 6, 10))
    submitted(node, date(2026, 6, 12))
    db.session.commit()
    run(clock, date(2026, 6, 14))
    assert [(c.colour, c.effective_date) for c in cards(node)] == [("yellow", date(2026, 6, 11))]


def test_rule4_red_after_the_committed_deadline_passes(township_project, clock):
    node = f.node(township_project["project"], deadline=date(2026, 6, 10))
    db.session.commit()
    run(clock, date(2026, 6, 11))
    approve(node, date(2026, 6, 12), date(2026, 6, 30), township_project["leader"])
    db.session.commit()
    assert run(clock, date(2026, 6, 30)).red == 0
    result = run(clock, date(2026, 7, 1))
    assert result.red == 1
    red = cards(node, "red")[0]
    assert (red.effective_date, red.points) == (date(2026, 7, 1), -1)
    db.session.refresh(node)
    assert node.card == "red" and node.is_key_supervision


def test_rule4_finished_by_the_committed_deadline_stays_yellow(township_project, clock):
    node = f.node(township_project["project"], deadline=date(2026, 6, 10))
    db.session.commit()
    run(clock, date(2026, 6, 11))
    approve(node, date(2026, 6, 12), date(2026, 6, 30), township_project["leader"])
    submitted(node, date(2026, 6, 29))
    db.session.commit()
    run(clock, date(2026, 7, 15))
    assert [c.colour for c in cards(node)] == ["yellow"]


def test_rule10_grace_period_counts_working_days_across_a_holiday_and_a_make_up_day(township_project, clock):
    # Deadline Wed 2026-04-29 → yellow Thu 04-30 (working day 1). 05-01, 05-04 and
    # 05-05 are Labour Day holidays; Sat 05-09 is a make-up working day. Working
    # days 2–5: 05-06, 05-07, 05-08, 05-09. So red only from Sun 05-10 — not
    # 05-07, which plain Monday–Friday counting would give.
    node = f.node(township_project["project"], deadline=date(2026, 4, 29))
    db.session.commit()
    run(clock, date(2026, 4, 30))
    assert run(clock, date(2026, 5, 7)).red == 0
    assert run(clock, date(2026, 5, 9)).red == 0
    assert run(clock, date(2026, 5, 10)).red == 1
    assert cards(node, "red")[0].effective_date == date(2026, 5, 10)


def test_rule4_never_re_committed_turns_red_even_when_the_sweep_runs_late(township_project, clock):
    node = f.node(township_project["project"], deadline=date(2026, 4, 29))
    db.session.commit()
    run(clock, date(2026, 5, 20))  # first sweep in three weeks
    assert [(c.colour, c.effective_date) for c in cards(node)] == [("yellow", date(2026, 4, 30)), ("red", date(2026, 5, 10))]


def test_rule4_rejected_re_commitment_does_not_stop_red(township_project, clock):
    node = f.node(township_project["project"], deadline=date(2026, 6, 10))
    db.session.add(Recommitment(node=node, reason="理由不充分", new_deadline=date(2026, 6, 30), state="rejected",
                                decided_by_id=township_project["leader"].id, decided_at=local(date(2026, 6, 12))))
    db.session.commit()
    run(clock, date(2026, 6, 11))
    # 06-11 Thu (1), 06-12 (2), 06-15 (3), 06-16 (4), 06-17 (5); 06-19 is Dragon Boat Festival.
    assert run(clock, date(2026, 6, 17)).red == 0
    assert run(clock, date(2026, 6, 18)).red == 1


def test_rule4_approval_after_the_grace_period_is_too_late(township_project, clock):
    node = f.node(township_project["project"], deadline=date(2026, 6, 10))
    db.session.commit()
    run(clock, date(2026, 6, 11))
    approve(node, date(2026, 6, 22), date(2026, 7, 10), township_project["leader"])  # grace ended 06-17
    db.session.commit()
    run(clock, date(2026, 6, 23))
    assert [(c.colour, c.effective_date) for c in cards(node)] == [("yellow", date(2026, 6, 11)), ("red", date(2026, 6, 18))]


def test_rule4_finished_within_grace_stays_yellow(township_project, clock):
    node = f.node(township_project["project"], deadline=date(2026, 6, 10))
    db.session.commit()
    run(clock, date(2026, 6, 11))
    submitted(node, date(2026, 6, 16))
    db.session.commit()
    run(clock, date(2026, 7, 1))
    assert [c.colour for c in cards(node)] == ["yellow"]


def test_rule9_withdrawn_cards_are_never_issued_again(township_project, clock):
    node = f.node(township_project["project"], deadline=date(2026, 6, 10))
    db.session.commit()
    run(clock, date(2026, 6, 11))
    db.session.execute(update(CardEvent).values(is_withdrawn=True, withdrawn_reason="节点时限设置有误"))
    db.session.commit()
    result = run(clock, date(2026, 6, 30))
    assert result.yellow == 0 and result.red == 0  # no red either: the yellow no longer counts
    assert len(cards(node)) == 1


def test_rule9_catch_up_after_three_missed_days_equals_daily_sweeps(township_project, clock):
    project = township_project["project"]
    nodes = [f.node(project, title=f"节点{i}", deadline=date(2026, 6, 8) + timedelta(days=i)) for i in range(4)]
    submitted(nodes[3], date(2026, 6, 12))  # late by a day, submitted before anyone swept
    db.session.commit()
    run(clock, date(2026, 6, 8))  # the last sweep before three missed days
    run(clock, date(2026, 6, 12))
    caught_up = {(c.node_id, c.colour, c.effective_date) for c in cards()}
    db.session.execute(delete(CardEvent))
    db.session.execute(update(Node).values(card="none"))
    db.session.commit()
    for day in range(8, 13):
        run(clock, date(2026, 6, day))
    daily = {(c.node_id, c.colour, c.effective_date) for c in cards()}
    assert caught_up == daily
    assert {(n, e) for n, _, e in daily} == {
        (nodes[0].id, date(2026, 6, 9)), (nodes[1].id, date(2026, 6, 10)),
        (nodes[2].id, date(2026, 6, 11)), (nodes[3].id, date(2026, 6, 12)),
    }


def test_points_follow_the_policy_of_the_effective_date(township_project, clock):
    db.session.add(ScoringPolicy(effective_from=date(2026, 1, 1), green_points=1, yellow_points=0, red_points=-1))
    db.session.add(ScoringPolicy(effective_from=date(2026, 6, 12), green_points=2, yellow_points=-1, red_points=-3))
    early = f.node(township_project["project"], deadline=date(2026, 6, 10), weight=2)
    later = f.node(township_project["project"], deadline=date(2026, 6, 12), weight=2)
    db.session.commit()
    run(clock, date(2026, 6, 14))
    assert cards(early)[0].points == 0  # effective 06-11: the old policy
    assert cards(later)[0].points == -2  # effective 06-13: the new one, times the weight


def test_due_soon_is_warned_once_and_notified(township_project, clock):
    node = f.node(township_project["project"], deadline=date(2026, 6, 18), responsible_user=township_project["staff"])
    f.node(township_project["project"], deadline=date(2026, 6, 25))  # not yet within three days
    db.session.commit()
    assert run(clock, date(2026, 6, 15)).warned == 1
    assert run(clock, date(2026, 6, 16)).warned == 0
    db.session.refresh(node)
    assert node.warned_on == date(2026, 6, 15)
    notes = db.session.scalars(select(Notification).where(Notification.kind == "node.due_soon")).all()
    assert [n.user_id for n in notes] == [township_project["staff"].id]


def test_rule6_interviews_for_a_red_card_and_for_three_yellows_in_a_month(township_project, clock):
    project = township_project["project"]
    for day in (2, 3, 4):
        f.node(project, deadline=date(2026, 6, day))
    db.session.commit()
    result = run(clock, date(2026, 6, 5))
    assert (result.yellow, result.interviews) == (3, 1)
    interview = db.session.scalars(select(Interview)).one()
    assert interview.trigger == "yellow_threshold" and interview.trigger_key == f"yellow:{township_project['unit'].id}:2026-06"
    assert interview.proposed_on == date(2026, 6, 5) and len(interview.cards) == 3
    result = run(clock, date(2026, 6, 20))  # the three go red after the grace period
    assert result.red == 3 and result.interviews == 3
    assert run(clock, date(2026, 6, 21)).interviews == 0
    keys = sorted(i.trigger_key for i in db.session.scalars(select(Interview)))
    assert len(keys) == 4 and sum(k.startswith("red:") for k in keys) == 3


def test_yellow_and_red_notify_the_unit_and_the_leader_in_charge(township_project, clock):
    f.node(township_project["project"], deadline=date(2026, 6, 10))
    db.session.commit()
    run(clock, date(2026, 6, 30))
    kinds = {(n.kind, n.user_id) for n in db.session.scalars(select(Notification))}
    assert ("card.yellow", township_project["staff"].id) in kinds
    assert ("card.red", township_project["staff"].id) in kinds and ("card.red", township_project["leader"].id) in kinds
    before = db.session.scalar(select(db.func.count(Notification.id)))
    run(clock, date(2026, 6, 30))
    assert db.session.scalar(select(db.func.count(Notification.id))) == before


def test_a_future_date_is_refused(township_project, clock):
    with pytest.raises(SweepDateError):
        sweep(clock.today() + timedelta(days=1), clock)


def test_id_lists_are_one_parameter_however_long(app):
    """The sweep's id lists: 300,000 ids, more than SQLite takes as parameters (250,000), in one statement."""
    from portal.core.database import in_ids

    project = f.project()
    nodes = [f.node(project, title=f"节点{i}") for i in range(3)]
    db.session.commit()
    wanted = [nodes[0].id, nodes[2].id]
    ids = wanted + list(range(10_000_000, 10_300_000))
    found = db.session.scalars(select(Node.id).where(in_ids(Node.id, ids)).order_by(Node.id)).all()
    assert found == wanted
    db.session.execute(update(Node).where(in_ids(Node.id, ids)).values(title="已选").execution_options(synchronize_session=False))
    db.session.expire_all()
    assert [n.title for n in db.session.scalars(select(Node).order_by(Node.id))] == ["已选", "节点1", "已选"]
    assert db.session.scalars(select(Node.id).where(in_ids(Node.id, []))).all() == []
