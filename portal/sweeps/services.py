"""The overdue sweep (SPEC section 3, rules 2, 4, 6, 9, 10).

``sweep(as_of)`` issues, for every day up to and including ``as_of``, the
cards those days call for, each with its true effective date:

- **yellow** (rule 2): a node not submitted by its deadline D, effective D+1;
- **red** (rule 4): a yellow node not submitted by its committed deadline C,
  effective C+1, or one with no approved re-commitment within the grace period
  of ``recommit_grace_days`` Chinese working days from its yellow card,
  effective the day after the grace period; a red node becomes key supervision;
- **due-soon warnings**, once per node;
- **interview proposals** (rule 6): one per red card, and one per unit and
  month that reaches ``interview_yellow_threshold`` yellow cards.

**Go-live** (rule 11): no card is effective before the county's go-live date
(``policy.go_live_on``). A node whose effective deadline falls before it is
never judged by a sweep — no card, no warning, whether it is open or done:
a supervisor judges it. A node due on or after go-live is judged as always.

It is idempotent and catches up: what it issues depends only on recorded
facts (deadlines, submission dates, approvals), never on which days it ran,
and a card that exists in any state — even withdrawn — is never issued again.
Cards are inserted with ``ON CONFLICT DO NOTHING`` against the partial unique
index, so two sweeps at once issue each card once. Queries select the late
nodes only; their cost grows with those, not with all nodes. The caller
commits once: a sweep killed midway leaves nothing behind.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import String, and_, cast, exists, func, literal, or_, select, union, update
from sqlalchemy.orm import aliased

from jobs import runs
from jobs.connection import redis_available as queue_available  # noqa: F401  (the page says whether sweeps can start)
from jobs.queue import QueueUnavailable
from portal.audit import services as audit
from portal.core.clock import Clock, get_clock
from portal.core.database import add_days, in_ids, insert_ignoring_duplicates
from portal.core.extensions import db
from portal.core.workdays import WorkCalendar
from portal.models import (
    CardEvent,
    Interview,
    JobRun,
    Node,
    Notification,
    Project,
    Recommitment,
    ScoringPolicy,
    Unit,
    User,
    UserRole,
    UTCDateTime,
    interview_card,
    leader_unit,
)
from portal.models.policy import go_live_on, policy_on
from portal.notifications import services as notify


@dataclass
class SweepResult:
    as_of: date
    yellow: int = 0
    red: int = 0
    warned: int = 0
    interviews: int = 0
    card_ids: list[int] = field(default_factory=list)

    def line(self) -> str:
        """The one line the CLI prints (SPEC section 6)."""
        return (
            f"sweep as_of={self.as_of.isoformat()} yellow={self.yellow} red={self.red} "
            f"warned={self.warned} interviews={self.interviews}"
        )

    def as_dict(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "yellow": self.yellow, "red": self.red,
                "warned": self.warned, "interviews": self.interviews}


class SweepDateError(ValueError):
    pass


def sweep(as_of: date, clock: Clock) -> SweepResult:
    """Apply the rules for every day up to ``as_of``; flushes, the caller commits."""
    if as_of > clock.today():
        raise SweepDateError(f"cannot sweep a future date ({as_of.isoformat()} is after today)")
    result = SweepResult(as_of)
    go_live = go_live_on()
    yellow = _issue_yellow(as_of, go_live)
    red = _issue_red_after_commitment(as_of, go_live) + _issue_red_after_grace(as_of, clock, go_live)
    result.yellow, result.red = len(yellow), len(red)
    result.card_ids = [card_id for card_id, _ in yellow + red]
    warned = _warn_due_soon(as_of, go_live)
    result.warned = len(warned)
    interviews = _propose_interviews(as_of)
    result.interviews = len(interviews)
    _notify(clock, yellow, red, warned, interviews)
    _remind_undecided(as_of, clock)
    audit.record(None, "sweep.run", object_type="sweep", summary=result.line(), after=result.as_dict())
    db.session.flush()
    return result


# -- cards ------------------------------------------------------------------


def _policy_periods(last: date) -> list[tuple[ScoringPolicy, date, date | None]]:
    """(policy, first effective date, first date of the next policy or None) up to ``last``."""
    rows = db.session.scalars(
        select(ScoringPolicy).where(ScoringPolicy.effective_from <= last).order_by(ScoringPolicy.effective_from)
    ).all()
    if not rows:
        return [(policy_on(last), date.min, None)]
    periods = []
    if rows[0].effective_from > date.min:
        periods.append((policy_on(date.min), date.min, rows[0].effective_from))
    for i, row in enumerate(rows):
        periods.append((row, row.effective_from, rows[i + 1].effective_from if i + 1 < len(rows) else None))
    return periods


def _policy_lookup(last: date):
    """The policy in force on a day (up to ``last``), looked up without a query per day."""
    periods = _policy_periods(last)
    starts = [start for _, start, _ in periods]
    return lambda day: periods[bisect_right(starts, day) - 1][0]


def _judged_after_go_live(go_live: date | None, due_by) -> list:
    """The WHERE of rule 11: only nodes due (``due_by``, and the effective deadline) on or after go-live.

    A card is effective the day after the date it was due by, so this keeps
    every card after go-live; it is a range on the column the partial indexes
    hold. No go-live date set: no condition.
    """
    if go_live is None:
        return []
    return [due_by >= go_live, Node.effective_deadline >= go_live]


def _any_card(colour: str):
    """EXISTS a rule card of this colour for the node — live or withdrawn.

    An alias, so that inside ``INSERT INTO card_event … SELECT`` the subquery
    is not correlated away to the table being inserted into.
    """
    card = aliased(CardEvent)
    return exists().where(card.node_id == Node.id, card.colour == colour, card.is_manual.is_(False)).correlate(Node)


def _live_card(colour: str):
    card = aliased(CardEvent)
    return exists().where(
        card.node_id == Node.id, card.colour == colour, card.is_manual.is_(False), card.is_withdrawn.is_(False),
    ).correlate(Node)


def _insert_cards(colour: str, effective, due_by, as_of: date, conditions) -> list[tuple[int, int]]:
    """INSERT … SELECT the cards of one colour, one statement per policy period.

    ``effective`` is the SQL expression of each card's effective date and
    ``due_by`` the date the node had to be submitted by. Returns (card id, node id).
    """
    issued: list[tuple[int, int]] = []
    for policy, start, end in _policy_periods(as_of):
        points = {"yellow": policy.yellow_points, "red": policy.red_points}[colour]
        period = [effective >= start] if start > date.min else []
        if end is not None:
            period.append(effective < end)
        source = select(
            Node.id, Node.unit_id, literal(colour), Node.weight * points, effective,
            literal(_reason(colour)), literal(False), literal(policy.id), literal(False), literal(""),
        ).where(
            # Every card is effective the day after the date it was due by;
            # saying so on the bare column lets the database use an index.
            due_by < as_of,
            effective <= as_of,
            or_(Node.submitted_on.is_(None), Node.submitted_on > due_by),
            ~_any_card(colour),
            *conditions,
            *period,
        )
        stmt = (
            insert_ignoring_duplicates(CardEvent)
            .from_select(
                ["node_id", "unit_id", "colour", "points", "effective_date", "reason", "is_manual",
                 "policy_id", "is_withdrawn", "withdrawn_reason"],
                source,
            )
            .on_conflict_do_nothing()
            .returning(CardEvent.id, CardEvent.node_id)
        )
        issued += [tuple(row) for row in db.session.execute(stmt)]
    return issued


def _reason(colour: str) -> str:
    return {
        "yellow": "超过节点时限未提交销号，系统自动记黄牌",
        "red": "黄牌节点超过重新承诺时限仍未完成，系统自动记红牌并列入重点督办",
        "red-grace": "黄牌节点在宽限期内未获准重新承诺，系统自动记红牌并列入重点督办",
    }[colour]


def _issue_yellow(as_of: date, go_live: date | None) -> list[tuple[int, int]]:
    issued = _insert_cards("yellow", add_days(Node.deadline, 1), Node.deadline, as_of,
                           _judged_after_go_live(go_live, Node.deadline))
    _mark_nodes([node_id for _, node_id in issued], card="yellow")
    return issued


def _issue_red_after_commitment(as_of: date, go_live: date | None) -> list[tuple[int, int]]:
    issued = _insert_cards(
        "red", add_days(Node.committed_deadline, 1), Node.committed_deadline, as_of,
        [Node.committed_deadline.is_not(None), _live_card("yellow"),
         *_judged_after_go_live(go_live, Node.deadline)],
    )
    _mark_nodes([node_id for _, node_id in issued], card="red")
    return issued


def _issue_red_after_grace(as_of: date, clock: Clock, go_live: date | None) -> list[tuple[int, int]]:
    """Yellow nodes with no approved re-commitment within the working-day grace period.

    The grace period needs the holiday calendar, so the candidates are judged
    here rather than in SQL; the query still selects late nodes only, and
    leaves out those finished before any grace period could have ended (n
    working days span at least n calendar days). The candidates come from
    yellow cards, so they follow go-live; the go-live condition is repeated
    for a yellow card issued before the date was set.
    """
    shortest = db.session.scalar(select(func.min(ScoringPolicy.recommit_grace_days))) or policy_on(as_of).recommit_grace_days
    candidates = db.session.execute(
        select(Node.id, Node.unit_id, Node.weight, Node.submitted_on, CardEvent.effective_date)
        .join(CardEvent, and_(CardEvent.node_id == Node.id, CardEvent.colour == "yellow",
                              CardEvent.is_manual.is_(False), CardEvent.is_withdrawn.is_(False)))
        .where(
            CardEvent.effective_date < as_of,
            ~_any_card("red"),
            or_(Node.submitted_on.is_(None), Node.submitted_on > add_days(CardEvent.effective_date, max(shortest, 1) - 1)),
            *_judged_after_go_live(go_live, Node.deadline),
        )
    ).all()
    if not candidates:
        return []
    first_approval = dict(
        db.session.execute(
            select(Recommitment.node_id, func.min(Recommitment.decided_at))
            .where(Recommitment.state == "approved", in_ids(Recommitment.node_id, [c.id for c in candidates]))
            .group_by(Recommitment.node_id)
        ).all()
    )
    earliest = min(c.effective_date for c in candidates)
    calendar = WorkCalendar(earliest, as_of + timedelta(days=60))
    policy_of = _policy_lookup(as_of)
    rows = []
    for c in candidates:
        policy = policy_of(c.effective_date)
        grace_end = calendar.nth_workday(c.effective_date, policy.recommit_grace_days)
        effective = grace_end + timedelta(days=1)
        if effective > as_of:
            continue
        if c.submitted_on is not None and c.submitted_on <= grace_end:
            continue  # finished within the grace period: it stays yellow
        approved_at = first_approval.get(c.id)
        if approved_at is not None and clock.local_date(approved_at) <= grace_end:
            continue  # re-committed in time: the committed deadline decides now
        red_policy = policy_of(effective)
        rows.append({
            "node_id": c.id, "unit_id": c.unit_id, "colour": "red", "points": red_policy.red_points * c.weight,
            "effective_date": effective, "reason": _reason("red-grace"), "is_manual": False,
            "policy_id": red_policy.id, "is_withdrawn": False, "withdrawn_reason": "",
        })
    if not rows:
        return []
    stmt = insert_ignoring_duplicates(CardEvent).on_conflict_do_nothing().returning(CardEvent.id, CardEvent.node_id)
    issued = [tuple(row) for row in db.session.execute(stmt, rows)]
    _mark_nodes([node_id for _, node_id in issued], card="red")
    return issued


def _mark_nodes(node_ids: list[int], *, card: str) -> None:
    """Show the new colour on the nodes (bumping their version: open boards refresh)."""
    if not node_ids:
        return
    values = {"card": card, "version": Node.version + 1}
    if card == "red":
        values["is_key_supervision"] = True
    stmt = update(Node).where(in_ids(Node.id, node_ids))
    if card == "yellow":
        stmt = stmt.where(Node.card != "red")
    db.session.execute(stmt.values(**values).execution_options(synchronize_session=False))
    db.session.expire_all()


# -- warnings ---------------------------------------------------------------


def _warn_due_soon(as_of: date, go_live: date | None) -> list[tuple[int, int, int | None, str, date]]:
    """预警, once per node: open nodes whose effective deadline is within warn_days (and not before go-live)."""
    warn_days = policy_on(as_of).warn_days
    effective = Node.effective_deadline
    stmt = (
        update(Node)
        .where(
            Node.is_open,
            Node.warned_on.is_(None),
            effective >= as_of,
            effective <= as_of + timedelta(days=warn_days),
            *([effective >= go_live] if go_live is not None else []),
        )
        .values(warned_on=as_of)
        .returning(Node.id, Node.unit_id, Node.responsible_user_id, Node.title, effective)
        .execution_options(synchronize_session=False)
    )
    return [tuple(row) for row in db.session.execute(stmt)]


# -- interviews -------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """An interview the sweep proposed."""

    id: int
    unit_id: int
    trigger: str


def _propose_interviews(as_of: date) -> list[Proposal]:
    wanted: list[tuple[int, str, str, date, list[int]]] = []  # unit, trigger, key, proposed on, cards
    # One per red card.
    reds = db.session.execute(
        select(CardEvent.id, CardEvent.unit_id, CardEvent.effective_date)
        .where(
            CardEvent.colour == "red", CardEvent.is_withdrawn.is_(False), CardEvent.effective_date <= as_of,
            ~exists().where(Interview.trigger_key == literal("red:", String) + cast(CardEvent.id, String)),
        )
    ).all()
    for card_id, unit_id, effective in reds:
        wanted.append((unit_id, "red", f"red:{card_id}", effective, [card_id]))
    # One per unit and month reaching the yellow-card threshold (this month and the two before).
    first = (as_of.replace(day=1) - timedelta(days=62)).replace(day=1)
    yellows = db.session.execute(
        select(CardEvent.id, CardEvent.unit_id, CardEvent.effective_date)
        .where(CardEvent.colour == "yellow", CardEvent.is_withdrawn.is_(False),
               CardEvent.effective_date.between(first, as_of))
        .order_by(CardEvent.effective_date, CardEvent.id)
    ).all()
    by_month: dict[tuple[int, str], list[tuple[int, date]]] = defaultdict(list)
    for card_id, unit_id, effective in yellows:
        by_month[(unit_id, effective.strftime("%Y-%m"))].append((card_id, effective))
    policy_of = _policy_lookup(as_of)
    for (unit_id, month), cards in sorted(by_month.items()):
        threshold = policy_of(cards[-1][1]).interview_yellow_threshold
        if len(cards) < threshold:
            continue
        wanted.append((unit_id, "yellow_threshold", f"yellow:{unit_id}:{month}", cards[threshold - 1][1],
                       [card_id for card_id, _ in cards]))
    return _propose(wanted)


def _propose(wanted: list[tuple[int, str, str, date, list[int]]]) -> list[Proposal]:
    """Insert the proposals in one batch; one that exists already (another sweep's) is skipped."""
    if not wanted:
        return []
    stmt = (
        insert_ignoring_duplicates(Interview)
        .on_conflict_do_nothing()
        .returning(Interview.id, Interview.trigger_key)
    )
    created = dict(
        (key, interview_id)
        for interview_id, key in db.session.execute(stmt, [
            {"unit_id": unit_id, "trigger": trigger, "trigger_key": key, "state": "proposed", "proposed_on": on,
             "place": "", "interviewer_name": "", "bring": "", "minutes": ""}
            for unit_id, trigger, key, on, _ in wanted
        ])
    )
    proposals, links = [], []
    for unit_id, trigger, key, _, card_ids in wanted:
        interview_id = created.get(key)
        if interview_id is None:
            continue  # another sweep proposed it first
        links += [{"interview_id": interview_id, "card_event_id": c} for c in card_ids]
        proposals.append(Proposal(interview_id, unit_id, trigger))
        audit.record(None, "interview.propose", object_type="interview", object_id=interview_id, summary=key,
                     after={"unit_id": unit_id, "trigger": trigger, "cards": card_ids})
    if links:
        db.session.execute(interview_card.insert(), links)
    return proposals


# -- notifications ----------------------------------------------------------


def _notify(clock: Clock, yellow, red, warned, interviews: list[Proposal]) -> None:
    now = clock.now()
    # SPEC rule 13: a yellow card is copied to the unit's leaders in charge; a red
    # card also to the project's 包保领导 and the supervisors.
    _notify_cards(yellow, "card.yellow", "超期未销号，已记黄牌", "请在线说明超期原因并重新承诺完成时间。", now, leaders=True)
    _notify_cards(red, "card.red", "已记红牌，列入重点督办", "", now, leaders=True, escalate=True)
    units = {w[1] for w in warned} | {i.unit_id for i in interviews}
    staff = notify.unit_staff(units)
    notices = []
    for node_id, unit_id, person_id, title, due in warned:
        notices.append(notify.Notice(
            staff.get(unit_id, []) + [person_id], "node.due_soon", f"节点“{title}”将于{due.isoformat()}到期",
            body="请抓紧推进并按时提交销号申请。", link=f"/nodes/{node_id}", node_id=node_id,
            key=f"warn:{node_id}:{due.isoformat()}"))
    if interviews:
        watchers = notify.supervisors()
        names = dict(db.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_({i.unit_id for i in interviews}))).all())
        for interview in interviews:
            notices.append(notify.Notice(
                watchers + staff.get(interview.unit_id, []), "interview.proposed",
                f"拟对{names[interview.unit_id]}进行{'红牌' if interview.trigger == 'red' else '黄牌'}约谈",
                link=f"/interviews/{interview.id}", key=f"interview:{interview.id}"))
    notify.send_all(notices, now=now)


