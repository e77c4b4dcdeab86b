"""Bad input on every form and upload: a Chinese message, 422, nothing written — by table and generated.

The table: each form's typical mistakes (missing fields, bad dates, over-long
text, duplicates, script tags). Generated: hostile input, no form or upload answers 500, writes on refusal, or echoes live markup.

Every field of each form is either its valid value or generated text: script
and HTML payloads, ``javascript:`` URLs, template syntax, arbitrary unicode,
control characters and very long strings. Whatever comes in, the answer is a
page or a redirect with an expected status; a 422 writes nothing; and neither
the answer nor the page a redirect leads to carries markup that came from the
input (a ``<script>`` that is not one of ours, an ``on…=`` handler, a
``javascript:`` link).
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from datetime import date
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy import func, select

from portal.core.extensions import db
from portal.models import (
    AuditEntry,
    CardEvent,
    Category,
    Evidence,
    League,
    LoginAttempt,
    Node,
    ProgressEntry,
    Project,
    Recommitment,
    Theme,
    Unit,
    User,
)
from tests import factories as f

# database=None keeps the example database away, but Hypothesis still caches constants and
# unicode tables in ./.hypothesis: send those to the temporary directory instead.
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "jiedian-hypothesis"))

EXAMPLES = 30
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # never write .hypothesis/ into the repository
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ALLOWED_STATUS = {200, 303, 401, 409, 413, 422, 429}

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<img src=x onerror=alert(1)//",
    '"><script>alert(1)</script>',
    "'><svg onload=alert(1)>",
    "</textarea><script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "< script >alert(1)</ script >",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "{{ 7*7 }}",
    "{% for x in range(9) %}x{% endfor %}",
    "%(name)s %s %d",
    "' OR '1'='1' --",
    "\u202e\u0007\u001b[31m",
    "\x00",
    "a\x00b",
    "张三\u200b\ufeff",
    "𠀀🀄️",
    "\r\n\t\x0b\x0c",
    " ",
    "NaN",
    "Infinity",
    "-0",
    "1e999",
    "-1",
    "0x10",
    "99999999999999999999999",
    "2026-02-30",
    "9999-12-31",
]


def hostile_text() -> st.SearchStrategy[str]:
    payload = st.sampled_from(PAYLOADS)
    short = st.text(max_size=40)
    controls = st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), min_size=1, max_size=10)
    long = st.builds(lambda s, n: s * n, payload | st.text(min_size=1, max_size=4), st.integers(50, 3000))
    mixed = st.builds(lambda a, b, c: a + b + c, short, payload, short)
    return st.one_of(payload, short, controls, long, mixed)


def field(valid: str) -> st.SearchStrategy[str]:
    """The valid value or something hostile, about half and half."""
    return st.one_of(st.just(valid), hostile_text())


class _Markup(HTMLParser):
    """Collects what the CSP or a browser would run: foreign scripts, handlers, script URLs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and not (attributes.get("src") or "").startswith("/static/"):
            self.found.append(f"<script {attrs}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value}>")

    handle_startendtag = handle_starttag


def live_markup(html: str) -> list[str]:
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return parser.found


# -- the county -----------------------------------------------------------------------


@pytest.fixture
def county_with_a_late_node(app):
    unit = f.unit("上派镇")
    category = f.category("产业项目")
    f.theme("产业创新")
    f.league("乡镇联赛")
    project = f.project(lead_unit=unit, category=category, code="P-1", year=2026)
    node = f.node(project, title="完成土地摘牌")
    late = f.node(project, title="已记黄牌的节点", deadline=date(2026, 6, 5), status="doing", card="yellow")
    db.session.add(CardEvent(node=late, unit=unit, colour="yellow", points=0, effective_date=date(2026, 6, 6)))
    f.user("admin", roles=["admin", "supervisor"], unit=unit)
    f.user("staff", roles=["unit_staff"], unit=unit)
    db.session.commit()
    return {"unit": unit, "category": category, "project": project, "node": node, "late": late}


COUNTED = (League, Category, Theme, Unit, User, Project, Node, ProgressEntry, Evidence, Recommitment, CardEvent,
           AuditEntry, LoginAttempt)


