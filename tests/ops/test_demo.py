"""The demo county: its size, its consistency with the rules, its accounts and its command."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from portal.audit import services as audit
from portal.core.clock import Clock
from portal.core.extensions import db
from portal.core.workdays import WorkCalendar
from portal.models import (
    AuditEntry,
    CardEvent,
    Category,
    Interview,
    League,
    Node,
    Project,
    Recommitment,
    ScoringPolicy,
    Theme,
    Unit,
    User,
)
from portal.ops import demo
from tests.conftest import AuthActions, scratch_app

D = date(2026, 6, 15)
DAY = timedelta(days=1)
GRACE_DAYS = 5  # calendar days are never more than the policy's 5 working days
COLOUR_RANK = {"none": 0, "green": 1, "yellow": 2, "red": 3}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture(scope="module")
def built_county(tmp_path_factory, print_font_dir):
    """One demo county for the tests that only read it: building one takes seconds."""
    with scratch_app(tmp_path_factory.mktemp("demo"), print_font_dir) as app:
        summary = demo.build(D)
        db.session.commit()
        db.session.remove()
        yield app, summary


@pytest.fixture
def demo_summary(built_county) -> demo.DemoSummary:
    """The shared county, in an app context of its own; tests using it must not change it."""
    app, summary = built_county
    with app.app_context():
        yield summary
        db.session.rollback()
        db.session.remove()


@pytest.fixture
def county_app(built_county, demo_summary):
    return built_county[0]


@pytest.fixture
def local_date():
    return Clock("Asia/Shanghai").local_date


class Facts:
    """Every node with its cards and re-commitments, loaded once."""

    def __init__(self) -> None:
        self.nodes = db.session.scalars(select(Node)).all()
        self.cards: dict[int, list[CardEvent]] = defaultdict(list)
        for card in db.session.scalars(select(CardEvent)):
            self.cards[card.node_id].append(card)
        self.recommitments: dict[int, list[Recommitment]] = defaultdict(list)
        for row in db.session.scalars(select(Recommitment)):
            self.recommitments[row.node_id].append(row)

    def colours(self, node: Node) -> list[str]:
        return [c.colour for c in self.cards[node.id]]

    def approved(self, node: Node) -> list[Recommitment]:
        return [r for r in self.recommitments[node.id] if r.state == "approved"]


@pytest.fixture
def facts(demo_summary) -> Facts:
    return Facts()


def test_the_county_has_the_promised_size(demo_summary):
    assert count(League) >= 10
    assert count(Unit) >= 40
    assert count(Project) >= 60
    assert count(Node) >= 1500
    key = Project.kind == "project"  # the matters (交办事项) of the meeting loop are checked below
    used_categories = db.session.scalars(select(Category.name).join(Project).where(key).distinct()).all()
    assert sorted(used_categories) == sorted(name for name, _, _ in demo.CATEGORIES)
    used_themes = db.session.scalars(select(Theme.name).join(Project).where(key).distinct()).all()
    assert sorted(used_themes) == sorted(demo.THEMES)
    codes = db.session.scalars(select(Project.code).where(key)).all()
    assert all(code.startswith("2026-") for code in codes)
    assert all(code.startswith("JB2026-") for code in db.session.scalars(select(Project.code).where(~key)))
    assert count(Node) == demo_summary.nodes and count(Project) == demo_summary.projects
    units = db.session.scalars(select(Unit)).all()
    assert all(u.head_name and u.short_name for u in units)
    for project in db.session.scalars(select(Project).where(key)):
        assert project.investment_completed <= project.investment_planned <= project.investment_total
        assert project.lead_leader.has_role("leader") and project.co_units


def test_the_meeting_loop_ran_on_the_real_rules(demo_summary):
    """Problems, meetings and assignments of half a year, made through the services."""
    from portal.models import Assignment, Meeting, Problem

    loop = demo_summary.loop
    assert loop["problems"] == count(Problem) > 40 and loop["meetings"] == count(Meeting) > 20
    assert loop["assignments"] == count(Assignment) > 10
    closed = db.session.scalar(select(func.count()).select_from(Problem).where(Problem.state == "closed"))
    assert loop["solved"] == closed and 0.6 <= closed / loop["problems"] <= 0.95
    assert db.session.scalar(select(func.count()).select_from(Problem).where(Problem.meeting_id.is_not(None))) > 0
    sources = set(db.session.scalars(select(Assignment.source)))
    assert {"meeting", "instruction", "inspection"} <= sources
    # every matter has its three steps and its numbered notice; every held meeting its minutes
    for assignment in db.session.scalars(select(Assignment)):
        steps = sorted(n.matter_step for n in assignment.project.nodes)
        assert steps == ["feedback", "receipt", "resolve"] and assignment.notice_document_id
    assert all(m.minutes_document_id for m in db.session.scalars(select(Meeting)))


def test_the_summary_names_the_figures_and_the_accounts(demo_summary):
    printed = demo_summary.describe()
    assert f"nodes {demo_summary.nodes:,}" in printed and "card events: green" in printed
    for username in ("admin", "supervisor", "leader", "staff", "contact"):
        assert f"  {username} " in printed
    assert demo.DEMO_PASSWORD in printed


def assert_cards_follow_the_rules(facts: Facts, today: date, local_date) -> None:
    """Rules 1, 2 and 4 as of ``today``, node by node."""
    policy = db.session.scalar(select(ScoringPolicy))
    assert policy.effective_from == date(today.year, 1, 1)
    points = {"green": policy.green_points, "yellow": policy.yellow_points, "red": policy.red_points}
    supervisors = {u.id for u in db.session.scalars(select(User)) if u.has_role("supervisor")}
    calendar = WorkCalendar(date(today.year - 1, 12, 1), today + DAY * 60)
    for node in facts.nodes:
        colours = facts.colours(node)
        assert len(colours) == len(set(colours)), f"two rule cards of a colour on {node.id}"
        assert node.card == max(colours, key=COLOUR_RANK.get, default="none")
        submitted = local_date(node.submitted_at) if node.submitted_at else None
        on_time = submitted is not None and submitted <= node.deadline
        for card in facts.cards[node.id]:
            assert not card.is_manual and card.policy_id == policy.id
            assert card.unit_id == node.unit_id and card.points == points[card.colour] * node.weight
            assert card.effective_date <= today
            if card.colour == "green":
                closer = node.closed_by_id if node.matter_step in ("receipt", "feedback") else None
                assert on_time and node.status == "done" and card.issued_by_id in supervisors | {closer}
                assert card.effective_date == local_date(node.closed_at)
            else:
                assert card.issued_by_id is None
        # Rule 2: not submitted by the deadline -> yellow from the next day.
        if node.deadline < today and not on_time:
            yellow = [c for c in facts.cards[node.id] if c.colour == "yellow"]
            assert yellow and yellow[0].effective_date == node.deadline + DAY, node.id
            assert "green" not in colours
        else:
            assert "yellow" not in colours and "red" not in colours
        # Rule 4: a yellow node that missed its committed deadline turns red.
        committed = node.committed_deadline
        if committed is not None:
            assert [r.new_deadline for r in facts.approved(node)] == [committed]
        missed = committed is not None and committed < today and (submitted is None or submitted > committed)
        # ... and so does one with no approved date within the working-day grace period.
        grace_red = None
        if "yellow" in colours:
            grace_end = calendar.nth_workday(node.deadline + DAY, policy.recommit_grace_days)
            approved_on = [local_date(r.decided_at) for r in facts.approved(node)]
            in_time = bool(approved_on) and min(approved_on) <= grace_end
            finished = submitted is not None and submitted <= grace_end
            if grace_end + DAY <= today and not in_time and not finished:
                grace_red = grace_end + DAY
        red = [c for c in facts.cards[node.id] if c.colour == "red"]
        if grace_red is not None:
            assert red and red[0].effective_date == grace_red and node.is_key_supervision, node.id
        elif missed:
            assert red and red[0].effective_date == committed + DAY and node.is_key_supervision, node.id
        else:
            assert "red" not in colours, node.id


def test_cards_follow_the_rules(facts, local_date):
    assert_cards_follow_the_rules(facts, D, local_date)


@pytest.mark.parametrize("today", [date(2026, 1, 1), date(2026, 1, 6), date(2026, 12, 31)])
def test_the_rules_hold_at_the_ends_of_the_year(app, local_date, today):
    demo.build(today)
    db.session.commit()
    assert_cards_follow_the_rules(Facts(), today, local_date)


def test_statuses_and_times_agree(facts, local_date, county_app):
    start_of_d = Clock(county_app.config["JIEDIAN_TZ"]).start_of(D)
    for node in facts.nodes:
        if node.status in ("todo", "doing"):
            assert node.submitted_at is None and node.closed_at is None
        else:
            assert node.submitted_at < start_of_d and node.submitted_by_id is not None
        if node.status == "review":
            assert node.closed_at is None and node.card in ("none", "yellow", "red")
        if node.status == "done":
            # a matter's receipt and first report close as they are made: the click is the evidence
            closes_itself = node.matter_step in ("receipt", "feedback")
            assert (node.submitted_at <= node.closed_at if closes_itself else node.submitted_at < node.closed_at)
            assert node.closed_at < start_of_d and node.closed_by_id is not None
        for entry in node.progress_entries:
            assert entry.created_at < start_of_d


def test_re_commitments_are_decided_by_the_leader_in_charge(facts, local_date):
    for rows in facts.recommitments.values():
        assert sum(r.state == "pending" for r in rows) <= 1
        for row in rows:
            node = row.node
            assert node.deadline < local_date(row.filed_at) < D and row.new_deadline > node.deadline
            if row.state == "pending":
                assert row.decided_by_id is None and node.card == "yellow"
            else:
                leader = row.decided_by
                assert leader.has_role("leader") and node.unit in leader.units_in_charge
                assert row.decided_at > row.filed_at


def test_every_case_is_there(facts, local_date):
    cases = Counter()
    for node in facts.nodes:
        states = Counter(r.state for r in facts.recommitments[node.id])
        if node.status == "done" and node.card == "green":
            cases["closed green"] += 1
        if node.status == "done" and node.card == "yellow":
            cases["closed late"] += 1
        if node.status == "doing" and node.card == "yellow":
            cases["open yellow"] += 1
        if node.card == "red" and node.status != "done":
            cases["open red"] += 1
        if node.card == "red" and node.status == "done":
            cases["red, finished since"] += 1
        if states["pending"]:
            cases["pending re-commitment"] += 1
        if states["rejected"]:
            cases["rejected re-commitment"] += 1
        if node.status == "review" and node.card == "none":
            cases["waiting for sign-off"] += 1
        if D < node.deadline <= D + 3 * DAY and node.status in ("todo", "doing"):
            cases["due soon"] += 1
        if node.deadline > D + 3 * DAY and node.status in ("todo", "doing") and node.card == "none":
            cases["future"] += 1
    assert all(cases[name] > 0 for name in (
        "closed green", "closed late", "open yellow", "open red", "red, finished since",
        "pending re-commitment", "rejected re-commitment", "waiting for sign-off", "due soon", "future",
    )), cases
    past_due = [n for n in facts.nodes if n.deadline < D]
    done = [n for n in past_due if n.status == "done"]
    assert 0.93 <= len(done) / len(past_due) <= 0.99
    assert sum(n.card == "green" for n in done) / len(done) >= 0.9
    assert 0.05 <= sum(n.is_major for n in facts.nodes) / len(facts.nodes) <= 0.15


def test_the_staff_board_shows_every_colour(facts):
    staff = db.session.scalar(select(User).where(User.username == "staff"))
    leader = db.session.scalar(select(User).where(User.username == "leader"))
    assert staff.unit in leader.units_in_charge
    mine = [n for n in facts.nodes if n.unit_id == staff.unit_id]
    assert {"yellow", "red"} <= {n.card for n in mine}
    assert any(n.status == "review" for n in mine)
    assert any(D < n.deadline <= D + 3 * DAY and n.status in ("todo", "doing") for n in mine)
    assert any(r.state == "pending" for n in mine for r in facts.recommitments[n.id])
    assert any(n.responsible_user_id == staff.id for n in mine)
    contact = db.session.scalar(select(User).where(User.username == "contact"))
    assert 2 <= len(contact.contact_projects) <= 4


def test_red_cards_propose_interviews(facts):
    interviews = db.session.scalars(select(Interview)).all()
    by_key = {i.trigger_key: i for i in interviews}
    reds = [c for cards in facts.cards.values() for c in cards if c.colour == "red"]
    for card in reds:
        interview = by_key[f"red:{card.id}"]
        assert interview.unit_id == card.unit_id and interview.proposed_on == card.effective_date
        assert [c.id for c in interview.cards] == [card.id]
    assert any(i.state == "proposed" for i in interviews)


def test_the_demo_accounts_log_in(county_app):
    for account in demo.ACCOUNTS:
        auth = AuthActions(county_app.test_client())  # a browser of its own
        response = auth.login(account.username, demo.DEMO_PASSWORD)
        assert response.status_code == 302, account.username
        assert "/login" not in response.headers["Location"]
        user = db.session.scalar(select(User).where(User.username == account.username))
        assert user.has_role(account.role) and user.last_login_at is not None


def snapshot() -> list[tuple]:
    rows = db.session.execute(select(Node.title, Node.deadline, Node.status, Node.card).order_by(Node.id))
    return [tuple(row) for row in rows]


@pytest.fixture
def shared_snapshot(demo_summary) -> list[tuple]:
    return snapshot()


def test_the_same_date_gives_the_same_county(shared_snapshot, app):
    demo.build(D)  # in a database of its own
    db.session.commit()
    assert snapshot() == shared_snapshot


def test_the_command_loads_refuses_and_resets(app, runner):
    result = runner.invoke(args=["demo", "--today", "2026-06-15"])
    assert result.exit_code == 0, result.output
    assert "nodes" in result.output and "jiedian-demo" in result.output
    nodes = count(Node)
    assert nodes >= 1500

    result = runner.invoke(args=["demo", "--today", "2026-06-15"])
    assert result.exit_code != 0 and "--reset" in result.output
    db.session.rollback()
    assert count(Node) == nodes

    result = runner.invoke(args=["demo", "--today", "2026-06-15", "--reset"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    assert count(Node) == nodes
    assert db.session.scalar(select(func.count()).select_from(text("alembic_version"))) == 1
    actions = set(db.session.scalars(select(AuditEntry.action)))
    # The load itself, and what the real rules did: green cards at sign-off, the sweep, its interviews.
    loop = {"problem.raise", "problem.escalate", "problem.answer", "problem.resolve", "problem.confirm", "problem.meeting",
            "meeting.create", "meeting.minutes", "meeting.decide", "assignment.hand_out", "assignment.sign",
            "assignment.report", "node.submit", "node.verify", "document.publish_assignment", "document.publish_minutes"}
    assert {"demo.load", "sweep.run", "card.green"} <= actions <= {"demo.load", "sweep.run", "card.green", "interview.propose", *loop}

    # Erasing empties the audit log with the rest, yet the log stays append-only.
    entries = count(AuditEntry)
    with pytest.raises(DatabaseError), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry"))
    assert count(AuditEntry) == entries > 0
    demo.erase()
    db.session.commit()
    assert count(AuditEntry) == 0 and count(Unit) == 0 and not demo.has_data()
    audit.record(None, "demo.load", summary="after erase")  # the guards are back in place
    db.session.commit()
    with pytest.raises(DatabaseError), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry"))
    assert count(AuditEntry) == 1


@pytest.mark.parametrize("today", [date(2026, 6, 15), date(2026, 12, 7)])
def test_the_staff_board_has_work_in_every_column_and_december_holds_next_years_plan(app, local_date, today):
    """N #4: built on any date the staff board has cards in every column; in December next year's plan exists,
    made by the real carry-over rule (the cross-year projects, their open nodes, their first nodes of next year)."""
    summary = demo.build(today)
    db.session.commit()
    staff = db.session.scalar(select(User).where(User.username == "staff"))
    board = db.session.scalars(select(Node).where(Node.unit_id == staff.unit_id)).all()
    assert {n.status for n in board} == {"todo", "doing", "review", "done"}, Counter(n.status for n in board)
    following = db.session.scalars(select(Project).where(Project.year == today.year + 1)).all()
    assert count(Project) == summary.projects and count(Node) == summary.nodes
    if today.month != 12:
        assert following == []
        return
    assert len(following) >= 20
    for project in following:
        before = project.carried_from
        assert before is not None and before.year == today.year and before.carried_to is project
        assert project.code == before.code.replace(str(today.year), str(today.year + 1), 1)
        assert all(n.status in ("todo", "doing") for n in project.nodes)
        assert all(n.status not in ("todo", "doing") for n in before.nodes)  # open nodes moved, the rest stayed
        next_years = [n for n in project.nodes if n.deadline.year == today.year + 1]
        assert next_years and all(n.status == "todo" and n.card == "none" for n in next_years)
        assert project.investment_planned > 0 and project.investment_completed == 0
    assert any(n.deadline.year == today.year + 1 and n.status == "todo" for n in board)
    carries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "project.carry")).all()
    assert len(carries) == len(following)
    # The cards are still the rules' own after the carry-over (cards belong to nodes, not projects).
    assert_cards_follow_the_rules(Facts(), today, local_date)
