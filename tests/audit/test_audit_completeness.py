"""Every state-changing route writes the audit log.

The POST endpoints come from the app's URL map. Each one needs an entry in
``VALID_POSTS`` (a role that may use it and a valid request) or in ``EXEMPT``
(with the reason), so a new state-changing route cannot ship without either
an audit entry or a written decision that it needs none. Each request runs
in a fresh county, succeeds, and must add at least one ``AuditEntry`` whose
actor is the user who made it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from portal.core.extensions import db
from portal.models import (
    AuditEntry,
    CardEvent,
    Delivery,
    Document,
    Evidence,
    Interview,
    Node,
    Recommitment,
    User,
)
from tests import factories as f
from tests.ledger.test_ledger import book, row

PDF = b"%PDF-1.4\n% test evidence\n"

# endpoint -> why a successful POST writes no audit entry
EXEMPT: dict[str, str] = {
    "admin.orgchart_check": (
        "the organisation import's dry run: it reads and checks the uploaded workbook and shows what a "
        "commit would do, writing nothing (the commit, admin.orgchart_commit, is audited)"
    ),
    "notifications.test_channel": (
        "sends one test message over a channel set in the environment, which needs a live server; "
        "tests/notifications/test_admin_pages.py sends one and checks its delivery.test entry"
    ),
    "notifications.mark_read": (
        "marks the signed-in user's own notices read: a personal inbox marker that changes no "
        "county record and nobody else's view; the notice rows carry read_at themselves"
    ),
    # The ledger import wizard: its steps need the upload kept in the wizard's session, which a bare POST has not;
    # tests/ledger/test_wizard.py walks them and checks what they write.
    "ledger.wizard_upload": "keeps the uploaded file on the server and the choices in the wizard's session; "
                            "nothing of the county changes until the commit",
    "ledger.wizard_columns": "keeps the column mapping in the wizard's session; saving it under a name is audited "
                             "(ledger_mapping.create, checked in tests/ledger/test_wizard.py)",
    "ledger.wizard_units": "keeps the units chosen in the wizard's session; they become aliases, audited "
                           "(unit.alias), only when the import is committed",
    "ledger.wizard_people": "keeps in the wizard's session whose accounts to create; the accounts are created, "
                            "and audited (user.create), only when the import is committed",
    "ledger.wizard_commit": "audited by the import service (ledger.import per project and for the file, unit.alias, "
                            "unit.create, user.create, setting.go_live); needs an upload kept in the session, so checked in "
                            "tests/ledger/test_wizard.py",
    "ledger.wizard_cancel": "deletes the kept upload and the wizard's session state; no county record changes",
}


@pytest.fixture
def route_objects(app, clock):
    """A small county with one object in each state a POST starts from."""
    own = f.unit("本单位")
    other = f.unit("外单位")
    category = f.category("产业项目")
    theme = f.theme("产业创新")
    league = f.league("空联赛")  # no units: may be deleted
    users = {
        "admin": f.user("admin", roles=["admin"], unit=own),
        "supervisor": f.user("supervisor", roles=["supervisor"], unit=own),
        "leader": f.user("leader", roles=["leader"], unit=own),
        "unit_staff": f.user("unit_staff", roles=["unit_staff"], unit=own),
        "contact": f.user("contact", roles=["contact"], unit=own),
    }
    users["leader"].units_in_charge.append(own)
    project = f.project(lead_unit=own, category=category, code="P-1")
    spare_project = f.project(lead_unit=other, category=category, code="P-2")  # no cards: may be deleted
    last_year = f.project(lead_unit=own, category=category, code="P-2025", year=2025)  # may be carried into 2026
    todo = f.node(project, title="未启动的节点")
    review = f.node(project, title="待销号的节点", status="review",
                    submitted_at=datetime(2026, 6, 12, 2, 0, tzinfo=UTC), submitted_on=date(2026, 6, 12))
    late = f.node(project, title="已记黄牌的节点", deadline=date(2026, 6, 5), status="doing", card="yellow")
    waiting = f.node(project, title="待审定的节点", deadline=date(2026, 6, 5), status="doing", card="yellow")
    yellow = CardEvent(node=late, unit=own, colour="yellow", points=0, effective_date=date(2026, 6, 6))
    waiting_yellow = CardEvent(node=waiting, unit=own, colour="yellow", points=0, effective_date=date(2026, 6, 6))
    request = Recommitment(node=waiting, reason="征迁未完成", new_deadline=date(2026, 7, 30),
                           filed_by_id=users["unit_staff"].id, state="pending")
    base = {"unit": other, "trigger": "manual", "proposed_on": date(2026, 6, 1), "place": "", "interviewer_name": "",
            "bring": "", "minutes": ""}
    proposed = Interview(state="proposed", **base)
    due = Interview(**{**base, "state": "scheduled", "scheduled_for": datetime(2026, 6, 12, 1, 0, tzinfo=UTC),
                       "place": "县政府第一会议室", "interviewer": users["leader"], "interviewer_name": "leader"})
    held = Interview(**{**base, "state": "held", "scheduled_for": datetime(2026, 6, 10, 1, 0, tzinfo=UTC),
                        "place": "县政府第一会议室", "interviewer_name": "县长", "minutes": "已约谈",
                        "held_at": datetime(2026, 6, 10, 2, 0, tzinfo=UTC)})
    draft = Document(kind="bulletin", title="通报", year=2026, period="week", period_start=date(2026, 6, 8),
                     period_end=date(2026, 6, 14), params={}, state="draft", created_by_id=users["supervisor"].id)
    failed = Delivery(key="card:1:1:sms", user_id=users["unit_staff"].id, channel="sms", address="13905510001",
                      kind="card.yellow", subject="节点已记黄牌", state="failed", attempts=4, last_error="HTTP 503")
    db.session.add_all([yellow, waiting_yellow, request, proposed, due, held, draft, failed])
    db.session.flush()
    evidence = Evidence(node=review, original_name="验收单.pdf", storage_key="k" * 32, content_type="application/pdf",
                        size_bytes=len(PDF), sha256="0" * 64)
    own_file = Evidence(node=todo, uploaded_by_id=users["unit_staff"].id, original_name="错传的照片.png",
                        storage_key="w" * 32, content_type="image/png", size_bytes=10, sha256="1" * 64)
    db.session.add_all([evidence, own_file])
    from portal.models import Meeting, Problem, ProblemType

    problem_type = db.session.scalars(select(ProblemType)).first()
    problem = Problem(project=project, unit=own, type=problem_type, title="用地指标不足", need="调剂指标",
                      raised_by=users["unit_staff"], raised_on=date(2026, 6, 10), answer="")
    assignment = f.assignment(own)
    signed = f.assignment(own, signed=True)
    meeting = Meeting(kind="weekly", title="周例会", held_on=date(2026, 6, 15), chair_id=users["leader"].id,
                      minutes="会议听取了汇报。", state="held")
    db.session.add_all([problem, meeting])
    db.session.commit()
    return {
        "problem_type": problem_type, "problem": problem, "assignment": assignment, "signed": signed, "meeting": meeting,
        "users": users, "own": own, "other": other, "category": category, "theme": theme, "league": league,
        "project": project, "spare_project": spare_project, "last_year": last_year, "todo": todo, "review": review, "late": late,
        "yellow": yellow, "request": request, "proposed": proposed, "due": due, "held": held, "draft": draft,
        "delivery": failed, "own_file": own_file,
    }


def _args(c: dict, endpoint: str) -> dict:
    """URL arguments: each endpoint gets the object in the state it starts from."""
    node = {"boards.move": c["todo"], "boards.submit": c["todo"], "nodes.recommit": c["late"],
            "nodes.issue_card": c["todo"]}.get(endpoint, c["todo"])
    interview = {"interviews.schedule": c["proposed"], "interviews.hold": c["due"], "interviews.close": c["held"],
                 "interviews.cancel": c["proposed"], "documents.issue_notice": c["due"]}.get(endpoint, c["proposed"])
    project = {"projects.project_delete": c["spare_project"], "projects.carry": c["last_year"]}.get(endpoint, c["project"])
    return {
        "kind": "leagues", "item_id": c["league"].id, "unit_id": c["other"].id, "user_id": c["users"]["contact"].id,
        "project_id": project.id, "node_id": node.id, "card_id": c["yellow"].id, "request_id": c["request"].id,
        "interview_id": interview.id, "document_id": c["draft"].id, "day": "2026-10-01",
        "delivery_id": c["delivery"].id, "channel": "email", "evidence_id": c["own_file"].id,
        "problem_id": c["problem"].id, "meeting_id": c["meeting"].id,
        "assignment_id": (c["signed"] if endpoint == "assignments.report" else c["assignment"]).project_id,
    }


def _upload(name: str, data: bytes):
    return (io.BytesIO(data), name)


POLICY = {"effective_from": "2026-07-01", "green_points": "2", "yellow_points": "0", "red_points": "-2",
          "warn_days": "3", "recommit_grace_days": "5", "interview_yellow_threshold": "3", "recommit_max_days": "60",
          "project_yellow_lag": "10", "project_red_lag": "25", "note": "第二版"}

Builder = Callable[[dict, int], dict]


def _orgchart_confirmation() -> dict:
    """The dry-run page's confirmation of a workbook with one new unit and one new user."""
    import base64

    from portal.admin import orgchart
    from tests.admin.test_orgchart import workbook

    data = workbook([], [("新建单位", "", "", "", "")], [("张三", "", "新建单位", "经办人", "", "", "")])
    return {"content": base64.b64encode(data).decode(), "filename": "组织架构.xlsx",
            "fingerprint": orgchart.check(data).fingerprint}