def counts() -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in COUNTED}


def check(client, response, before: dict[str, int], where: str) -> None:
    """The properties every answer to hostile input must have."""
    html = response.get_data(as_text=True)
    assert response.status_code in ALLOWED_STATUS | {302}, f"{where}: {response.status_code}\n{html[-2000:]}"
    if response.status_code == 422:
        assert counts() == before, f"{where}: refused with 422 but wrote rows"
    assert live_markup(html) == [], f"{where}: live markup in the answer: {live_markup(html)}"
    if response.status_code in (302, 303):
        page = client.get(response.headers["Location"])
        assert page.status_code == 200, f"{where}: the redirect leads to {page.status_code}"
        shown = page.get_data(as_text=True)
        assert live_markup(shown) == [], f"{where}: live markup after the redirect: {live_markup(shown)}"


def logged_in(auth, username: str = "admin") -> str:
    assert auth.login(username).status_code == 302
    return auth.csrf("/")


# -- login ----------------------------------------------------------------------------


@SETTINGS
@given(username=field("admin"), password=hostile_text())
def test_login_form(app, client, auth, county_with_a_late_node, username, password):
    token = auth.csrf("/login")
    before = counts()
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": password})
    assert response.status_code in {401, 422, 429}, response.status_code
    check(client, response, before, "login")


# -- administration -------------------------------------------------------------------


@SETTINGS
@given(data=st.fixed_dictionaries({"name": field("园区联赛"), "description": field(""), "sort_order": field("2")}))
def test_league_form(app, client, auth, county_with_a_late_node, data):
    token = logged_in(auth)
    before = counts()
    response = client.post("/admin/leagues/new", data={"csrf_token": token, **data})
    check(client, response, before, "league")


@SETTINGS
@given(data=st.fixed_dictionaries({
    "name": field("三河镇"), "short_name": field("三河"), "league_id": field(""), "head_name": field("王明"),
    "sort_order": field("0"), "is_active": field("y"),
}))
def test_unit_form(app, client, auth, county_with_a_late_node, data):
    token = logged_in(auth)
    before = counts()
    response = client.post("/admin/units/new", data={"csrf_token": token, **data})
    check(client, response, before, "unit")


@SETTINGS
@given(data=st.fixed_dictionaries({
    "username": field("zhangsan"), "display_name": field("张三"), "unit_id": field("UNIT"), "title": field("科员"),
    "phone": field("0551-1234567"), "roles": field("unit_staff"), "units_in_charge": field(""),
    "password": field("long-enough-1"), "is_active": field("y"),
}))
def test_user_form(app, client, auth, county_with_a_late_node, data):
    token = logged_in(auth)
    if data["unit_id"] == "UNIT":
        data["unit_id"] = str(county_with_a_late_node["unit"].id)
    before = counts()
    response = client.post("/admin/users/new", data={"csrf_token": token, **data})
    check(client, response, before, "user")


# -- projects and nodes ---------------------------------------------------------------


@SETTINGS
@given(data=st.fixed_dictionaries({
    "code": field("P-2"), "name": field("老城区雨污分流管网改造"), "category_id": field("CATEGORY"), "theme_id": field(""),
    "year": field("2026"), "lead_leader_id": field(""), "lead_unit_id": field("UNIT"), "co_unit_ids": field(""),
    "contact_ids": field(""), "stage": field("signed"), "investment_total": field("1000"),
    "investment_planned": field("500"), "investment_completed": field("100"), "start_date": field("2026-01-01"),
    "end_date": field("2026-12-31"), "description": field(""),
}))
def test_project_form(app, client, auth, county_with_a_late_node, data):
    token = logged_in(auth)
    data = {k: {"CATEGORY": str(county_with_a_late_node["category"].id), "UNIT": str(county_with_a_late_node["unit"].id)}.get(v, v) for k, v in data.items()}
    before = counts()
    response = client.post("/projects/new", data={"csrf_token": token, **data})
    check(client, response, before, "project")


