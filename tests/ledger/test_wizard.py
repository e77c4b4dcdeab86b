"""The ledger import wizard (/ledger/import): a real ledger through every step, refusals, saved mappings, the token."""

from __future__ import annotations

import io
import os
import re
import stat
import time
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from portal.core.extensions import db
from portal.ledger import wizard
from portal.ledger.services import MAX_BYTES
from portal.models import AuditEntry, LedgerMapping, Node, Project, Unit, UnitAlias, User
from tests import factories as f
from tests.ledger import real_ledgers
from tests.ledger.test_real_ledgers import qingxi  # noqa: F401 - the fixture

# -- helpers ---------------------------------------------------------------------------


@pytest.fixture
def county(app, qingxi, tmp_path):  # noqa: F811
    """清溪县 (test_real_ledgers), its name configured, a supervisor of the 督查室, kept uploads of this test's own."""
    app.config["JIEDIAN_COUNTY"] = "清溪县"
    app.instance_path = str(tmp_path / "instance")  # parallel tests never see each other's kept files
    f.user("ducha", roles=["supervisor"], unit=f.unit("县委县政府督查室"), display_name="李督查")
    db.session.commit()
    return qingxi


class _Form(HTMLParser):
    """The values a browser would send for the form posting to ``action`` (first option of a select by default)."""

    def __init__(self, action: str):
        super().__init__()
        self.action, self.inside, self.values = action, False, {}
        self._select: str | None = None
        self._first: str | None = None
        self.selects: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "file"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values[a["name"]] = a.get("value", "y")
            else:
                self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select, self._first = a["name"], None
            self.selects[a["name"]] = []
        elif tag == "option" and self._select:
            value = a.get("value", "")
            self.selects[self._select].append(value)
            if self._first is None:
                self._first = value
            if "selected" in a:
                self.values[self._select] = value

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            self.values.setdefault(self._select, self._first or "")
            self._select = None
        if tag == "form":
            self.inside = False


def form_of(html: str, action: str) -> dict[str, str]:
    parser = _Form(action)
    parser.feed(html)
    assert parser.values, f"no form posting to {action}"
    return parser.values


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def upload(client, data: bytes, name: str = "台账.xlsx", **fields):
    page = client.client.get("/ledger/import").get_data(as_text=True)
    values = {k: v for k, v in form_of(page, "/ledger/import/upload").items() if k != "create_units"}
    values.update({k: str(v) for k, v in fields.items()})
    if values.get("create_units") in ("", "False"):
        values.pop("create_units")
    return client.client.post("/ledger/import/upload", data={**values, "file": (io.BytesIO(data), name)},
                              content_type="multipart/form-data")


def post_step(client, path: str, **changes):
    """POST a step's form as the page shows it, with ``changes``."""
    page = client.client.get(path).get_data(as_text=True)
    values = form_of(page, path)
    values.update({k: str(v) for k, v in changes.items()})
    return client.client.post(path, data=values)


def session_state(client) -> dict | None:
    with client.client.session_transaction() as session:
        return session.get(wizard.SESSION_KEY)


def kept_file(app, state: dict) -> Path:
    return Path(app.instance_path) / wizard.FOLDER / f"{state['token']}.bin"


def counts() -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (Project, Node, UnitAlias, Unit, AuditEntry))


def commit_token(html: str) -> str:
    return form_of(html, "/ledger/import/commit")["token"]


def sheet_book(rows: list[list], header: list[str], title: str = "台账") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append(header)
    for values in rows:
        ws.append(values)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# -- the whole path ------------------------------------------------------------------


