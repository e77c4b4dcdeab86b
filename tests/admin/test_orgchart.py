"""The organisation chart from one workbook: dry run, all-or-nothing commit, one-time passwords, the CLI."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from portal.admin import orgchart
from portal.core.extensions import db
from portal.models import AuditEntry, League, Unit, UnitAlias, User
from tests import factories as f

LEAGUE_HEAD = ["名称", "说明"]
UNIT_HEAD = ["单位名称", "简称", "所属联赛", "主要负责人", "别名"]
USER_HEAD = ["姓名", "用户名", "单位", "角色", "职务", "手机", "分管单位"]

SURNAMES = "王李张刘陈杨赵黄周吴"
GIVEN = "伟芳娜敏静丽强磊军洋"
LAST = "明华"


def workbook(leagues=(), units=(), users=(), *, heads=None, order=("联赛", "单位", "用户"), edit=None) -> bytes:
    """An xlsx file built with openpyxl: each sheet its header row and rows (None: leave the sheet out)."""
    heads = {"联赛": LEAGUE_HEAD, "单位": UNIT_HEAD, "用户": USER_HEAD, **(heads or {})}
    data = {"联赛": leagues, "单位": units, "用户": users}
    book = Workbook()
    book.remove(book.active)
    for title in order:
        if data[title] is None:
            continue
        sheet = book.create_sheet(title)
        sheet.append(heads[title])
        for values in data[title]:
            sheet.append(list(values))
    book.create_sheet("说明")
    if edit:
        edit(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def county(users: int = 200):
    """10 leagues, 56 units (short names and aliases), ``users`` people: a county going live."""
    leagues = [(f"第{i + 1}联赛", f"第 {i + 1} 组单位") for i in range(10)]
    units = [(f"城{i + 1}镇人民政府", f"城{i + 1}镇", f"第{i % 10 + 1}联赛", f"负责人{'甲乙丙丁'[i % 4]}{i}", f"城{i + 1}镇政府、城{i + 1}")
             for i in range(56)]
    rows = []
    for i in range(users):
        name = SURNAMES[i % 10] + GIVEN[(i // 10) % 10] + LAST[i // 100]
        # the unit by full name, short name or alias, in turn
        unit = [units[i % 56][0], units[i % 56][1], f"城{i % 56 + 1}镇政府"][i % 3]
        roles, in_charge = "经办人", ""
        if i % 25 == 0:
            roles, in_charge = "领导", f"城{i % 56 + 1}镇、城{(i + 1) % 56 + 1}镇人民政府"
        elif i % 10 == 1:
            roles = "经办人、联系人"
        elif i == 7:
            roles = "督查、管理员"
        rows.append((name, f"user{i:03d}" if i % 2 else None, unit, roles, "科员", f"138{i:08d}", in_charge))
    return leagues, units, rows


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _admin():
    f.user("root", roles=["admin"])
    db.session.commit()


def _upload(name: str, data: bytes):
    return {"file": (io.BytesIO(data), name)}


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(rf'value="([^"]*)"[^>]*name="{name}"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def _confirm_data(html: str) -> dict:
    return {name: _hidden(html, name) for name in ("content", "filename", "fingerprint")}


def pdftotext(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def _pdf_of(html: str) -> bytes:
    match = re.search(r'href="data:application/pdf;base64,([A-Za-z0-9+/=]+)"', html)
    assert match, "no PDF on the result page"
    return base64.b64decode(match.group(1))


# -- the web: a whole county in one step ----------------------------------------------


def test_a_county_in_one_step_dry_run_then_commit(app, client, auth):
    _admin()
    auth.login("root")
    assert 'href="/admin/orgchart"' in client.get("/admin/").get_data(as_text=True)
    page = client.get("/admin/orgchart")
    assert page.status_code == 200 and 'action="/admin/orgchart/check"' in page.get_data(as_text=True)
    assert "下载导入模板" in page.get_data(as_text=True)
    data = workbook(*county())

    check = auth.post("/admin/orgchart/check", _upload("全县组织架构.xlsx", data), page="/admin/orgchart",
                      content_type="multipart/form-data")
    html = check.get_data(as_text=True)
    assert check.status_code == 200, html[-2000:]
    assert (_count(League), _count(Unit), _count(User)) == (0, 0, 1)  # the dry run wrote nothing
    assert 'action="/admin/orgchart/commit"' in html and "全县组织架构.xlsx" in html
    assert re.search(r"<td>联赛</td><td class=\"num\">10</td><td class=\"num\">0</td><td class=\"num\">0</td>", html)
    assert re.search(r"<td>单位</td><td class=\"num\">56</td>", html)
    assert re.search(r"<td>用户</td><td class=\"num\">200</td>", html)

    before = _count(AuditEntry)
    done = auth.post("/admin/orgchart/commit", _confirm_data(html), page="/admin/orgchart")
    result = done.get_data(as_text=True)
    assert done.status_code == 200, result[-2000:]
    assert (_count(League), _count(Unit), _count(User), _count(UnitAlias)) == (10, 56, 201, 112)
    assert "Cache-Control" in done.headers and "no-store" in done.headers["Cache-Control"]

    unit = db.session.scalar(select(Unit).where(Unit.name == "城3镇人民政府"))
    assert unit.short_name == "城3镇" and unit.league.name == "第3联赛" and unit.head_name == "负责人丙2"
    assert {a.name for a in unit.aliases} == {"城3", "城3镇政府"}
    leader = db.session.scalar(select(User).where(User.display_name == "王伟明"))
    assert re.fullmatch(r"u\d{6}", leader.username) and leader.phone == "13800000000"
    assert leader.roles == {"leader"} and {u.name for u in leader.units_in_charge} == {"城1镇人民政府", "城2镇人民政府"}
    both = db.session.scalar(select(User).where(User.username == "user001"))
    assert both.roles == {"unit_staff", "contact"} and both.unit.name == "城2镇人民政府" and both.title == "科员"
    assert db.session.scalar(select(User).where(User.username == "user007")).roles == {"admin", "supervisor"}

    new = db.session.scalars(select(User).where(User.username != "root")).all()
    assert all(u.must_change_password for u in new)
    assert all(re.fullmatch(r"u\d{6}", u.username) for u in new if not u.username.startswith("user"))
    assert len({u.username for u in new}) == 200

    # the passwords: on the page once, in the PDF, never in the database or the audit log
    passwords = dict(re.findall(r"<td>(u\d{6}|user\d{3})</td><td><code>([^<]+)</code></td>", result))
    assert len(passwords) == 200
    assert all(re.fullmatch(r"[A-HJ-NP-Za-km-np-z2-9]{10}", p) for p in passwords.values()), passwords
    sample = db.session.scalar(select(User).where(User.username == "user001"))
    assert sample.check_password(passwords["user001"]) and passwords["user001"] not in sample.password_hash
    audit_text = " ".join(f"{e.summary} {e.before} {e.after}" for e in db.session.scalars(select(AuditEntry)))
    assert not any(p in audit_text for p in passwords.values())
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.id > before)).all()
    assert actions.count("league.create") == 10 and actions.count("unit.create") == 56
    assert actions.count("user.create") == 200 and actions.count("orgchart.import") == 1

    pdf = _pdf_of(result)
    assert pdf.startswith(b"%PDF-")
    text = pdftotext(pdf)
    assert "一次性登录密码单" in text and "首次登录后须修改密码" in text
    assert all(username in text for username in passwords)
    assert passwords["user001"] in text


def test_the_same_file_again_changes_nothing(app, client, auth, clock):
    _admin()
    data = workbook(*county(30))
    orgchart.apply(None, orgchart.check(data), clock=clock)
    db.session.commit()
    hashes = dict(db.session.execute(select(User.username, User.password_hash)).all())
    audit_count = _count(AuditEntry)

    auth.login("root")
    check = auth.post("/admin/orgchart/check", _upload("again.xlsx", data), page="/admin/orgchart",
                      content_type="multipart/form-data")
    html = check.get_data(as_text=True)
    assert check.status_code == 200
    assert re.search(r"<td>联赛</td><td class=\"num\">0</td><td class=\"num\">0</td><td class=\"num\">10</td>", html)
    assert re.search(r"<td>单位</td><td class=\"num\">0</td><td class=\"num\">0</td><td class=\"num\">56</td>", html)
    assert re.search(r"<td>用户</td><td class=\"num\">0</td><td class=\"num\">0</td><td class=\"num\">30</td>", html)
    audit_after_check = _count(AuditEntry)  # the login wrote one entry
    done = auth.post("/admin/orgchart/commit", _confirm_data(html), page="/admin/orgchart")
    assert done.status_code == 200
    assert "data:application/pdf" not in done.get_data(as_text=True)
    assert _count(AuditEntry) == audit_after_check and audit_after_check == audit_count + 1
    assert dict(db.session.execute(select(User.username, User.password_hash)).all()) == hashes


# -- checked, then all or nothing -------------------------------------------------------


def test_a_bad_file_is_refused_whole_with_sheet_row_column_and_value(app, client, auth):
    _admin()
    f.league("园区联赛")
    f.user("taken", roles=["unit_staff"])
    db.session.commit()
    leagues = [("乡镇联赛", "好的一行"), ("<b>坏</b>联赛", ""), ("乡镇联赛", "重名")]
    units = [("城关镇", "城关", "乡镇联赛", "王明", ""), ("上派镇", "上派", "无此联赛", "", ""),
             ("三" * 61, "", "", "", ""), ("桃花镇", "", "园区联赛", "李四", "城关")]
    users = [
        ("张三", "zhangsan", "城关", "经办人", "", "13800138000", ""),
        ("李四", "zhangsan", "城关镇", "经办人", "", "", ""),  # duplicate username
        ("王五", "", "无此单位", "经办人", "", "", ""),
        ("赵六", "", "城关镇", "局长", "", "", ""),  # unknown role
        ("钱七", "", "城关镇", "经办人", "", "2345", ""),  # not a mobile number
        ("孙八", "", "", "经办人", "", "", ""),  # unit staff need a unit
        ("周九", "", "城关镇", "经办人", "", "", "城关镇"),  # only leaders have units in charge
        ("吴十", "wu.shi", "城关镇", "领导", "<script>x</script>", "", ""),
        ("郑一", "", "城关镇", "=1+1", "", "", ""),  # a formula
    ]
    data = workbook(leagues, units, users, edit=lambda b: b["用户"].cell(10, 4).__setattr__("value", "=1+1"))
    auth.login("root")
    before = (_count(League), _count(Unit), _count(User), _count(AuditEntry))
    response = auth.post("/admin/orgchart/check", _upload("坏文件.xlsx", data), page="/admin/orgchart",
                         content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "文件未导入" in html and 'action="/admin/orgchart/commit"' not in html
    report = orgchart.check(data)
    found = {(p.sheet, p.row, p.column): p for p in report.problems}
    expect = {
        ("联赛", 3, "名称"): "HTML",
        ("联赛", 4, "名称"): "重名",
        ("单位", 3, "所属联赛"): "未知的联赛",
        ("单位", 4, "单位名称"): "不能超过 60 个字",
        ("单位", 5, "别名"): "是单位“城关镇”的简称",
        ("用户", 3, "用户名"): "重复",
        ("用户", 4, "单位"): "未知的单位",
        ("用户", 5, "角色"): "未知的角色",
        ("用户", 6, "手机"): "11 位",
        ("用户", 7, "单位"): "必须填写所属单位",
        ("用户", 8, "分管单位"): "只有领导",
        ("用户", 9, "职务"): "HTML",
        ("用户", 10, "角色"): "公式",
    }
    for where, words in expect.items():
        assert where in found, f"no problem at {where}: {[str(p) for p in report.problems]}"
        assert words in found[where].message, (where, found[where].message)
    assert found[("用户", 6, "手机")].value == "2345" and found[("用户", 6, "手机")].cell == "F6"
    assert found[("单位", 3, "所属联赛")].value == "无此联赛"
    assert len(report.problems) == len(expect)
    for p in report.problems:
        assert p.message in html
    assert "无此联赛" in html and "F6" in html
    assert "&lt;script&gt;" in html and "<script>x" not in html  # shown, escaped

    # a commit of the same file (a forged confirmation) is refused too, and writes nothing
    forged = {"content": base64.b64encode(data).decode(), "filename": "坏文件.xlsx", "fingerprint": report.fingerprint}
    again = auth.post("/admin/orgchart/commit", forged, page="/admin/orgchart")
    assert again.status_code == 422 and "文件未导入" in again.get_data(as_text=True)
    assert (_count(League), _count(Unit), _count(User), _count(AuditEntry)) == before


def test_a_change_after_the_dry_run_asks_for_a_new_confirmation(app, client, auth):
    _admin()
    data = workbook([("乡镇联赛", "")], [("城关镇", "城关", "乡镇联赛", "", "")], [("张三", "", "城关镇", "经办人", "", "", "")])
    auth.login("root")
    html = auth.post("/admin/orgchart/check", _upload("a.xlsx", data), page="/admin/orgchart",
                     content_type="multipart/form-data").get_data(as_text=True)
    f.league("乡镇联赛")  # someone else creates it meanwhile
    db.session.commit()
    response = auth.post("/admin/orgchart/commit", _confirm_data(html), page="/admin/orgchart")
    body = response.get_data(as_text=True)
    assert response.status_code == 409 and 'action="/admin/orgchart/commit"' in body
    assert _hidden(body, "fingerprint") != _hidden(html, "fingerprint")
    assert _count(Unit) == 0 and _count(League) == 1
    response = auth.post("/admin/orgchart/commit", _confirm_data(body), page="/admin/orgchart")
    assert response.status_code == 200 and _count(Unit) == 1 and _count(League) == 1


@pytest.mark.parametrize(("data", "status", "words"), [
    (b"", 422, "文件是空的"),
    (b"name,unit\n\xe5\xbc\xa0\xe4\xb8\x89,x\n", 422, "文本文件"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, 422, ".xls"),
    (b"PK\x03\x04" + b"\0" * 100, 422, "无法读取"),
])
def test_files_that_are_not_workbooks_are_refused_before_reading(app, client, auth, data, status, words):
    _admin()
    auth.login("root")
    response = auth.post("/admin/orgchart/check", _upload("x.xlsx", data), page="/admin/orgchart",
                         content_type="multipart/form-data")
    assert response.status_code == status
    assert words in response.get_data(as_text=True)


def test_a_file_over_20_mb_is_refused_with_413(app, client, auth):
    _admin()
    auth.login("root")
    token = auth.csrf("/admin/orgchart")
    # A hand-made body: the test client would spool a large one to a file it never closes.
    body = (b'--x\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n' + token.encode()
            + b'\r\n--x\r\nContent-Disposition: form-data; name="file"; filename="big.xlsx"\r\n'
            + b"Content-Type: application/octet-stream\r\n\r\n" + b"PK\x03\x04" + b"\0" * orgchart.MAX_BYTES
            + b"\r\n--x--\r\n")
    response = client.post("/admin/orgchart/check", data=body, content_type="multipart/form-data; boundary=x")
    assert response.status_code == 413 and "20 MB" in response.get_data(as_text=True)


def test_a_zip_bomb_is_refused(app, client, auth):
    _admin()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (50 * 1024 * 1024))
    auth.login("root")
    response = auth.post("/admin/orgchart/check", _upload("bomb.xlsx", out.getvalue()), page="/admin/orgchart",
                         content_type="multipart/form-data")
    assert response.status_code == 422 and "压缩炸弹" in response.get_data(as_text=True)
    assert _count(Unit) == 0


def test_a_damaged_confirmation_is_refused(app, client, auth):
    _admin()
    auth.login("root")
    response = auth.post("/admin/orgchart/commit", {"content": "!!!", "filename": "", "fingerprint": "x"},
                         page="/admin/orgchart")
    assert response.status_code == 422 and 'action="/admin/orgchart/check"' in response.get_data(as_text=True)


# -- reading what people really send -------------------------------------------------


def test_sheets_in_any_order_header_lower_down_spaces_and_full_width(app, clock):
    def shift(book):
        sheet = book["用户"]
        sheet.insert_rows(1, 2)  # two empty rows above the header
        sheet.insert_cols(1)  # and an empty column before it
    users = [(" 李　明 ", "ｌｉｍｉｎｇ", " 城关 ", "经办人，联系人 督查", " 党政办主任 ", "１３８ ００１３ ８０００", ""),
             ("王 芳", "", "城关镇政府", "领导", "", 13900139000, "城关、上派")]
    heads = {"用户": ["姓　名", " 用户名（可不填） ", "单位", "角色", "职务", "手机", "分管单位"],
             "单位": ["单位名称 ", "简称", "所属联赛", "主要负责人", "别名"]}
    data = workbook([("乡镇联赛", "")], [("城关镇人民政府", "城关", "乡镇联赛", "", "城关镇政府，城关镇"),
                                     ("上派镇人民政府", "上派", " 乡镇联赛 ", "", "")],
                    users, heads=heads, order=("用户", "单位", "联赛"), edit=shift)
    report = orgchart.check(data)
    assert report.ok, [str(p) for p in report.problems]
    orgchart.apply(None, report, clock=clock)
    db.session.commit()
    li = db.session.scalar(select(User).where(User.username == "liming"))
    assert li.display_name == "李明" and li.unit.name == "城关镇人民政府" and li.phone == "13800138000"
    assert li.roles == {"unit_staff", "contact", "supervisor"} and li.title == "党政办主任"
    wang = db.session.scalar(select(User).where(User.display_name == "王芳"))
    assert wang.phone == "13900139000" and {u.name for u in wang.units_in_charge} == {"城关镇人民政府", "上派镇人民政府"}
    assert db.session.scalar(select(Unit).where(Unit.name == "上派镇人民政府")).league.name == "乡镇联赛"


def test_existing_records_are_matched_and_updated_and_nothing_is_deleted(app, clock):
    league = f.league("园区联赛")
    kept = f.unit("不在文件里的单位")
    unit = f.unit("县发展和改革委员会", short_name="发改委", league=league)
    db.session.add(UnitAlias(unit=unit, name="县发改委"))
    by_name = f.user("zhang", roles=["contact"], unit=unit, display_name="张三")
    by_username = f.user("lisi", roles=["supervisor"], unit=kept, display_name="李四")
    db.session.commit()
    data = workbook(
        [("园区联赛", "开发区和园区")],
        [("县发改委", "", "", "陈局长", "发展改革委")],  # matched by its alias
        [("张三", "", "发改委", "经办人", "科长", "", ""),  # matched by name and unit; a role added
         ("李四（新）", "lisi", "县发展和改革委员会", "督查", "", "", "")],  # matched by username
    )
    report = orgchart.check(data)
    assert report.ok, [str(p) for p in report.problems]
    assert [i.action for i in report.units] == ["update"] and [i.action for i in report.users] == ["update", "update"]
    result = orgchart.apply(None, report, clock=clock)
    db.session.commit()
    assert (result.units_created, result.units_updated, result.users_created, result.users_updated) == (0, 1, 0, 2)
    assert unit.head_name == "陈局长" and unit.name == "县发展和改革委员会" and unit.short_name == "发改委"
    assert {a.name for a in unit.aliases} == {"发展改革委", "县发改委"}
    assert league.description == "开发区和园区"
    assert by_name.roles == {"contact", "unit_staff"} and by_name.title == "科长"
    assert by_username.display_name == "李四（新）" and by_username.unit_id == unit.id and by_username.roles == {"supervisor"}
    assert db.session.get(Unit, kept.id) is not None and _count(Unit) == 2 and _count(User) == 2
    assert not by_name.must_change_password  # only new accounts get one-time passwords


def test_generated_usernames_are_stable_and_free(app, clock):
    f.user("taken")
    db.session.commit()
    rows = [("张三", "", "城关镇", "经办人", "", "", ""), ("李四", "", "城关镇", "经办人", "", "", "")]
    first = [u.username for u in orgchart.check(workbook([], [("城关镇", "", "", "", "")], rows)).users]
    second = [u.username for u in orgchart.check(workbook([], [("城关镇", "", "", "", "")], rows[::-1])).users]
    assert first == second[::-1] and all(re.fullmatch(r"u\d{6}", u) for u in first)


def test_at_most_ten_leagues(app):
    for i in range(9):
        f.league(f"已有联赛{i}")
    db.session.commit()
    report = orgchart.check(workbook([("新联赛甲", ""), ("新联赛乙", "")], None, None))
    assert [(p.row, p.column) for p in report.problems] == [(3, "名称")]
    assert "最多 10 个联赛" in report.problems[0].message


def test_headers_that_do_not_fit_are_named(app):
    data = workbook(None, None, [("张三", "经办人")], heads={"用户": ["姓名", "岗位"]})
    problems = orgchart.check(data).problems
    assert {(p.sheet, p.row, p.column) for p in problems} == {("用户", 1, "B"), ("用户", 1, "角色")}


def test_an_unknown_sheet_with_content_is_refused(app):
    def extra(book):
        book.create_sheet("Sheet2").append(["随便写的"])
    problems = orgchart.check(workbook([("乡镇联赛", "")], None, None, edit=extra)).problems
    assert [p.sheet for p in problems] == ["Sheet2"]


def test_the_template_downloads_and_checks_clean(app, client, auth):
    _admin()
    auth.login("root")
    response = client.get("/admin/orgchart/template.xlsx")
    assert response.status_code == 200 and response.mimetype == orgchart.XLSX_MIMETYPE
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["联赛", "单位", "用户", "说明"]
    assert [c.value for c in book["用户"][1]] == USER_HEAD and [c.value for c in book["单位"][1]] == UNIT_HEAD
    assert [c.value for c in book["联赛"][1]] == LEAGUE_HEAD
    assert all(book[name].cell(2, 1).value and book[name].cell(3, 1).value is None for name in ("联赛", "单位", "用户"))
    report = orgchart.check(response.data)
    assert report.ok, [str(p) for p in report.problems]
    assert [report.counts(s)["create"] for s in ("leagues", "units", "users")] == [1, 1, 1]


def test_only_admins_reach_the_import(app, client, auth):
    f.user("sup", roles=["supervisor"])
    db.session.commit()
    auth.login("sup")
    assert client.get("/admin/orgchart").status_code == 403
    response = auth.post("/admin/orgchart/check", _upload("a.xlsx", workbook(*county(3))), page="/",
                         content_type="multipart/form-data")
    assert response.status_code == 403 and _count(Unit) == 0


# -- the command line ---------------------------------------------------------------------


def test_cli_check_writes_nothing_and_import_writes_the_password_sheet(app, runner, tmp_path):
    path = tmp_path / "county.xlsx"
    path.write_bytes(workbook(*county(12)))
    checked = runner.invoke(args=["users", "import", str(path), "--check"])
    assert checked.exit_code == 0, checked.output
    assert checked.output.strip().splitlines()[-1] == (
        "users import leagues_created=10 units_created=56 units_updated=0 users_created=12 users_updated=0")
    assert (_count(League), _count(Unit), _count(User), _count(AuditEntry)) == (0, 0, 0, 0)
    assert not list(tmp_path.glob("*.pdf"))

    done = runner.invoke(args=["users", "import", str(path)])
    assert done.exit_code == 0, done.output
    lines = done.output.strip().splitlines()
    assert lines[-1] == "users import leagues_created=10 units_created=56 units_updated=0 users_created=12 users_updated=0"
    sheet = tmp_path / "county-passwords.pdf"
    assert f"one-time passwords: {sheet}" in lines
    assert sheet.stat().st_mode & 0o077 == 0
    text = pdftotext(sheet.read_bytes())
    assert all(u.username in text for u in db.session.scalars(select(User)))
    assert (_count(League), _count(Unit), _count(User)) == (10, 56, 12)
    assert db.session.scalar(select(AuditEntry.actor_name).where(AuditEntry.action == "orgchart.import")) == "系统"

    again = runner.invoke(args=["users", "import", str(path)])
    assert again.exit_code == 0, again.output
    assert again.output.strip().splitlines()[-1] == (
        "users import leagues_created=0 units_created=0 units_updated=0 users_created=0 users_updated=0")


def test_cli_refuses_a_bad_file_with_every_reason(app, runner, tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(workbook([], [("城关镇", "", "无此联赛", "", "")], [("张三", "", "城关镇", "局长", "", "12", "")]))
    result = runner.invoke(args=["users", "import", str(path)])
    assert result.exit_code == 1
    assert "3 处问题" in result.output and "“单位”表第 2 行“所属联赛”列（C2）" in result.output
    assert "未知的角色“局长”" in result.output and "（内容：“12”）" in result.output
    assert _count(Unit) == 0 and not list(tmp_path.glob("*.pdf"))
    not_xlsx = tmp_path / "notes.xlsx"
    not_xlsx.write_text("姓名,单位\n")
    result = runner.invoke(args=["users", "import", str(not_xlsx)])
    assert result.exit_code == 1 and "文本文件" in result.output


def test_cli_will_not_overwrite_a_password_sheet(app, runner, tmp_path):
    path = tmp_path / "org.xlsx"
    path.write_bytes(workbook(*county(2)))
    (tmp_path / "org-passwords.pdf").write_bytes(b"%PDF-1.4 earlier passwords")
    result = runner.invoke(args=["users", "import", str(path)])
    assert result.exit_code == 1 and "already exists" in result.output
    assert _count(User) == 0 and (tmp_path / "org-passwords.pdf").read_bytes() == b"%PDF-1.4 earlier passwords"