UNDECIDED_WORKDAYS = 2  # SPEC rule 13: a re-commitment undecided this long is sent again


def _remind_undecided(as_of: date, clock: Clock) -> int:
    """Re-commitments still pending after 2 full working days: sent again to the leaders in
    charge and copied to the supervisors, once each (keyed by the request)."""
    rows = db.session.execute(
        select(Recommitment.id, Recommitment.filed_at, Node.id, Node.unit_id, Node.title, Unit.name)
        .join(Node, Node.id == Recommitment.node_id).join(Unit, Unit.id == Node.unit_id)
        .where(Recommitment.state == "pending")
    ).all()
    if not rows:
        return 0
    filed_days = {rid: filed.astimezone(clock.tz).date() for rid, filed, *_ in rows}
    calendar = WorkCalendar(min(filed_days.values()), as_of + timedelta(days=1))
    due = [row for row in rows
           if as_of > calendar.nth_workday(filed_days[row[0]] + timedelta(days=1), UNDECIDED_WORKDAYS)]
    if not due:
        return 0
    leaders = notify.leaders_in_charge({row[3] for row in due})
    watchers = notify.supervisors()
    notify.send_all([
        notify.Notice(leaders[unit_id] + watchers, "recommitment.overdue",
                      f"{unit_name}的重新承诺申请已{UNDECIDED_WORKDAYS}个工作日未审批：{title}",
                      body="请及时审批。", link="/recommitments", node_id=node_id, key=f"recommit-undecided:{rid}")
        for rid, _filed, node_id, unit_id, title, unit_name in due
    ], now=clock.now())
    return len(due)