def test_the_whole_wizard_on_a_real_ledger_with_an_unknown_unit_resolved_and_committed(app, county, login_as):
    housing = county["县住房和城乡建设局"]
    housing.name = "县住房城乡建设局（人防办）"  # the ledger still writes 县住房和城乡建设局
    db.session.commit()
    ducha = login_as("ducha")
    assert "/ledger/import" in ducha.client.get("/ledger").get_data(as_text=True)  # linked from /ledger
    before = counts()

    # 1. Upload: the file is kept on the server (0600), the token in the session.
    response = upload(ducha, real_ledgers.merged_two_row_header(), "清溪县重点项目台账.xlsx")
    assert response.status_code == 303 and response.headers["Location"].endswith("/ledger/import/layout")
    state = session_state(ducha)
    path = kept_file(app, state)
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert state["filename"] == "清溪县重点项目台账.xlsx" and "data" not in state

    # 2. Layout: the header rows, letters, headers as written, fields, rows left out and why.
    page = text(ducha.client.get("/ledger/import/layout"))
    assert "产业项目" in page and "清溪县2026年重点项目节点任务台账" in page  # the sheet and its title
    for shown in ("节点内容", "完成时限", "县住房和城乡建设局", "合计行", "表尾说明", ">K<"):
        assert shown in page, shown
    assert "取得施工许可证" in page and "2026-12-20" in page  # a data row, a date cell shown as a date

    # 3. Columns: prefilled from the detection; continuing keeps them.
    columns = text(ducha.client.get("/ledger/import/columns"))
    values = form_of(columns, "/ledger/import/columns")
    assert {v for k, v in values.items() if k.startswith("col_")} >= {"title", "unit", "deadline", "standard", "name"}
    response = post_step(ducha, "/ledger/import/columns", action="next")
    assert response.status_code == 303 and response.headers["Location"].endswith("/ledger/import/units")

    # 4. Units: the unknown name, the rows it is on, the suggestion; choose it.
    units = text(ducha.client.get("/ledger/import/units"))
    assert "县住房和城乡建设局" in units and "县住房城乡建设局（人防办）" in units
    values = form_of(units, "/ledger/import/units")
    names = [k for k in values if k.startswith("unit_")]
    assert len(names) == 1 and values[names[0]] == ""  # nothing chosen for the user
    response = post_step(ducha, "/ledger/import/units", **{names[0]: housing.id, "action": "next"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/ledger/import/people")
    assert session_state(ducha)["units"] == {"县住房和城乡建设局": housing.id}

    # 5. People: everyone here has an account.
    assert ducha.client.get("/ledger/import/people").status_code == 200

    # 6. Dry run: the exact counts, the alias to add, the commit button; still nothing written.
    check = text(ducha.client.get("/ledger/import/check"))
    assert 'action="/ledger/import/commit"' in check
    assert "县住房城乡建设局（人防办）" in check
    assert re.search(r"<strong>2</strong>\s*<small>", check)  # two projects created
    assert counts() == before

    # 7. Commit: one transaction, audited, the file deleted, the session closed.
    response = ducha.client.post("/ledger/import/commit", data={"csrf_token": ducha.csrf("/ledger/import/check"),
                                                                "token": commit_token(check)})
    assert response.status_code == 303 and response.headers["Location"].endswith("/ledger/import/done")
    assert db.session.scalar(select(func.count(Project.id))) == 2
    assert db.session.scalar(select(func.count(Node.id))) == 5
    permit = db.session.scalar(select(Node).where(Node.title == "取得施工许可证"))
    assert permit.unit_id == housing.id
    alias = db.session.scalar(select(UnitAlias).where(UnitAlias.name == "县住房和城乡建设局"))
    assert alias is not None and alias.unit_id == housing.id
    supervisor = db.session.scalar(select(User.id).where(User.username == "ducha"))
    actions = {a for (a,) in db.session.execute(select(AuditEntry.action).where(AuditEntry.actor_id == supervisor))}
    assert {"ledger.import", "unit.alias", "setting.go_live"} <= actions
    assert not path.exists() and session_state(ducha) is None
    done = text(ducha.client.get("/ledger/import/done"))
    assert f"/units/{housing.id}/board" in done and "/dashboard" in done
    # The wizard is over: its steps send the browser back to the upload page.
    response = ducha.client.get("/ledger/import/check")
    assert response.status_code == 303 and response.headers["Location"].endswith("/ledger/import")


def test_people_without_an_account_in_their_unit_are_kept_by_name(app, county, login_as):
    db.session.scalar(select(User).where(User.display_name == "李明")).display_name = "李明远"  # no account named 李明
    db.session.commit()
    ducha = login_as("ducha")
    upload(ducha, real_ledgers.merged_two_row_header())
    page = text(ducha.client.get("/ledger/import/people"))
    assert "县水务局" in page and "李明" in page and "8–9" in page
    ducha.client.post("/ledger/import/commit", data={
        "csrf_token": ducha.csrf("/ledger/import/check"), "token": session_state(ducha)["token"]})
    node = db.session.scalar(select(Node).where(Node.title == "通水试运行"))
    assert node.responsible_user_id is None and node.responsible_name == "李明"


def test_accounts_are_created_on_request_with_one_time_passwords_shown_once(app, county, login_as):
    db.session.scalar(select(User).where(User.display_name == "李明")).display_name = "李明远"  # no account named 李明
    db.session.commit()
    ducha = login_as("ducha")
    upload(ducha, real_ledgers.merged_two_row_header())
    page = text(ducha.client.get("/ledger/import/people"))
    form = form_of(page, "/ledger/import/people")
    boxes = sorted(k for k in form if k.startswith("person_"))
    assert boxes == []  # none asked yet: every box is off
    parser = _Form("/ledger/import/people")
    parser.feed(page)
    # Tick the box of 李明 (县水务局) only.
    row = re.search(r'<th scope="row">李明</th>.*?name="(person_\d+)"', page, re.S)
    assert row, page[-3000:]
    response = post_step(ducha, "/ledger/import/people", **{row.group(1): "y", "action": "apply"})
    assert response.status_code == 303
    assert session_state(ducha)["accounts"] == [["县水务局", "李明"]]
    again = text(ducha.client.get("/ledger/import/people"))
    assert "县水务局" in again and re.search(rf'<input checked[^>]*name="{row.group(1)}"', again)
    check = text(ducha.client.get("/ledger/import/check"))
    assert re.search(r"账号</span><strong>1</strong>", check) or "Accounts</span><strong>1" in check
    before_users = db.session.scalar(select(func.count()).select_from(User))
    assert db.session.scalar(select(func.count()).select_from(User)) == before_users  # the dry run keeps nothing
    response = ducha.client.post("/ledger/import/commit", data={
        "csrf_token": ducha.csrf("/ledger/import/check"), "token": commit_token(check)})
    assert response.status_code == 200  # the passwords are in this answer only, not behind a redirect
    done = text(response)
    assert "data:application/pdf;base64," in done
    new = db.session.scalar(select(User).where(User.display_name == "李明", User.unit_id == county["县水务局"].id))
    assert new is not None and new.must_change_password and new.roles == {"unit_staff"}
    assert re.fullmatch(r"u\d{6}", new.username) and new.username in done
    password = re.search(rf"{new.username}</td><td><code>([A-Za-z0-9]+)</code>", done).group(1)
    node = db.session.scalar(select(Node).where(Node.title == "通水试运行"))
    assert node.responsible_user_id == new.id and node.responsible_name == ""
    actions = {a for (a,) in db.session.execute(select(AuditEntry.action).where(AuditEntry.object_id == new.id,
                                                                               AuditEntry.object_type == "user"))}
    assert {"user.create", "user.roles"} <= actions
    # The password is nowhere but that page: not in the session, not in the audit log.
    assert password not in str(ducha.client.get("/ledger/import/done").get_data(as_text=True))
    assert not db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.after.cast(db.String).contains(password)))
    # The new person logs in with it and is made to change it.
    ducha.client.post("/logout", data={"csrf_token": ducha.csrf("/")})
    login = ducha.client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
    response = ducha.client.post("/login", data={"csrf_token": token, "username": new.username, "password": password})
    assert response.status_code == 302 and "/password" in response.headers["Location"]


