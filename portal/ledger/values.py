"""Cell values the way county offices write them by hand in Excel/WPS ledgers (督查台账).

Pure functions, no database: each reads one cell (a date, an amount, a person,
a 完成情况, a list of units) and either returns the value or raises
``ValueError`` with a short Chinese reason about the value itself, which the
importer shows in its row report (e.g. ``无法识别的日期“下半年”``).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from portal.core.i18n import translate as _

__all__ = [
    "clean_person",
    "is_finished",
    "is_same_as_above",
    "normalise_text",
    "parse_date",
    "parse_money",
    "people",
    "split_units",
    "year_hint",
]

# -- text -----------------------------------------------------------------------

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_SPACES = re.compile(r"\s+")


def normalise_text(raw: Any) -> str:
    """A cell as plain text: NFKC (full-width letters, digits and ASCII punctuation become
    half-width, the ideographic space a space), zero-width characters removed, runs of white
    space (newlines included) collapsed to one space, stripped. ``None`` is ``""``; other
    values are ``str(raw)`` first.

    Chinese punctuation that has no ASCII twin (、。“”《》【】) is left as it is.
    """
    if raw is None:
        return ""
    text = raw if isinstance(raw, str) else str(raw)
    text = unicodedata.normalize("NFKC", text.translate(_INVISIBLE))
    return _SPACES.sub(" ", text).strip()


def _shown(raw: Any) -> str:
    """The value as a message quotes it: trimmed and cut to 20 characters."""
    text = normalise_text(raw)
    return text if len(text) <= 20 else text[:20] + "…"


# -- dates ----------------------------------------------------------------------

MIN_YEAR, MAX_YEAR = 2000, 2099
_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01 with Excel's 1900 leap-year bug
_MIN_SERIAL = (date(MIN_YEAR, 1, 1) - _EXCEL_EPOCH).days
_MAX_SERIAL = (date(MAX_YEAR, 12, 31) - _EXCEL_EPOCH).days

_CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUMBER = re.compile(r"[〇○零一二两三四五六七八九十]+")
_TIME = re.compile(r"^(.*?[\d日号])[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$")
_PREFIXES = ("截止到", "截至", "截止", "于")
_SUFFIXES = ("之前", "以前", "为止", "前", "止", "完成")
_TRAILING_PUNCT = ".,;:!?、。，；：！？"

_Y, _M, _D = r"(?P<y>\d{4})", r"(?P<m>\d{1,2})", r"(?P<d>\d{1,2})"
_DAY, _MONTH_END, _YEAR_END = "day", "month", "year"
_DATE_FORMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (rf"{_Y}年{_M}月{_D}[日号]?", _DAY),
        (rf"{_Y}(?P<sep>[-./]){_M}(?P=sep){_D}[日号]?", _DAY),
        (r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})", _DAY),
        (rf"{_Y}年{_M}月份?(?:底|末)?", _MONTH_END),
        (rf"{_Y}[-./]{_M}", _MONTH_END),
        (rf"{_Y}年(?:底|末)", _YEAR_END),
        (rf"{_M}月{_D}[日号]?", _DAY),
        (rf"{_M}[-./]{_D}", _DAY),
        (rf"{_M}月份?(?:底|末)?", _MONTH_END),
        (r"年(?:底|末)", _YEAR_END),
    )
)


def _cn_number(match: re.Match[str]) -> str:
    """一 → 1, 十二 → 12, 三十一 → 31; without 十 digit by digit (二〇二六 → 2026)."""
    run = match.group(0)
    if "十" not in run:
        return "".join(str(_CN_DIGITS[c]) for c in run)
    tens, _sep, ones = run.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return run  # not a number a date uses; left to fail
    return str((_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0))


def _serial(value: float | Decimal | int, shown: str) -> date:
    if _MIN_SERIAL <= value <= _MAX_SERIAL:
        return _EXCEL_EPOCH + timedelta(days=int(value))
    if isinstance(value, int) and 10_000_000 <= value <= 99_999_999:
        return parse_date(str(value), year=None)
    if not float(value).is_integer() and 1 <= value < 13:
        raise ValueError(_("The date “%(value)s” was stored as a number; write it like “3月31日”", value=shown))
    raise ValueError(_("Unrecognised date “%(value)s”", value=shown))


def parse_date(raw: Any, *, year: int | None) -> date:
    """The date a ledger cell means.

    Accepted: ``date``/``datetime`` cells (a time of day is dropped); Excel serial numbers
    for 2000–2099 (46112 = 2026-03-31) and 8-digit numbers (20260331); texts such as
    ``2026年3月31日``/``2026年03月31号``, ``2026.3.31``, ``2026/03/31``, ``2026-3-31``,
    ``20260331``, ``2026-03-31 00:00:00``, Chinese numerals (``二〇二六年三月三十一日``),
    full-width digits and punctuation, ``。`` for ``.``; month ends: ``2026年4月``,
    ``2026年4月底``, ``2026.4``, ``2026年底``; without a year (taken from ``year``):
    ``3月31日``, ``3.31``, ``3/31``, ``3-31``, ``3月底``/``3月末``/``3月``, ``年底``.
    Around the date, white space and the words 截至/截止/截止到/于 (before) and
    前/之前/以前/止/为止/完成 (after, e.g. ``6月底前``, ``6月30日前完成``) are ignored.

    Anything else raises ``ValueError`` with a Chinese reason: an unrecognised form, a date
    that does not exist (2月30日), a year outside 2000–2099, or no year in the text and
    ``year=None``.
    """
    if isinstance(raw, bool):
        raise ValueError(_("Unrecognised date “%(value)s”", value=_shown(raw)))
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, int | float | Decimal):
        if isinstance(raw, float | Decimal) and not Decimal(raw).is_finite():
            raise ValueError(_("Unrecognised date “%(value)s”", value=_shown(raw)))
        return _serial(raw, _shown(raw))
    if not isinstance(raw, str):
        raise ValueError(_("Unrecognised date “%(value)s”", value=_shown(raw)))

    shown = _shown(raw)
    if not shown:
        raise ValueError(_("No date given"))
    text = normalise_text(raw).replace("。", ".")
    clock = _TIME.match(text)
    if clock:
        hour, minute, second = (int(g or 0) for g in clock.groups()[1:])
        if hour > 23 or minute > 59 or second > 59:
            raise ValueError(_("Unrecognised date “%(value)s”", value=shown))
        text = clock.group(1)
    text = _SPACES.sub("", text)
    text = _CN_NUMBER.sub(_cn_number, text)
    text = text.rstrip(_TRAILING_PUNCT)
    changed = True
    while changed:
        changed = False
        for word in _PREFIXES:
            if text.startswith(word) and len(text) > len(word):
                text, changed = text[len(word):], True
        for word in _SUFFIXES:
            if text.endswith(word) and len(text) > len(word):
                text, changed = text[: -len(word)], True

    found = next(((m, kind) for p, kind in _DATE_FORMS if (m := p.fullmatch(text))), None)
    if found is None:
        raise ValueError(_("Unrecognised date “%(value)s”", value=shown))
    match, kind = found
    parts = match.groupdict()
    if parts.get("y"):
        the_year = int(parts["y"])
    elif year is None:
        raise ValueError(_("The date “%(value)s” has no year", value=shown))
    else:
        the_year = year
    if not MIN_YEAR <= the_year <= MAX_YEAR:
        raise ValueError(_("The year of the date “%(value)s” is wrong", value=shown))
    month = int(parts["m"]) if parts.get("m") else 12
    if not 1 <= month <= 12:
        raise ValueError(_("The date “%(value)s” does not exist", value=shown))
    day = int(parts["d"]) if kind == _DAY else calendar.monthrange(the_year, month)[1]
    try:
        return date(the_year, month, day)
    except ValueError:
        raise ValueError(_("The date “%(value)s” does not exist", value=shown)) from None


_YEAR_WITH_NIAN = re.compile(r"(?<!\d)(20\d{2})\s*年")
_YEAR_ALONE = re.compile(r"(?<!\d)(20\d{2})(?!\d)")


def year_hint(texts: Iterable[Any]) -> int | None:
    """The ledger year a title names, e.g. “清溪县2026年重点项目节点任务台账” → 2026.

    The texts are read in order (title rows, sheet name, file name; values that are not
    strings are skipped) and the first one naming a 20xx year decides: a year written with
    年 (``2026年``, ``2026 年度``) counts first, a bare one (``台账2026.xlsx``) only when
    none has 年. If that text names two different years, there is no hint (``None``).
    """
    for raw in texts:
        if not isinstance(raw, str):
            continue
        text = normalise_text(raw)
        years = {int(y) for y in _YEAR_WITH_NIAN.findall(text)}
        if not years:
            years = {int(y) for y in _YEAR_ALONE.findall(text)}
        if years:
            return years.pop() if len(years) == 1 else None
    return None


# -- money ----------------------------------------------------------------------

_MONEY = re.compile(r"(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<unit>亿元|亿|万元|万|元)?")
_UNIT_FACTOR = {None: Decimal(1), "万": Decimal(1), "万元": Decimal(1),
                "亿": Decimal(10_000), "亿元": Decimal(10_000), "元": Decimal("0.0001")}
_CENT = Decimal("0.01")


def parse_money(raw: Any) -> Decimal | None:
    """An amount in 万元 (what the portal stores), rounded half-up to 2 decimals.

    Numbers (numeric cells or plain texts such as ``1,560.5``) are already 万元; a text may
    end with 亿/亿元 (×10,000), 万/万元 (×1) or 元 (÷10,000). Full-width digits and commas
    are read; thousands separators must group by three. A blank cell is ``None``; anything
    else (words, negative amounts, ``约3000万``) raises ``ValueError``.
    """
    if raw is None or (isinstance(raw, str) and not normalise_text(raw)):
        return None
    shown = _shown(raw)
    if isinstance(raw, bool):
        raise ValueError(_("Unrecognised amount “%(value)s”", value=shown))
    if isinstance(raw, int | float | Decimal):
        try:
            value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
        except (InvalidOperation, ValueError):
            raise ValueError(_("Unrecognised amount “%(value)s”", value=shown)) from None
        if not value.is_finite():
            raise ValueError(_("Unrecognised amount “%(value)s”", value=shown))
    elif isinstance(raw, str):
        match = _MONEY.fullmatch(_SPACES.sub("", normalise_text(raw)))
        if not match:
            raise ValueError(_("Unrecognised amount “%(value)s”", value=shown))
        value = Decimal(match["n"].replace(",", "")) * _UNIT_FACTOR[match["unit"]]
    else:
        raise ValueError(_("Unrecognised amount “%(value)s”", value=shown))
    if value < 0:
        raise ValueError(_("The amount “%(value)s” must not be negative", value=shown))
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


# -- people ---------------------------------------------------------------------

TITLES = (
    "主任", "副主任", "常务副主任", "局长", "副局长", "书记", "副书记", "镇长", "副镇长",
    "乡长", "副乡长", "县长", "副县长", "科长", "副科长", "股长", "站长", "所长", "队长",
    "部长", "副部长", "经理", "副经理", "总经理", "董事长", "主席", "副主席", "组长",
    "主任科员", "科员", "干事", "同志",
)
_TITLES_LONGEST_FIRST = tuple(sorted(TITLES, key=len, reverse=True))
_PHONE = re.compile(r"(?:\+?86-?)?\d[\d-]{5,}\d")
_PHONE_LABEL = re.compile(r"(?:联系方式|(?:联系)?电话|手机|tel)[:：]?", re.IGNORECASE)
_BRACKETED = re.compile(r"[(\[【〔][^)\]】〕]*[)\]】〕]?")
_PERSON_SEPARATORS = re.compile(r"[、,;/\\|]")
# A token ending so is a unit, not a person (县发改委 王建军): strong endings at 3+ characters,
# endings that are also given names (李镇) only at 4+.
_UNIT_STRONG = ("委", "局", "办", "政府", "公司", "集团", "中心", "管委会", "街道", "委员会",
                "办公室", "分局", "大队", "中队", "医院", "学校")
_UNIT_WEAK = ("镇", "乡", "院", "所", "站", "部", "处", "科", "队", "村", "社区")
_CJK = re.compile(r"[\u3400-\u9fff]")


def _unit_like(token: str) -> bool:
    return (len(token) >= 3 and token.endswith(_UNIT_STRONG)) or (
        len(token) >= 4 and token.endswith(_UNIT_WEAK)
    )


def _without_title(token: str) -> str:
    """孙丽副主任 → 孙丽, but 张主任 stays (the name would be one character)."""
    for title in _TITLES_LONGEST_FIRST:
        if token.endswith(title) and len(token) - len(title) >= 2:
            return token[: -len(title)]
    return token


def people(raw: Any) -> list[str]:
    """The names of the people a cell lists, in order, without repeats.

    Rules: phone numbers (7+ digits, with ``-`` or ``+86``) and their labels (电话、手机、
    联系方式) are removed; bracketed text — ``（副主任）`` ``(…)`` ``【…】`` ``〔…〕`` — is
    removed; people are separated by 、 , ， ; ； / | and white space (not by 和, which
    is part of names such as 张和平). Within one white-space separated group, single
    characters in a row are one name (``周　敏`` → 周敏, how 2-character names are padded),
    tokens that are titles (主任、副主任、局长、副局长、书记、镇长、科长、经理 … see
    ``TITLES``) and tokens that look like a unit (县发改委, 清溪镇政府) are dropped when the
    group has something else. A title written on to a name is removed when at least two
    characters remain (王建军局长 → 王建军; 张主任 stays).
    """
    text = normalise_text(raw)
    text = _BRACKETED.sub(" ", text)
    text = _PHONE_LABEL.sub(" ", text)
    text = _PHONE.sub(" ", text)
    names: list[str] = []
    for group in _PERSON_SEPARATORS.split(text):
        tokens: list[str] = []
        for token in group.split():
            token = token.strip(":：.。-_")
            if not token:
                continue
            if tokens and len(token) == 1 and _CJK.match(token) and len(tokens[-1]) == 1:
                tokens[-1] += token
            else:
                tokens.append(token)
        kept = [t for t in tokens if t not in TITLES and not _unit_like(t)] or tokens
        for token in kept:
            name = _without_title(token)
            if name and name not in names:
                names.append(name)
    return names


def clean_person(raw: Any) -> str:
    """The first person a cell names, as a bare name (``周敏 13907210001`` → 周敏,
    ``孙丽（副主任）`` → 孙丽, ``王建军、李明`` → 王建军); ``""`` when it names nobody.
    The rules are those of :func:`people`.
    """
    found = people(raw)
    return found[0] if found else ""


# -- 完成情况 -------------------------------------------------------------------

FINISHED_WORDS = frozenset({"已完成", "完成", "已办结", "办结", "已销号", "销号", "已完结",
                            "✓", "√", "✔", "☑", "是"})
UNFINISHED_WORDS = frozenset({"未完成", "推进中", "正在推进", "未开始", "否", "未办结",
                              "未销号", "进行中", "正在进行", "×", "✗", "✘"})
_FINISHED_PREFIX = re.compile(r"已?完成(?:$|[.,;:!?、。，；：！？…\s(（])")


def is_finished(raw: Any) -> bool | None:
    """Whether a 完成情况/进展情况 cell says the node is finished.

    Rule: the cell is normalised (:func:`normalise_text`) and trailing 。/./！ dropped; it is
    ``True`` when it is one of ``FINISHED_WORDS`` (已完成、完成、已办结、办结、已销号、销号、
    已完结、✓、√、✔、☑、是) or when it *starts* with 已完成/完成 followed by punctuation
    (``已完成，待验收``); ``False`` when it is one of ``UNFINISHED_WORDS`` (未完成、推进中、
    正在推进、未开始、否、未办结、未销号、进行中、正在进行、×、✗、✘); ``None`` when it is
    blank or anything else — free text such as ``已完成主体结构施工，正在装修`` says nothing
    certain. A boolean cell is itself; other non-text cells are ``None``.
    """
    if isinstance(raw, bool):
        return raw
    if raw is not None and not isinstance(raw, str):
        return None
    text = normalise_text(raw).rstrip("。.!！")
    if not text:
        return None
    if text in FINISHED_WORDS:
        return True
    if text in UNFINISHED_WORDS:
        return False
    if _FINISHED_PREFIX.match(text):
        return True
    return None


# -- units ----------------------------------------------------------------------

_UNIT_SEPARATORS = frozenset("、,;/\\| ")
_OPENERS, _CLOSERS = "([【〔《", ")]】〕》"
# 和/及 separates two units only between a left part ending so ...
_JOIN_LEFT = ("委", "局", "办", "委员会", "办公室", "政府", "公司", "集团", "中心", "管委会",
              "分局", "镇", "乡", "街道")
# ... and a right part of 3+ characters ending so (after a township, another township).
_JOIN_RIGHT = _JOIN_LEFT + ("院", "所", "站", "部", "处", "队", "社区")
_TOWNSHIP = ("镇", "乡", "街道")
_ROLE_NOTE = re.compile(r"[(\[【〔](?:牵头|配合|协办|主办|责任|主责|牵头单位|配合单位|责任单位|"
                        r"协办单位|主办单位)[)\]】〕]")


def _split_outside_brackets(text: str) -> list[str]:
    pieces, current, depth = [], [], 0
    for char in text:
        if char in _OPENERS:
            depth += 1
        elif char in _CLOSERS and depth:
            depth -= 1
        if char in _UNIT_SEPARATORS and not depth:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def _split_on_and(piece: str) -> list[str]:
    for i, char in enumerate(piece):
        if char not in "和及" or i == 0:
            continue
        left, right = piece[:i], piece[i + 1:]
        if not left.endswith(_JOIN_LEFT) or len(right) < 3 or not right.endswith(_JOIN_RIGHT):
            continue
        if left.endswith(_TOWNSHIP) and not right.endswith(_TOWNSHIP):
            continue  # 清溪镇和平村委会 is one name
        if left.count("(") != left.count(")"):
            continue
        return [left, *_split_on_and(right)]
    return [piece]


def split_units(raw: Any) -> list[str]:
    """The units one cell names, in order, as :func:`normalise_text` gives them (so
    ``（…）`` becomes ``(…)``), stripped, without empties or repeats.

    Separators: 、 ， , ； ; / | white space and newlines, but not inside brackets
    (``市生态环境局（清溪分局）`` stays whole); a lone character between spaces is joined to
    the next piece (``县 发改委``). 和 and 及 separate only two names that each end like a
    unit (委/局/办/委员会/办公室/政府/公司/集团/中心/管委会/分局/镇/乡/街道 on the left, the
    same or 院/所/站/部/处/队/社区 on the right, 3+ characters; after a township only another
    township), so ``县财政局和县水务局`` is two units and ``县发展和改革委员会``,
    ``县住房和城乡建设局``, ``清溪镇和平村委会`` are one each. Role notes in brackets
    (``（牵头）``、``(配合)``、``【责任单位】``) and a trailing 等 are dropped.
    """
    text = _ROLE_NOTE.sub("", normalise_text(raw))
    found: list[str] = []
    pending = ""
    for piece in _split_outside_brackets(text):
        piece = pending + piece.strip()
        pending = ""
        if len(piece) == 1 and _CJK.match(piece):
            pending = piece
            continue
        for unit in _split_on_and(piece):
            if unit.endswith("等") and len(unit) > 1:
                unit = unit[:-1]
            if unit and unit not in found:
                found.append(unit)
    if pending and pending not in found:
        found.append(pending)
    return found


# -- 同上 -----------------------------------------------------------------------

_DITTO_MARKS = frozenset("〃\"”“″′'‘’")


def is_same_as_above(raw: Any) -> bool:
    """Whether a cell says “the same as the row above”: 同上 (also “同上”, 同上。, 『同上』),
    or only ditto marks (〃, ”, ", ″ and the like, one or more)."""
    if not isinstance(raw, str):
        return False
    text = _SPACES.sub("", normalise_text(raw)).rstrip("。.")
    if not text:
        return False
    if text.strip("\"”“'‘’「」『』") == "同上":
        return True
    return all(char in _DITTO_MARKS for char in text)