def _notify_cards(cards: list[tuple[int, int]], kind: str, what: str, body: str, now, *, leaders: bool = False,
                  escalate: bool = False) -> None:
    """Tell each new card's unit staff and responsible person (with ``leaders``
    the unit's leaders in charge; with ``escalate`` also the project's 包保领导
    and every supervisor) in one INSERT … SELECT: a sweep issues tens of
    thousands of cards, and building their notices as Python rows cost a third of it.

    Same notices as ``notify.send``: one per person and card, keyed
    ``card:<card id>:<user id>`` so that a second sweep sends none.
    """
    if not cards:
        return
    new = (
        select(CardEvent.id.label("card_id"), Node.id.label("node_id"), Node.unit_id, Node.title,
               Node.responsible_user_id, Project.lead_leader_id)
        .join(Node, Node.id == CardEvent.node_id)
        .join(Project, Project.id == Node.project_id)
        .where(in_ids(CardEvent.id, [card_id for card_id, _ in cards]))
        .cte("new_card")
    )
    parts = [
        select(new.c.card_id, User.id.label("user_id"))
        .join(User, User.unit_id == new.c.unit_id)
        .join(UserRole, and_(UserRole.user_id == User.id, UserRole.role == "unit_staff"))
        .where(User.is_active_account),
        select(new.c.card_id, new.c.responsible_user_id).where(new.c.responsible_user_id.is_not(None)),
    ]
    if leaders:
        parts.append(
            select(new.c.card_id, leader_unit.c.user_id)
            .join(leader_unit, leader_unit.c.unit_id == new.c.unit_id)
            .join(User, User.id == leader_unit.c.user_id)
            .where(User.is_active_account)
        )
    if escalate:
        parts.append(
            select(new.c.card_id, User.id).select_from(new.join(User, User.id == new.c.lead_leader_id))
            .where(User.is_active_account)
        )
        parts.append(
            select(new.c.card_id, User.id)
            .select_from(new.join(UserRole, UserRole.role == "supervisor").join(User, User.id == UserRole.user_id))
            .where(User.is_active_account)
        )
    recipients = union(*parts).subquery("recipient")
    source = (
        select(
            recipients.c.user_id, literal(kind), literal("节点“", String) + new.c.title + literal(f"”{what}", String),
            literal(body), literal("/nodes/", String) + cast(new.c.node_id, String), new.c.node_id,
            literal("card:", String) + cast(recipients.c.card_id, String) + literal(":", String)
            + cast(recipients.c.user_id, String),
            literal(now, UTCDateTime),
        )
        .join(new, new.c.card_id == recipients.c.card_id)
    )
    stmt = insert_ignoring_duplicates(Notification).from_select(
        ["user_id", "kind", "title", "body", "link", "node_id", "dedupe_key", "created_at"], source,
    ).on_conflict_do_nothing()
    db.session.execute(stmt)
    notify.outbox_written()