def test_all_accounts_at_once_and_the_same_ledger_again_creates_none(app, county, login_as):
    db.session.scalar(select(User).where(User.display_name == "李明")).display_name = "李明远"
    db.session.commit()
    ducha = login_as("ducha")
    upload(ducha, real_ledgers.merged_two_row_header())
    post_step(ducha, "/ledger/import/people", action="all")
    asked = session_state(ducha)["accounts"]
    assert ["县水务局", "李明"] in asked
    check = text(ducha.client.get("/ledger/import/check"))
    response = ducha.client.post("/ledger/import/commit", data={
        "csrf_token": ducha.csrf("/ledger/import/check"), "token": commit_token(check)})
    assert response.status_code == 200
    users = db.session.scalar(select(func.count()).select_from(User))
    # The next import of the same ledger finds the accounts by name in their units: nobody is left without one.
    upload(ducha, real_ledgers.merged_two_row_header())
    page = text(ducha.client.get("/ledger/import/people"))
    assert "李明" not in re.sub(r"李明远", "", page.split("people-table")[-1]) or "people-table" not in page
    check = text(ducha.client.get("/ledger/import/check"))
    ducha.client.post("/ledger/import/commit", data={
        "csrf_token": ducha.csrf("/ledger/import/check"), "token": commit_token(check)})
    assert db.session.scalar(select(func.count()).select_from(User)) == users


def test_a_people_form_for_other_names_is_refused_with_409(app, county, login_as):
    db.session.scalar(select(User).where(User.display_name == "李明")).display_name = "李明远"
    db.session.commit()
    ducha = login_as("ducha")
    upload(ducha, real_ledgers.merged_two_row_header())
    page = text(ducha.client.get("/ledger/import/people"))
    values = form_of(page, "/ledger/import/people")
    values["names"] = "0" * 16
    response = ducha.client.post("/ledger/import/people", data={**values, "action": "all"})
    assert response.status_code == 409 and session_state(ducha)["accounts"] == []