# endpoint -> (role, data builder(county, n)); n numbers the endpoint's rules (new, edit) to keep names unique
VALID_POSTS: dict[str, tuple[str, Builder]] = {
    "auth.login": ("anonymous", lambda c, n: {"username": "unit_staff", "password": f.PASSWORD}),
    "auth.logout": ("unit_staff", lambda c, n: {}),
    "admin.dictionary_edit": ("admin", lambda c, n: {"name": f"园区联赛{n}", "description": "", "sort_order": "1"}),
    "admin.dictionary_delete": ("admin", lambda c, n: {}),
    "admin.unit_edit": ("admin", lambda c, n: {"name": f"三河镇{n}", "short_name": f"三河{n}", "league_id": "",
                                               "head_name": "王明", "sort_order": "0", "is_active": "y"}),
    "admin.user_edit": ("admin", lambda c, n: {"username": f"zhangsan{n}", "display_name": "张三",
                                               "unit_id": str(c["own"].id), "roles": "contact",
                                               "password": "long-enough-1", "is_active": "y"}),
    "admin.orgchart_commit": ("admin", lambda c, n: _orgchart_confirmation()),
    "auth.change_password": ("unit_staff", lambda c, n: {"current_password": f.PASSWORD,
                                                         "new_password": "a-new-password-1",
                                                         "confirm_password": "a-new-password-1"}),
    "admin.policy": ("admin", lambda c, n: dict(POLICY)),
    "admin.calendar": ("admin", lambda c, n: {"day": "2027-01-01", "is_workday": "0", "name": "元旦"}),
    "admin.calendar_delete": ("admin", lambda c, n: {}),
    "admin.document_settings": ("admin", lambda c, n: {"office": "清溪县委县政府督查室", "cc": "县委办公室，县政府办公室",
                                                       "printer": ""}),
    "projects.project_edit": ("supervisor", lambda c, n: {
        "code": f"P-NEW-{n}", "name": f"雨污分流管网改造{n}", "category_id": str(c["category"].id),
        "theme_id": str(c["theme"].id), "year": "2026", "lead_leader_id": "", "lead_unit_id": str(c["own"].id),
        "stage": "signed", "investment_total": "1000", "investment_planned": "500", "investment_completed": "100",
        "start_date": "2026-01-01", "end_date": "2026-12-31", "description": ""}),
    "projects.project_delete": ("supervisor", lambda c, n: {}),
    "projects.node_edit": ("supervisor", lambda c, n: {
        "title": f"取得施工许可证{n}", "unit_id": str(c["own"].id), "responsible_user_id": "",
        "deadline": "2026-09-30", "standard": "以施工许可证为准", "weight": "1", "version": str(c["todo"].version)}),
    "projects.node_delete": ("supervisor", lambda c, n: {}),
    "projects.carry": ("supervisor", lambda c, n: {"code": f"P-2026-{n}", "end_date": ""}),
    "projects.report_investment": ("unit_staff", lambda c, n: {"month": "2026-05-01", "completed": str(100 + n),
                                                               "note": "1-5月统计快报"}),
    "boards.move": ("unit_staff", lambda c, n: {"status": "doing", "version": str(c["todo"].version)}),
    "boards.submit": ("unit_staff", lambda c, n: {"note": "已完成摘牌", "kind": "acceptance",
                                                 "version": str(c["todo"].version),
                                                 "files": _upload("成交确认书.pdf", PDF)}),
    "nodes.add_progress": ("unit_staff", lambda c, n: {"body": "已完成勘测", "percent": "40", "version": str(c["todo"].version)}),
    "nodes.upload_evidence": ("unit_staff", lambda c, n: {"kind": "photo", "files": _upload("现场.pdf", PDF)}),
    "sweeps.start": ("supervisor", lambda c, n: {}),
    "nodes.recommit": ("unit_staff", lambda c, n: {"reason": "征迁延误", "new_deadline": "2026-07-10"}),
    "recommitments.decide": ("leader", lambda c, n: {"decision": "approve", "comment": "同意"}),
    "nodes.issue_card": ("supervisor", lambda c, n: {"colour": "yellow", "reason": "推进不力"}),
    "nodes.withdraw_card": ("supervisor", lambda c, n: {"reason": "误记"}),
    "interviews.new": ("supervisor", lambda c, n: {"unit_id": str(c["other"].id), "reason": "连续滞后"}),
    "interviews.schedule": ("supervisor", lambda c, n: {
        "when": "2026-06-20T09:00", "place": "县政府第二会议室", "interviewer_id": str(c["users"]["leader"].id),
        "interviewer_name": "", "bring": "整改方案"}),
    "interviews.hold": ("leader", lambda c, n: {"minutes": "单位主要负责人作了表态发言。"}),
    "interviews.close": ("supervisor", lambda c, n: {}),
    "interviews.cancel": ("supervisor", lambda c, n: {"reason": "已整改到位"}),
    "documents.bulletins": ("supervisor", lambda c, n: {"period": "month", "date": "2026-06-15", "body": "倒排工期。"}),
    "documents.publish": ("supervisor", lambda c, n: {}),
    "documents.bulletin_text": ("supervisor", lambda c, n: {"lead": "各地持续压实节点责任。", "body": "请对照整改。"}),
    "documents.issue_notice": ("supervisor", lambda c, n: {}),
    "notifications.preferences": ("unit_staff", lambda c, n: {"email": "staff@qingxi.gov.cn", "phone": "13905510001",
                                                              "channels": []}),
    "notifications.resend": ("admin", lambda c, n: {}),
    "nodes.remove_evidence": ("unit_staff", lambda c, n: {}),
    "nodes.retype_evidence": ("unit_staff", lambda c, n: {"kind": "acceptance"}),
    "notifications.save_kinds": ("admin", lambda c, n: {"kinds": ["card.red", "card.yellow"]}),
    "notifications.save_channel": ("admin", lambda c, n: {"host": "mail.qingxi.gov.cn", "port": "587",
                                                          "security": "starttls", "sender": "督查室 <d@qingxi.gov.cn>"}),
    "problems.new": ("unit_staff", lambda c, n: {"project_id": str(c["project"].id), "type_id": str(c["problem_type"].id),
                                                 "title": "环评未批复", "need": "请协调审批", "urgency": "urgent"}),
    "problems.act": ("leader", lambda c, n: {"step": "escalate", "text": "请包保领导协调"}),
    "assignments.new": ("supervisor", lambda c, n: {"source": "instruction", "title": "加装电梯", "text": "年内完成 20 部",
                                                    "lead_unit_id": str(c["own"].id)}),
    "assignments.sign": ("unit_staff", lambda c, n: {}),
    "assignments.report": ("unit_staff", lambda c, n: {"text": "已完成选址"}),
    "meetings.new": ("leader", lambda c, n: {"kind": "weekly", "held_on": "2026-06-22"}),
    "meetings.minutes": ("supervisor", lambda c, n: {"minutes": "会议研究了征迁问题。"}),
    "meetings.decide": ("supervisor", lambda c, n: {"title": "征迁协议签订", "text": "一周内签订", "lead_unit_id": str(c["own"].id)}),
    "meetings.issue": ("supervisor", lambda c, n: {}),
    "ledger.import_file": ("supervisor", lambda c, n: {"file": _upload("台账.xlsx", book([row(
        code="L-1", category="产业项目", theme="产业创新", lead_unit="本单位", unit="本单位", lead_leader="leader",
        responsible="unit_staff")]))}),
}