def start_sweep(actor: User | None, day: date) -> tuple[JobRun, Job]:
    """Record and enqueue a sweep for ``day``; a sweep already waiting or running is reused.

    Commits (the worker must see the record). Raises QueueUnavailable when
    Redis does not answer; the record then says so, and the next daily sweep
    catches up on its own.
    """
    live = db.session.scalars(
        select(JobRun).where(JobRun.kind == "sweep", JobRun.state.in_(("queued", "running")))
        .order_by(JobRun.id.desc())
    ).first()
    if live is not None and live.params.get("as_of") == day.isoformat() and live.job_id:
        from jobs.queue import fetch_job

        try:
            return live, fetch_job(live.job_id)
        except NoSuchJobError:  # the job expired or Redis was flushed: start afresh
            live.state = "failed"
        except (RedisError, OSError) as error:
            # Redis is down, not empty: the queued sweep is still there (Redis
            # keeps its queues on disk) and runs when Redis returns.
            raise QueueUnavailable(str(error)) from error
    run = runs.create("sweep", {"as_of": day.isoformat()}, actor=actor, clock=get_clock())
    audit.record(actor, "sweep.start", run, summary=f"as_of={day.isoformat()}")
    job = runs.submit(run, "portal.sweeps.tasks.run_sweep", day.isoformat(), run.id, timeout=1800,
                      description=f"sweep {day.isoformat()}",
                      unavailable="任务队列不可用，未能启动；每日定时检查会自动补上。")
    return run, job