def test_one_unknown_unit_is_created_and_another_refused_by_name(app, county, login_as):
    header = ["项目名称", "责任单位", "节点任务", "完成时限", "销号标准"]
    rows = [["城南污水处理厂扩建", "县城市更新中心", "完成设备招标", "2026-10-31", "签订合同"],
            ["城南污水处理厂扩建", "县数据资源局", "完成平台上线", "2026-11-30", "平台运行"]]
    ducha = login_as("ducha")
    upload(ducha, sheet_book(rows, header), category="城市建设")
    page = text(ducha.client.get("/ledger/import/units"))
    values = form_of(page, "/ledger/import/units")
    parser = _Form("/ledger/import/units")
    parser.feed(page)
    first = re.search(r'<label for="(unit_\d+)">县城市更新中心</label>', page).group(1)
    second = re.search(r'<label for="(unit_\d+)">县数据资源局</label>', page).group(1)
    assert "new" in parser.selects[first]
    response = post_step(ducha, "/ledger/import/units", **{first: "new", "action": "next"})
    assert response.status_code == 303 and session_state(ducha)["new_units"] == ["县城市更新中心"]
    assert values[second] == ""
    check = text(ducha.client.get("/ledger/import/check"))
    assert "没有名为“县数据资源局”的单位" in check and "县城市更新中心" not in check.split("没有名为")[-1][:40]
    assert 'action="/ledger/import/commit"' not in check
    # Chosen “create” for the second too: both are created, nothing else.
    post_step(ducha, "/ledger/import/units", **{first: "new", second: "new", "action": "next"})
    check = text(ducha.client.get("/ledger/import/check"))
    before = db.session.scalar(select(func.count()).select_from(Unit))
    ducha.client.post("/ledger/import/commit", data={"csrf_token": ducha.csrf("/ledger/import/check"),
                                                     "token": commit_token(check)})
    assert db.session.scalar(select(func.count()).select_from(Unit)) == before + 2
    assert {n for (n,) in db.session.execute(select(Unit.name).where(Unit.name.in_(["县城市更新中心", "县数据资源局"])))} \
        == {"县城市更新中心", "县数据资源局"}


# -- the dry run refusing --------------------------------------------------------------


def test_the_dry_run_refuses_a_bad_date_with_the_row_letter_and_value_and_collapses_repeats(app, county, login_as):
    header = ["项目名称", "责任单位", "节点任务", "完成时限", "销号标准"]
    rows = [["城南污水处理厂扩建", "县水务局", "完成设备招标", "2026年2月30日", "签订合同"]]
    rows += [["城南污水处理厂扩建", "县水务局", f"第{i}批管网", "2026-10-31", None] for i in range(1, 6)]
    ducha = login_as("ducha")
    before = counts()
    response = upload(ducha, sheet_book(rows, header), category="城市建设")
    assert response.status_code == 303
    check = text(ducha.client.get("/ledger/import/check"))
    assert 'action="/ledger/import/commit"' not in check  # no commit button
    assert "/ledger/import/columns" in check and "/ledger/import/units" in check  # back to the steps
    bad = re.search(r"<tr>\s*<td>台账</td>\s*<td class=\"nowrap\">(?:第 |Row )2(?: 行)?</td>\s*<td class=\"nowrap\">D</td>\s*"
                    r"<td>完成时限</td>\s*<td>日期格式不正确[^<]*", check)
    assert bad, check[-4000:]
    assert "2026年2月30日" in check  # the bad value
    repeated = re.search(r"<td class=\"nowrap\">[^<]*3–7[^<]*\(?（?5[^<]*</td>\s*<td class=\"nowrap\">E</td>\s*"
                         r"<td>销号标准</td>\s*<td>必填，不能为空。", check)
    assert repeated, check[-4000:]
    assert check.count("必填，不能为空。") == 1  # five problems, one line
    assert "城南污水处理厂扩建" in check  # the project they are collapsed under
    # Committing anyway is refused the same way, and nothing is written.
    response = ducha.client.post("/ledger/import/commit", data={
        "csrf_token": ducha.csrf("/ledger/import/check"), "token": session_state(ducha)["token"]})
    assert response.status_code == 422 and "2026年2月30日" in text(response)
    assert counts() == before
    assert session_state(ducha) is not None  # still there to be corrected


def test_an_unknown_unit_left_alone_is_refused_with_its_rows_and_created_when_asked(app, county, login_as):
    db.session.delete(county["县水务局"])
    db.session.commit()
    ducha = login_as("ducha")
    upload(ducha, real_ledgers.merged_two_row_header())
    units = text(ducha.client.get("/ledger/import/units"))
    assert "县水务局" in units and ("暂不处理" in units or "Leave it" in units)
    check = text(ducha.client.get("/ledger/import/check"))
    assert "没有名为“县水务局”的单位" in check and 'action="/ledger/import/commit"' not in check
    # The option for the whole import: every name left without a unit is created (one by one: see below).
    response = post_step(ducha, "/ledger/import/units", create_units="y", action="next")
    assert response.status_code == 303 and session_state(ducha)["create_units"] is True
    check = text(ducha.client.get("/ledger/import/check"))
    assert 'action="/ledger/import/commit"' in check
    ducha.client.post("/ledger/import/commit", data={"csrf_token": ducha.csrf("/ledger/import/check"),
                                                     "token": commit_token(check)})
    assert db.session.scalar(select(Unit).where(Unit.name == "县水务局")) is not None


