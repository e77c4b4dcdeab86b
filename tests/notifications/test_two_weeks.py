"""Two weeks of a county, day by day: who gets what, on which channel, when — and nothing twice.

The clock travels from Thursday 2026-06-11 to Sunday 2026-06-28 (the Dragon
Boat holiday on Friday 06-19 inside). Each day the sweep runs at 00:10 — twice,
as a retried job would — and the delivery job four times a day, twice each
time. Real SMTP and HTTP servers on loopback receive what leaves the portal.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from portal.core.extensions import db
from portal.models import Delivery, Notification, Recommitment, leader_unit
from portal.notifications import delivery
from portal.sweeps.services import sweep
from tests import factories as f
from tests.notifications.test_delivery import SHANGHAI, _channels

START, END = date(2026, 6, 11), date(2026, 6, 28)
TICKS = (time(0, 10), time(8, 30), time(12, 0), time(21, 30))


@pytest.mark.slow
def test_two_weeks_of_reminders(app, clock, smtp_server, http_receiver):
    _channels(app, smtp_server, http_receiver, DINGTALK_WEBHOOK_URL="")  # e-mail and SMS
    unit = f.unit("上派镇")
    people = {
        "at_once": f.user("liuxy", unit=unit, email="liuxy@qingxi.gov.cn", phone="13905510001"),
        "digest": f.user("chenm", unit=unit, email="chenm@qingxi.gov.cn", phone="13905510002", notify_digest=True),
        "leader": f.user("liq", roles=["leader"], email="liq@qingxi.gov.cn", phone="13905510003",
                         notify_channels=["email"]),
        "patron": f.user("zhangw", roles=["leader"], phone="13905510004"),  # the project's 包保领导: SMS only
        "sup": f.user("duban", roles=["supervisor"], unit=f.unit("督查室"), email="duban@qingxi.gov.cn"),
    }
    db.session.execute(leader_unit.insert().values(user_id=people["leader"].id, unit_id=unit.id))
    project = f.project(lead_unit=unit, lead_leader_id=people["patron"].id)
    f.node(project, title="完成征迁交地", deadline=date(2026, 6, 16))  # yellow, then red
    asked = f.node(project, title="完成管网铺设", deadline=date(2026, 6, 17))  # yellow, then a re-commitment
    db.session.commit()
    by_id = {p.id: name for name, p in people.items()}

    sms_at: list[datetime] = []  # the simulated moment each SMS reached the gateway
    mail_at: list[tuple[datetime, str]] = []
    day = START
    while day <= END:
        for tick in TICKS:
            clock.set(datetime.combine(day, tick, tzinfo=SHANGHAI))
            if tick == TICKS[0]:
                for _ in range(2):  # the sweep, and its retry
                    sweep(day, clock)
                    db.session.commit()
            if day == date(2026, 6, 18) and tick == time(12, 0):  # the unit asks for more time, nobody decides
                db.session.add(Recommitment(node_id=asked.id, reason="管材供应延误", new_deadline=date(2026, 7, 10),
                                            filed_by_id=people["at_once"].id, filed_at=clock.now(), state="pending"))
                db.session.commit()
            for _ in range(2):  # the delivery job, and a second run of it
                sms_before, mail_before = len(http_receiver.requests), len(smtp_server.messages)
                delivery.deliver(clock)
                sms_at += [clock.now()] * (len(http_receiver.requests) - sms_before)
                mail_at += [(clock.now(), m["To"]) for m in smtp_server.messages[mail_before:]]
        day += timedelta(days=1)

    notices = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    told = Counter((n.kind, by_id[n.user_id], clock.local_date(n.created_at)) for n in notices)

    # Escalations on their days (rule 13): the warning, the yellow card up to the leader in charge,
    # the red card up to the 包保领导 and the office, the undecided request chased after two working days.
    def who(kind):
        return {(name, day) for (k, name, day) in told if k == kind}

    staff = ("at_once", "digest")
    up_the_line = (*staff, "leader", "patron", "sup")
    # warned warn_days (3) working days ahead: Saturday for Tuesday's node, Sunday for Wednesday's
    assert who("node.due_soon") == {(s, d) for s in staff for d in (date(2026, 6, 13), date(2026, 6, 14))}
    assert who("card.yellow") == {(n, d) for n in (*staff, "leader") for d in (date(2026, 6, 17), date(2026, 6, 18))}
    # filed Thursday 06-18; Friday is the holiday; Monday and Tuesday pass undecided: chased on Wednesday
    assert who("recommitment.overdue") == {("leader", date(2026, 6, 24)), ("sup", date(2026, 6, 24))}
    # the grace period of 5 working days after each yellow card, the holiday skipped (an undecided request
    # does not stop it: that is why it is chased)
    assert who("card.red") == {(n, d) for n in up_the_line for d in (date(2026, 6, 25), date(2026, 6, 26))}
    assert set(told.values()) == {1}  # nobody was told anything twice

    # Each notice reached each person once on each of their channels.
    rows = db.session.scalars(select(Delivery).where(Delivery.kind != "digest")).all()
    reach = Counter((r.notification_id, r.channel) for r in rows)
    assert set(reach.values()) == {1}
    expected = {"at_once": {"email", "sms"}, "digest": {"email", "sms"}, "leader": {"email"}, "patron": {"sms"},
                "sup": {"email"}}
    for n in notices:
        assert {c for (nid, c) in reach if nid == n.id} == expected[by_id[n.user_id]], (n.kind, by_id[n.user_id])
    assert {r.state for r in rows if r.user_id != people["digest"].id} == {"sent"}
    assert {r.state for r in rows if r.user_id == people["digest"].id} == {"folded"}

    # The digest: one e-mail and one SMS a morning at 08:30, on the mornings after something happened.
    digests = db.session.scalars(select(Delivery).where(Delivery.kind == "digest")).all()
    assert {d.state for d in digests} == {"sent"}
    assert Counter(d.channel for d in digests) == {"email": len(digests) // 2, "sms": len(digests) // 2}
    mornings = sorted({clock.local(d.sent_at) for d in digests})
    assert all(m.time() == time(8, 30) for m in mornings) and len(mornings) == len(digests) // 2
    assert [clock.local(at).time() for at, to in mail_at if to == "chenm@qingxi.gov.cn"] == [time(8, 30)] * len(mornings)

    # SMS never in the quiet hours; what came at night waited for 08:30.
    assert all(time(8, 0) <= clock.local(at).time() < time(21, 0) for at in sms_at)
    assert len(sms_at) == len(http_receiver.requests) == sum(1 for r in rows if r.channel == "sms"
                                                               and r.state == "sent") + len(mornings)
    # And every e-mail the log calls sent arrived exactly once.
    assert len(smtp_server.messages) == sum(1 for r in rows + digests if r.channel == "email" and r.state == "sent")
