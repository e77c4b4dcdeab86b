"""Every route × every role: allowed, 403, or sent to log in.

The expectations are keyed by endpoint and the test fails when a route has
none, so a new route cannot ship without a decision about who may use it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from portal.core.extensions import db
from portal.models import CardEvent, Delivery, Document, Evidence, Interview, JobRun, Recommitment
from tests import factories as f

ROLES = ("anonymous", "admin", "supervisor", "leader", "unit_staff", "contact")
ALL = set(ROLES) - {"anonymous"}
ADMIN = {"admin"}
SETUP = {"admin", "supervisor"}
READ_ALL = {"admin", "supervisor", "leader"}

# endpoint -> roles allowed (None: public, no login needed)
EXPECTED: dict[str, set[str] | None] = {
    "static": None,
    "auth.login": None,
    "auth.set_language": None,
    "health.healthz": None,
    "main.favicon": None,
    "auth.logout": ALL,
    "main.home": ALL,
    "admin.index": ADMIN,
    "admin.dictionary_list": ADMIN,
    "admin.dictionary_edit": ADMIN,
    "admin.dictionary_delete": ADMIN,
    "admin.units": ADMIN,
    "admin.unit_edit": ADMIN,
    "admin.users": ADMIN,
    "admin.user_edit": ADMIN,
    "admin.orgchart_index": ADMIN,
    "admin.orgchart_template": ADMIN,
    "admin.orgchart_check": ADMIN,  # 422 without a file
    "admin.orgchart_commit": ADMIN,  # 422 without the checked file
    "auth.change_password": ALL,  # one's own password; 422 without the fields
    "audit.index": SETUP,
    "projects.index": READ_ALL,
    "projects.detail": READ_ALL,  # the project belongs to another unit than staff/contact
    "projects.report_investment": SETUP,
    "projects.carry": SETUP,  # 422 without the fields; the project's own staff and contacts too
    "projects.project_edit": SETUP,
    "projects.project_delete": SETUP,
    "projects.node_edit": SETUP,
    "projects.node_delete": SETUP,
    # the board is of the users' own unit; the node belongs to another unit
    "boards.board": ALL,
    "boards.my_board": ALL,
    "nodes.detail": READ_ALL,
    "boards.move": SETUP,
    "boards.submit": SETUP,
    "nodes.add_progress": SETUP,
    "nodes.upload_evidence": SETUP,
    "nodes.download_evidence": READ_ALL,
    "nodes.remove_evidence": set(),  # only the uploader, while the node is open: the fixture's file has none
    "nodes.retype_evidence": set(),  # the same
    "boards.signoff": {"supervisor"},
    "sweeps.index": {"supervisor"},
    "sweeps.start": {"supervisor"},
    "sweeps.status": {"supervisor"},
    "nodes.recommit": SETUP,
    "recommitments.index": {"leader"},
    "recommitments.decide": {"leader"},  # the leader is in charge of the node's unit
    "nodes.issue_card": {"supervisor"},
    "nodes.withdraw_card": {"supervisor"},
    "notifications.index": ALL,
    "notifications.mark_read": ALL,
    "notifications.preferences": ALL,
    "notifications.deliveries": ADMIN,
    "notifications.resend": ADMIN,
    "notifications.channels": ADMIN,
    "notifications.save_kinds": ADMIN,
    "notifications.save_channel": ADMIN,
    "notifications.test_channel": ADMIN,  # the channel is not set up in the tests: 303 back with the reason
    "admin.policy": ADMIN,
    "admin.calendar": ADMIN,
    "admin.calendar_delete": ADMIN,
    "admin.document_settings": ADMIN,
    "admin.seal_image": ADMIN,  # no seal uploaded: back to the settings
    # the interview is of another unit than the users'; the leader is its interviewer
    "interviews.index": READ_ALL | {"unit_staff"},  # unit staff see their own unit's only
    "interviews.detail": READ_ALL,
    "interviews.new": {"supervisor"},
    "interviews.schedule": {"supervisor"},
    "interviews.hold": {"supervisor", "leader"},
    "interviews.close": {"supervisor"},
    "interviews.cancel": {"supervisor"},
    # everyone reads rankings and published documents (publicity is part of the method)
    "rankings.index": ALL,
    "documents.ranking_pdf": ALL,
    "rankings.unit": ALL,
    "documents.index": ALL,
    "documents.download": ALL,
    "documents.interview_notice": READ_ALL,  # and the staff of the interviewed unit
    "documents.issue_notice": {"supervisor"},  # the notice is current: issuing again returns it
    "documents.unit_ledger": ALL,  # the users' own unit
    "documents.project_ledger": READ_ALL,  # another unit's project
    "documents.bulletins": {"GET": ALL, "POST": {"supervisor"}},
    "documents.bulletin": ALL,  # published
    "documents.bulletin_status": ALL,
    "documents.bulletin_preview": ALL,
    "documents.publish": {"supervisor"},
    "documents.bulletin_text": {"supervisor"},
    "ledger.index": SETUP,
    "ledger.template": SETUP,
    "ledger.import_file": SETUP,  # 422 without a file
    # the import wizard: without an import in the session its pages lead to the upload page (303), its POSTs are 422
    "ledger.wizard": SETUP,
    "ledger.wizard_upload": SETUP,  # 422 without a file
    "ledger.wizard_layout": SETUP,
    "ledger.wizard_columns": SETUP,
    "ledger.wizard_units": SETUP,
    "ledger.wizard_people": SETUP,
    "ledger.wizard_check": SETUP,
    "ledger.wizard_commit": SETUP,
    "ledger.wizard_done": SETUP,
    "ledger.wizard_cancel": SETUP,
    "ledger.export": READ_ALL,  # the whole county; unit staff export their own unit only
    # the command view: everyone reads the dashboard and the timeline; cadre files are for leaders and supervisors
    "dashboard.index": ALL,
    "dashboard.timeline": ALL,
    "dashboard.cadres": {"supervisor", "leader"},
    "dashboard.cadre": {"supervisor", "leader"},
    # the meeting loop: the problem and the assignment are of another unit; the leader chairs the meeting
    "problems.index": ALL,
    "problems.new": {"unit_staff", "contact", "supervisor"},  # 422 without the fields
    "problems.detail": READ_ALL,
    "problems.act": READ_ALL,  # 422 without a step; each step then asks who holds the problem
    "assignments.index": READ_ALL | {"unit_staff"},  # unit staff see their own unit's
    "assignments.new": {"supervisor"},
    "assignments.detail": READ_ALL,
    "assignments.notice": READ_ALL,
    "assignments.sign": {"supervisor"},  # the lead unit's staff, or the office for them
    "assignments.report": {"supervisor"},
    "meetings.index": READ_ALL,
    "meetings.new": {"supervisor", "leader"},
    "meetings.detail": READ_ALL,
    "meetings.minutes_pdf": READ_ALL,
    "meetings.minutes": {"supervisor", "leader"},  # the leader chairs it
    "meetings.decide": {"supervisor", "leader"},
    "meetings.issue": {"supervisor", "leader"},
}


@pytest.fixture
def permission_objects(app, clock):
    own = f.unit("本单位")
    other = f.unit("外单位")
    league = f.league()
    category = f.category()
    f.theme()
    users = {role: f.user(role, roles=[role], unit=own) for role in ALL}
    project = f.project(lead_unit=other, category=category)
    node = f.node(project)
    from portal.nodes import evidence as files

    stored = files.store("验收单.pdf", b"%PDF-1.4 test")
    evidence = Evidence(node=node, original_name=stored.original_name, storage_key=stored.storage_key,
                        content_type=stored.content_type, size_bytes=stored.size_bytes, sha256=stored.sha256)
    db.session.add(evidence)
    users["leader"].units_in_charge.append(other)
    card = CardEvent(node=node, unit=other, colour="yellow", points=0, effective_date=date(2026, 6, 1))
    request = Recommitment(node=node, reason="征迁未完成", new_deadline=date(2026, 7, 30))
    run = JobRun(kind="sweep", params={"as_of": "2026-06-15"}, state="finished")
    interview = Interview(unit=other, trigger="red", state="scheduled", proposed_on=date(2026, 6, 2),
                          scheduled_for=datetime(2026, 6, 18, 7, 0, tzinfo=UTC), place="县政府第一会议室",
                          interviewer=users["leader"], interviewer_name="leader", bring="", minutes="", cards=[card])
    failed = Delivery(key="card:1:1:sms", user_id=users["unit_staff"].id, channel="sms", address="13905510001",
                      kind="card.yellow", subject="节点已记黄牌", state="failed", attempts=4, last_error="HTTP 503")
    db.session.add_all([card, request, run, interview, failed])
    db.session.flush()
    # A published bulletin and an issued notice, archived as real files.
    from portal.documents.services import notice_fingerprint as _fingerprint
    from portal.documents.services import publish

    bulletin = Document(kind="bulletin", title="通报", year=2026, period="week", period_start=date(2026, 6, 8),
                        period_end=date(2026, 6, 14), params={}, state="draft")
    notice = Document(kind="notice", title="约谈通知", year=2026, params={"fingerprint": _fingerprint(interview)}, state="draft")
    db.session.add_all([bulletin, notice])
    db.session.flush()
    for document in (bulletin, notice):
        publish(None, document, lambda d: b"%PDF-1.4 " + d.kind.encode(), clock=clock)
    interview.notice_document_id = notice.id
    from portal.models import Meeting, Problem, ProblemType

    raiser = f.user("raiser", roles=["unit_staff"], unit=other)
    problem = Problem(project=project, unit=other, type=db.session.scalars(select(ProblemType)).first(), title="用地指标",
                      need="调剂指标", raised_by=raiser, raised_on=date(2026, 6, 10), answer="")
    assignment = f.assignment(other)
    meeting = Meeting(kind="weekly", title="周例会", held_on=date(2026, 6, 15), chair_id=users["leader"].id,
                      minutes="会议纪要", state="held")
    db.session.add_all([problem, meeting])
    db.session.flush()
    for kind, params, owner in (("assignment", {"assignment_id": assignment.project_id}, assignment),
                                ("minutes", {"meeting_id": meeting.id}, meeting)):
        document = Document(kind=kind, title=kind, year=2026, params=params, state="draft")
        db.session.add(document)
        db.session.flush()
        publish(None, document, lambda d: b"%PDF-1.4 " + d.kind.encode(), clock=clock)
        if kind == "assignment":
            owner.notice_document_id = document.id
        else:
            owner.minutes_document_id = document.id
    db.session.commit()
    return {
        "users": users,
        "args": {
            "kind": "leagues",
            "item_id": league.id,
            "unit_id": own.id,
            "user_id": users["contact"].id,
            "project_id": project.id,
            "node_id": node.id,
            "evidence_id": evidence.id,
            "card_id": card.id,
            "request_id": request.id,
            "run_id": run.id,
            "interview_id": interview.id,
            "document_id": bulletin.id,
            "day": "2026-10-01",
            "delivery_id": failed.id,
            "channel": "email",
            "code": "zh_CN",
            "filename": "app.css",
            "problem_id": problem.id,
            "assignment_id": assignment.project_id,
            "meeting_id": meeting.id,
        },
    }


def _calls(app):
    """(rule, method) pairs: reads first, then writes, deletions last (node before project)."""
    calls = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if rule.endpoint != "auth.logout"  # would end the session under test; see test_auth
    ]
    return sorted(
        calls,
        key=lambda c: (c[1] != "GET", "delete" in c[0].endpoint, c[0].endpoint == "projects.project_delete", c[0].rule),
    )


def test_every_route_has_an_expectation(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(EXPECTED) == set(), "add the new routes to EXPECTED"
    assert set(EXPECTED) - endpoints == set(), "EXPECTED names routes that no longer exist"


def _url(rule, args) -> str:
    values = {name: args[name] for name in rule.arguments}
    return rule.build(values)[1]


@pytest.mark.parametrize("role", ROLES)
def test_route_matrix(app, client, auth, permission_objects, role):
    checked = 0
    if role != "anonymous":
        assert auth.login(role).status_code == 302
    token = auth.csrf("/login") if role == "anonymous" else auth.csrf("/")
    for rule, method in _calls(app):
        allowed = EXPECTED[rule.endpoint]
        if isinstance(allowed, dict):  # different rules per method
            allowed = allowed[method]
        url = _url(rule, permission_objects["args"])
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token})
        response.close()  # static files stream from an open file
        checked += 1
        where = f"{role} {method} {url}"
        if allowed is None:
            assert response.status_code < 400 or response.status_code in (401, 422), where
        elif role == "anonymous":
            assert response.status_code == 302, where
            assert "/login" in response.headers["Location"], where
        elif role in allowed:
            assert response.status_code in (200, 302, 303, 409, 422), where
        else:
            assert response.status_code == 403, where
            body = response.get_data(as_text=True)
            assert "没有权限" in body or "只能" in body or "只有" in body, where
    assert checked > 25


def test_staff_of_the_projects_unit_may_read_it(app, client, auth):
    unit = f.unit()
    f.user("s1", roles=["unit_staff"], unit=unit)
    project = f.project(lead_unit=unit)
    db.session.commit()
    auth.login("s1")
    assert client.get(f"/projects/{project.id}").status_code == 200


def test_contact_reads_only_assigned_projects(app, client, auth):
    unit = f.unit()
    contact = f.user("c1", roles=["contact"], unit=unit)
    mine = f.project()
    theirs = f.project()
    mine.contacts.append(contact)
    db.session.commit()
    auth.login("c1")
    assert client.get(f"/projects/{mine.id}").status_code == 200
    assert client.get(f"/projects/{theirs.id}").status_code == 403


# -- hostile values on every route ------------------------------------------------------

# Out-of-range and odd values for every kind of argument a route or a query takes:
# ids too large for any column, negative and zero, the calendar's ends, years past
# four digits, and digits that str.isdigit() accepts but int() refuses (²) or reads (٣).
HOSTILE = ("9" * 30, "-1", "0", "²", "٣", "9999-12-31", "0001-01-01", "0001-01-01T00:00", "9999-12-31T23:59",
           "99999", "2026-02-30", "")
QUERY_NAMES = ("page", "year", "date", "from", "to", "period", "category_id", "category", "object_id", "unit_id",
               "unit", "project_id", "person_id", "status", "state", "kind", "card", "q", "actor", "action",
               "object_type", "role", "version", "next")
FORM_NAMES = ("version", "status", "percent", "progress", "note", "reason", "new_deadline", "deadline", "name",
              "unit_id", "project_id", "lead_unit_id", "category_id", "scheduled_for", "place", "interviewer_id",
              "year", "period", "period_start", "date", "effective_from", "day", "sort_order", "league_id",
              "investment_planned", "investment_completed", "start_date", "end_date", "decision", "new_status")
PATH_HOSTILE = {"int": ("9" * 30, str(2**31), str(2**63), "0"), "day": ("9999-12-31", "0001-01-01", "2026-02-30")}


def _hostile_urls(rule, args):
    """The route with each of its arguments in turn replaced by hostile values (others kept valid)."""
    normal = {name: args[name] for name in rule.arguments}
    yield rule.build(normal)[1]
    for name in rule.arguments:
        converter = type(rule._converters[name]).__name__
        values = PATH_HOSTILE["int"] if converter == "IntegerConverter" else PATH_HOSTILE.get(name, ())
        for value in values:
            url = rule.build({**normal, name: "__HOSTILE__"})[1] if converter != "IntegerConverter" else \
                rule.build({**normal, name: 7654321})[1].replace("7654321", "__HOSTILE__")
            yield url.replace("__HOSTILE__", value)


@pytest.mark.parametrize("role", ["anonymous", "admin", "supervisor", "leader", "unit_staff", "contact"])
def test_hostile_values_on_every_route_never_answer_500(app, client, auth, permission_objects, role):
    """M #3: ids, integers, years and dates out of range in paths, queries and forms get 4xx (or are ignored), never a 500.

    Every route with each path argument made hostile in turn; every query and
    form field at once with each hostile value; and, for the roles that reach
    most pages, each query argument alone (a view that refuses the first bad
    argument would hide what it does with the next).
    """
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash is a 500 answer here, so every one is listed
    if role != "anonymous":
        assert auth.login(role).status_code == 302
    token = auth.csrf("/login") if role == "anonymous" else auth.csrf("/")
    failures, checked = [], 0

    def call(method, url, **kwargs):
        nonlocal checked
        response = client.get(url, **kwargs) if method == "GET" else client.post(url, **kwargs)
        response.close()
        checked += 1
        if response.status_code >= 500:
            failures.append(f"{method} {url} {kwargs.get('query_string') or kwargs.get('data')}: {response.status_code}")

    for rule, method in _calls(app):
        if rule.endpoint in ("static", "auth.set_language"):
            continue
        urls = list(_hostile_urls(rule, permission_objects["args"]))
        for url in urls[1:]:
            call(method, url, **({} if method == "GET" else {"data": {"csrf_token": token}}))
        for value in HOSTILE:
            if method == "GET":
                call(method, urls[0], query_string=dict.fromkeys(QUERY_NAMES, value))
            else:
                call(method, urls[0], data={"csrf_token": token, **dict.fromkeys(FORM_NAMES, value)})
        if method == "GET" and role in ("admin", "supervisor"):
            for name in QUERY_NAMES:
                for value in ("9" * 30, "²", "9999-12-31"):
                    call(method, urls[0], query_string={name: value})
    assert checked > 500
    assert failures == [], "\n".join(failures[:80]) + f"\n({len(failures)} in all)"