# -- columns and saved mappings -------------------------------------------------------


def office_ledger() -> bytes:
    """A ledger whose unit and standard columns use words no synonym knows."""
    header = ["项目名称", "主办科室", "节点任务", "完成时限", "达标要求", "联系人"]
    rows = [["县城供热管网改造", "县住房和城乡建设局", "完成管道采购", "2026-05-31", "采购合同签订", "孙丽"],
            ["县城供热管网改造", "县住房和城乡建设局", "完成管道铺设", "2026-10-31", "打压试验合格", "孙丽"]]
    return sheet_book(rows, header, title="城市建设")


def test_columns_are_mapped_saved_under_a_name_and_the_mapping_reused(app, county, login_as):
    ducha = login_as("ducha")
    upload(ducha, office_ledger())
    layout = text(ducha.client.get("/ledger/import/layout"))
    assert "责任单位" in layout and "销号标准" in layout  # named as missing required fields
    columns = text(ducha.client.get("/ledger/import/columns"))
    values = form_of(columns, "/ledger/import/columns")
    by_header = {}
    for name in (k for k in values if k.startswith("col_")):
        label = re.search(rf'<label for="{name}">([^<]+)</label>', columns).group(1)
        by_header[label] = name
    # Going on with required fields missing is refused, with the fields named.
    response = post_step(ducha, "/ledger/import/columns", action="next")
    assert response.status_code == 422 and "责任单位" in text(response)
    # A field twice in one sheet is refused.
    response = post_step(ducha, "/ledger/import/columns", **{by_header["主办科室"]: "title", "action": "apply"})
    assert response.status_code == 422 and "B、C" in text(response)
    before = db.session.scalar(select(func.count(AuditEntry.id)))
    response = post_step(ducha, "/ledger/import/columns", **{
        by_header["主办科室"]: "unit", by_header["达标要求"]: "standard", "save_name": "住建科室台账", "action": "next"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/ledger/import/units")
    saved = db.session.scalar(select(LedgerMapping).where(LedgerMapping.name == "住建科室台账"))
    assert saved.mapping["columns"]["主办科室"] == "unit" and saved.mapping["columns"]["达标要求"] == "standard"
    assert saved.created_by_id == db.session.scalar(select(User.id).where(User.username == "ducha"))
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "ledger_mapping.create"))
    assert entry is not None and db.session.scalar(select(func.count(AuditEntry.id))) == before + 1
    # The same name again is refused.
    response = post_step(ducha, "/ledger/import/columns", save_name="住建科室台账", action="apply")
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(LedgerMapping.id))) == 1

    # Reused: a new upload with the saved mapping reads the columns without being told again.
    ducha.client.post("/ledger/import/cancel", data={"csrf_token": ducha.csrf("/ledger/import"),
                                                     "token": session_state(ducha)["token"]})
    response = upload(ducha, office_ledger(), saved_mapping="住建科室台账")
    assert response.status_code == 303
    assert session_state(ducha)["mapping"]["主办科室"] == "unit"
    assert 'class="form-errors"' not in text(ducha.client.get("/ledger/import/layout"))  # nothing missing
    check = text(ducha.client.get("/ledger/import/check"))
    assert 'action="/ledger/import/commit"' in check, check[-3000:]
    ducha.client.post("/ledger/import/commit", data={"csrf_token": ducha.csrf("/ledger/import/check"),
                                                     "token": commit_token(check)})
    pipe = db.session.scalar(select(Node).where(Node.title == "完成管道铺设"))
    assert pipe.standard == "打压试验合格" and pipe.unit.name == "县住房和城乡建设局"


