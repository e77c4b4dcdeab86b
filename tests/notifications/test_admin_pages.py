"""The pages of the reminders: my channels, the administrators' channels and delivery log."""

from __future__ import annotations

from sqlalchemy import select

from portal.core.extensions import db
from portal.models import AuditEntry, Delivery, User
from portal.notifications import delivery
from tests import factories as f
from tests.notifications.test_delivery import _channels


def test_a_person_sets_their_addresses_and_channels(app, login_as, clock, smtp_server, http_receiver):
    _channels(app, smtp_server, http_receiver)
    f.user("staff", unit=f.unit("上派镇"))
    db.session.commit()
    staff = login_as("staff")
    page = staff.client.get("/notifications/preferences").get_data(as_text=True)
    assert "提醒设置" in page and "电子邮件" in page and "短信" in page and "钉钉工作群（@我）" in page
    assert "企业微信" not in page  # not set up here: not offered
    assert "21:00-08:00" in page
    bad = staff.post("/notifications/preferences", {"email": "liuxy", "phone": "0551-6500000", "channels": ["sms"]})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "请输入电子邮箱地址" in text and "请输入11位手机号码" in text
    good = staff.post("/notifications/preferences", {"email": "liuxy@qingxi.gov.cn", "phone": "139 0551 0001",
                                                     "channels": ["email", "dingtalk"]})
    assert good.status_code == 303 and good.headers["Location"].endswith("/notifications/preferences")
    assert "提醒设置已保存" in staff.client.get("/notifications/preferences").get_data(as_text=True)
    user = db.session.scalars(select(User).where(User.username == "staff")).one()
    assert (user.email, user.phone) == ("liuxy@qingxi.gov.cn", "13905510001")
    assert user.notify_channels == ["email", "wecom", "dingtalk"]  # wecom is not here: kept as it was (all)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.preferences")).one()
    assert entry.actor_id == user.id and entry.after["phone"] == "13905510001"
    wrong = staff.post("/notifications/preferences", {"channels": ["carrier-pigeon"]})
    assert wrong.status_code == 422


def test_the_delivery_log_filters_and_resends(app, login_as, clock, smtp_server, http_receiver):
    _channels(app, smtp_server, http_receiver)
    f.user("admin", roles=["admin"])
    staff = f.user("staff", unit=f.unit("上派镇"), display_name="刘晓燕")
    now = clock.now()
    common = {"kind": "card.yellow", "attempts": 4, "not_before": now, "created_at": now, "text": "", "link": "/nodes/1"}
    failed = Delivery(key="card:1:1:sms", user_id=staff.id, channel="sms", address="13905510001",
                      subject="节点“完成征迁交地”超期未销号，已记黄牌", state="failed", last_error="HTTP 503 from 10.1.2.3", **common)
    sent = Delivery(key="card:2:1:email", user_id=staff.id, channel="email", address="liuxy@qingxi.gov.cn",
                    subject="节点“完成土地摘牌”超期未销号，已记黄牌", state="sent", sent_at=now, **common)
    db.session.add_all([failed, sent])
    db.session.commit()
    admin = login_as("admin")
    page = admin.client.get("/admin/deliveries").get_data(as_text=True)
    assert "发送记录" in page and "刘晓燕" in page and "HTTP 503 from 10.1.2.3" in page and "完成土地摘牌" in page
    assert "已发送 1" in page and "失败 1" in page and "待发送 0" in page
    only_failed = admin.client.get("/admin/deliveries?state=failed").get_data(as_text=True)
    assert "完成征迁交地" in only_failed and "完成土地摘牌" not in only_failed
    by_name = admin.client.get("/admin/deliveries?q=刘晓燕&channel=email").get_data(as_text=True)
    assert "完成土地摘牌" in by_name and "完成征迁交地" not in by_name
    assert admin.client.get("/admin/deliveries?from=2026-13-01").status_code == 400
    response = admin.post(f"/admin/deliveries/{failed.id}/resend", page="/admin/deliveries")
    assert response.status_code == 303
    db.session.expire_all()
    row = db.session.get(Delivery, failed.id)
    assert (row.state, row.attempts) == ("pending", 0)
    again = admin.post(f"/admin/deliveries/{sent.id}/resend", page="/admin/deliveries", follow_redirects=True)
    assert "只有发送失败的消息才能重发" in again.get_data(as_text=True)
    assert delivery.deliver(clock).sent == 1
    assert [r.json()["mobile"] for r in http_receiver.requests] == ["13905510001"]
    assert db.session.scalars(select(AuditEntry.action).where(AuditEntry.action == "delivery.resend")).all() == [
        "delivery.resend"]


