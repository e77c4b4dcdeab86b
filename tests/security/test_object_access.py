"""Object-level access: every route that names an object, for every role, on an
object of the user's own unit and on one of another unit.

``tests/security/test_permissions.py`` decides who may use a route at all; this module
decides whose objects they may reach through it. The county has two units,
甲镇 (own: every test user belongs to it, the leader is in charge of it, the
contact is assigned to its project) and 乙镇 (other: its own staff, leader in
charge and contact). Each unit has the same private material: a project, a
node with a progress entry, an evidence file, a yellow card, a pending
re-commitment, and a scheduled interview with an issued notice. Every route
whose URL carries an object id (a parameter ending in ``_id``) must have a
rule in ``OBJECT_RULES`` saying which roles reach the own object and which the
other one, so a new route with an id cannot ship without that decision.

What is public within the county and what is private (SPEC §1: "everyone may
read the rankings (publicity is part of the method)"; unit staff and contacts
"change only what belongs to their unit or their projects"; "never show a
unit another unit's private material"):

* Public to every signed-in user: league rankings and a unit's monthly scores
  (``/rankings/units/<id>``), the ranking PDF, the dashboard and the year
  timeline (node titles, units, deadlines and card colours are shown at
  county meetings), published bulletins, and the document list minus notices.
* Shared by the units of one project: the project page and its ledgers (PDF
  and Excel) list every node of the project with its unit, deadline,
  standard and card — the planning that the lead unit and co-units work to.
  A project contact reads and updates the nodes of the projects they are
  assigned to, whatever unit is responsible for them, but cannot move or
  submit them and does not see that unit's board.
* Private to the unit (plus supervisors, leaders and admins, who read every
  unit): the board, the node page with its progress log, evidence files,
  submission note, card reasons, re-commitment reasons and decisions and
  history, the unit ledger, interviews with their place, what to bring and
  minutes, and the notices addressed to the unit (its unit staff read them;
  a contact does not). Cadre files are for leaders and supervisors only.
* Acting on another unit's object: re-commitments are decided only by a
  leader in charge of the node's unit; minutes are recorded by a supervisor or
  the leader who is the interview's interviewer; cards, interviews and
  bulletins are changed by supervisors, projects and nodes set up by
  supervisors and admins, the organisation by admins.
* Not owned by a unit (same rule for own and other): draft bulletins and
  sweep runs (supervisors), leagues and users in the administration (admins).

For every response to unit staff, contacts and anonymous visitors (allowed or
refused, page or fragment) the test checks that none of the other unit's
private texts appears in it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from portal.core.extensions import db
from portal.documents.services import notice_fingerprint as _fingerprint
from portal.documents.services import publish
from portal.models import (
    CardEvent,
    Delivery,
    Document,
    Evidence,
    Interview,
    JobRun,
    Node,
    ProgressEntry,
    Recommitment,
)
from portal.nodes import evidence as files
from tests import factories as f

ROLES = ("anonymous", "admin", "supervisor", "leader", "unit_staff", "contact")
SIGNED_IN = frozenset(ROLES) - {"anonymous"}
NOBODY: frozenset[str] = frozenset()
ADMIN = frozenset({"admin"})
SUPERVISOR = frozenset({"supervisor"})
SETUP = frozenset({"admin", "supervisor"})
READ_ALL = frozenset({"admin", "supervisor", "leader"})
CADRE_READERS = frozenset({"supervisor", "leader"})
OWN_READERS = SIGNED_IN  # read-all roles, plus the unit's staff and the project's contact
OWN_EDITORS = SETUP | {"unit_staff", "contact"}  # progress and evidence
OWN_MOVERS = SETUP | {"unit_staff"}  # board moves, sign-off requests, re-commitments
INTERVIEW_READERS = READ_ALL | {"unit_staff"}  # the unit's staff, not its contacts
# Roles whose every response must be free of the other unit's private texts.
WATCHED = ("anonymous", "unit_staff", "contact")


@dataclass(frozen=True)
class Rule:
    """Who reaches the own unit's object, and who the other unit's.

    ``shared`` names objects that belong to no unit: both requests use the
    same county-wide object (``county[name]``) for those URL arguments.
    """

    own: frozenset[str]
    other: frozenset[str]
    shared: dict[str, str] = field(default_factory=dict)


def same(roles: frozenset[str], **shared: str) -> Rule:
    return Rule(roles, roles, shared)


DRAFT = {"document_id": "draft_bulletin_id"}

OBJECT_RULES: dict[str, Rule] = {
    # the organisation: admins, whichever unit the league or user belongs to
    "admin.dictionary_edit": same(ADMIN),
    "admin.dictionary_delete": same(ADMIN),
    "admin.unit_edit": same(ADMIN),
    "admin.user_edit": same(ADMIN),
    # a unit's board and ledger
    "boards.board": Rule(OWN_READERS, READ_ALL),
    "documents.unit_ledger": Rule(OWN_READERS, READ_ALL),
    "rankings.unit": same(SIGNED_IN),  # scores are public
    # projects
    "projects.detail": Rule(OWN_READERS, READ_ALL),
    "projects.report_investment": Rule(OWN_EDITORS, SETUP),
    "projects.carry": same(SETUP),  # the project's contacts and lead unit's staff
    "documents.project_ledger": Rule(OWN_READERS, READ_ALL),
    "projects.project_edit": same(SETUP),
    "projects.project_delete": same(SETUP),
    "projects.node_edit": same(SETUP),
    "projects.node_delete": same(SETUP),
    # nodes and their material
    "nodes.detail": Rule(OWN_READERS, READ_ALL),
    "nodes.download_evidence": Rule(OWN_READERS, READ_ALL),
    "nodes.add_progress": Rule(OWN_EDITORS, SETUP),
    "nodes.upload_evidence": Rule(OWN_EDITORS, SETUP),
    "boards.move": Rule(OWN_MOVERS, SETUP),
    "boards.submit": Rule(OWN_MOVERS, SETUP),
    "nodes.recommit": Rule(OWN_MOVERS, SETUP),
    "recommitments.decide": Rule(frozenset({"leader"}), NOBODY),  # the leader is in charge of the own unit only
    "nodes.issue_card": same(SUPERVISOR),
    "nodes.withdraw_card": same(SUPERVISOR),
    # interviews and the notices addressed to a unit
    "interviews.detail": Rule(INTERVIEW_READERS, READ_ALL),
    "documents.interview_notice": Rule(INTERVIEW_READERS, READ_ALL),
    "documents.issue_notice": same(SUPERVISOR),
    "documents.download": Rule(INTERVIEW_READERS, READ_ALL),  # the notice's archived PDF
    "interviews.hold": Rule(SUPERVISOR | {"leader"}, SUPERVISOR),  # the leader interviews the own unit only
    "interviews.schedule": same(SUPERVISOR),
    "interviews.close": same(SUPERVISOR),
    "interviews.cancel": same(SUPERVISOR),
    # cadre files: leaders and supervisors, for anyone's
    "dashboard.cadre": same(CADRE_READERS),
    # belonging to no unit
    "documents.bulletin": same(SUPERVISOR, **DRAFT),
    "documents.bulletin_status": same(SUPERVISOR, **DRAFT),
    "documents.bulletin_preview": same(SUPERVISOR, **DRAFT),
    "documents.publish": same(SUPERVISOR, **DRAFT),
    "documents.bulletin_text": same(SUPERVISOR, **DRAFT),
    "sweeps.status": same(SUPERVISOR, run_id="run_id"),
    # the delivery log is the administrators' (a delivery belongs to no unit's pages)
    "notifications.resend": same(ADMIN, delivery_id="delivery_id"),
    # a file's uploader only (the fixtures' files have none): nobody else, whatever their role
    "nodes.remove_evidence": same(NOBODY),
    "nodes.retype_evidence": same(NOBODY),  # only the uploader; the fixture's file has none
    # the meeting loop: a problem and an assignment per unit; meetings belong to no unit (the leader chairs it)
    "problems.detail": Rule(OWN_READERS, READ_ALL),
    "problems.act": Rule(OWN_READERS, READ_ALL),  # 422 without a step
    "assignments.detail": Rule(OWN_READERS, READ_ALL),  # a matter is read like its project
    "assignments.notice": Rule(OWN_READERS, READ_ALL),
    "assignments.sign": Rule(SUPERVISOR | {"unit_staff"}, SUPERVISOR),
    "assignments.report": Rule(SUPERVISOR | {"unit_staff"}, SUPERVISOR),  # 422 without the report
    "meetings.detail": same(READ_ALL, meeting_id="meeting_id"),
    "meetings.minutes_pdf": same(READ_ALL, meeting_id="meeting_id"),
    "meetings.minutes": same(SUPERVISOR | {"leader"}, meeting_id="meeting_id"),
    "meetings.decide": same(SUPERVISOR | {"leader"}, meeting_id="meeting_id"),
    "meetings.issue": same(SUPERVISOR | {"leader"}, meeting_id="meeting_id"),
}


def secrets_of(word: str) -> dict[str, str]:
    """The private texts of unit ``word`` (甲 or 乙), as they appear on its pages."""
    return {
        "progress": f"{word}镇进展：征地补偿协议已签",
        "evidence": f"{word}镇内部验收单.pdf",
        "card_reason": f"{word}镇未按时完成土地报批",
        "recommit_reason": f"{word}镇超期原因：规划调整",
        "place": f"{word}镇约谈地点：县政府三楼",
        "bring": f"{word}镇须携带整改方案",
        "notice": f"关于对{word}镇进行约谈的内部通知",
    }


OWN_SECRETS = secrets_of("甲")
OTHER_SECRETS = secrets_of("乙")


def _material(clock, unit, category, *, staff, contact, interviewer) -> dict:
    """One unit's project, node and private material; returns the URL arguments naming them."""
    secret = secrets_of(unit.name[0])
    project = f.project(lead_unit=unit, category=category)
    project.contacts.append(contact)
    node = f.node(project, status="doing", responsible_user=staff)
    db.session.add(ProgressEntry(node=node, author_id=staff.id, body=secret["progress"], percent=40))
    stored = files.store(secret["evidence"], b"%PDF-1.4 evidence")
    evidence = Evidence(node=node, original_name=stored.original_name, storage_key=stored.storage_key,
                        content_type=stored.content_type, size_bytes=stored.size_bytes, sha256=stored.sha256)
    card = CardEvent(node=node, unit=unit, colour="yellow", points=0, effective_date=date(2026, 6, 1),
                     reason=secret["card_reason"])
    node.card = "yellow"
    request = Recommitment(node=node, reason=secret["recommit_reason"], new_deadline=date(2026, 7, 30),
                           filed_by_id=staff.id, state="pending")
    interview = Interview(unit=unit, trigger="red", state="scheduled", proposed_on=date(2026, 6, 2),
                          scheduled_for=datetime(2026, 6, 18, 7, 0, tzinfo=UTC), place=secret["place"],
                          interviewer=interviewer, interviewer_name=interviewer.display_name,
                          bring=secret["bring"], minutes="", cards=[card])
    db.session.add_all([evidence, card, request, interview])
    db.session.flush()
    notice = Document(kind="notice", title=secret["notice"], year=2026, period="adhoc",
                      params={"fingerprint": _fingerprint(interview), "interview_id": interview.id}, state="draft")
    db.session.add(notice)
    db.session.flush()
    publish(None, notice, lambda d: b"%PDF-1.4 notice", clock=clock)
    interview.notice_document_id = notice.id
    from portal.models import Problem, ProblemType

    problem = Problem(project=project, node=node, unit=unit, type=db.session.scalars(select(ProblemType)).first(),
                      title=f"{unit.name}用地问题", need="调剂用地指标", raised_by=staff, raised_on=date(2026, 6, 10), answer="")
    db.session.add(problem)
    assignment = f.assignment(unit, title=f"{unit.name}交办事项")
    document = Document(kind="assignment", title=f"{unit.name}督办通知单", year=2026, period="adhoc",
                        params={"assignment_id": assignment.project_id}, state="draft")
    db.session.add(document)
    db.session.flush()
    publish(None, document, lambda d: b"%PDF-1.4 assignment", clock=clock)
    assignment.notice_document_id = document.id
    return {
        "problem_id": problem.id, "assignment_id": assignment.project_id,
        "unit_id": unit.id, "item_id": unit.league_id, "user_id": staff.id, "project_id": project.id,
        "node_id": node.id, "evidence_id": evidence.id, "card_id": card.id, "request_id": request.id,
        "interview_id": interview.id, "document_id": notice.id,
    }


