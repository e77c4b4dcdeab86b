"""The organisation workbook's format: sheets, columns, roles and limits.

Three sheets, in any order: 联赛 (leagues), 单位 (units) and 用户 (users), each
with its header on its first non-empty row, plus a 说明 sheet that is never
read. The limits of the file itself are the ledger import's.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.ledger.columns import MAX_BYTES as MAX_BYTES
from portal.ledger.columns import MAX_ROWS as MAX_ROWS
from portal.ledger.columns import SHOWN_PROBLEMS as SHOWN_PROBLEMS
from portal.ledger.columns import XLSX_MIMETYPE as XLSX_MIMETYPE

HELP_SHEET = "说明"
MAX_LEAGUES = 10  # as portal.admin.services.MAX_LEAGUES ("十大联赛")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool
    max_len: int | None
    width: int
    help: str
    example: str = ""


@dataclass(frozen=True)
class Sheet:
    key: str  # leagues, units, users
    title: str  # the sheet's name in the workbook
    columns: tuple[Column, ...]

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


LEAGUES = Sheet("leagues", "联赛", (
    Column("name", "名称", True, 40, 24, "联赛名称，最多 40 字；全县最多 10 个联赛。系统中已有同名联赛的将被更新。", "乡镇联赛(一)"),
    Column("description", "说明", False, 200, 40, "可不填，最多 200 字。", "县城周边及城镇化较快的乡镇"),
))

UNITS = Sheet("units", "单位", (
    Column("name", "单位名称", True, 60, 30, "单位全称，最多 60 字。系统中已有该名称（或别名）的单位将被更新。", "城关镇人民政府"),
    Column("short_name", "简称", False, 20, 12, "可不填，最多 20 字。", "城关镇"),
    Column("league", "所属联赛", False, 40, 20, "可不填；填写时须为“联赛”表或系统中已有的联赛。", "乡镇联赛(一)"),
    Column("head_name", "主要负责人", False, 40, 14, "可不填，最多 40 字；约谈通知写给此人。", "王建国"),
    Column("aliases", "别名", False, 60, 30, "可不填；台账中对该单位的其他写法，多个用“、”或“，”隔开，每个最多 60 字。", "城关、城关镇政府"),
))

USERS = Sheet("users", "用户", (
    Column("display_name", "姓名", True, 40, 12, "最多 40 字。", "李明"),
    Column("username", "用户名", False, 40, 16,
           "登录用的用户名：3 到 40 个字母、数字或“.”“-”“_”。可不填：系统按单位和姓名生成“u”加 6 位数字的用户名"
           "（同一单位同一姓名每次生成相同的用户名），导入后打印在一次性密码单上。系统中已有该用户名的用户将被更新；"
           "不填用户名时，按姓名和单位匹配已有用户。", "liming"),
    Column("unit", "单位", False, 60, 24, "单位全称、简称或别名；经办人和联系人必填。", "城关镇"),
    Column("roles", "角色", True, None, 16, "管理员、督查、领导、经办人、联系人中的一个或多个，用“、”隔开。导入只增加角色，不删除已有角色。",
           "经办人、联系人"),
    Column("title", "职务", False, 40, 14, "可不填，最多 40 字。", "党政办主任"),
    Column("phone", "手机", False, None, 14, "可不填；11 位手机号码，以 1 开头。", "13800138000"),
    Column("in_charge", "分管单位", False, 60, 30, "只有领导填写：分管的单位（全称、简称或别名），多个用“、”隔开。只增加，不删除。", ""),
))

SHEETS: tuple[Sheet, ...] = (LEAGUES, UNITS, USERS)

# The roles as the sheet writes them; the first name of each is the one the template shows.
ROLE_NAMES: dict[str, str] = {
    "管理员": "admin", "系统管理员": "admin",
    "督查": "supervisor", "督查员": "supervisor", "督查人员": "supervisor",
    "领导": "leader", "县领导": "leader", "分管领导": "leader",
    "经办人": "unit_staff", "单位经办人": "unit_staff",
    "联系人": "contact", "项目联系人": "contact",
}
ROLE_LABELS: dict[str, str] = {"admin": "管理员", "supervisor": "督查", "leader": "领导", "unit_staff": "经办人",
                               "contact": "联系人"}

FIELD_LABELS: dict[str, str] = {
    "name": "名称", "description": "说明", "short_name": "简称", "league": "所属联赛", "head_name": "主要负责人",
    "aliases": "别名", "display_name": "姓名", "username": "用户名", "unit": "单位", "roles": "角色",
    "title": "职务", "phone": "手机", "in_charge": "分管单位",
}