@SETTINGS
@given(data=st.fixed_dictionaries({
    "title": field("取得施工许可证"), "unit_id": field("UNIT"), "responsible_user_id": field(""),
    "deadline": field("2026-09-30"), "standard": field("以施工许可证为准"), "weight": field("1"),
    "is_major": field("y"), "is_key_supervision": field(""),
}))
def test_node_form(app, client, auth, county_with_a_late_node, data):
    token = logged_in(auth)
    data = {k: str(county_with_a_late_node["unit"].id) if v == "UNIT" else v for k, v in data.items()}
    before = counts()
    response = client.post(f"/projects/{county_with_a_late_node['project'].id}/nodes/new", data={"csrf_token": token, **data})
    check(client, response, before, "node")


# -- unit staff: progress and re-commitment ------------------------------------------


@SETTINGS
@given(data=st.fixed_dictionaries({"body": field("已完成勘测"), "percent": field("40"), "version": field("1")}), htmx=st.booleans())
def test_progress_form(app, client, auth, county_with_a_late_node, data, htmx):
    token = logged_in(auth, "staff")
    before = counts()
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(f"/nodes/{county_with_a_late_node['node'].id}/progress", data={"csrf_token": token, **data}, headers=headers)
    check(client, response, before, "progress")


@SETTINGS
@given(data=st.fixed_dictionaries({"reason": field("征迁延误"), "new_deadline": field("2026-07-10")}))
def test_recommitment_form(app, client, auth, county_with_a_late_node, data):
    token = logged_in(auth, "staff")
    before = counts()
    response = client.post(f"/nodes/{county_with_a_late_node['late'].id}/recommit", data={"csrf_token": token, **data})
    check(client, response, before, "recommitment")


# -- evidence uploads -----------------------------------------------------------------

ALLOWED_EXT = ["pdf", "jpg", "jpeg", "png", "docx", "xlsx"]
OTHER_EXT = ["", "exe", "html", "htm", "svg", "js", "txt", "xml", "zip", "pdf.exe", "php", "PDF ", "pdf\x00.exe"]