@pytest.fixture
def own_and_other_unit(app, clock, redis):
    category = f.category()
    f.theme()
    own = f.unit("甲镇", league=f.league("乡镇联赛甲"))
    other = f.unit("乙镇", league=f.league("乡镇联赛乙"))
    users = {role: f.user(role, roles=[role], unit=own) for role in SIGNED_IN}
    users["leader"].units_in_charge.append(own)
    other_staff = f.user("other_staff", roles=["unit_staff"], unit=other)
    other_leader = f.user("other_leader", roles=["leader"], unit=other)
    other_leader.units_in_charge.append(other)
    other_contact = f.user("other_contact", roles=["contact"], unit=other)
    args = {
        "own": _material(clock, own, category, staff=users["unit_staff"], contact=users["contact"],
                         interviewer=users["leader"]),
        "other": _material(clock, other, category, staff=other_staff, contact=other_contact,
                           interviewer=other_leader),
    }
    draft = Document(kind="bulletin", title="第24周通报（草稿）", year=2026, period="week",
                     period_start=date(2026, 6, 8), period_end=date(2026, 6, 14), params={}, state="draft")
    run = JobRun(kind="sweep", params={"as_of": "2026-06-15"}, state="finished")
    failed = Delivery(key="card:9:9:email", user_id=other_staff.id, channel="email", address="yi@qingxi.gov.cn",
                      kind="card.yellow", subject="乙镇节点已记黄牌", state="failed", attempts=4, last_error="550")
    from portal.models import Meeting

    meeting = Meeting(kind="weekly", title="周例会", held_on=date(2026, 6, 15), chair_id=users["leader"].id,
                      minutes="会议纪要", state="held")
    db.session.add_all([draft, run, failed, meeting])
    db.session.flush()
    minutes = Document(kind="minutes", title="周例会纪要", year=2026, period="adhoc", params={"meeting_id": meeting.id},
                       state="draft")
    db.session.add(minutes)
    db.session.flush()
    publish(None, minutes, lambda d: b"%PDF-1.4 minutes", clock=clock)
    meeting.minutes_document_id = minutes.id
    db.session.commit()
    shared = {"draft_bulletin_id": draft.id, "run_id": run.id, "kind": "leagues", "delivery_id": failed.id,
              "meeting_id": meeting.id}
    return {"users": users, "args": args, "shared": shared, "units": {"own": own, "other": other}}