def test_the_channels_page_sends_a_test_message(app, login_as, clock, smtp_server, http_receiver):
    _channels(app, smtp_server, http_receiver)
    f.user("admin", roles=["admin"])
    db.session.commit()
    admin = login_as("admin")
    page = admin.client.get("/admin/channels").get_data(as_text=True)
    assert "提醒渠道" in page and "已配置" in page and "未配置" in page and f"{smtp_server.host}:{smtp_server.port}" in page
    assert "SECabc" not in page and "access_token=t" not in page  # secrets stay in the environment
    response = admin.post("/admin/channels/email/test", {"address": "wangming@qingxi.gov.cn"}, page="/admin/channels",
                          follow_redirects=True)
    assert "测试消息已发出" in response.get_data(as_text=True)
    assert smtp_server.messages[0]["To"] == "wangming@qingxi.gov.cn"
    missing = admin.post("/admin/channels/sms/test", {"address": ""}, page="/admin/channels")
    assert missing.status_code == 422 and "请填写测试消息的接收地址" in missing.get_data(as_text=True)
    http_receiver.answer(200, {"errcode": 310000, "errmsg": "sign not match"})
    refused = admin.post("/admin/channels/dingtalk/test", {}, page="/admin/channels", follow_redirects=True)
    assert "测试消息发送失败" in refused.get_data(as_text=True) and "310000" in refused.get_data(as_text=True)
    unset = admin.post("/admin/channels/wecom/test", {}, page="/admin/channels", follow_redirects=True)
    assert "企业微信群机器人渠道尚未配置" in unset.get_data(as_text=True)
    tests = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "delivery.test")).all()
    assert len(tests) == 2 and all(t.actor_name == "admin" for t in tests)


def test_a_unit_gets_its_own_robot_and_the_secret_stays_out_of_the_audit(app, login_as, clock):
    from portal.models import Unit

    f.user("admin", roles=["admin"])
    unit = f.unit("上派镇")
    db.session.commit()
    admin = login_as("admin")
    url = f"/admin/units/{unit.id}/edit"
    base = {"name": "上派镇", "short_name": "上派", "league_id": "", "head_name": "", "sort_order": "0", "is_active": "y"}
    missing = admin.post(url, {**base, "robot_channel": "dingtalk", "robot_url": ""})
    assert missing.status_code == 422 and "请填写机器人的Webhook地址" in missing.get_data(as_text=True)
    bad = admin.post(url, {**base, "robot_channel": "dingtalk", "robot_url": "file:///etc/passwd"})
    assert bad.status_code == 422 and "https://" in bad.get_data(as_text=True)
    hook = "https://oapi.dingtalk.com/robot/send?access_token=tok123"
    assert admin.post(url, {**base, "robot_channel": "dingtalk", "robot_url": hook, "robot_secret": "SECxyz"}).status_code == 303
    assert admin.post(url, {**base, "robot_channel": "dingtalk", "robot_url": hook, "robot_secret": ""}).status_code == 303
    db.session.expire_all()
    saved = db.session.get(Unit, unit.id)
    assert (saved.robot_channel, saved.robot_url, saved.robot_secret) == ("dingtalk", hook, "SECxyz")  # blank kept it
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "unit.robot")).all()
    assert len(entries) == 1 and entries[0].after == {"channel": "dingtalk", "host": "oapi.dingtalk.com", "secret": True}
    everything = " ".join(str(e.before) + str(e.after) + e.summary for e in db.session.scalars(select(AuditEntry)))
    assert "tok123" not in everything and "SECxyz" not in everything
    page = admin.client.get(url).get_data(as_text=True)
    assert "SECxyz" not in page  # a password field shows nothing
    assert admin.post(url, {**base, "robot_channel": ""}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Unit, unit.id).robot_url == "" and db.session.get(Unit, unit.id).robot_secret == ""


def test_digest_and_quiet_hours_are_chosen_on_the_settings_page(app, login_as, clock, smtp_server, http_receiver):
    _channels(app, smtp_server, http_receiver)
    f.user("staff", unit=f.unit("上派镇"))
    db.session.commit()
    staff = login_as("staff")
    page = staff.client.get("/notifications/preferences").get_data(as_text=True)
    assert "每天08:30发送一条汇总" in page and "短信免打扰时段" in page and "全县设置：21:00-08:00" in page
    assert staff.post("/notifications/preferences", {"channels": ["sms"], "digest": "y", "quiet": "none"}).status_code == 303
    user = db.session.scalars(select(User).where(User.username == "staff")).one()
    assert (user.notify_digest, user.notify_quiet) == (True, "")
    assert staff.post("/notifications/preferences", {"channels": ["sms"], "quiet": "22:00-07:00"}).status_code == 303
    db.session.expire_all()
    user = db.session.scalars(select(User).where(User.username == "staff")).one()
    assert (user.notify_digest, user.notify_quiet) == (False, "22:00-07:00")
    assert staff.post("/notifications/preferences", {"quiet": "03:00-03:01"}).status_code == 422
    assert staff.post("/notifications/preferences", {"quiet": ""}).status_code == 303
    db.session.expire_all()
    assert db.session.scalars(select(User).where(User.username == "staff")).one().notify_quiet is None


