"""What goes into each document: gathered with set-based queries, rendered by templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import joinedload

from portal.core.extensions import db
from portal.dashboard.progress import project_progress
from portal.models import CardEvent, Category, Interview, Node, Project, Unit
from portal.rankings.services import completion_by_category, league_tables


@dataclass
class PeriodFigures:
    """The nodes of one category due in a bulletin's period: signed off, on time, still open and late."""

    name: str
    due: int = 0
    done: int = 0
    on_time: int = 0
    late_open: int = 0

    @property
    def rate(self) -> float | None:
        return self.done / self.due if self.due else None


def period_figures(start: date, end: date, today: date) -> list[PeriodFigures]:
    """Per category, the nodes whose (re-committed) deadline fell in [start, end]: one GROUP BY."""
    deadline = Node.effective_deadline
    rows = {
        cid: (int(due), int(done or 0), int(green or 0), int(late or 0))
        for cid, due, done, green, late in db.session.execute(
            select(Project.category_id, func.count(Node.id),
                   func.sum(case((Node.status == "done", 1), else_=0)),
                   func.sum(case((and_(Node.status == "done", Node.card == "green"), 1), else_=0)),
                   func.sum(case((and_(Node.status != "done", deadline < today), 1), else_=0)))
            .join(Node, Node.project_id == Project.id)
            .where(deadline.between(start, end))
            .group_by(Project.category_id)
        )
    }
    result = []
    for cid, name in db.session.execute(select(Category.id, Category.name).order_by(Category.sort_order, Category.id)):
        result.append(PeriodFigures(name, *rows.get(cid, (0, 0, 0, 0))))
    return result


def bulletin_context(start: date, end: date, ranking_kind: str | None, *, today: date) -> dict:
    """What a bulletin says about its own period [start, end]; the year to date apart (``ytd_*``).

    ``today`` is the day after the period (or today, for a period not over):
    it decides which nodes are late yet.
    """
    new_cards = db.session.scalars(
        select(CardEvent)
        .where(CardEvent.is_withdrawn.is_(False), CardEvent.effective_date.between(start, end))
        .options(joinedload(CardEvent.node).joinedload(Node.project), joinedload(CardEvent.unit))
        .order_by(CardEvent.colour.desc(), CardEvent.effective_date, CardEvent.id)
    ).all()
    key_nodes = db.session.scalars(
        select(Node)
        .where(Node.is_key_supervision.is_(True), Node.status != "done")
        .options(joinedload(Node.project), joinedload(Node.unit))
        .order_by(Node.deadline, Node.id)
    ).all()
    held = db.session.scalars(
        select(Interview).where(Interview.state.in_(("held", "closed")), Interview.held_at.is_not(None))
        .options(joinedload(Interview.unit)).order_by(Interview.held_at, Interview.id)
    ).all()
    zone = current_app.config.get("JIEDIAN_TZ", "Asia/Shanghai")
    interviews = [i for i in held if start <= _local_day(i.held_at, zone) <= end]
    figures = period_figures(start, end, today)
    totals = PeriodFigures("合计", *(sum(getattr(f, a) for f in figures) for a in ("due", "done", "on_time", "late_open")))
    tables = league_tables(ranking_kind, start, today=today)[1] if ranking_kind else []
    progress = project_progress(min(end, today))
    colours = {c: [p for p in progress if p.colour == c] for c in ("red", "yellow", "green")}
    for colour in ("red", "yellow"):
        colours[colour].sort(key=lambda p: (-(p.lag or 0), p.code))
    ytd_categories = completion_by_category(end.year, end)
    return {
        "figures": [f for f in figures if f.due],
        "totals": totals,
        "green_cards": [c for c in new_cards if c.colour == "green"],
        "yellow_cards": [c for c in new_cards if c.colour == "yellow"],
        "red_cards": [c for c in new_cards if c.colour == "red"],
        "interviews": interviews,
        "key_nodes": key_nodes,
        "tables": tables,
        "colours": colours,
        "ytd_categories": ytd_categories,
        "ytd_chart": completion_chart(ytd_categories),
        "ytd_cards": _ytd_cards(date(end.year, 1, 1), end),
    }


def _local_day(moment, zone: str) -> date:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(zone)).date()


def _ytd_cards(start: date, end: date) -> dict[str, int]:
    counts = dict(db.session.execute(
        select(CardEvent.colour, func.count(CardEvent.id))
        .where(CardEvent.is_withdrawn.is_(False), CardEvent.effective_date.between(start, end))
        .group_by(CardEvent.colour)
    ).all())
    return {c: int(counts.get(c, 0)) for c in ("green", "yellow", "red")}


def completion_chart(categories, width: int = 560, bar: int = 18, gap: int = 10) -> dict:
    """Geometry of a horizontal bar chart (completion rate by category), drawn as inline SVG."""
    label_width, scale = 90, width - 90 - 60
    bars = []
    for i, c in enumerate(categories):
        rate = c.rate or 0.0
        bars.append({"y": i * (bar + gap), "name": c.name, "width": round(scale * rate, 1),
                     "label": f"{rate * 100:.1f}%" if c.rate is not None else "—"})
    return {"width": width, "height": len(bars) * (bar + gap), "bar": bar, "label_width": label_width, "bars": bars}


def notice_context(interview: Interview) -> dict:
    cards = sorted(interview.cards, key=lambda c: (c.effective_date, c.id))
    node_ids = {c.node_id for c in cards}
    nodes = {n.id: n for n in db.session.scalars(
        select(Node).where(Node.id.in_(node_ids)).options(joinedload(Node.project))
    )} if node_ids else {}
    return {"interview": interview, "unit": interview.unit, "cards": cards, "nodes": nodes}


