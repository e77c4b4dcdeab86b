"""The bell, each person's reminder channels, and the administrators' delivery log and channels."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select, update

from portal.core.clock import get_clock
from portal.core.extensions import db
from portal.core.inputs import arg_date, arg_page
from portal.core.web import apply_change, flash_redirect, load_or_403
from portal.models import Delivery, Notification, User
from portal.models.system import DELIVERY_CHANNELS, DELIVERY_STATES
from portal.notifications import delivery
from portal.notifications import services as notify
from portal.notifications.forms import (
    SENDABLE_KINDS,
    SETTINGS_FORMS,
    ChannelTestForm,
    KindsForm,
    PreferencesForm,
)
from portal.notifications.texts import CHANNEL_LABELS, KIND_LABELS
from portal.permissions import can_manage_org, requires

bp = Blueprint("notifications", __name__)


def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    ) or 0


@bp.route("/notifications")
@login_required
def index():
    rows = db.session.scalars(
        select(Notification).where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(100)
    ).all()
    return render_template("notifications/index.html", rows=rows, clock=get_clock())


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_read():
    db.session.execute(
        update(Notification).where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .values(read_at=get_clock().now())
    )
    db.session.commit()
    return redirect(url_for("notifications.index"), 303)


# -- my channels -------------------------------------------------------------------


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    available = delivery.available()
    form = PreferencesForm()
    form.limit_to(available)
    if request.method == "GET":
        form.email.data, form.phone.data = current_user.email, current_user.phone
        chosen = current_user.notify_channels
        form.channels.data = [c for c in available if chosen is None or c in chosen]
        form.digest.data = current_user.notify_digest
        quiet = current_user.notify_quiet
        form.quiet.data = "" if quiet is None else (quiet or "none")
    elif form.validate():
        quiet = {"": None, "none": ""}.get(form.quiet.data, form.quiet.data)
        notify.save_preferences(current_user, form.email.data or "", form.phone.data or "", form.channels.data or [],
                                available, digest=bool(form.digest.data), quiet=quiet)
        db.session.commit()
        return flash_redirect(_("Your reminder settings are saved."), "success", url_for("notifications.preferences"))
    status = 422 if request.method == "POST" else 200
    return render_template("notifications/preferences.html", form=form, available=available,
                           labels=CHANNEL_LABELS, quiet=get_quiet_hours(), digest_at=get_digest_at()), status


def get_quiet_hours() -> str:
    return current_app.config.get("SMS_QUIET_HOURS", "")


def get_digest_at() -> str:
    return current_app.config.get("NOTIFY_DIGEST_AT", "08:30")


# -- the administrators' delivery log and channels ------------------------------------

PAGE_SIZE = 50


@bp.route("/admin/deliveries")
@requires(can_manage_org)
def deliveries():
    state = request.args.get("state", "")
    channel = request.args.get("channel", "")
    kind = request.args.get("kind", "")
    q = (request.args.get("q") or "").strip()[:60]
    page = arg_page()
    since, until = arg_date("from", None), arg_date("to", None)
    query = select(Delivery).outerjoin(User, User.id == Delivery.user_id)
    if state in DELIVERY_STATES:
        query = query.where(Delivery.state == state)
    if channel in DELIVERY_CHANNELS:
        query = query.where(Delivery.channel == channel)
    if kind:
        query = query.where(Delivery.kind == kind[:30])
    if q:
        like = f"%{q}%"
        query = query.where(or_(User.display_name.like(like), Delivery.address.like(like), Delivery.subject.like(like)))
    clock = get_clock()
    if since:
        query = query.where(Delivery.created_at >= clock.start_of(since))
    if until:
        query = query.where(Delivery.created_at < clock.start_of(until + timedelta(days=1)))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Delivery.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    names = dict(db.session.execute(select(User.id, User.display_name).where(
        User.id.in_({r.user_id for r in rows if r.user_id}))).all()) if rows else {}
    counts = dict(db.session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all())
    return render_template("notifications/deliveries.html", rows=rows, names=names, total=total, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), counts=counts, filters={
                               "state": state, "channel": channel, "kind": kind, "q": q,
                               "from": since.isoformat() if since else "", "to": until.isoformat() if until else ""},
                           states=DELIVERY_STATES, channels=DELIVERY_CHANNELS, labels=CHANNEL_LABELS,
                           kinds=KIND_LABELS, clock=clock)


@bp.route("/admin/deliveries/<int:delivery_id>/resend", methods=["POST"])
@requires(can_manage_org)
def resend(delivery_id: int):
    row = load_or_403(Delivery, delivery_id, lambda user, _row: can_manage_org(user))
    back = request.referrer if (request.referrer or "").startswith(request.host_url + "admin/deliveries") else None
    back = back or url_for("notifications.deliveries")
    return apply_change(
        lambda: delivery.resend(current_user, row, get_clock()),
        done=lambda _result: flash_redirect(_("The message will be sent again within a minute."), "success", back),
        refused=lambda _status, message: flash_redirect(message, "error", back),
    )


@bp.route("/admin/channels")
@requires(can_manage_org)
def channels():
    return _channels_page(ChannelTestForm())


def _settings_forms(failed: tuple[str, object] | None = None) -> dict:
    """Each channel's settings form, filled from what an administrator stored (or the one that failed)."""
    from portal.notifications import setup

    forms = {}
    for name, form_class in SETTINGS_FORMS.items():
        if failed and failed[0] == name:
            forms[name] = failed[1]
            continue
        form = form_class(formdata=None, data=setup.stored(name))
        forms[name] = form
    return forms


