"""Each channel against a real server on loopback: what arrives, and how refusals are told apart."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from portal.core.config import ConfigError, channel_settings
from portal.notifications import texts
from portal.notifications.channels import (
    ChannelError,
    DingTalk,
    Email,
    Sms,
    WeCom,
    configured,
    email_address,
    mobile_number,
)
from tests.conftest import free_port

YELLOW = texts.message("card.yellow", "节点“完成征迁交地”超期未销号，已记黄牌", "请在线说明超期原因并重新承诺完成时间。",
                       "/nodes/12", portal_url="https://jd.qingxi.gov.cn", office="清溪县委县政府督查室",
                       sms_sign="【清溪督查】")


def test_email_arrives_with_its_chinese_subject_text_and_html(smtp_server):
    channel = Email.from_url(f"smtp://duban:right-password@{smtp_server.host}:{smtp_server.port}",
                             "清溪县委县政府督查室 <duban@qingxi.gov.cn>", timeout=5)
    channel.send("王明 <wangming@qingxi.gov.cn>", YELLOW["email"])
    assert smtp_server.logins == [("duban", "right-password")]
    (mail,) = smtp_server.messages
    assert smtp_server.envelopes == [("duban@qingxi.gov.cn", ["wangming@qingxi.gov.cn"])]
    assert mail["Subject"] == "【黄牌】节点“完成征迁交地”超期未销号，已记黄牌"
    (sender,) = mail["From"].addresses
    assert sender.display_name == "清溪县委县政府督查室" and sender.addr_spec == "duban@qingxi.gov.cn"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "请在线说明超期原因" in text and "https://jd.qingxi.gov.cn/nodes/12" in text and "清溪县委县政府督查室" in text
    assert '<a href="https://jd.qingxi.gov.cn/nodes/12">' in html
    raw = mail.as_bytes()
    assert b"=?utf-8?" in raw.split(b"\n\n", 1)[0]  # the header is RFC 2047 encoded, not raw UTF-8


def test_email_refusals_say_whether_to_try_again(smtp_server):
    wrong = Email.from_url(f"smtp://duban:wrong@{smtp_server.host}:{smtp_server.port}", "a@qingxi.gov.cn", timeout=5)
    with pytest.raises(ChannelError, match="login refused") as refused:
        wrong.send("wangming@qingxi.gov.cn", YELLOW["email"])
    assert refused.value.retry is False
    down = Email.from_url(f"smtp://127.0.0.1:{free_port()}", "a@qingxi.gov.cn", timeout=2)
    with pytest.raises(ChannelError, match="unreachable") as unreachable:
        down.send("wangming@qingxi.gov.cn", YELLOW["email"])
    assert unreachable.value.retry is True
    with pytest.raises(ChannelError, match="not an e-mail address") as bad:
        down.send("王明", YELLOW["email"])
    assert bad.value.retry is False
    assert smtp_server.messages == []


def test_wecom_robot_gets_markdown_or_a_text_that_mentions_by_phone(http_receiver):
    robot = WeCom(f"{http_receiver.url}/cgi-bin/webhook/send?key=abc", timeout=5)
    robot.send("", YELLOW["robot"])
    robot.send("139 0551 0001,not-a-phone", YELLOW["robot"])
    first, second = http_receiver.requests
    assert first.path == "/cgi-bin/webhook/send" and first.query == {"key": ["abc"]}
    assert first.headers["content-type"].startswith("application/json")
    assert first.json() == {"msgtype": "markdown", "markdown": {"content": YELLOW["robot"].markdown}}
    assert "**黄牌**" in first.json()["markdown"]["content"]
    body = second.json()
    assert body["msgtype"] == "text" and body["text"]["mentioned_mobile_list"] == ["13905510001"]
    assert "完成征迁交地" in body["text"]["content"]


def test_wecom_errcodes_rate_limits_and_outages(http_receiver):
    robot = WeCom(f"{http_receiver.url}/send?key=abc", timeout=1)
    http_receiver.answer(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
    with pytest.raises(ChannelError, match="93000") as invalid:
        robot.send("", YELLOW["robot"])
    assert invalid.value.retry is False
    http_receiver.answer(200, {"errcode": 45009, "errmsg": "api freq out of limit"})
    with pytest.raises(ChannelError) as limited:
        robot.send("", YELLOW["robot"])
    assert limited.value.retry is True
    http_receiver.answer(502, "bad gateway")
    with pytest.raises(ChannelError, match="HTTP 502") as bad_gateway:
        robot.send("", YELLOW["robot"])
    assert bad_gateway.value.retry is True
    http_receiver.answer(200, {"errcode": 0}, delay=3)  # longer than the time-out
    with pytest.raises(ChannelError, match="unreachable") as slow:
        robot.send("", YELLOW["robot"])
    assert slow.value.retry is True


def test_dingtalk_robot_signs_each_request(http_receiver):
    secret = "SEC0123456789abcdef"
    robot = DingTalk(f"{http_receiver.url}/robot/send?access_token=tok", secret, timeout=5)
    before = int(time.time() * 1000)
    robot.send("13905510001", YELLOW["robot"])
    (request,) = http_receiver.requests
    assert request.query["access_token"] == ["tok"]
    timestamp = request.query["timestamp"][0]
    assert before - 1000 <= int(timestamp) <= int(time.time() * 1000)  # DingTalk refuses an hour-old one
    expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest())
    assert request.query["sign"] == [expected.decode()]  # parse_qs undid the URL-encoding
    body = request.json()
    assert body["msgtype"] == "markdown" and body["markdown"]["title"].startswith("【黄牌】")
    assert body["at"] == {"atMobiles": ["13905510001"], "isAtAll": False}
    assert body["markdown"]["text"].endswith("@13905510001")
    http_receiver.answer(200, {"errcode": 310000, "errmsg": "sign not match"})
    with pytest.raises(ChannelError, match="310000") as refused:
        robot.send("", YELLOW["robot"])
    assert refused.value.retry is False


def test_sms_gateway_json_and_form_bodies_and_its_success_rule(http_receiver):
    sms = Sms(f"{http_receiver.url}/sms/send", success="json:result.code=0", sign="【清溪督查】", template="T100",
              timeout=5)
    http_receiver.answer(200, {"result": {"code": 0}})
    sms.send("+86 139-0551-0001", YELLOW["sms"])
    body = http_receiver.requests[0].json()
    assert body == {"mobile": "13905510001", "content": YELLOW["sms"].text, "sign": "【清溪督查】", "template": "T100"}
    assert len(YELLOW["sms"].text) <= 70 and YELLOW["sms"].text.startswith("【清溪督查】【黄牌】")
    assert YELLOW["sms"].text.endswith(" https://jd.qingxi.gov.cn/nodes/12")  # the link whole; the title cut
    http_receiver.answer(200, {"result": {"code": 1001, "msg": "余额不足"}})
    with pytest.raises(ChannelError, match="refused") as refused:
        sms.send("13905510001", YELLOW["sms"])
    assert refused.value.retry is False
    form = Sms(f"{http_receiver.url}/send.do", body="u=county&m={phone}&c={text}", content_type="form", timeout=5)
    form.send("13905510001", YELLOW["sms"])
    sent = http_receiver.requests[-1]
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.form() == {"u": ["county"], "m": ["13905510001"], "c": [YELLOW["sms"].text]}
    http_receiver.answer(503, "busy")
    with pytest.raises(ChannelError) as busy:
        form.send("13905510001", YELLOW["sms"])
    assert busy.value.retry is True
    with pytest.raises(ChannelError, match="mobile") as bad:
        form.send("0551-6500000", YELLOW["sms"])  # a landline
    assert bad.value.retry is False


def test_addresses_as_people_type_them():
    assert mobile_number("139 0551 0001") == mobile_number("+86-13905510001") == "13905510001"
    assert mobile_number("12905510001") is None and mobile_number("1390551000") is None and mobile_number("") is None
    assert email_address("王明 <wangming@qingxi.gov.cn>") == "wangming@qingxi.gov.cn"
    assert email_address("wangming") is None and email_address("") is None


def test_sms_texts_stay_within_one_message():
    for title in ("短", "节点“" + "很长的节点名称" * 20 + "”超期未销号，已记黄牌"):
        for url in ("", "https://jd.qingxi.gov.cn/nodes/123456", "https://" + "x" * 80 + "/nodes/1"):
            text = texts.sms_text(f"【黄牌】{title}", url, "【清溪县督查室】")
            assert len(text) <= 70 and text.startswith("【清溪县督查室】【黄牌】")


def test_channel_settings_are_checked_at_start():
    assert configured({}) == {}
    found = configured(channel_settings({"SMTP_URL": "smtps://u:p%40ss@mail.qingxi.gov.cn", "MAIL_FROM": "d@q.cn",
                                         "DINGTALK_WEBHOOK_URL": "https://oapi.dingtalk.com/robot/send?access_token=x",
                                         "SMS_GATEWAY_URL": "http://10.1.2.3/sms"}))
    assert sorted(found) == ["dingtalk", "email", "sms"]
    assert found["email"].port == 465 and found["email"].ssl and found["email"].password == "p@ss"
    for bad in ({"SMTP_URL": "mail.qingxi.gov.cn:25"}, {"SMTP_URL": "smtp://mail.qingxi.gov.cn"},  # no MAIL_FROM
                {"WECOM_WEBHOOK_URL": "file:///etc/passwd"}, {"SMS_GATEWAY_SUCCESS": "code=0"},
                {"SMS_QUIET_HOURS": "9pm-8am"}):
        with pytest.raises(ConfigError):
            channel_settings(bad)


def test_email_over_starttls_and_smtps_with_the_countys_own_ca(tls_smtp_server):
    starttls, implicit, ca = tls_smtp_server
    secure = Email.from_url(f"smtp://duban:right-password@127.0.0.1:{starttls.port}?starttls=1",
                            "督查室 <duban@qingxi.gov.cn>", ca_file=ca, timeout=5)
    secure.send("wangming@qingxi.gov.cn", YELLOW["email"])
    assert starttls.messages[0]["Subject"] == "【黄牌】节点“完成征迁交地”超期未销号，已记黄牌"
    plain = Email.from_url(f"smtp://duban:right-password@127.0.0.1:{starttls.port}", "d@qingxi.gov.cn", timeout=5)
    with pytest.raises(ChannelError) as refused:  # the server requires STARTTLS before anything else
        plain.send("wangming@qingxi.gov.cn", YELLOW["email"])
    assert refused.value.retry is False and len(starttls.messages) == 1
    ssl_from_start = Email.from_url(f"smtps://duban:right-password@127.0.0.1:{implicit.port}", "d@qingxi.gov.cn",
                                    ca_file=ca, timeout=5)
    ssl_from_start.send("wangming@qingxi.gov.cn", YELLOW["email"])
    assert len(implicit.messages) == 1
    untrusted = Email.from_url(f"smtps://duban:right-password@127.0.0.1:{implicit.port}", "d@qingxi.gov.cn", timeout=5)
    with pytest.raises(ChannelError, match="unreachable|certificate"):  # the system CAs do not know it
        untrusted.send("wangming@qingxi.gov.cn", YELLOW["email"])