def _id_arguments(rule) -> set[str]:
    return {name for name in rule.arguments if name.endswith("_id")}


def _object_calls(app):
    """(rule, method) for every route with an object id: reads, writes, then deletions (projects last)."""
    calls = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        if _id_arguments(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]
    return sorted(calls, key=lambda c: (c[1] != "GET", "delete" in c[0].endpoint,
                                        c[0].endpoint == "projects.project_delete", c[0].rule))


def test_every_route_with_an_object_id_has_an_own_and_other_rule(app):
    with_ids = {rule.endpoint for rule in app.url_map.iter_rules() if _id_arguments(rule)}
    assert with_ids - set(OBJECT_RULES) == set(), "add an own/other rule to OBJECT_RULES"
    assert set(OBJECT_RULES) - with_ids == set(), "OBJECT_RULES names routes without an object id"


def _is_text(response) -> bool:
    return response.mimetype in ("text/html", "text/plain", "application/json")


def assert_no_other_secrets(response, where: str) -> None:
    """The other unit's private texts appear nowhere in a page, fragment or refusal."""
    if not _is_text(response):
        return
    body = response.get_data(as_text=True)
    leaked = [name for name, text in OTHER_SECRETS.items() if text in body]
    assert not leaked, f"{where} shows the other unit's {leaked}"