def ledger_nodes(*, unit: Unit | None = None, project: Project | None = None) -> list[Node]:
    stmt = select(Node).options(joinedload(Node.project), joinedload(Node.unit), joinedload(Node.responsible_user))
    if unit is not None:
        stmt = stmt.where(Node.unit_id == unit.id)
    if project is not None:
        stmt = stmt.where(Node.project_id == project.id)
    return db.session.scalars(stmt.order_by(Node.deadline, Node.id)).unique().all()


# -- titles ---------------------------------------------------------------------

TITLE_WIDTH = 20  # characters of 2号 (22 pt) in the 版心's 156 mm
# Words a title line never splits; the names in the title (units, projects) are added per title.
TITLE_WORDS = ("关于", "节点工作", "工作", "情况", "通报", "通知", "约谈", "联赛", "排名", "台账", "红牌", "黄牌", "绿牌",
               "进行", "重点", "项目", "督办", "会议纪要", "纪要", "明细", "全县")
# Good places to break: after "关于…" opens, before "的通报" closes, around a period.
_BREAK_BEFORE = {"的": 1, "节点": 2, "进行": 2, "联赛": 3, "工作": 3, "情况": 3, "（": 2}
_BREAK_AFTER = {"关于": 1, "对": 2, "年": 3, "周": 2, "月": 2, "）": 2, "季度": 2}


def _width(text: str) -> float:
    return sum(0.55 if ord(ch) < 0x2E80 and ch not in "—" else 1.0 for ch in text)


def _title_tokens(title: str, keep) -> list[str]:
    """The title cut into pieces that a line break may fall between.

    Names given in ``keep`` and the words above stay whole; a run of digits
    stays with the 年/月/日/周/号 after it, and a bracket with what it encloses.
    """
    words = sorted({w for w in (*keep, *TITLE_WORDS) if w}, key=len, reverse=True)
    tokens, i = [], 0
    while i < len(title):
        word = next((w for w in words if title.startswith(w, i)), None)
        if word is None and title[i].isascii() and title[i].isalnum():
            j = i
            while j < len(title) and title[j].isascii() and (title[j].isalnum() or title[j] in ".-"):
                j += 1
            if j < len(title) and title[j] in "年月日周号期":
                j += 1
            word = title[i:j]
        elif word is None and title[i] in "〔（《“":
            close = {"〔": "〕", "（": "）", "《": "》", "“": "”"}[title[i]]
            j = title.find(close, i)
            word = title[i:j + 1] if j != -1 and j - i < TITLE_WIDTH else title[i]
        word = word or title[i]
        if tokens and word[0] in "，、。：；）〕》”":  # punctuation never starts a line
            tokens[-1] += word
        else:
            tokens.append(word)
        i += len(word)
    return tokens


def _break_cost(before: str, after: str) -> float:
    """What breaking between two pieces costs: low at phrase boundaries, high inside a phrase."""
    cost = 8.0
    for word, value in _BREAK_AFTER.items():
        if before.endswith(word):
            cost = min(cost, value)
    for word, value in _BREAK_BEFORE.items():
        if after.startswith(word):
            cost = min(cost, value)
    return cost


def title_lines(title: str, keep=(), width: int = TITLE_WIDTH) -> list[str]:
    """A title's lines (GB/T 9704: 回行时词意完整，排列对称，长短适宜): never inside a word or
    name, each line within ``width`` characters, as few lines as possible, breaks at phrase
    boundaries and lines of even length preferred (梯形 or 菱形)."""
    title = " ".join(title.split())
    if _width(title) <= width:
        return [title]
    tokens = _title_tokens(title, keep)
    widths = [_width(t) for t in tokens]
    lines_needed = max(2, -(-int(sum(widths)) // width))
    for count in (lines_needed, lines_needed + 1, lines_needed + 2):
        candidates = []
        # Choose among the break positions with the evenness of the lines counted in.
        for first_cost, ends in _all_breaks(tokens, widths, width, count):
            lengths = [sum(widths[a:b]) for a, b in zip([0, *ends[:-1]], ends, strict=True)]
            candidates.append((first_cost + 0.5 * (max(lengths) - min(lengths)), ends))
        if candidates:
            _, ends = min(candidates, key=lambda c: c[0])
            return ["".join(tokens[a:b]) for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    return [title]  # a single piece wider than a line: printed as it is


def _all_breaks(tokens, widths, width, count):
    """Every way to set the pieces on ``count`` lines of at most ``width``, with the break cost (titles are short)."""
    n = len(tokens)

    def walk(start, left):
        if left == 1:
            if sum(widths[start:]) <= width:
                yield 0.0, [n]
            return
        line = 0.0
        for end in range(start + 1, n):
            line += widths[end - 1]
            if line > width:
                break
            for cost, rest in walk(end, left - 1):
                yield cost + _break_cost(tokens[end - 1], tokens[end]), [end, *rest]

    yield from walk(0, count)


def ledger_summary(nodes) -> dict:
    """A ledger cover's figures: nodes by status and by card."""
    statuses = {"todo": 0, "doing": 0, "review": 0, "done": 0}
    cards = {"green": 0, "yellow": 0, "red": 0}
    for node in nodes:
        statuses[node.status] = statuses.get(node.status, 0) + 1
        if node.card in cards:
            cards[node.card] += 1
    return {"total": len(nodes), "statuses": statuses, "cards": cards}
