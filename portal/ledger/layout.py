"""Finding the table in a ledger as offices lay it out: title rows, one- or two-row headers, merged cells.

A sheet becomes a ``Grid`` (every cell's value, merged ranges filled in,
hidden rows marked), then a ``SheetLayout``: which rows are the header, what
each column holds (by its header's name, in any of the ways offices write
it), which rows are data and which are ignored, and why. Nothing here knows
the database; ``checking`` judges the values.

What is recognised (issue H):

- the header is the row, among the first ``HEADER_SCAN`` rows, whose cells
  name the most known columns; the row above it joins in when it names
  columns too (a two-row header: 节点任务 spanning 节点内容 | 责任单位 | …);
- merged cells are filled in: down (a project's columns merged over its
  node rows) and across (a header group); a data row merged across most of
  the table is a section row (一、产业项目), which names the category of the
  rows under it when it names one;
- ignored rows: blank rows, 合计/小计/总计 rows, footers (注：…, 填报人…),
  repeated header rows, hidden rows (listed apart: they are often 已取消);
- a project's columns written on its first row only are carried down to its
  node rows; “同上” carries the value above.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from portal.ledger.columns import COLUMNS, letter

HEADER_SCAN = 15  # rows searched for the header
SECTION_SPAN = 0.6  # a data row merged across this share of the table is a section heading

# -- the fields a ledger column can hold, and the names offices give them -----------------

# field key → header names (normalised: no spaces, half-width brackets, no unit in brackets).
# Order matters where a name is shared: the first field that is still free takes it.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "code": ("项目编号", "编号", "项目代码", "项目代码编号"),
    "name": ("项目名称", "项目", "项目(事项)名称", "项目事项名称", "事项名称", "重点项目名称", "项目事项",
             "重点项目", "工作事项", "事项"),
    "category": ("类别", "项目类别", "类型", "项目类型", "分类"),
    "theme": ("时光轴主题", "主题"),
    "year": ("年度", "年份"),
    "lead_unit": ("牵头单位", "项目牵头单位", "主责单位", "项目责任单位"),
    "lead_leader": ("包保领导", "包保县领导", "分管县领导", "牵头领导", "责任领导", "县级领导", "包联领导", "牵头县领导"),
    "stage": ("建设阶段", "项目阶段", "阶段", "建设状态"),
    "investment_total": ("总投资", "计划总投资", "项目总投资", "总投资额"),
    "investment_planned": ("年度计划投资", "年计划投资", "本年计划投资", "年度投资计划", "计划投资"),
    "investment_completed": ("已完成投资", "累计完成投资", "完成投资", "年度完成投资", "已完成投资额"),
    "start_date": ("开始日期", "开工时间", "开始时间", "计划开工时间", "开工日期"),
    "end_date": ("结束日期", "竣工时间", "结束时间", "计划竣工时间", "竣工日期"),
    "description": ("项目说明", "建设内容", "建设规模及内容", "项目概况", "主要建设内容", "建设规模和内容"),
    "title": ("节点", "节点任务", "节点内容", "节点名称", "工作任务", "具体任务", "任务内容", "节点目标", "工作内容",
              "节点工作任务", "重点任务", "任务"),
    "unit": ("责任单位", "承办单位", "节点责任单位", "责任部门", "主办单位", "责任主体"),
    "co_units": ("配合单位", "协办单位", "协同单位", "配合部门", "协办部门"),
    "responsible": ("责任人", "具体责任人", "联系人", "节点责任人", "经办人", "具体负责人"),
    "deadline": ("完成时限", "时间节点", "计划完成时间", "截止时间", "完成期限", "时限", "完成时间节点", "截止日期",
                 "完成时间"),
    "standard": ("销号标准", "完成标准", "目标要求", "验收标准", "工作目标", "完成要求", "销号要求", "目标任务"),
    "weight": ("权重",),
    "is_major": ("重大节点", "是否重大节点"),
    "is_key_supervision": ("重点督办", "是否重点督办"),
    "finished": ("完成情况", "进展情况", "是否完成", "办理情况", "当前进度", "推进情况", "进展", "完成进度"),
    "completed_on": ("实际完成时间", "完成日期", "销号时间", "办结时间", "实际完成日期"),
    "note": ("备注", "说明"),
    "seq": ("序号", "编码序号", "序"),
}
# 牵头单位 names the node's unit when the sheet has no 责任单位 column of its own,
# and 完成时间 the actual completion date when the sheet has a deadline column besides.
SHARED = {"牵头单位", "完成时间"}
PROJECT_FIELDS = {c.key for c in COLUMNS if c.project}
NODE_FIELDS = {c.key for c in COLUMNS if not c.project} | {"co_units", "finished", "completed_on", "note"}
KNOWN = {name: key for key, names in SYNONYMS.items() for name in names}

TOTAL_WORDS = {"合计", "小计", "总计", "合计数", "总合计"}
FOOTER = re.compile(r"^(注|说明|备注|附注|填报人|审核人|制表人|制表|审核|填报说明|联系人|联系电话|单位负责人)\s*[:：]")
HEADING = re.compile(r"^([一二三四五六七八九十]+[、.．]|[(（][一二三四五六七八九十]+[)）])")
FILER = re.compile(r"^(填报单位|填报日期|报送单位|报送日期|填表单位|填表日期|统计时间|截至)")


def normalise_header(value: Any) -> str:
    """A header cell as compared: NFKC (full width → half width), no white space, no unit in brackets."""
    text = unicodedata.normalize("NFKC", "" if value is None else str(value))
    text = re.sub(r"\s+", "", text)
    text = re.sub(r"\((万元|元|亿元|个|%|是/否|是或否|YYYY-MM-DD|年月日)\)$", "", text)
    text = re.sub(r"^\d{4}年(度)?", "", text)  # 2026年计划投资 → 计划投资
    text = text.rstrip("*:：")
    return text


def field_of(label: Any) -> str | None:
    """The field a header names, or None (only text names a field; the answer is kept per text)."""
    if not isinstance(label, str):
        return None
    return _field_of_text(label)


@functools.lru_cache(maxsize=4096)
def _field_of_text(label: str) -> str | None:
    text = normalise_header(label)
    if not text:
        return None
    if text in KNOWN:
        return KNOWN[text]
    base = re.sub(r"\(.*\)$", "", text)  # 总投资(亿元), 责任人(姓名)
    return KNOWN.get(base)


# -- the grid -------------------------------------------------------------------


@dataclass
class Grid:
    """One sheet's cells as a rectangle of values (1-based rows and columns), merged ranges filled."""

    name: str
    rows: int
    cols: int
    values: dict[tuple[int, int], Any]
    formulas: set[tuple[int, int]] = field(default_factory=set)  # cells holding a formula with no value
    hidden: set[int] = field(default_factory=set)
    merged_across: dict[int, int] = field(default_factory=dict)  # row → widest horizontal merge in it
    vertical: set[tuple[int, int]] = field(default_factory=set)  # cells filled from a merge above them

    def get(self, r: int, c: int) -> Any:
        return self.values.get((r, c))

    def row(self, r: int) -> list[Any]:
        return [self.values.get((r, c)) for c in range(1, self.cols + 1)]

    def fill_merged(self, min_row: int, min_col: int, max_row: int, max_col: int) -> None:
        """A merged range: every cell takes the top-left cell's value, as the office sees it on screen."""
        top = self.values.get((min_row, min_col))
        width = max_col - min_col + 1
        if width > 1:
            self.merged_across[min_row] = max(self.merged_across.get(min_row, 0), width)
        self.rows, self.cols = max(self.rows, max_row), max(self.cols, max_col)
        if top is None:
            return
        for r in range(min_row, max_row + 1):
            for c in range(min_col, max_col + 1):
                if (r, c) != (min_row, min_col):
                    self.values[(r, c)] = top
                    if r > min_row:
                        self.vertical.add((r, c))


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def grid_of_sheet(sheet, cached=None) -> Grid:
    """A worksheet as a Grid. ``cached`` is the same sheet read with cached formula values."""
    values: dict[tuple[int, int], Any] = {}
    formulas: set[tuple[int, int]] = set()
    rows = cols = 0
    for (r, c), cell in sheet._cells.items():  # only the cells that exist
        value = cell.value
        if cell.data_type == "f":
            value = cached._cells[(r, c)].value if cached is not None and (r, c) in cached._cells else None
            if blank(value):
                formulas.add((r, c))
                continue
        if cell.data_type == "e":
            value = None
        if blank(value):
            continue
        values[(r, c)] = value
        rows, cols = max(rows, r), max(cols, c)
    grid = Grid(sheet.title, rows, cols, values, formulas)
    for merged in sheet.merged_cells.ranges:
        grid.fill_merged(merged.min_row, merged.min_col, merged.max_row, merged.max_col)
    for r, dim in sheet.row_dimensions.items():
        if dim.hidden:
            grid.hidden.add(r)
    return grid


