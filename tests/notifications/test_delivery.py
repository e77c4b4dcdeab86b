"""Reminders leave the portal: fanned out by preference, sent once, retried, held, never twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from portal.core.extensions import db
from portal.models import Delivery, Notification, leader_unit
from portal.notifications import delivery
from portal.notifications import services as notify
from portal.sweeps.services import sweep
from tests import factories as f
from tests.conftest import ROOT, free_port, job_env, paused_horse, start_worker, stop, wait_until

SHANGHAI = ZoneInfo("Asia/Shanghai")
STAFF_PHONE, LEADER_PHONE = "13905510001", "13905510002"


def _channels(app, smtp_server, http_receiver, **extra) -> dict:
    settings = {
        "SMTP_URL": f"smtp://{smtp_server.host}:{smtp_server.port}", "MAIL_FROM": "清溪县委县政府督查室 <duban@qingxi.gov.cn>",
        "DINGTALK_WEBHOOK_URL": f"{http_receiver.url}/robot/send?access_token=t", "DINGTALK_SECRET": "SECabc",
        "SMS_GATEWAY_URL": f"{http_receiver.url}/sms", "SMS_SIGN": "【清溪督查】", "PORTAL_URL": "https://jd.qingxi.gov.cn",
        "NOTIFY_TIMEOUT": 2, **extra,
    }
    app.config.update(settings)
    return settings


@pytest.fixture
def county(app):
    unit = f.unit("上派镇")
    staff = f.user("staff", unit=unit, display_name="刘晓燕", email="liuxy@qingxi.gov.cn", phone=STAFF_PHONE)
    leader = f.user("leader", roles=["leader"], display_name="李强", email="liqiang@qingxi.gov.cn", phone=LEADER_PHONE,
                    notify_channels=["email"])
    f.user("quiet", unit=unit, display_name="无联系方式")  # no e-mail, no phone: the bell only
    db.session.execute(leader_unit.insert().values(user_id=leader.id, unit_id=unit.id))
    project = f.project(lead_unit=unit)
    f.node(project, title="完成征迁交地", deadline=date(2026, 6, 10))  # late on 2026-06-15: a yellow card
    f.node(project, title="取得施工许可证", deadline=date(2026, 6, 17))  # due in two working days: a warning
    db.session.commit()
    return {"unit": unit, "staff": staff, "leader": leader}


def _deliveries() -> list[Delivery]:
    db.session.expire_all()
    return db.session.scalars(select(Delivery).order_by(Delivery.id)).all()


def _sms(receiver) -> list:
    return [r for r in receiver.requests if r.path == "/sms"]


def _robot(receiver) -> list:
    return [r for r in receiver.requests if r.path == "/robot/send"]


def test_a_sweep_reaches_each_person_on_their_channels_once(app, clock, county, smtp_server, http_receiver):
    _channels(app, smtp_server, http_receiver)
    result = sweep(clock.today(), clock)
    db.session.commit()
    assert (result.yellow, result.warned) == (1, 1)
    round_one = delivery.deliver(clock)
    # 2 notices × 2 unit staff, and the yellow card copied to the leader in charge (rule 13): 5 notices.
    # E-mail and SMS to the staff member who has both, e-mail only to the leader (their choice), one robot
    # message per event in the county group mentioning the staff member; the member without addresses: the bell.
    assert (round_one.fanned_out, round_one.created, round_one.sent, round_one.failed) == (5, 7, 7, 0)
    mails = sorted((m["Subject"], m["To"]) for m in smtp_server.messages)
    assert mails == [("【到期预警】节点“取得施工许可证”将于2026-06-17到期", "liuxy@qingxi.gov.cn"),
                     ("【黄牌】节点“完成征迁交地”超期未销号，已记黄牌", "liqiang@qingxi.gov.cn"),
                     ("【黄牌】节点“完成征迁交地”超期未销号，已记黄牌", "liuxy@qingxi.gov.cn")]
    texts = sorted(r.json()["content"] for r in _sms(http_receiver))
    assert all(t.startswith("【清溪督查】") and len(t) <= 70 and "https://jd.qingxi.gov.cn/nodes/" in t for t in texts)
    assert [r.json()["mobile"] for r in _sms(http_receiver)] == [STAFF_PHONE, STAFF_PHONE]
    robot = _robot(http_receiver)
    assert len(robot) == 2 and all(r.json()["at"]["atMobiles"] == [STAFF_PHONE] for r in robot)
    assert all("sign" in r.query and "timestamp" in r.query for r in robot)
    assert {(d.channel, d.state, d.attempts) for d in _deliveries()} == {("email", "sent", 1), ("sms", "sent", 1),
                                                                        ("dingtalk", "sent", 1)}

    # The sweep run again, the job run again, the notices fanned out again: nothing more is sent.
    assert sweep(clock.today(), clock).yellow == 0
    db.session.commit()
    assert delivery.deliver(clock).sent == 0
    db.session.execute(update(Notification).values(fanned_out_at=None))
    db.session.commit()
    again = delivery.deliver(clock)
    assert (again.fanned_out, again.created, again.sent) == (5, 0, 0)
    assert len(smtp_server.messages) == 3 and len(http_receiver.requests) == 4 and len(_deliveries()) == 7


def test_preferences_choose_the_channels(app, clock, county, smtp_server, http_receiver):
    _channels(app, smtp_server, http_receiver)
    staff = county["staff"]
    staff.notify_channels = ["sms"]
    db.session.commit()
    notify.send([staff.id, county["leader"].id], "interview.scheduled", "上派镇约谈定于2026-06-18 15:00在县政府二楼会议室举行",
                now=clock.now(), link="/interviews/1", key="interview-scheduled:1")
    db.session.commit()
    delivery.deliver(clock)
    assert {(d.user_id, d.channel) for d in _deliveries()} == {(staff.id, "sms"), (county["leader"].id, "email")}
    assert [tuple(e[1]) for e in smtp_server.envelopes] == [("liqiang@qingxi.gov.cn",)]
    assert [r.json()["mobile"] for r in _sms(http_receiver)] == [STAFF_PHONE]


def test_a_refusal_that_may_pass_is_retried_with_back_off(app, clock, county, smtp_server, http_receiver):
    _channels(app, smtp_server, http_receiver, DINGTALK_WEBHOOK_URL="", SMTP_URL="")
    http_receiver.answer(500, "gateway busy", times=2)
    notify.send([county["staff"].id], "card.red", "节点“完成征迁交地”已记红牌，列入重点督办", now=clock.now(), key="card:99")
    db.session.commit()
    assert delivery.deliver(clock).retried == 1
    (row,) = _deliveries()
    assert (row.state, row.attempts, row.not_before) == ("pending", 1, clock.now() + timedelta(minutes=1))
    assert "HTTP 500" in row.last_error
    clock.set(clock.now() + timedelta(seconds=59))
    assert delivery.deliver(clock).retried == 0  # not yet due
    clock.set(clock.now() + timedelta(seconds=1))
    assert delivery.deliver(clock).retried == 1
    clock.set(clock.now() + timedelta(minutes=5))
    assert delivery.deliver(clock).sent == 1
    (row,) = _deliveries()
    assert (row.state, row.attempts, row.last_error) == ("sent", 3, "")
    assert len(_sms(http_receiver)) == 3


def test_a_channel_that_stays_down_fails_after_its_attempts_and_blocks_nothing(app, clock, county, http_receiver):
    closed = free_port()
    app.config.update({"SMTP_URL": f"smtp://127.0.0.1:{closed}", "MAIL_FROM": "d@qingxi.gov.cn", "NOTIFY_TIMEOUT": 1,
                       "SMS_GATEWAY_URL": f"{http_receiver.url}/sms"})
    result = sweep(clock.today(), clock)  # the sweep writes notices only; it never waits for a channel
    db.session.commit()
    assert result.yellow == 1
    delivery.deliver(clock)
    for minutes in (1, 5, 30):
        clock.set(clock.now() + timedelta(minutes=minutes))
        delivery.deliver(clock)
    rows = _deliveries()
    emails = [d for d in rows if d.channel == "email"]
    assert {(d.state, d.attempts) for d in emails} == {("failed", delivery.MAX_ATTEMPTS)}
    assert all("unreachable" in d.last_error for d in emails)
    assert {d.state for d in rows if d.channel == "sms"} == {"sent"}  # the other channel went on


def test_sms_waits_out_the_quiet_hours(app, clock, county, smtp_server, http_receiver):
    _channels(app, smtp_server, http_receiver, DINGTALK_WEBHOOK_URL="")
    clock.set(datetime(2026, 6, 15, 22, 30, tzinfo=SHANGHAI))
    notify.send([county["staff"].id], "card.yellow", "节点“完成征迁交地”超期未销号，已记黄牌", now=clock.now(), key="card:7")
    db.session.commit()
    assert delivery.deliver(clock).sent == 1  # the e-mail goes at once
    sms = next(d for d in _deliveries() if d.channel == "sms")
    assert sms.state == "pending" and sms.not_before == datetime(2026, 6, 16, 8, 0, tzinfo=SHANGHAI)
    clock.set(datetime(2026, 6, 16, 7, 59, tzinfo=SHANGHAI))
    assert delivery.deliver(clock).sent == 0 and _sms(http_receiver) == []
    clock.set(datetime(2026, 6, 16, 8, 0, tzinfo=SHANGHAI))
    assert delivery.deliver(clock).sent == 1 and len(_sms(http_receiver)) == 1


@pytest.mark.slow
def test_a_worker_killed_mid_send_never_sends_twice(app, clock, county, smtp_server, http_receiver, redis, tmp_path):
    """Claimed, then the work horse dies before the gateway answers: failed as unknown, not sent again."""
    from jobs.queue import enqueue

    settings = _channels(app, smtp_server, http_receiver, DINGTALK_WEBHOOK_URL="", SMTP_URL="")
    notify.send([county["staff"].id], "card.yellow", "节点“完成征迁交地”超期未销号，已记黄牌", now=clock.now(), key="card:8")
    db.session.commit()
    flag = tmp_path / "pause-deliver"
    flag.write_text("1")
    env = {k: str(v) for k, v in settings.items()}
    worker = start_worker(app, clock, JIEDIAN_DELIVER_PAUSE_FLAG=str(flag), JIEDIAN_DELIVER_PAUSE="60", **env)
    try:
        enqueue("portal.notifications.tasks.deliver", job_id="deliver-kill", retries=0)
        os.kill(paused_horse(flag, worker), signal.SIGKILL)
        assert wait_until(lambda: _deliveries()[0].state == "sending", timeout=30)
    finally:
        stop(worker)
    assert _sms(http_receiver) == []
    assert delivery.deliver(clock).sent == 0  # claimed a moment ago: perhaps still going out elsewhere
    clock.set(clock.now() + delivery.STALE_CLAIM + timedelta(seconds=1))
    assert delivery.deliver(clock).interrupted == 1
    (row,) = _deliveries()
    assert row.state == "failed" and row.last_error == delivery.INTERRUPTED
    assert delivery.deliver(clock).sent == 0 and _sms(http_receiver) == []


def test_committing_notices_queues_the_delivery_job(app, clock, county, smtp_server, http_receiver, redis):
    from jobs.queue import fetch_job, get_queue

    notify.send([county["staff"].id], "test", "未配置渠道时只有站内提醒", now=clock.now())
    db.session.commit()
    assert len(get_queue("default")) == 0  # no channel: nothing to queue
    _channels(app, smtp_server, http_receiver)
    notify.send([county["staff"].id], "test", "有渠道时提交即排队发送", now=clock.now())
    db.session.rollback()
    assert len(get_queue("default")) == 0  # rolled back: nothing was written, nothing queued
    notify.send([county["staff"].id], "test", "有渠道时提交即排队发送", now=clock.now())
    db.session.commit()
    assert fetch_job("deliver-now").func_name == "portal.notifications.tasks.deliver"
    assert len(get_queue("default")) == 1


def test_the_scheduler_runs_the_delivery_every_minute(app, redis):
    from jobs import scheduler

    entry = next(e for e in scheduler.SCHEDULE if e.name == "deliver")
    at = datetime(2026, 6, 15, 10, 0, 30, tzinfo=SHANGHAI)
    assert scheduler.tick(at, SHANGHAI, (entry,)) == ["schedule-deliver-20260615-1000"]
    assert scheduler.tick(at + timedelta(seconds=20), SHANGHAI, (entry,)) == []
    assert scheduler.tick(at + timedelta(seconds=40), SHANGHAI, (entry,)) == ["schedule-deliver-20260615-1001"]
    assert scheduler.next_slot(entry, at, SHANGHAI) == datetime(2026, 6, 15, 10, 1, tzinfo=SHANGHAI)


def _flask(app, clock, *args, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                          env=job_env(app, clock, **{k: str(v) for k, v in env.items()}), capture_output=True, text=True,
                          timeout=120)


def test_notify_test_sends_one_message_and_says_how_it_went(app, clock, smtp_server, http_receiver):
    settings = _channels(app, smtp_server, http_receiver)
    sent = _flask(app, clock, "notify", "test", "--channel", "email", "--to", "wangming@qingxi.gov.cn", **settings)
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.strip() == "notify test channel=email status=sent"
    assert smtp_server.messages[0]["Subject"] == "【测试消息】节点工作平台测试消息"
    robot = _flask(app, clock, "notify", "test", "--channel", "dingtalk", **settings)
    assert robot.returncode == 0 and robot.stdout.strip() == "notify test channel=dingtalk status=sent"
    http_receiver.answer(200, {"errcode": 310000, "errmsg": "sign not match"})
    refused = _flask(app, clock, "notify", "test", "--channel", "dingtalk", **settings)
    assert refused.returncode == 1 and "status=failed" in refused.stderr and "310000" in refused.stderr
    missing = _flask(app, clock, "notify", "test", "--channel", "wecom", "--to", "", **settings)
    assert missing.returncode == 1 and "not configured" in missing.stderr
    assert db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.kind == "test")) == 3


# -- the morning digest, a person's quiet hours, a unit's own robot, the kinds sent ------------


def test_a_digest_gathers_the_day_into_one_message_per_channel(app, clock, county, smtp_server, http_receiver):
    _channels(app, smtp_server, http_receiver, DINGTALK_WEBHOOK_URL="", SMS_QUIET_HOURS="")
    staff = county["staff"]
    staff.notify_digest = True
    db.session.commit()
    sweep(clock.today(), clock)  # 10:00: a yellow card and a warning
    db.session.commit()
    assert delivery.deliver(clock).sent == 1  # only the leader's e-mail goes at once
    items = [d for d in _deliveries() if d.user_id == staff.id]
    assert {(d.channel, d.state, d.digest) for d in items} == {("email", "pending", True), ("sms", "pending", True)}
    assert {d.not_before for d in items} == {datetime(2026, 6, 16, 8, 30, tzinfo=SHANGHAI)}
    clock.set(datetime(2026, 6, 15, 16, 0, tzinfo=SHANGHAI))
    notify.send([staff.id], "recommitment.decided", "重新承诺同意：完成征迁交地", now=clock.now(), key="recommit-decided:5")
    db.session.commit()
    delivery.deliver(clock)
    clock.set(datetime(2026, 6, 16, 8, 29, tzinfo=SHANGHAI))
    assert delivery.deliver(clock).sent == 0 and len(smtp_server.messages) == 1
    clock.set(datetime(2026, 6, 16, 8, 30, tzinfo=SHANGHAI))
    assert delivery.deliver(clock).sent == 2  # one e-mail, one SMS: three items each
    digest = smtp_server.messages[-1]
    assert digest["To"] == "liuxy@qingxi.gov.cn" and digest["Subject"] == "【每日汇总】6月16日共3条提醒"
    body = digest.get_body(("plain",)).get_content()
    assert "黄牌（1条）" in body and "到期预警（1条）" in body and "重新承诺结果（1条）" in body
    assert "https://jd.qingxi.gov.cn/nodes/" in body
    (sms,) = _sms(http_receiver)
    assert sms.json()["content"].startswith("【清溪督查】【每日汇总】6月16日共3条提醒：") and len(sms.json()["content"]) <= 70
    folded = [d for d in _deliveries() if d.state == "folded"]
    assert len(folded) == 6 and len({d.digest_id for d in folded}) == 2
    assert delivery.deliver(clock).sent == 0  # folded once, sent once
    clock.set(datetime(2026, 6, 17, 8, 30, tzinfo=SHANGHAI))
    assert delivery.deliver(clock).sent == 0  # nothing new: no empty digest


def test_a_failed_digest_is_retried_not_lost(app, clock, county, smtp_server, http_receiver):
    _channels(app, smtp_server, http_receiver, DINGTALK_WEBHOOK_URL="", SMTP_URL="", SMS_QUIET_HOURS="")
    county["staff"].notify_digest = True
    db.session.commit()
    notify.send([county["staff"].id], "card.yellow", "节点“完成征迁交地”超期未销号，已记黄牌", now=clock.now(), key="card:3")
    db.session.commit()
    delivery.deliver(clock)
    clock.set(datetime(2026, 6, 16, 8, 30, tzinfo=SHANGHAI))
    http_receiver.answer(503, "busy")
    assert delivery.deliver(clock).retried == 1
    clock.set(clock.now() + timedelta(minutes=1))
    assert delivery.deliver(clock).sent == 1
    (digest,) = [d for d in _deliveries() if d.kind == "digest"]
    assert (digest.state, digest.attempts) == ("sent", 2) and len(_sms(http_receiver)) == 2


def test_a_person_may_keep_other_quiet_hours(app, clock, county, smtp_server, http_receiver):
    _channels(app, smtp_server, http_receiver, DINGTALK_WEBHOOK_URL="", SMTP_URL="")
    staff = county["staff"]
    clock.set(datetime(2026, 6, 15, 21, 30, tzinfo=SHANGHAI))  # inside the county's 21:00–08:00
    staff.notify_quiet = "22:00-07:00"
    db.session.commit()
    notify.send([staff.id], "card.red", "节点“完成征迁交地”已记红牌", now=clock.now(), key="card:4")
    db.session.commit()
    assert delivery.deliver(clock).sent == 1  # before their own 22:00
    staff.notify_quiet = ""  # none at all
    db.session.commit()
    clock.set(datetime(2026, 6, 16, 3, 0, tzinfo=SHANGHAI))
    notify.send([staff.id], "card.red", "节点“完成土地摘牌”已记红牌", now=clock.now(), key="card:5")
    db.session.commit()
    assert delivery.deliver(clock).sent == 1 and len(_sms(http_receiver)) == 2


def test_a_units_own_robot_takes_its_peoples_reminders(app, clock, county, smtp_server, http_receiver):
    _channels(app, smtp_server, http_receiver, SMTP_URL="", SMS_GATEWAY_URL="")
    unit = county["unit"]
    unit.robot_channel, unit.robot_url = "wecom", f"{http_receiver.url}/unit-robot?key=shangpai"
    other = f.unit("三河镇")
    far = f.user("sanhe", unit=other, phone="13905510009")
    db.session.commit()
    notify.send([county["staff"].id, far.id], "interview.scheduled", "约谈定于2026-06-18 15:00举行", now=clock.now(),
                key="interview-scheduled:2")
    db.session.commit()
    assert delivery.deliver(clock).sent == 2
    unit_robot = [r for r in http_receiver.requests if r.path == "/unit-robot"]
    county_robot = _robot(http_receiver)
    assert len(unit_robot) == 1 and unit_robot[0].json()["text"]["mentioned_mobile_list"] == [STAFF_PHONE]
    assert len(county_robot) == 1 and county_robot[0].json()["at"]["atMobiles"] == ["13905510009"]
    assert {(d.channel, d.unit_id) for d in _deliveries()} == {("wecom", unit.id), ("dingtalk", None)}


def test_only_the_kinds_the_county_chose_leave_the_portal(app, clock, county, smtp_server, http_receiver):
    _channels(app, smtp_server, http_receiver, DINGTALK_WEBHOOK_URL="", SMS_GATEWAY_URL="")
    delivery.save_kinds(county["leader"], ["card.red"], clock)
    db.session.commit()
    sweep(clock.today(), clock)  # a yellow card and a warning: the bell only
    db.session.commit()
    assert delivery.deliver(clock).created == 0 and smtp_server.messages == []
    notify.send([county["staff"].id], "card.red", "节点“完成征迁交地”已记红牌", now=clock.now(), key="card:6")
    db.session.commit()
    assert delivery.deliver(clock).sent == 1


@pytest.mark.slow
def test_a_sweep_on_the_command_line_reaches_the_mail_server_through_a_real_worker(app, clock, county, smtp_server,
                                                                                     http_receiver, redis, tmp_path):
    """The deployed path: the sweep commits its notices, the commit queues the delivery job, a worker sends."""
    settings = {k: str(v) for k, v in _channels(app, smtp_server, http_receiver, DINGTALK_WEBHOOK_URL="").items()}
    log = tmp_path / "worker.log"
    worker = start_worker(app, clock, log=log, **settings)
    try:
        result = _flask(app, clock, "sweep", **settings)
        assert result.returncode == 0 and "yellow=1" in result.stdout, result.stderr
        assert wait_until(lambda: len(smtp_server.messages) == 3 and len(_sms(http_receiver)) == 2, timeout=60), \
            log.read_text()[-3000:]
    finally:
        stop(worker)
    assert sorted(m["To"] for m in smtp_server.messages) == ["liqiang@qingxi.gov.cn", "liuxy@qingxi.gov.cn",
                                                            "liuxy@qingxi.gov.cn"]
    assert {d.state for d in _deliveries()} == {"sent"}