def _login(auth, role: str) -> str:
    if role == "anonymous":
        return auth.csrf("/login")
    assert auth.login(role).status_code == 302
    return auth.csrf("/notifications")


@pytest.mark.parametrize("role", ROLES)
def test_object_matrix(app, client, auth, own_and_other_unit, role):
    """Every route with an object id × {own, other}: the expected status, and no leak."""
    token = _login(auth, role)
    checked = 0
    readable: list[str] = []
    for rule, method in _object_calls(app):
        expected = OBJECT_RULES[rule.endpoint]
        for side in ("own", "other"):
            values = {**own_and_other_unit["args"][side], "kind": "leagues"}
            values.update({name: own_and_other_unit["shared"][key] for name, key in expected.shared.items()})
            url = rule.build({name: values[name] for name in rule.arguments})[1]
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data={"csrf_token": token})
            response.close()
            checked += 1
            allowed = expected.own if side == "own" else expected.other
            where = f"{role} {method} {url} ({side} unit)"
            if role in WATCHED:
                assert_no_other_secrets(response, where)
            if role == "anonymous":
                assert response.status_code == 302 and "/login" in response.headers["Location"], where
            elif role in allowed:
                assert response.status_code in (200, 302, 303, 409, 422), f"{where}: {response.status_code}"
                if response.status_code == 200 and _is_text(response) and side == "other":
                    readable.append(response.get_data(as_text=True))
            else:
                assert response.status_code == 403, f"{where}: {response.status_code}"
                body = response.get_data(as_text=True)
                assert "没有权限" in body or "只能" in body or "只有" in body, where
    assert checked == 2 * len(_object_calls(app)) and checked > 80
    if role == "supervisor":
        # The texts the leak check looks for are really on the pages that may show them
        # (notices are listed by title on the document list).
        pages = "\n".join([*readable, client.get("/documents").get_data(as_text=True)])
        assert [name for name, text in OTHER_SECRETS.items() if text not in pages] == []