def _channels_page(form, status: int = 200, kinds_form=None, failed=None):
    from portal.models import Unit
    from portal.notifications import setup

    if kinds_form is None:
        kinds_form = KindsForm()
        chosen = delivery.kinds_sent()
        kinds_form.kinds.data = [k for k in SENDABLE_KINDS if chosen is None or k in chosen]
    robots = db.session.scalars(select(Unit).where(Unit.robot_channel != "").order_by(Unit.sort_order, Unit.id)).all()
    return render_template("notifications/channels.html", available=delivery.available(), form=form,
                           labels=CHANNEL_LABELS, config=setup.effective(current_app.config), kinds_form=kinds_form,
                           unit_robots=robots, settings_forms=_settings_forms(failed),
                           from_env={name: setup.from_environment(current_app.config, name) for name in SETTINGS_FORMS},
                           secrets={"smtp": bool(current_app.config.get("SMTP_PASSWORD")),
                                    "dingtalk": bool(current_app.config.get("DINGTALK_SECRET"))}), status


@bp.route("/admin/channels/<any(email,wecom,dingtalk,sms):channel>/settings", methods=["POST"])
@requires(can_manage_org)
def save_channel(channel: str):
    """An administrator sets a channel the environment does not set (secrets stay in the environment)."""
    from portal.notifications import setup

    if setup.from_environment(current_app.config, channel):
        return flash_redirect(_("This channel is set in the server's environment file; change it there."), "error",
                              url_for("notifications.channels"))
    form = SETTINGS_FORMS[channel]()
    if not form.validate():
        return _channels_page(ChannelTestForm(), 422, failed=(channel, form))
    setup.save(current_user, channel, {k: v for k, v in form.data.items() if k != "csrf_token"}, get_clock())
    db.session.commit()
    return flash_redirect(_("Saved. Send a test message to check the channel."), "success",
                          url_for("notifications.channels"))


@bp.route("/admin/channels/kinds", methods=["POST"])
@requires(can_manage_org)
def save_kinds():
    form = KindsForm()
    if not form.validate():
        return _channels_page(ChannelTestForm(), 422, kinds_form=form)
    delivery.save_kinds(current_user, form.kinds.data or [], get_clock())
    db.session.commit()
    return flash_redirect(_("Saved."), "success", url_for("notifications.channels"))


@bp.route("/admin/channels/<any(email,wecom,dingtalk,sms):channel>/test", methods=["POST"])
@requires(can_manage_org)
def test_channel(channel: str):
    form = ChannelTestForm()
    if not form.validate():
        return _channels_page(form, 422)
    if channel not in delivery.available():
        return flash_redirect(_("The %(channel)s channel is not set up.", channel=CHANNEL_LABELS[channel]), "error",
                              url_for("notifications.channels"))
    address = form.address.data or ""
    if channel in ("email", "sms") and not address:
        form.address.errors = [_("Enter the address to send the test message to.")]
        return _channels_page(form, 422)
    row = delivery.send_test(channel, address, get_clock(), current_user)
    if row.state == "sent":
        return flash_redirect(_("The test message was sent: %(channel)s accepted it.", channel=CHANNEL_LABELS[channel]),
                              "success", url_for("notifications.channels"))
    return flash_redirect(_("The test message was refused: %(error)s", error=row.last_error), "error",
                          url_for("notifications.channels"))


def _unread_for_current_user() -> int:
    """The bell's count, asked for by the page layout only: a fragment (a moved
    card, a column count) renders without a query for it."""
    # Documents are also rendered by jobs, with no request and no user.
    if has_request_context() and current_user and current_user.is_authenticated:
        return unread_count(current_user.id)
    return 0


def init_app(app) -> None:
    @app.context_processor
    def _bell():
        return {"unread_notifications": _unread_for_current_user}