def grid_of_csv(text: str, name: str) -> Grid:
    """A CSV file as a Grid (one sheet); the delimiter is sniffed among , ; tab."""
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    values: dict[tuple[int, int], Any] = {}
    rows = cols = 0
    for r, record in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        for c, value in enumerate(record, start=1):
            if not blank(value):
                values[(r, c)] = value.strip()
                cols = max(cols, c)
        rows = r
    return Grid(name, rows, cols, values)


# -- the layout -----------------------------------------------------------------


@dataclass
class Column:
    """One column of a sheet as read: its letter, its header as written, the field it holds."""

    index: int  # 1-based
    label: str
    field: str | None

    @property
    def letter(self) -> str:
        return letter(self.index - 1)


@dataclass
class DataRow:
    number: int  # the sheet's row number
    values: dict[str, Any]  # field → raw value
    category_hint: str | None = None  # the section heading above it


@dataclass
class SheetLayout:
    """What a sheet holds, as detected."""

    name: str
    header_rows: list[int] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    rows: list[DataRow] = field(default_factory=list)
    ignored: list[tuple[int, str]] = field(default_factory=list)  # (row, why)
    hidden: list[tuple[int, str]] = field(default_factory=list)  # (row, its first words)
    titles: list[str] = field(default_factory=list)  # the text above the header
    formulas: list[tuple[int, str]] = field(default_factory=list)  # (row, field) cells with a formula and no value
    reason: str = ""  # why the sheet has no table, when it has none
    unlabeled: list[str] = field(default_factory=list)  # letters of columns with data under no header

    @property
    def fields(self) -> dict[str, Column]:
        return {c.field: c for c in self.columns if c.field}

    @property
    def unknown(self) -> list[Column]:
        return [c for c in self.columns if not c.field and c.label]

    def where(self, key: str) -> tuple[str, str]:
        """(the column's header as written, its letter) for a field's problems."""
        column = self.fields.get(key)
        if column is None:
            return key, ""
        return column.label, column.letter