# Successful POSTs that answer with a page instead of a redirect, and why a replay does no harm.
ANSWERED_IN_PLACE = {
    "admin.orgchart_commit": "the one-time passwords exist only in this answer (never stored to be shown by a GET); "
                             "posting it again checks the file once more, finds the organisation changed, and imports nothing",
}


def _post_rules(app) -> dict[str, list]:
    rules: dict[str, list] = {}
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods:
            rules.setdefault(rule.endpoint, []).append(rule)
    for found in rules.values():
        found.sort(key=lambda r: r.rule)
    return rules


def test_every_post_route_is_audited_or_exempt(app):
    endpoints = set(_post_rules(app))
    assert not set(VALID_POSTS) & set(EXEMPT), "an endpoint cannot be both tested and exempt"
    assert endpoints - set(VALID_POSTS) - set(EXEMPT) == set(), "add the new POST routes to VALID_POSTS (or EXEMPT, with the reason)"
    assert (set(VALID_POSTS) | set(EXEMPT)) - endpoints == set(), "VALID_POSTS or EXEMPT name routes that no longer take POST"
    assert all(reason.strip() for reason in EXEMPT.values())


def _audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def _user_id(username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username))


@pytest.fixture
def queue(monkeypatch):
    """Jobs are recorded, not sent: the suite's Redis is shared, and a worker elsewhere could take them."""
    sent = []

    def enqueue(func, *args, **kwargs):
        sent.append(func)
        return None

    monkeypatch.setattr("jobs.runs.enqueue", enqueue)
    return sent