def test_a_header_detection_reads_differently_per_sheet_needs_no_choice(app, county, login_as):
    """牵头单位 is the lead unit beside a 责任单位 column and the node's unit without one: continuing keeps both."""
    wb = Workbook()
    first = wb.active
    first.title = "城市建设"
    first.append(["项目名称", "牵头单位", "责任单位", "节点任务", "完成时限", "销号标准"])
    first.append(["老城区雨污分流管网改造", "县住房和城乡建设局", "县水务局", "完成管网铺设", "2026-11-30", "管网验收合格"])
    second = wb.create_sheet("乡村振兴")
    second.append(["项目名称", "牵头单位", "节点任务", "完成时限", "销号标准"])
    second.append(["集贤路乡村振兴示范带", "清溪镇", "完成村庄规划", "2026-04-30", "规划通过"])
    out = io.BytesIO()
    wb.save(out)
    ducha = login_as("ducha")
    upload(ducha, out.getvalue())
    response = post_step(ducha, "/ledger/import/columns", save_name="两种牵头单位", action="next")
    assert response.status_code == 303, text(response)[-2000:]
    assert session_state(ducha)["mapping"] is None  # nothing changed: detection reads each sheet
    saved = db.session.scalar(select(LedgerMapping).where(LedgerMapping.name == "两种牵头单位")).mapping["columns"]
    assert "牵头单位" not in saved and saved["责任单位"] == "unit" and saved["节点任务"] == "title"
    check = text(ducha.client.get("/ledger/import/check"))
    ducha.client.post("/ledger/import/commit", data={"csrf_token": ducha.csrf("/ledger/import/check"),
                                                     "token": commit_token(check)})
    planning = db.session.scalar(select(Node).where(Node.title == "完成村庄规划"))
    assert planning.unit.name == "清溪镇"
    pipes = db.session.scalar(select(Node).where(Node.title == "完成管网铺设"))
    assert pipes.unit.name == "县水务局" and pipes.project.lead_unit.name == "县住房和城乡建设局"


def test_one_sheet_can_be_chosen(app, county, login_as):
    ducha = login_as("ducha")
    upload(ducha, real_ledgers.first_row_only_several_sheets())
    response = post_step(ducha, "/ledger/import/columns", sheet="乡村振兴", action="next")
    assert response.status_code == 303
    layout = text(ducha.client.get("/ledger/import/layout"))
    assert "城市建设" in layout and "乡村振兴" in layout
    check = text(ducha.client.get("/ledger/import/check"))
    ducha.client.post("/ledger/import/commit", data={"csrf_token": ducha.csrf("/ledger/import/check"),
                                                     "token": commit_token(check)})
    assert {p.name for p in db.session.scalars(select(Project))} == {"集贤路乡村振兴示范带"}


@pytest.mark.parametrize("name", ["libreoffice-sheets.xls", "libreoffice.ods"])
def test_old_excel_and_opendocument_files_go_through_the_wizard(app, county, login_as, name):
    """An .xls (WPS, old Excel) and an .ods (LibreOffice) are read like an .xlsx: the layout shows their sheets."""
    ducha = login_as("ducha")
    data = (Path(__file__).parent / "fixtures" / name).read_bytes()
    assert upload(ducha, data, name=name).status_code == 303
    layout = text(ducha.client.get("/ledger/import/layout"))
    sheets = ("城市建设", "乡村振兴") if name.endswith(".xls") else ("产业项目",)
    assert all(sheet in layout for sheet in sheets)
    if name.endswith(".xls"):
        post_step(ducha, "/ledger/import/columns", sheet="乡村振兴", action="next")
        check = text(ducha.client.get("/ledger/import/check"))
        ducha.client.post("/ledger/import/commit", data={"csrf_token": ducha.csrf("/ledger/import/check"),
                                                         "token": commit_token(check)})
        assert {p.name for p in db.session.scalars(select(Project))} == {"集贤路乡村振兴示范带"}


# -- the session token, lost sessions, kept files ---------------------------------------------


def test_a_token_from_a_form_must_be_the_sessions(app, county, login_as):
    f.user("ducha2", roles=["supervisor"], unit=f.unit("县纪委监委"))
    db.session.commit()
    ducha, other = login_as("ducha"), login_as("ducha2")
    before = counts()
    upload(ducha, real_ledgers.merged_two_row_header())
    first = session_state(ducha)["token"]
    # Another session cannot use it: it has no import (400), and its steps lead back to the upload page.
    response = other.client.post("/ledger/import/commit", data={"csrf_token": other.csrf("/ledger/import"),
                                                                "token": first})
    assert response.status_code == 400
    response = other.client.get("/ledger/import/layout")
    assert response.status_code == 303 and response.headers["Location"].endswith("/ledger/import")
    # A made-up or missing token is refused.
    token = ducha.csrf("/ledger/import/check")
    assert ducha.client.post("/ledger/import/commit", data={"csrf_token": token, "token": "0" * 32}).status_code == 409
    assert ducha.client.post("/ledger/import/commit", data={"csrf_token": token}).status_code == 422
    assert ducha.client.post("/ledger/import/commit", data={"csrf_token": token,
                                                            "token": "../../etc/passwd"}).status_code == 409
    # A new upload replaces the import: the first file is deleted, a page of it is refused (409).
    first_path = kept_file(app, session_state(ducha))
    upload(ducha, real_ledgers.csv_gbk(), "台账.csv", category="城市建设")
    assert not first_path.exists()
    response = ducha.client.post("/ledger/import/commit", data={"csrf_token": token, "token": first})
    assert response.status_code == 409
    response = ducha.client.post("/ledger/import/cancel", data={"csrf_token": token, "token": first})
    assert response.status_code == 409 and kept_file(app, session_state(ducha)).exists()
    assert counts() == before