def _score(grid: Grid, r: int) -> int:
    return len({field_of(v) for v in grid.row(r) if field_of(v)})


def _assign(labels: dict[int, str]) -> dict[int, str | None]:
    """Fields for the columns' labels, each field once (a second column of the same kind is not read).

    Shared names are resolved by what else the sheet has: 牵头单位 is the
    project's lead unit beside a 责任单位 column, else the node's unit; 完成时间
    is the actual completion date beside a deadline column, else the deadline.
    """
    names = {c: normalise_header(label) for c, label in labels.items()}
    plain = {c: field_of(n) for c, n in names.items() if n not in SHARED}
    present = set(plain.values())
    found: dict[int, str | None] = {}
    taken: set[str] = set()
    for c in sorted(labels):
        name = names[c]
        if name == "牵头单位":
            key = "lead_unit" if "unit" in present else "unit"
        elif name == "完成时间":
            key = "completed_on" if "deadline" in present else "deadline"
        else:
            key = plain.get(c)
        if key is not None and key in taken:
            key = None
        found[c] = key
        if key:
            taken.add(key)
    return found


def detect(grid: Grid, *, mapping: dict[str, str] | None = None) -> SheetLayout:
    """The sheet's header, columns and rows. ``mapping`` (header as written → field, or "" to ignore) overrides."""
    layout = SheetLayout(grid.name)
    if not grid.values:
        layout.reason = _("empty sheet")
        return layout
    scan = range(1, min(grid.rows, HEADER_SCAN) + 1)
    scores = {r: _score(grid, r) for r in scan}
    best = max(scores, key=lambda r: (scores[r], -r))
    if scores[best] < 2 and not mapping:
        layout.reason = _("no header row (none of the first %(n)d rows names two or more known columns, such as "
                          "“节点任务”, “责任单位”, “完成时限”)", n=HEADER_SCAN)
        return layout
    header = [best]
    if best > 1 and scores.get(best - 1, 0) >= 1:
        header.insert(0, best - 1)  # a group row above (节点任务 over 节点内容 | 责任单位 | …)
    elif best + 1 <= grid.rows and best in grid.merged_across and _score(grid, best + 1) >= 2:
        header.append(best + 1)  # the group row scored first: its sub-headers are under it
    labels: dict[int, str] = {}
    for c in range(1, grid.cols + 1):
        parts = [grid.get(r, c) for r in header]
        own = [str(p).strip() for p in parts if not blank(p)]
        # The lowest row's label names the column; a group label above it only when the column has no other.
        label = ""
        for text in reversed(own):
            if field_of(text) or (mapping and normalise_header(text) in {normalise_header(k) for k in mapping}):
                label = text
                break
        if not label and own:
            label = own[-1]
        labels[c] = label
    assigned = _assign(labels)
    if mapping:
        wanted = {normalise_header(k): v for k, v in mapping.items()}
        for c, label in labels.items():
            if normalise_header(label) in wanted:
                assigned[c] = wanted[normalise_header(label)] or None
    layout.header_rows = header
    layout.columns = [Column(c, labels[c], assigned.get(c)) for c in range(1, grid.cols + 1) if labels[c] or assigned.get(c)]
    for r in range(1, header[0]):
        texts = list(dict.fromkeys(str(v).strip() for v in grid.row(r) if not blank(v)))  # merged: once
        if texts:
            layout.titles.append(" ".join(texts))
    _read_rows(grid, layout)
    labeled = {c.index for c in layout.columns}
    numbers = {row.number for row in layout.rows}
    layout.unlabeled = [letter(c - 1) for c in sorted({c for (r, c) in grid.values if r in numbers} - labeled)]
    return layout