def test_the_own_unit_reads_its_own_private_material(app, client, auth, own_and_other_unit):
    own = own_and_other_unit["args"]["own"]
    auth.login("unit_staff")
    page = client.get(f"/nodes/{own['node_id']}").get_data(as_text=True)
    for name in ("progress", "evidence", "card_reason", "recommit_reason"):
        assert OWN_SECRETS[name] in page, name
    interview = client.get(f"/interviews/{own['interview_id']}").get_data(as_text=True)
    assert OWN_SECRETS["place"] in interview and OWN_SECRETS["bring"] in interview
    assert OWN_SECRETS["notice"] in client.get("/documents").get_data(as_text=True)
    download = client.get(f"/evidence/{own['evidence_id']}")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 evidence"
    download.close()


# -- ids changed in URLs, forms and hidden fields ---------------------------------


def _node(node_id: int) -> Node:
    return db.session.get(Node, node_id)


def test_a_foreign_node_id_in_the_form_does_not_redirect_a_move(client, auth, own_and_other_unit):
    own, other = own_and_other_unit["args"]["own"], own_and_other_unit["args"]["other"]
    auth.login("unit_staff")
    version = _node(other["node_id"]).version
    response = auth.post(f"/nodes/{own['node_id']}/move", page="/notifications", data={
        "status": "todo", "version": str(_node(own["node_id"]).version),
        "node_id": str(other["node_id"]), "id": str(other["node_id"]), "unit_id": str(other["unit_id"]),
    }, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert_no_other_secrets(response, "own move")
    assert _node(own["node_id"]).status == "todo"
    assert (_node(other["node_id"]).status, _node(other["node_id"]).version) == ("doing", version)


@pytest.mark.parametrize("htmx", [False, True])
def test_moving_another_units_node_is_refused_and_changes_nothing(client, auth, own_and_other_unit, htmx):
    other = own_and_other_unit["args"]["other"]
    auth.login("unit_staff")
    node = _node(other["node_id"])
    headers = {"HX-Request": "true"} if htmx else {}
    for path, data in [
        (f"/nodes/{node.id}/move", {"status": "todo", "version": str(node.version)}),
        (f"/nodes/{node.id}/submit", {"note": "已完成", "version": str(node.version)}),
        (f"/nodes/{node.id}/progress", {"body": "代填进展", "percent": "90", "version": str(node.version)}),
        (f"/nodes/{node.id}/recommit", {"reason": "代为说明", "new_deadline": "2026-07-10"}),
    ]:
        response = auth.post(path, data, page="/notifications", headers=headers)
        assert response.status_code == 403, path
        assert_no_other_secrets(response, path)
    fresh = _node(other["node_id"])
    assert (fresh.status, fresh.version, fresh.submitted_at) == ("doing", node.version, None)
    assert len(fresh.progress_entries) == 1 and len(fresh.recommitments) == 1


def test_evidence_of_another_units_node_is_refused_in_both_directions(app, client, auth, own_and_other_unit):
    own, other = own_and_other_unit["args"]["own"], own_and_other_unit["args"]["other"]
    root = files._root()
    stored = sorted(p for p in root.rglob("*") if p.is_file())
    for role in ("unit_staff", "contact"):
        auth.login(role)
        response = client.get(f"/evidence/{other['evidence_id']}")
        response.close()
        assert response.status_code == 403 and b"%PDF-1.4 evidence" not in response.data
        upload = auth.post(f"/nodes/{other['node_id']}/evidence", {"kind": "document",
                           "files": (io.BytesIO(b"%PDF-1.4 planted"), "planted.pdf")},
                           page=f"/nodes/{own['node_id']}", content_type="multipart/form-data")
        assert upload.status_code == 403
        auth.logout()
    assert db.session.scalar(select(db.func.count(Evidence.id))) == 2
    assert sorted(p for p in root.rglob("*") if p.is_file()) == stored  # no file written either


def test_document_ids_reach_only_documents_the_user_may_read(client, auth, own_and_other_unit):
    own, other = own_and_other_unit["args"]["own"], own_and_other_unit["args"]["other"]
    draft = own_and_other_unit["shared"]["draft_bulletin_id"]
    auth.login("unit_staff")
    assert client.get(f"/documents/{other['document_id']}/download").status_code == 403
    assert client.get(f"/interviews/{other['interview_id']}/notice.pdf").status_code == 403
    assert client.get(f"/documents/{own['document_id']}/download").status_code == 200
    # A notice's id on the bulletin routes, a draft's id on the archive: not found, not served.
    for path in (f"/bulletins/{other['document_id']}", f"/bulletins/{other['document_id']}/status",
                 f"/bulletins/{other['document_id']}/preview.pdf", f"/documents/{draft}/download"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert_no_other_secrets(response, path)
    listed = client.get("/documents?kind=notice").get_data(as_text=True)
    assert OWN_SECRETS["notice"] in listed and OTHER_SECRETS["notice"] not in listed


def test_a_leader_decides_only_for_the_units_in_their_charge(client, auth, own_and_other_unit):
    own, other = own_and_other_unit["args"]["own"], own_and_other_unit["args"]["other"]
    auth.login("leader")
    queue = client.get("/recommitments").get_data(as_text=True)
    assert OWN_SECRETS["recommit_reason"] in queue and OTHER_SECRETS["recommit_reason"] not in queue
    response = auth.post(f"/recommitments/{other['request_id']}/decide",
                         {"decision": "approve", "comment": "同意", "next": f"/nodes/{other['node_id']}"},
                         page="/recommitments")
    assert response.status_code == 403
    assert db.session.get(Recommitment, other["request_id"]).state == "pending"
    assert _node(other["node_id"]).committed_deadline is None
    # The own request, posted with the other request's id in the body, decides the own one only.
    response = auth.post(f"/recommitments/{own['request_id']}/decide",
                         {"decision": "approve", "comment": "同意", "request_id": str(other["request_id"])},
                         page="/recommitments")
    assert response.status_code == 303
    assert db.session.get(Recommitment, own["request_id"]).state == "approved"
    assert db.session.get(Recommitment, other["request_id"]).state == "pending"


def test_a_leader_records_minutes_only_of_their_own_interviews(client, auth, own_and_other_unit):
    other = own_and_other_unit["args"]["other"]
    auth.login("leader")
    response = auth.post(f"/interviews/{other['interview_id']}/hold", {"minutes": "代记纪要"}, page="/interviews")
    assert response.status_code == 403
    assert db.session.get(Interview, other["interview_id"]).minutes == ""


def test_an_interview_cannot_be_built_on_another_units_cards(client, auth, own_and_other_unit):
    own, other = own_and_other_unit["args"]["own"], own_and_other_unit["args"]["other"]
    auth.login("supervisor")
    before = db.session.scalar(select(db.func.count(Interview.id)))
    response = auth.post("/interviews/new", {"unit_id": str(own["unit_id"]), "card_ids": [str(other["card_id"])],
                                              "reason": "连续超期"}, page="/interviews")
    assert response.status_code == 422 and "所选记牌不属于该单位" in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(Interview.id))) == before