def test_cancel_deletes_the_file_and_old_files_go_when_a_new_upload_starts(app, county, login_as):
    ducha = login_as("ducha")
    folder = Path(app.instance_path) / wizard.FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    old, recent = folder / ("a" * 32 + ".bin"), folder / ("b" * 32 + ".bin")
    for path in (old, recent):
        path.write_bytes(b"left over")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    upload(ducha, real_ledgers.merged_two_row_header())
    assert not old.exists() and recent.exists()
    recent.unlink()
    path = kept_file(app, session_state(ducha))
    response = ducha.client.post("/ledger/import/cancel", data={"csrf_token": ducha.csrf("/ledger/import"),
                                                                "token": session_state(ducha)["token"]})
    assert response.status_code == 303 and not path.exists() and session_state(ducha) is None


def test_a_kept_file_older_than_a_day_is_refused_and_deleted(app, county, login_as):
    ducha = login_as("ducha")
    upload(ducha, real_ledgers.merged_two_row_header())
    path = kept_file(app, session_state(ducha))
    two_days_ago = time.time() - 2 * 86400
    os.utime(path, (two_days_ago, two_days_ago))
    response = ducha.client.get("/ledger/import/check")
    assert response.status_code == 404
    assert "重新上传" in text(response) or "Upload the ledger again" in text(response)
    assert not path.exists() and session_state(ducha) is None


# -- bad uploads -------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "name", "status", "says"), [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "旧台账.xls", 422, "旧版 Excel"),
    (b"", "空.xlsx", 422, "文件是空的"),
    (b"<html><body>table</body></html>", "网页.xls", 422, "网页"),
    ("序号,备注\n1,2\n".encode(), "没有数据.csv", 422, "没有可导入的数据行"),
    ("说明\n本表每月更新\n".encode(), "没有表头.csv", 422, "找不到表头"),
])
def test_a_refused_upload_says_why_and_keeps_nothing(app, county, login_as, data, name, status, says):
    ducha = login_as("ducha")
    folder = Path(app.instance_path) / wizard.FOLDER
    kept = set(folder.glob("*.bin")) if folder.exists() else set()
    response = upload(ducha, data, name)
    assert response.status_code == status
    assert says in text(response)
    assert session_state(ducha) is None
    assert (set(folder.glob("*.bin")) if folder.exists() else set()) == kept


def test_a_file_over_20_mb_is_refused_with_413(app, county, login_as):
    ducha = login_as("ducha")
    token = ducha.csrf("/ledger/import")
    # A hand-made body: the test client would spool a large one to a file it never closes.
    body = (b'--x\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n' + token.encode()
            + b'\r\n--x\r\nContent-Disposition: form-data; name="file"; filename="big.xlsx"\r\n'
            + b"Content-Type: application/octet-stream\r\n\r\n" + b"PK\x03\x04" + b"\0" * MAX_BYTES + b"\r\n--x--\r\n")
    response = ducha.client.post("/ledger/import/upload", data=body, content_type="multipart/form-data; boundary=x")
    assert response.status_code == 413 and "20 MB" in text(response)
    assert session_state(ducha) is None


def test_a_go_live_date_other_than_the_countys_is_refused(app, county, login_as, clock):
    from portal.admin.services import set_go_live_on

    set_go_live_on(None, clock.today(), now=clock.now())
    db.session.commit()
    ducha = login_as("ducha")
    response = upload(ducha, real_ledgers.merged_two_row_header(), go_live="2026-01-01")
    assert response.status_code == 422 and session_state(ducha) is None
    assert upload(ducha, real_ledgers.merged_two_row_header()).status_code == 303  # the county's, prefilled


def test_staff_cannot_use_the_wizard(app, county, login_as):
    staff = login_as("user1")
    assert staff.client.get("/ledger/import").status_code == 403
    assert staff.client.get("/ledger/import/check").status_code == 403


# -- in Chromium, as a supervisor sees it ---------------------------------------------------


