"""Reminders that leave the portal: notices fanned out to deliveries, each sent at most once.

The in-portal notice (``Notification``) is written in the transaction that
caused it — a sweep, a sign-off, a decision — and is the outbox: nothing
leaves the portal from inside a transaction that may still roll back. After
it commits, the delivery job (``portal.notifications.tasks.deliver``):

1. **fans out** each new notice into ``Delivery`` rows, one per channel the
   recipient is reached on (their choice, or every channel they have an
   address for): e-mail to ``user.email``, SMS to ``user.phone``, and one
   message per event in the county's WeCom / DingTalk group, @-mentioning
   the recipients by phone. ``Delivery.key`` is unique per (event, recipient,
   channel), so fanning out again — a sweep run twice, a job retried — adds
   nothing;
2. **sends** the deliveries that are due: each is claimed (pending →
   sending, committed) before it is sent and recorded after, so two workers
   never send one row twice. A refusal that may pass (time-out, 5xx, rate
   limit) is tried again after 1, 5 and 30 minutes, then the row is failed;
   a row found still "sending" long after its claim (the worker died
   mid-send) is failed, not sent again, because it may have gone out: the
   delivery log shows it for an administrator to resend.

SMS waits out the quiet hours (``SMS_QUIET_HOURS``, county time). A channel
that is down never holds up the sweep or the request: they only wrote notices.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from jobs.faults import pause_point
from portal.core.clock import Clock
from portal.core.database import insert_ignoring_duplicates
from portal.core.extensions import db
from portal.models import Delivery, Notification, User
from portal.notifications import texts
from portal.notifications.channels import (
    CHANNELS,
    ChannelError,
    configured,
    email_address,
    mobile_number,
)

log = logging.getLogger(__name__)

BATCH = 1000  # notices fanned out per transaction
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))  # after attempt 1, 2, 3
MAX_ATTEMPTS = len(BACKOFF) + 1
STALE_CLAIM = timedelta(minutes=10)  # a send takes seconds; a claim this old was interrupted
ROBOTS = ("wecom", "dingtalk")


@dataclass
class Round:
    """What one run of the delivery job did."""

    fanned_out: int = 0
    created: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    interrupted: int = 0

    def line(self) -> str:
        return (f"deliver fanned_out={self.fanned_out} created={self.created} sent={self.sent} "
                f"retried={self.retried} failed={self.failed} interrupted={self.interrupted}")

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def event_key(notification_id: int, dedupe_key: str | None) -> str:
    """The event a notice tells of: its key without the recipient (``card:17:42`` → ``card:17``)."""
    if dedupe_key and ":" in dedupe_key:
        return dedupe_key.rsplit(":", 1)[0]
    return f"notification:{notification_id}"


def available() -> dict:
    """The channels this portal is configured with (from the environment), by name."""
    return configured(current_app.config)


# -- quiet hours -------------------------------------------------------------------


def _quiet_window(setting: str) -> tuple[time, time] | None:
    if not setting:
        return None
    start, _, end = setting.partition("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def sms_not_before(moment: datetime, clock: Clock) -> datetime:
    """``moment``, or the end of the quiet hours when it falls inside them (county time)."""
    window = _quiet_window(current_app.config.get("SMS_QUIET_HOURS", ""))
    if window is None:
        return moment
    start, end = window
    local = moment.astimezone(clock.tz)
    now = local.time()
    inside = (now >= start or now < end) if start > end else (start <= now < end)
    if not inside:
        return moment
    day = local.date() if now < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=clock.tz).astimezone(moment.tzinfo)


# -- 1. fan out ----------------------------------------------------------------------


def fan_out(clock: Clock, channels: dict | None = None) -> tuple[int, int]:
    """Turn up to BATCH new notices into deliveries; (notices fanned out, deliveries created). Commits."""
    channels = available() if channels is None else channels
    now = clock.now()
    rows = db.session.execute(
        select(Notification.id, Notification.dedupe_key, Notification.kind, Notification.title, Notification.body,
               Notification.link, User.id, User.is_active_account, User.email, User.phone, User.notify_channels)
        .join(User, User.id == Notification.user_id)
        .where(Notification.fanned_out_at.is_(None))
        .order_by(Notification.id)
        .limit(BATCH)
    ).all()
    if not rows:
        return 0, 0
    personal, groups = [], {}
    for nid, dedupe, kind, title, body, link, user_id, active, email, phone, chosen in rows:
        if not active:
            continue
        wanted = set(CHANNELS if chosen is None else chosen) & set(channels)
        event = event_key(nid, dedupe)
        common = {"notification_id": nid, "kind": kind, "subject": title[:200], "text": body or "",
                  "link": link or "", "state": "pending", "attempts": 0, "last_error": "", "created_at": now}
        if "email" in wanted and (address := email_address(email)):
            personal.append({**common, "key": f"{event}:{user_id}:email"[:200], "user_id": user_id,
                             "channel": "email", "address": address, "not_before": now})
        mobile = mobile_number(phone)
        if "sms" in wanted and mobile:
            personal.append({**common, "key": f"{event}:{user_id}:sms"[:200], "user_id": user_id, "channel": "sms",
                             "address": mobile, "not_before": sms_not_before(now, clock)})
        for robot in sorted(wanted & set(ROBOTS)):
            group = groups.setdefault((event, robot), {**common, "key": f"{event}:group:{robot}"[:200],
                                                       "user_id": None, "channel": robot, "mentions": [],
                                                       "not_before": now})
            if mobile and mobile not in group["mentions"]:
                group["mentions"].append(mobile)
    for group in groups.values():
        group["address"] = ",".join(group.pop("mentions"))[:200]
    wanted_rows = personal + list(groups.values())
    created = 0
    if wanted_rows:
        stmt = insert_ignoring_duplicates(Delivery.__table__).on_conflict_do_nothing()
        created = max(0, db.session.connection().execute(stmt, wanted_rows).rowcount)
    ids = [row[0] for row in rows]
    db.session.execute(update(Notification).where(Notification.id.in_(ids)).values(fanned_out_at=now))
    db.session.commit()
    return len(ids), created


# -- 2. send -------------------------------------------------------------------------

# Stored with the row and shown in the delivery log as they are (the channels' own errors are kept verbatim).
INTERRUPTED = "发送过程中工作进程中断，无法确认是否已送达；为避免重复，不再自动重发（管理员可在发送记录中重发）。"


def fail_interrupted(clock: Clock) -> int:
    """Rows left "sending" by a worker that died mid-send: failed, never sent twice. Commits."""
    count = db.session.execute(
        update(Delivery).where(Delivery.state == "sending", Delivery.claimed_at < clock.now() - STALE_CLAIM)
        .values(state="failed", last_error=INTERRUPTED)
    ).rowcount
    db.session.commit()
    return max(0, count)


def claim(delivery_id: int, clock: Clock) -> Delivery | None:
    """pending → sending, committed; None when another worker claimed it first."""
    claimed = db.session.execute(
        update(Delivery).where(Delivery.id == delivery_id, Delivery.state == "pending")
        .values(state="sending", attempts=Delivery.attempts + 1, claimed_at=clock.now())
    ).rowcount
    db.session.commit()
    return db.session.get(Delivery, delivery_id, populate_existing=True) if claimed else None


def send_claimed(delivery: Delivery, clock: Clock, channels: dict) -> str:
    """Send a claimed delivery and record how it went ("sent", "retried" or "failed"). Commits."""
    config = current_app.config
    channel = channels.get(delivery.channel)
    outcome = "failed"
    if channel is None:
        delivery.state, delivery.last_error = "failed", f"未配置{texts.CHANNEL_LABELS[delivery.channel]}渠道。"
    else:
        shape = "robot" if delivery.channel in ROBOTS else delivery.channel
        message = texts.message(delivery.kind, delivery.subject, delivery.text, delivery.link,
                                portal_url=config.get("PORTAL_URL", ""), office=config.get("JIEDIAN_OFFICE_NAME", ""),
                                sms_sign=config.get("SMS_SIGN", ""))[shape]
        pause_point("deliver")  # fault tests kill the work horse here: claimed, not yet sent
        try:
            channel.send(delivery.address, message)
        except ChannelError as error:
            delivery.last_error = str(error)[:1000]
            if error.retry and delivery.attempts < MAX_ATTEMPTS:
                later = clock.now() + BACKOFF[delivery.attempts - 1]
                delivery.state, outcome = "pending", "retried"
                delivery.not_before = sms_not_before(later, clock) if delivery.channel == "sms" else later
            else:
                delivery.state = "failed"
        except Exception as error:  # noqa: BLE001 - a fault in one adapter must not stop the others
            log.exception("delivery %s: unexpected error", delivery.id)
            delivery.state, delivery.last_error = "failed", f"{type(error).__name__}: {error}"[:1000]
        else:
            delivery.state, delivery.sent_at, delivery.last_error, outcome = "sent", clock.now(), "", "sent"
    db.session.commit()
    return outcome


def send_due(clock: Clock, channels: dict | None = None, limit: int = 200) -> Round:
    """Send up to ``limit`` due deliveries, oldest first."""
    channels = available() if channels is None else channels
    result = Round(interrupted=fail_interrupted(clock))
    due = db.session.scalars(
        select(Delivery.id).where(Delivery.state == "pending", Delivery.not_before <= clock.now())
        .order_by(Delivery.not_before, Delivery.id).limit(limit)
    ).all()
    for delivery_id in due:
        delivery = claim(delivery_id, clock)
        if delivery is None:
            continue
        outcome = send_claimed(delivery, clock, channels)
        setattr(result, outcome, getattr(result, outcome) + 1)
    return result


def deliver(clock: Clock, channels: dict | None = None, rounds: int = 50) -> Round:
    """Fan out every new notice and send what is due (the job's body)."""
    channels = available() if channels is None else channels
    total = Round()
    for _round in range(rounds):
        fanned, created = fan_out(clock, channels)
        total.fanned_out += fanned
        total.created += created
        if fanned < BATCH:
            break
    for _round in range(rounds):
        batch = send_due(clock, channels)
        for name, value in batch.as_dict().items():
            setattr(total, name, getattr(total, name) + value)
        if batch.sent + batch.retried + batch.failed == 0:
            break
    return total


def resend(actor: User, delivery: Delivery, clock: Clock) -> None:
    """An administrator sends a failed delivery again (audited); the caller commits."""
    from portal.audit import services as audit
    from portal.core.errors import Refused

    if delivery.state != "failed":
        raise Refused(409, _("Only a failed delivery can be sent again."))
    before = {"state": delivery.state, "attempts": delivery.attempts, "last_error": delivery.last_error}
    delivery.state, delivery.not_before, delivery.attempts = "pending", clock.now(), 0
    audit.record(actor, "delivery.resend", delivery, summary=f"{delivery.channel} {delivery.address}", before=before,
                 after={"state": "pending"})


def send_test(channel_name: str, address: str, clock: Clock, actor: User | None = None) -> Delivery:
    """Send one test message now (CLI, admin page) and keep it in the delivery log. Commits.

    Raises ValueError for a channel that is not configured. The returned
    row says "sent", or "failed" with the channel's error; a test is not retried.
    """
    import secrets

    channels = available()
    if channel_name not in channels:
        raise ValueError(f"the {channel_name} channel is not configured")
    now = clock.now()
    office = current_app.config.get("JIEDIAN_OFFICE_NAME", "")
    row = Delivery(key=f"test:{now:%Y%m%dT%H%M%S}:{secrets.token_hex(4)}", user_id=actor.id if actor else None,
                   channel=channel_name, address=address[:200], kind="test", subject="节点工作平台测试消息",
                   text=f"这是{office}节点工作平台发出的测试消息，收到即表示本渠道可用。", link="/", state="pending",
                   attempts=0, last_error="", not_before=now, created_at=now)
    db.session.add(row)
    db.session.flush()
    if actor is not None:
        from portal.audit import services as audit

        audit.record(actor, "delivery.test", row, summary=f"{channel_name} {address}"[:300],
                     after={"channel": channel_name, "address": address})
    db.session.commit()
    claimed = claim(row.id, clock)
    assert claimed is not None  # just written by us
    send_claimed(claimed, clock, {channel_name: channels[channel_name]})
    if claimed.state == "pending":  # a test says how it went at once: no retry
        claimed.state = "failed"
        db.session.commit()
    return claimed