@pytest.mark.parametrize("role", ["unit_staff", "contact"])
def test_htmx_partials_of_another_unit_are_refused(client, auth, own_and_other_unit, role):
    other = own_and_other_unit["args"]["other"]
    auth.login(role)
    htmx = {"HX-Request": "true"}
    for path, headers in [
        (f"/units/{other['unit_id']}/board?q=乙", {**htmx, "HX-Target": "board"}),
        (f"/nodes/{other['node_id']}/submit", {**htmx, "HX-Target": "modal"}),
        (f"/nodes/{other['node_id']}/move?status=todo", {**htmx, "HX-Target": "modal"}),
        (f"/bulletins/{own_and_other_unit['shared']['draft_bulletin_id']}/status", htmx),
        (f"/sweeps/{own_and_other_unit['shared']['run_id']}", htmx),
    ]:
        response = client.get(path, headers=headers)
        assert response.status_code == 403, path
        body = response.get_data(as_text=True)
        assert f'data-node-id="{other["node_id"]}"' not in body, path
        assert_no_other_secrets(response, path)


@pytest.mark.parametrize("role", ["unit_staff", "contact"])
def test_exports_naming_another_unit_or_project_are_refused(client, auth, own_and_other_unit, role):
    from openpyxl import load_workbook

    own, other = own_and_other_unit["args"]["own"], own_and_other_unit["args"]["other"]
    auth.login(role)
    for path in (f"/ledger/export.xlsx?unit_id={other['unit_id']}", f"/ledger/export.xlsx?project_id={other['project_id']}",
                 f"/units/{other['unit_id']}/ledger.pdf", f"/projects/{other['project_id']}/ledger.pdf",
                 "/ledger/export.xlsx", f"/ledger/export.xlsx?category_id={own_and_other_unit['units']['own'].id}"):
        assert client.get(path).status_code in (403, 404), path
    both = client.get(f"/ledger/export.xlsx?unit_id={own['unit_id']}&project_id={other['project_id']}")
    assert both.status_code == 400
    for query in (f"unit_id={own['unit_id']}", f"project_id={own['project_id']}"):
        response = client.get(f"/ledger/export.xlsx?{query}")
        assert response.status_code == 200, query
        titles = [r[14].value for r in load_workbook(io.BytesIO(response.data))["台账"].iter_rows(min_row=2)]
        # the unit's own nodes: its project's node, and the 13710 steps of its assignment
        expected = db.session.scalars(select(Node.title).where(Node.unit_id == own["unit_id"]).order_by(Node.deadline, Node.id)).all() \
            if query.startswith("unit_id") else [_node(own["node_id"]).title]
        assert sorted(titles) == sorted(expected), query
        assert all("乙镇" not in t for t in titles), query