def _fits(page) -> None:
    """Nothing wider than the window: wide tables scroll inside their own box."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


@pytest.mark.browser
def test_the_wizard_in_chromium_at_1366_px(app, county, tmp_path):
    from tests.browser import ConsoleWatch, chromium, live_server, login, screenshot

    housing = county["县住房和城乡建设局"]
    housing.name = "县住房城乡建设局（人防办）"
    db.session.scalar(select(User).where(User.display_name == "李明")).display_name = "李明远"
    db.session.commit()
    ledger = tmp_path / "清溪县2026年重点项目节点任务台账.xlsx"
    ledger.write_bytes(real_ledgers.merged_two_row_header())
    with live_server(app) as base, chromium() as browser:
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        watch = ConsoleWatch(context)
        page = context.new_page()
        login(page, base, "ducha")
        page.goto(f"{base}/ledger")
        page.click('a[href="/ledger/import"]')

        # 1. Upload
        page.wait_for_selector("form[action='/ledger/import/upload']")
        page.set_input_files("#file", str(ledger))
        _fits(page)
        screenshot(page, "wizard-1-upload")
        page.click("form[action='/ledger/import/upload'] button[type=submit]")

        # 2. Layout: the two-row header read, the rows left out listed.
        page.wait_for_url("**/ledger/import/layout")
        assert page.locator("table.sample tbody tr").count() == 5
        assert "合计行" in page.inner_text("main") and "表尾说明" in page.inner_text("main")
        _fits(page)
        screenshot(page, "wizard-2-layout")
        page.click("a[href='/ledger/import/columns'].button")

        # 3. Columns, prefilled from the detection.
        page.wait_for_url("**/ledger/import/columns")
        assert page.locator("select.field-select").count() == 11
        _fits(page)
        screenshot(page, "wizard-3-columns")
        page.locator("button[value=next]").scroll_into_view_if_needed()
        screenshot(page, "wizard-3-columns-apply")
        page.click("button[value=next]")

        # 4. Units: the unknown name with its suggestion; left alone at first.
        page.wait_for_url("**/ledger/import/units")
        row = page.locator("table.units-table tbody tr")
        assert row.count() == 1 and "县住房城乡建设局（人防办）" in row.inner_text()
        _fits(page)
        screenshot(page, "wizard-4-units")
        page.click("button[value=next]")

        # 5. People: 李明 has no account in 县水务局.
        page.wait_for_url("**/ledger/import/people")
        assert "李明" in page.inner_text("table.people-table")
        _fits(page)
        screenshot(page, "wizard-5-people")
        page.click("button[value=next]")

        # 6. The dry run refuses the rows of the name left alone, and offers no import.
        page.wait_for_url("**/ledger/import/check")
        assert page.locator("table.problems tbody tr").count() >= 1
        assert page.locator("form[action='/ledger/import/commit']").count() == 0
        _fits(page)
        screenshot(page, "wizard-6-dry-run-refused")

        # Back to the units: choose the suggestion, and the dry run passes.
        page.click(".wizard-steps a[href='/ledger/import/units']")
        page.select_option("select.unit-select", str(housing.id))
        page.click("button[value=next]")
        page.wait_for_url("**/ledger/import/people")
        page.check("table.people-table input[type=checkbox]")  # 李明 gets an account
        page.click("button[value=next]")
        page.wait_for_url("**/ledger/import/check")
        assert page.locator("form[action='/ledger/import/commit']").count() == 1
        assert db.session.scalar(select(func.count(Project.id))) == 0  # still nothing written
        _fits(page)
        screenshot(page, "wizard-6-dry-run")

        # 7. Import.
        page.click("form[action='/ledger/import/commit'] button[type=submit]")
        page.wait_for_url("**/ledger/import/commit")  # the one-time passwords are in this answer only
        assert "李明" in page.text_content("table.passwords")
        _fits(page)
        screenshot(page, "wizard-7-done")
        assert f"/units/{housing.id}/board" in page.content()

        # Another ledger, with a bad date and a column left empty on five rows: the problem list.
        bad = tmp_path / "城南污水处理厂.xlsx"
        header = ["项目名称", "责任单位", "节点任务", "完成时限", "销号标准"]
        rows = [["城南污水处理厂扩建", "县水务局", "完成设备招标", "2026年2月30日", "签订合同"]]
        rows += [["城南污水处理厂扩建", "县水务局", f"第{i}批管网铺设", "2026-10-31", None] for i in range(1, 6)]
        rows += [["城东学校", "县教育局", "主体封顶", "2026-09-30", "通过验收"]]
        bad.write_bytes(sheet_book(rows, header))
        page.click("a[href='/ledger/import'].button")
        page.set_input_files("#file", str(bad))
        page.select_option("#category", "城市建设")
        page.click("form[action='/ledger/import/upload'] button[type=submit]")
        page.wait_for_url("**/ledger/import/layout")
        page.goto(f"{base}/ledger/import/check")
        assert page.locator("table.problems tbody tr").count() == 3
        _fits(page)
        screenshot(page, "wizard-6-dry-run-problems")
        context.close()
    assert watch.errors == [], watch.errors
    assert db.session.scalar(select(func.count(Project.id))) == 2
    assert db.session.scalar(select(UnitAlias.unit_id).where(UnitAlias.name == "县住房和城乡建设局")) == housing.id