@pytest.mark.parametrize("endpoint", sorted(VALID_POSTS))
def test_a_successful_post_writes_an_audit_entry(app, client, auth, route_objects, queue, endpoint):
    role, build = VALID_POSTS[endpoint]
    rules = _post_rules(app)[endpoint]
    for n, rule in enumerate(rules):
        if role == "anonymous":
            token = auth.csrf("/login")
        else:
            if n == 0 or endpoint == "auth.logout":
                assert auth.login(role).status_code == 302
            token = auth.csrf("/")
        url = rule.build({name: _args(route_objects, endpoint)[name] for name in rule.arguments})[1]
        data = build(route_objects, n)
        before = _audit_count()
        last_id = db.session.scalar(select(func.max(AuditEntry.id))) or 0
        response = client.post(url, data={"csrf_token": token, **data}, content_type="multipart/form-data")
        body = response.get_data(as_text=True)
        # POST → redirect → GET (M #5): a refresh of the page it lands on posts nothing again.
        expected = (200,) if endpoint in ANSWERED_IN_PLACE else (302, 303)
        assert response.status_code in expected, f"{endpoint} {url}: {response.status_code}\n{body[-3000:]}"
        assert "flash-error" not in body, f"{endpoint} {url} was refused:\n{body[-3000:]}"
        assert _audit_count() > before, f"{endpoint} {url} changed state without an audit entry"
        actors = set(db.session.scalars(select(AuditEntry.actor_id).where(AuditEntry.id > last_id)))
        username = "unit_staff" if role == "anonymous" else role
        assert _user_id(username) in actors, f"{endpoint}: the audit entry does not name the user who acted"
    if endpoint in ("sweeps.start", "documents.publish"):
        assert len(queue) == 1  # the job was handed to the queue, after the audited commit


def test_the_requests_really_changed_state(app, client, auth, route_objects):
    """A spot check that the table's requests are not no-ops that happen to audit."""
    auth.login("unit_staff")
    token = auth.csrf("/")
    todo = route_objects["todo"]
    response = client.post(f"/nodes/{todo.id}/move", data={"csrf_token": token, "status": "doing",
                                                           "version": str(todo.version)})
    assert response.status_code == 303
    assert db.session.get(Node, todo.id).status == "doing"


def test_marking_notices_read_only_touches_the_users_own_notices(app, client, auth, route_objects, clock):
    """The exempt route: it changes nothing but the signed-in user's own read markers."""
    from portal.models import Notification
    from portal.notifications import services as notify

    staff, leader = route_objects["users"]["unit_staff"], route_objects["users"]["leader"]
    notify.send([staff.id, leader.id], "test", "测试通知", now=clock.now(), key="exempt-check")
    db.session.commit()
    auth.login("unit_staff")
    before = _audit_count()
    assert auth.post("/notifications/read", page="/notifications").status_code == 303
    rows = {n.user_id: n.read_at for n in db.session.scalars(select(Notification))}
    assert rows[staff.id] is not None and rows[leader.id] is None
    assert _audit_count() == before