def _listing_urls(app, own_and_other_unit) -> list[str]:
    """Every page without an id in its path, and the searches that name the other unit."""
    skip = {"static", "auth.login", "auth.logout", "auth.set_language", "health.healthz"}
    plain = [rule.rule for rule in app.url_map.iter_rules()
             if "GET" in rule.methods and not rule.arguments and rule.endpoint not in skip]
    own, other = own_and_other_unit["args"]["own"], own_and_other_unit["args"]["other"]
    searches = [
        f"/interviews?unit_id={other['unit_id']}",
        "/documents?kind=notice",
        f"/units/{own['unit_id']}/board?project_id={other['project_id']}",
        f"/units/{own['unit_id']}/board?person_id={other['user_id']}&q=乙",
        f"/boards?unit={other['unit_id']}",
        f"/rankings/units/{other['unit_id']}",
        f"/dashboard?league={own_and_other_unit['units']['other'].league_id}",
        "/timeline",
        "/notifications",
    ]
    return plain + searches


@pytest.mark.parametrize("role", ["unit_staff", "contact"])
def test_lists_and_searches_show_no_private_item_of_another_unit(app, client, auth, own_and_other_unit, role):
    other_node = f'data-node-id="{own_and_other_unit["args"]["other"]["node_id"]}"'
    auth.login(role)
    for url in _listing_urls(app, own_and_other_unit):
        response = client.get(url, follow_redirects=True)
        response.close()
        assert response.status_code in (200, 403), f"{url}: {response.status_code}"
        assert_no_other_secrets(response, f"{role} {url}")
        assert not _is_text(response) or other_node not in response.get_data(as_text=True), url