def test_the_administrator_chooses_the_kinds_sent(app, login_as, clock, smtp_server, http_receiver):
    _channels(app, smtp_server, http_receiver)
    f.user("admin", roles=["admin"])
    db.session.commit()
    admin = login_as("admin")
    page = admin.client.get("/admin/channels").get_data(as_text=True)
    assert "发送哪些提醒" in page and page.count('name="kinds"') == len(delivery.texts.KIND_LABELS) - 2
    assert admin.post("/admin/channels/kinds", {"kinds": ["card.red", "card.yellow"]}, page="/admin/channels").status_code == 303
    assert delivery.kinds_sent() == {"card.red", "card.yellow"}
    assert admin.post("/admin/channels/kinds", {"kinds": ["test"]}, page="/admin/channels").status_code == 422


def test_an_administrator_sets_the_channels_in_the_portal_and_the_environment_wins(app, login_as, clock, smtp_server,
                                                                                   http_receiver):
    """I #1: channels configured by an administrator in the portal; secrets from the environment."""
    from portal.notifications import setup

    app.config.update({"DINGTALK_SECRET": "SECportal", "NOTIFY_TIMEOUT": 2})
    f.user("admin", roles=["admin"])
    db.session.commit()
    admin = login_as("admin")
    page = admin.client.get("/admin/channels").get_data(as_text=True)
    assert "设置渠道" in page and page.count('action="/admin/channels/') >= 4 and "未配置" in page
    bad = admin.post("/admin/channels/email/settings", {"host": "mail server", "port": "99999", "security": "starttls",
                                                        "sender": "督查室"}, page="/admin/channels")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "请填写服务器域名或IP地址" in text and "应在1到65535之间" in text
    saved = admin.post("/admin/channels/email/settings", {"host": smtp_server.host, "port": str(smtp_server.port),
                                                          "security": "none", "sender": "清溪县督查室 <duban@qingxi.gov.cn>"},
                       page="/admin/channels")
    assert saved.status_code == 303
    hook = f"{http_receiver.url}/robot/send?access_token=portal-token"
    assert admin.post("/admin/channels/dingtalk/settings", {"url": hook}, page="/admin/channels").status_code == 303
    assert admin.post("/admin/channels/dingtalk/settings", {"url": "ftp://x"}, page="/admin/channels").status_code == 422
    assert sorted(delivery.available()) == ["dingtalk", "email"]
    sent = admin.post("/admin/channels/email/test", {"address": "wangming@qingxi.gov.cn"}, page="/admin/channels",
                      follow_redirects=True)
    assert "测试消息已发出" in sent.get_data(as_text=True)
    assert smtp_server.messages[0]["From"].addresses[0].display_name == "清溪县督查室"
    assert admin.post("/admin/channels/dingtalk/test", {}, page="/admin/channels").status_code == 303
    (robot,) = http_receiver.requests
    assert robot.query["access_token"] == ["portal-token"] and "sign" in robot.query  # signed with the env secret
    page = admin.client.get("/admin/channels").get_data(as_text=True)
    assert page.count("portal-token") == 1 and 'value="' + hook in page  # only in the form that edits it
    assert "SECportal" not in page
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("setting.channel_%"))).all()
    assert len(entries) == 2 and all("portal-token" not in str(e.after) for e in entries)
    # The operators' environment file wins whole; the page says so and refuses changes.
    app.config["SMTP_URL"] = "smtp://mail.qingxi.gov.cn:25"
    app.config["MAIL_FROM"] = "运维设置 <ops@qingxi.gov.cn>"
    page = admin.client.get("/admin/channels").get_data(as_text=True)
    assert "已在服务器环境配置文件中设置" in page
    refused = admin.post("/admin/channels/email/settings", {"host": "other.qingxi.gov.cn", "security": "none",
                                                            "sender": "x <x@qingxi.gov.cn>"}, page="/admin/channels",
                         follow_redirects=True)
    assert "请在那里修改" in refused.get_data(as_text=True)
    assert setup.stored("email")["host"] == smtp_server.host
    assert delivery.available()["email"].host == "mail.qingxi.gov.cn"