def _zip(members: list[str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in members:
            archive.writestr(name, b"<x/>")
    return out.getvalue()


def file_bytes() -> st.SearchStrategy[bytes]:
    tail = st.binary(max_size=300)
    prefixes = st.sampled_from([b"%PDF-", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"PK\x03\x04", b"<svg onload=alert(1)>",
                                b"<html><script>alert(1)</script>", b"MZ", b"GIF89a", b"%PD", b""])
    zips = st.lists(st.sampled_from(["word/document.xml", "xl/workbook.xml", "[Content_Types].xml", "a.txt",
                                     "../../etc/passwd"]), max_size=3, unique=True).map(_zip)
    return st.one_of(st.binary(max_size=300), st.builds(lambda p, t: p + t, prefixes, tail), zips)


def really_is(ext: str, data: bytes) -> bool:
    """An oracle written apart from the app: do these bytes really have this type?"""
    ext = ext.lower()
    if ext == "pdf":
        return data.startswith(b"%PDF-")
    if ext in ("jpg", "jpeg"):
        return data.startswith(b"\xff\xd8\xff")
    if ext == "png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if ext in ("docx", "xlsx"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            return False
        return data.startswith(b"PK\x03\x04") and any(n.startswith("word/" if ext == "docx" else "xl/") for n in names)
    return False


def _stored_files(app) -> set[str]:
    root = app.config["EVIDENCE_DIR"]
    return {name for _dir, _sub, names in os.walk(root) for name in names} if os.path.isdir(root) else set()


@SETTINGS
@given(
    stem=field("验收单"),
    ext=st.sampled_from(ALLOWED_EXT + [e.upper() for e in ALLOWED_EXT] + OTHER_EXT),
    data=file_bytes(),
    kind=field("acceptance"),
)
def test_evidence_upload(app, client, auth, county_with_a_late_node, stem, ext, data, kind):
    token = logged_in(auth, "staff")
    name = f"{stem}.{ext}" if ext else stem
    before = counts()
    files_before = _stored_files(app)
    response = client.post(
        f"/nodes/{county_with_a_late_node['node'].id}/evidence",
        data={"csrf_token": token, "kind": kind, "files": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    check(client, response, before, "evidence")
    new_rows = db.session.scalars(
        select(Evidence).order_by(Evidence.id.desc()).limit(counts()["Evidence"] - before["Evidence"])
    ).all()
    for row in new_rows:
        # The name it is served under (directories and control characters removed) must match the bytes.
        served_ext = row.original_name.rsplit(".", 1)[-1] if "." in row.original_name else ""
        assert really_is(served_ext, data), f"stored {row.original_name!r} whose bytes are not {served_ext!r}: {data[:16]!r}"
        assert row.content_type in {"application/pdf", "image/jpeg", "image/png",
                                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    # A refused upload leaves no file behind; an accepted one leaves exactly its own.
    assert len(_stored_files(app) - files_before) == len(new_rows)


def test_nul_characters_are_refused_before_any_form_sees_them(app, client, auth, county_with_a_late_node):
    """PostgreSQL text cannot hold NUL: such input used to end in a 500 there (found by the properties above)."""
    token = auth.csrf("/login")
    attempts = counts()["LoginAttempt"]
    assert client.post("/login", data={"csrf_token": token, "username": "ad\x00min", "password": "x"}).status_code == 422
    assert counts()["LoginAttempt"] == attempts
    token = logged_in(auth)
    before = counts()
    assert client.get("/admin/users?q=%00").status_code == 422
    assert client.post("/admin/leagues/new", data={"csrf_token": token, "name": "联\x00赛"}).status_code == 422
    assert counts() == before


def test_an_integer_too_large_for_a_float_is_out_of_range(app, client, auth, county_with_a_late_node):
    """wtforms' NumberRange raised OverflowError (a 500) for a few hundred digits (found by the properties above)."""
    token = logged_in(auth)
    before = counts()
    response = client.post("/admin/leagues/new", data={"csrf_token": token, "name": "园区联赛", "sort_order": "9" * 400})
    assert response.status_code == 422 and "0 到 9999" in response.get_data(as_text=True)
    assert counts() == before


# -- the table: each form's typical mistakes ---------------------------------------

SCRIPT = "<script>alert(1)</script>"
LONG = "长" * 300


def _valid(kind: str, county_with_a_late_node) -> tuple[str, dict]:
    unit, category, project = county_with_a_late_node["unit"], county_with_a_late_node["category"], county_with_a_late_node["project"]
    forms = {
        "league": ("/admin/leagues/new", {"name": "园区联赛", "description": "", "sort_order": "2"}),
        "category": ("/admin/categories/new", {"name": "民生工程", "sort_order": "1", "is_active": "y"}),
        "theme": ("/admin/themes/new", {"name": "城乡发展", "sort_order": "1", "is_active": "y"}),
        "unit": ("/admin/units/new", {"name": "三河镇", "short_name": "三河", "league_id": "", "head_name": "王明", "sort_order": "0", "is_active": "y"}),
        "user": ("/admin/users/new", {"username": "zhangsan", "display_name": "张三", "unit_id": str(unit.id), "roles": "unit_staff", "password": "long-enough-1", "is_active": "y"}),
        "project": ("/projects/new", {"code": "P-2", "name": "老城区雨污分流管网改造", "category_id": str(category.id), "theme_id": "", "year": "2026",
                     "lead_leader_id": "", "lead_unit_id": str(unit.id), "stage": "signed", "investment_total": "1000",
                     "investment_planned": "500", "investment_completed": "100", "start_date": "2026-01-01", "end_date": "2026-12-31", "description": ""}),
        "node": (f"/projects/{project.id}/nodes/new", {"title": "取得施工许可证", "unit_id": str(unit.id), "responsible_user_id": "",
                  "deadline": "2026-09-30", "standard": "以施工许可证为准", "weight": "1"}),
    }
    return forms[kind]


# (form, field, value, expected message fragment)
CASES = [
    ("league", "name", "", "必填"),
    ("league", "name", "乡镇联赛", "已被使用"),
    ("league", "name", SCRIPT, "HTML"),
    ("league", "name", LONG, "最多 40"),
    ("league", "sort_order", "abc", "整数"),
    ("category", "name", "", "必填"),
    ("category", "name", "产业项目", "已被使用"),
    ("theme", "name", "产业创新", "已被使用"),
    ("theme", "name", "<b>x</b>", "HTML"),
    ("unit", "name", "上派镇", "已被使用"),
    ("unit", "name", "", "必填"),
    ("unit", "head_name", SCRIPT, "HTML"),
    ("unit", "league_id", "9999", "不是有效的选择"),
    ("user", "username", "admin", "已被占用"),
    ("user", "username", "ADMIN", "已被占用"),
    ("user", "username", "张 三", "只能使用"),
    ("user", "display_name", SCRIPT, "HTML"),
    ("user", "password", "", "至少 10 个字符"),
    ("user", "password", "short", "10 到 200"),
    ("user", "roles", None, "至少选择一个角色"),  # nothing ticked: the browser sends nothing
    ("user", "roles", "god", "不是有效的选择"),
    ("user", "phone", "call me", "电话号码"),
    ("user", "unit_id", "", "必须属于某个单位"),
    ("project", "code", "P-1", "已被使用"),
    ("project", "code", "", "必填"),
    ("project", "code", "P 1/2", "只能使用"),
    ("project", "name", SCRIPT, "HTML"),
    ("project", "name", LONG, "最多 100"),
    ("project", "year", "20x6", "2000 到 2100"),
    ("project", "start_date", "2026-02-30", "日期"),
    ("project", "end_date", "2025-12-31", "不能早于"),
    ("project", "investment_total", "-5", "金额"),
    ("project", "category_id", "", "必填"),
    ("project", "description", '<img src=x onerror="alert(1)">', "HTML"),
    ("node", "title", "", "必填"),
    ("node", "title", SCRIPT, "HTML"),
    ("node", "title", LONG, "最多 120"),
    ("node", "deadline", "2026-13-01", "日期"),
    ("node", "deadline", "", "日期"),
    ("node", "deadline", "2027-01-05", "项目年度"),
    ("node", "standard", "", "必填"),
    ("node", "weight", "0", "1 到 10"),
    ("node", "unit_id", "", "必填"),
]

MODELS = {"league": League, "category": Category, "theme": Theme, "unit": Unit, "user": User, "project": Project, "node": Node}


def _counts():
    return {name: db.session.scalar(select(func.count()).select_from(m)) for name, m in MODELS.items()} | {
        "audit": db.session.scalar(select(func.count()).select_from(AuditEntry))
    }


@pytest.mark.parametrize(("kind", "field", "value", "message"), CASES, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_bad_input_is_refused_and_nothing_written(app, client, auth, county_with_a_late_node, kind, field, value, message):
    auth.login("admin")
    url, data = _valid(kind, county_with_a_late_node)
    data = {**data, field: value}
    if value is None:
        del data[field]
    if field == "year":
        data["start_date"] = data["end_date"] = ""
    before = _counts()
    response = auth.post(url, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert "<script>alert(1)</script>" not in html  # echoed back escaped, never live
    assert _counts() == before


@pytest.mark.parametrize("kind", list(MODELS))
def test_the_valid_form_saves_and_audits(app, client, auth, county_with_a_late_node, kind):
    auth.login("admin")
    url, data = _valid(kind, county_with_a_late_node)
    before = _counts()
    response = auth.post(url, data)
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    after = _counts()
    assert after[kind] == before[kind] + 1
    assert after["audit"] > before["audit"]


def test_english_messages_when_english_is_chosen(app, client, auth, county_with_a_late_node):
    auth.login("admin")
    client.get("/lang/en")
    response = auth.post("/admin/leagues/new", {"name": ""})
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)


# -- out-of-range ids, years and dates (M #3), replayed as the penetration test wrote them --------

BIG = "9" * 30


def test_out_of_range_values_in_urls_and_queries_answer_4xx_in_chinese(app, client, auth, county_with_a_late_node):
    node, project, unit = county_with_a_late_node["node"], county_with_a_late_node["project"], county_with_a_late_node["unit"]
    logged_in(auth)
    not_found = [f"/nodes/{BIG}", f"/evidence/{BIG}", f"/sweeps/{BIG}", f"/projects/{BIG}", f"/units/{BIG}/board",
                 f"/rankings/units/{BIG}", "/nodes/0", f"/nodes/{2**31}", "/nodes/-1", "/nodes/²", "/nodes/٣"]
    for url in not_found:
        response = client.get(url)
        assert response.status_code == 404, url
        assert "不存在" in response.get_data(as_text=True), url
    refused = [f"/projects?page={BIG}", f"/projects?year={BIG}", f"/projects?category_id={BIG}", f"/audit?object_id={BIG}",
               f"/audit?page={BIG}", f"/interviews?unit_id={BIG}", f"/units/{unit.id}/board?project_id={BIG}",
               f"/units/{unit.id}/board?person_id={BIG}", f"/units/{unit.id}/board?category_id=²",
               "/rankings?date=9999-12-31", "/rankings?date=0001-01-01", "/rankings/export.pdf?date=9999-12-31",
               f"/rankings/units/{unit.id}?year=99999", "/admin/calendar?year=99999", "/audit?from=9999-12-31",
               "/audit?to=0001-01-01", "/dashboard?year=²", "/dashboard?category=²", "/timeline?year=²", "/cadres?year=²",
               f"/ledger/export.xlsx?unit_id={BIG}", "/ledger/export.xlsx?project_id=²"]
    for url in refused:
        response = client.get(url)
        assert response.status_code == 400, url
        assert "请" in response.get_data(as_text=True) or "必须" in response.get_data(as_text=True), url
    assert client.get(f"/projects?page=2&year=2026&category_id={project.category_id}").status_code == 200
    assert client.get("/rankings?date=2026-06-15").status_code == 200
    assert client.get(f"/nodes/{node.id}").status_code == 200


def test_unicode_digits_and_calendar_ends_in_forms_are_refused_without_writing(app, client, auth, county_with_a_late_node):
    node, project = county_with_a_late_node["node"], county_with_a_late_node["project"]
    token = logged_in(auth)
    before = counts()
    page = f"/nodes/{node.id}"
    for path, data in (
        (f"/nodes/{node.id}/move", {"status": "doing", "version": "²"}),
        (f"/nodes/{node.id}/submit", {"version": "²"}),
        (f"/nodes/{node.id}/progress", {"body": "推进中", "percent": "50", "version": "²"}),
        (f"/nodes/{node.id}/edit", {"title": "完成土地摘牌", "unit_id": str(node.unit_id), "deadline": "2026-09-30",
                                    "standard": "以批复为准", "weight": "1", "version": "²"}),
        (f"/nodes/{node.id}/edit", {"title": "完成土地摘牌", "unit_id": str(node.unit_id), "deadline": "0001-01-01",
                                    "standard": "以批复为准", "weight": "1", "version": str(node.version)}),
        (f"/projects/{project.id}/nodes/new", {"title": "新节点", "unit_id": str(node.unit_id), "deadline": "9999-12-31",
                                               "standard": "以批复为准", "weight": "1"}),
        (f"/nodes/{node.id}/recommit", {"reason": "征迁未完成", "new_deadline": "9999-12-31"}),
        ("/admin/calendar", {"day": "0001-01-01", "is_workday": "0", "name": "调休"}),
        ("/bulletins", {"period": "week", "date": "9999-12-31"}),
    ):
        response = client.post(path, data={"csrf_token": token, **data}, headers={"Referer": page})
        assert 400 <= response.status_code < 500, (path, data, response.status_code)
    assert counts() == before


def test_an_interview_at_the_start_of_the_calendar_is_refused(app, client, auth, county_with_a_late_node):
    from portal.models import Interview

    unit = county_with_a_late_node["unit"]
    interview = Interview(unit=unit, trigger="red", state="proposed", proposed_on=date(2026, 6, 2), bring="", minutes="")
    db.session.add(interview)
    f.user("leader1", roles=["leader"])
    db.session.commit()
    token = logged_in(auth)
    response = client.post(f"/interviews/{interview.id}/schedule",
                           data={"csrf_token": token, "when": "0001-01-01T00:00", "place": "县政府第一会议室"})
    assert response.status_code == 422
    assert "2000" in response.get_data(as_text=True)
    assert db.session.get(Interview, interview.id).state == "proposed"
