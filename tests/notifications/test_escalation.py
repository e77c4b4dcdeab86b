"""SPEC rule 13: who is told of what, beyond the unit — yellow to the leader in charge, red up the line,
an undecided re-commitment sent again after two working days."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from portal.core.extensions import db
from portal.models import Notification, Recommitment, leader_unit
from portal.sweeps.services import sweep
from tests import factories as f
from tests.notifications.test_delivery import SHANGHAI


@pytest.fixture
def line(app):
    """A unit, its staff, its leader in charge, a project with a 包保领导 and a supervisor."""
    unit = f.unit("上派镇")
    people = {
        "staff": f.user("staff", unit=unit),
        "leader": f.user("leader", roles=["leader"]),
        "patron": f.user("patron", roles=["leader"]),  # the project's 包保领导, not in charge of the unit
        "sup": f.user("sup", roles=["supervisor"], unit=f.unit("督查室")),
        "bystander": f.user("bystander", roles=["leader"]),
    }
    db.session.execute(leader_unit.insert().values(user_id=people["leader"].id, unit_id=unit.id))
    project = f.project(lead_unit=unit, lead_leader_id=people["patron"].id)
    db.session.commit()
    return {"unit": unit, "project": project, **people}


def _told(kind: str) -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(
        select(Notification.user_id).where(Notification.kind == kind)
    ).all())


def _ids(line, *names) -> set[int]:
    return {line[name].id for name in names}


def test_a_yellow_card_is_copied_to_the_leader_in_charge_and_a_red_one_up_the_line(app, clock, line):
    f.node(line["project"], title="完成征迁交地", deadline=date(2026, 6, 10))  # yellow on 06-15
    f.node(line["project"], title="完成土地摘牌", deadline=date(2026, 6, 1))  # yellow, then red (grace passed)
    db.session.commit()
    result = sweep(clock.today(), clock)
    db.session.commit()
    assert (result.yellow, result.red) == (2, 1)
    assert _told("card.yellow") == _ids(line, "staff", "leader")
    assert _told("card.red") == _ids(line, "staff", "leader", "patron", "sup")


def _pending_request(line, filed: datetime) -> Recommitment:
    node = f.node(line["project"], title="完成管网铺设", deadline=date(2026, 6, 10))
    request = Recommitment(node_id=node.id, reason="征迁延误", new_deadline=date(2026, 7, 10),
                           filed_by_id=line["staff"].id, filed_at=filed, state="pending")
    db.session.add(request)
    db.session.commit()
    return request


@pytest.mark.parametrize(("filed", "quiet_until", "reminded_on"), [
    (date(2026, 6, 12), date(2026, 6, 16), date(2026, 6, 17)),  # Friday: Monday and Tuesday pass
    (date(2026, 6, 18), date(2026, 6, 23), date(2026, 6, 24)),  # before the Dragon Boat holiday (06-19 off)
])
def test_an_undecided_recommitment_is_sent_again_after_two_working_days(app, clock, line, filed, quiet_until,
                                                                        reminded_on):
    clock.set(filed)
    _pending_request(line, datetime.combine(filed, datetime.min.time().replace(hour=16), tzinfo=SHANGHAI))
    day = filed
    while day <= reminded_on:
        clock.set(day)
        sweep(day, clock)
        db.session.commit()
        expected = _ids(line, "leader", "sup") if day >= reminded_on else set()
        assert _told("recommitment.overdue") == expected, day
        day = date.fromordinal(day.toordinal() + 1)
    assert day > quiet_until
    clock.set(date.fromordinal(reminded_on.toordinal() + 3))
    sweep(clock.today(), clock)  # still undecided: not sent a third time
    db.session.commit()
    assert len(db.session.scalars(select(Notification).where(Notification.kind == "recommitment.overdue")).all()) == 2


def test_a_decided_recommitment_is_not_chased(app, clock, line):
    request = _pending_request(line, datetime(2026, 6, 8, 9, 0, tzinfo=SHANGHAI))
    request.state = "approved"
    db.session.commit()
    sweep(clock.today(), clock)
    db.session.commit()
    assert _told("recommitment.overdue") == set()
