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
    """The channels this portal has, by name: set in the environment, or by an administrator (``setup``)."""
    from portal.notifications import setup

    return configured(setup.effective(current_app.config))


# -- quiet hours -------------------------------------------------------------------


def _quiet_window(setting: str) -> tuple[time, time] | None:
    if not setting:
        return None
    start, _, end = setting.partition("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def sms_not_before(moment: datetime, clock: Clock, quiet: str | None = None) -> datetime:
    """``moment``, or the end of the quiet hours when it falls inside them (county time).

    ``quiet`` is the person's own window ("22:00-07:00", "" for none); None: the county's.
    """
    setting = current_app.config.get("SMS_QUIET_HOURS", "") if quiet is None else quiet
    window = _quiet_window(setting)
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


def digest_time(moment: datetime, clock: Clock) -> datetime:
    """The next morning digest at or after ``moment`` (NOTIFY_DIGEST_AT, county time, default 08:30)."""
    at = time.fromisoformat(current_app.config.get("NOTIFY_DIGEST_AT") or "08:30")
    local = moment.astimezone(clock.tz)
    slot = datetime.combine(local.date(), at, tzinfo=clock.tz)
    if slot < local:
        slot += timedelta(days=1)
    return slot.astimezone(moment.tzinfo)


# -- which kinds leave the portal (a county setting) -----------------------------------

KINDS_KEY = "reminder_kinds"


def kinds_sent() -> set[str] | None:
    """The kinds of notice sent outside the portal; None: every kind (the default)."""
    from portal.models import CountySetting

    row = db.session.get(CountySetting, KINDS_KEY)
    return None if row is None or row.value is None else set(row.value)


def save_kinds(actor: User, kinds: list[str], clock: Clock) -> None:
    """An administrator chooses the kinds that leave the portal (audited; the caller commits)."""
    from portal.audit import services as audit
    from portal.models import CountySetting

    row = db.session.get(CountySetting, KINDS_KEY)
    before = None if row is None else {"kinds": row.value}
    if row is None:
        row = CountySetting(key=KINDS_KEY)
        db.session.add(row)
    row.value, row.updated_at, row.updated_by_id = sorted(kinds), clock.now(), actor.id
    db.session.flush()
    audit.record(actor, "setting.reminder_kinds", object_type="county_setting", summary=KINDS_KEY, before=before,
                 after={"kinds": sorted(kinds)})


# -- 1. fan out ----------------------------------------------------------------------


def fan_out(clock: Clock, channels: dict | None = None) -> tuple[int, int]:
    """Turn up to BATCH new notices into deliveries; (notices fanned out, deliveries created). Commits."""
    from portal.models import Unit

    channels = available() if channels is None else channels
    now = clock.now()
    rows = db.session.execute(
        select(Notification.id, Notification.dedupe_key, Notification.kind, Notification.title, Notification.body,
               Notification.link, User.id, User.is_active_account, User.email, User.phone, User.notify_channels,
               User.notify_digest, User.notify_quiet, Unit.id, Unit.robot_channel, Unit.robot_url)
        .join(User, User.id == Notification.user_id)
        .outerjoin(Unit, Unit.id == User.unit_id)
        .where(Notification.fanned_out_at.is_(None))
        .order_by(Notification.id)
        .limit(BATCH)
    ).all()
    if not rows:
        return 0, 0
    sent_kinds = kinds_sent()
    county_robots = sorted(set(channels) & set(ROBOTS))
    personal, groups = [], {}
    for (nid, dedupe, kind, title, body, link, user_id, active, email, phone, chosen, digest, quiet,
         unit_id, robot_channel, robot_url) in rows:
        if not active or (sent_kinds is not None and kind not in sent_kinds):
            continue
        wanted = set(CHANNELS if chosen is None else chosen)
        event = event_key(nid, dedupe)
        common = {"notification_id": nid, "kind": kind, "subject": title[:200], "text": body or "",
                  "link": link or "", "state": "pending", "attempts": 0, "last_error": "", "created_at": now,
                  "unit_id": None, "digest": False}
        at = digest_time(now, clock) if digest else now
        mine = {**common, "user_id": user_id, "digest": bool(digest)}
        if "email" in wanted and "email" in channels and (address := email_address(email)):
            personal.append({**mine, "key": f"{event}:{user_id}:email"[:200], "channel": "email", "address": address,
                             "not_before": at})
        mobile = mobile_number(phone)
        if "sms" in wanted and "sms" in channels and mobile:
            personal.append({**mine, "key": f"{event}:{user_id}:sms"[:200], "channel": "sms", "address": mobile,
                             "not_before": sms_not_before(at, clock, quiet)})
        # The group chat: the unit's own robot when it has one, else the county's.
        if robot_channel in ROBOTS and robot_url:
            targets = [(robot_channel, unit_id)] if robot_channel in wanted else []
        else:
            targets = [(robot, None) for robot in county_robots if robot in wanted]
        for robot, group_unit in targets:
            where = f"unit{group_unit}" if group_unit else "county"
            group = groups.setdefault((event, robot, where), {
                **common, "key": f"{event}:group:{where}:{robot}"[:200], "user_id": None, "channel": robot,
                "unit_id": group_unit, "mentions": [], "not_before": now})
            if mobile and mobile not in group["mentions"]:
                group["mentions"].append(mobile)
    for group in groups.values():
        group["address"] = ",".join(group.pop("mentions"))[:200]
    wanted_rows = personal + list(groups.values())
    created = 0
    if wanted_rows:
        # RETURNING names the rows written (a duplicate key writes none): executemany's row count
        # is not reliable on PostgreSQL.
        stmt = insert_ignoring_duplicates(Delivery.__table__).on_conflict_do_nothing().returning(Delivery.__table__.c.id)
        created = len(db.session.connection().execute(stmt, wanted_rows).all())
    ids = [row[0] for row in rows]
    db.session.execute(update(Notification).where(Notification.id.in_(ids)).values(fanned_out_at=now))
    db.session.commit()
    return len(ids), created


# -- 1b. the morning digest --------------------------------------------------------------


def fold_digests(clock: Clock) -> int:
    """Fold each person's due digest items into one delivery per channel; the number of digests. Commits.

    The items become "folded" with ``digest_id`` naming their digest, in the
    transaction that writes it; the digest is then sent (and retried) like any
    delivery, so a failed digest is retried, not lost. Its key names the person,
    the channel and the slot, so folding again adds nothing.
    """
    now = clock.now()
    items = db.session.scalars(
        select(Delivery).where(Delivery.digest.is_(True), Delivery.state == "pending", Delivery.not_before <= now)
        .order_by(Delivery.user_id, Delivery.channel, Delivery.id)
    ).all()
    if not items:
        return 0
    batches: dict[tuple[int, str, datetime], list[Delivery]] = {}
    for item in items:
        batches.setdefault((item.user_id, item.channel, item.not_before), []).append(item)
    made = 0
    for (user_id, channel, slot), batch in batches.items():
        local_day = slot.astimezone(clock.tz).date()
        key = f"digest:{user_id}:{channel}:{slot.astimezone(clock.tz):%Y%m%d%H%M}"
        subject, text = texts.digest(batch, local_day, short=channel == "sms",
                                     portal_url=current_app.config.get("PORTAL_URL", ""))
        stmt = insert_ignoring_duplicates(Delivery.__table__).on_conflict_do_nothing()
        db.session.execute(stmt, [{
            "key": key, "user_id": user_id, "channel": channel, "address": batch[0].address, "kind": "digest",
            "subject": subject[:200], "text": text, "link": "/notifications", "state": "pending", "attempts": 0,
            "last_error": "", "not_before": now, "created_at": now, "digest": False, "unit_id": None}])
        digest_id = db.session.scalar(select(Delivery.id).where(Delivery.key == key))
        db.session.execute(update(Delivery).where(Delivery.id.in_([i.id for i in batch]))
                           .values(state="folded", digest_id=digest_id))
        made += 1
    db.session.commit()
    return made


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


def _quiet_of(delivery: Delivery) -> str | None:
    user = db.session.get(User, delivery.user_id) if delivery.user_id else None
    return user.notify_quiet if user is not None else None


def _channel_for(delivery: Delivery, channels: dict):
    """The adapter: a unit's own robot for its group's rows, else the portal's channel of that name."""
    if delivery.unit_id is not None:
        from portal.models import Unit
        from portal.notifications.channels import TIMEOUT, DingTalk, WeCom

        unit = db.session.get(Unit, delivery.unit_id)
        if unit is None or unit.robot_channel != delivery.channel or not unit.robot_url:
            return None
        timeout = float(current_app.config.get("NOTIFY_TIMEOUT") or TIMEOUT)
        if unit.robot_channel == "wecom":
            return WeCom(unit.robot_url, timeout=timeout)
        return DingTalk(unit.robot_url, unit.robot_secret, timeout=timeout)
    return channels.get(delivery.channel)


def send_claimed(delivery: Delivery, clock: Clock, channels: dict) -> str:
    """Send a claimed delivery and record how it went ("sent", "retried" or "failed"). Commits."""
    config = current_app.config
    channel = _channel_for(delivery, channels)
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
                delivery.not_before = sms_not_before(later, clock, _quiet_of(delivery)) if delivery.channel == "sms" else later
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
        select(Delivery.id).where(Delivery.state == "pending", Delivery.digest.is_(False),
                                  Delivery.not_before <= clock.now())
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
    fold_digests(clock)
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