def _first_text(values: list[Any]) -> str:
    for v in values:
        if not blank(v):
            return unicodedata.normalize("NFKC", str(v)).strip()
    return ""


def _read_rows(grid: Grid, layout: SheetLayout) -> None:
    by_index = {c.index: c for c in layout.columns if c.field}
    width = max((c.index for c in layout.columns), default=grid.cols)
    section: str | None = None
    previous: dict[str, Any] = {}
    for r in range(layout.header_rows[-1] + 1, grid.rows + 1):
        cells = grid.row(r)
        first = _first_text(cells)
        distinct = {unicodedata.normalize("NFKC", str(v)).strip() for v in cells if not blank(v)}
        if not distinct:
            continue
        if r in grid.hidden:
            layout.hidden.append((r, first[:30]))
            continue
        words = {re.sub(r"\s+", "", w) for w in distinct}
        if words & TOTAL_WORDS:
            layout.ignored.append((r, _("totals row")))
            continue
        if FOOTER.match(first) or FILER.match(first):
            layout.ignored.append((r, _("footnote")))
            continue
        if len(distinct) == 1 and (grid.merged_across.get(r, 0) >= max(2, SECTION_SPAN * width) or HEADING.match(first)):
            section = first
            previous = {}  # a new section starts new projects
            layout.ignored.append((r, _("section heading “%(heading)s”", heading=first[:20])))
            continue
        if sum(1 for v in cells if field_of(v)) >= max(2, len(by_index) // 2):
            layout.ignored.append((r, _("repeated header row")))
            continue
        values: dict[str, Any] = {}
        for c, column in by_index.items():
            value = grid.get(r, c)
            if (r, c) in grid.formulas:
                layout.formulas.append((r, column.field))
            values[column.field] = value
        if all(blank(values.get(k)) for k in NODE_FIELDS - {"note", "finished", "completed_on"}) and \
                all(blank(values.get(k)) for k in PROJECT_FIELDS - {"code"}):
            layout.ignored.append((r, _("no node or project content")))
            continue
        # A project's columns written on its first row only: carried down to its node rows.
        starts_project = not blank(values.get("name")) or not blank(values.get("code"))
        for key in PROJECT_FIELDS:
            if blank(values.get(key)) and not starts_project and key in previous:
                values[key] = previous[key]
        for key, value in list(values.items()):
            if isinstance(value, str) and value.strip() in ("同上", "〃", "”", '"', "同前"):
                values[key] = previous.get(key)
        previous = {k: v for k, v in values.items() if not blank(v)}
        layout.rows.append(DataRow(r, values, section))