# -- a contact's project spans units ----------------------------------------------


@pytest.fixture
def shared_project(own_and_other_unit):
    """A node of the other unit in the own unit's project, whose contact the own contact is."""
    project = db.session.get(Node, own_and_other_unit["args"]["own"]["node_id"]).project
    node = f.node(project, unit=own_and_other_unit["units"]["other"], status="doing", title="乙镇负责的联动节点")
    db.session.commit()
    return node.id


def test_a_contact_works_on_another_units_node_of_their_project(client, auth, own_and_other_unit, shared_project):
    auth.login("contact")
    assert client.get(f"/nodes/{shared_project}").status_code == 200
    version = str(_node(shared_project).version)
    response = auth.post(f"/nodes/{shared_project}/progress", {"body": "联系人记录的进展", "percent": "20", "version": version},
                         page=f"/nodes/{shared_project}")
    assert response.status_code == 303
    assert client.get(f"/units/{own_and_other_unit['args']['other']['unit_id']}/board").status_code == 403


@pytest.mark.parametrize("htmx", [False, True])
def test_a_contacts_refused_move_does_not_show_the_other_units_board(client, auth, own_and_other_unit, shared_project, htmx):
    """Regression: the refusal used to come back on the node unit's full board (or with its column counts)."""
    other_node = own_and_other_unit["args"]["other"]["node_id"]
    auth.login("contact")
    node = _node(shared_project)
    response = auth.post(f"/nodes/{node.id}/move", {"status": "todo", "version": str(node.version)},
                         page=f"/nodes/{node.id}", headers={"HX-Request": "true"} if htmx else {})
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "只能移动本单位的节点" in body
    assert f'data-node-id="{other_node}"' not in body and _node(other_node).title not in body
    assert 'id="count-' not in body  # the other unit's column counts
    assert _node(shared_project).status == "doing"


@pytest.mark.parametrize("htmx", [False, True])
def test_a_refused_move_with_view_queue_does_not_open_the_sign_off_queue(client, auth, own_and_other_unit, htmx):
    """Regression: ``view=queue`` in the form made a refusal come back on the county-wide sign-off queue."""
    own, other = own_and_other_unit["args"]["own"], own_and_other_unit["args"]["other"]
    submitted = _node(other["node_id"])
    submitted.status, submitted.submission_note = "review", "乙镇提交说明：内部资料已齐"
    db.session.commit()
    auth.login("unit_staff")
    node = _node(own["node_id"])
    response = auth.post(f"/nodes/{node.id}/move", {"status": "done", "version": str(node.version), "view": "queue"},
                         page="/notifications", headers={"HX-Request": "true"} if htmx else {})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "乙镇提交说明" not in body and f'id="queue-{other["node_id"]}"' not in body
    assert_no_other_secrets(response, "refused move with view=queue")
    assert _node(own["node_id"]).status == "doing"


def test_a_superseded_notice_stays_readable_by_those_who_read_its_interview(client, auth, own_and_other_unit):
    """Regression: a notice reissued after a change of arrangements left the first one unreadable to all."""
    own = own_and_other_unit["args"]["own"]
    interview = db.session.get(Interview, own["interview_id"])
    interview.place = "县政府二楼会议室"
    db.session.commit()
    auth.login("supervisor")
    assert client.get(f"/interviews/{own['interview_id']}/notice.pdf").status_code == 409  # reading numbers nothing
    reissued = auth.post(f"/interviews/{own['interview_id']}/notice", page=f"/interviews/{own['interview_id']}")
    assert reissued.status_code == 303 and reissued.headers["Location"].endswith("/notice.pdf")
    assert db.session.get(Interview, own["interview_id"]).notice_document_id != own["document_id"]
    first = f"/documents/{own['document_id']}/download"
    for role, status in (("supervisor", 200), ("leader", 200), ("unit_staff", 200), ("contact", 403), ("other_staff", 403)):
        auth.logout()
        auth.login(role)
        response = client.get(first)
        assert response.status_code == status, role
        listed = OWN_SECRETS["notice"] in client.get("/documents").get_data(as_text=True)
        assert listed is (status == 200), role
