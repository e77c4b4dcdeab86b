"""Which unit a ledger means by the name it writes: two spellings, one key.

Pure functions over plain lists handed in by the caller (no queries): a unit is a
``(unit_id, name, short_name, aliases)`` tuple.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from portal.core.i18n import translate as _
from portal.ledger.values import normalise_text

__all__ = [
    "ABBREVIATIONS",
    "UnitRow",
    "Suggestion",
    "match_unit",
    "normalise_unit",
    "suggest_units",
]

UnitRow = tuple[int, str, str | None, Sequence[str] | None]
"""(unit_id, name, short_name, aliases) as the caller reads them from the units table."""

# Long form → the form the key keeps, applied in this order after 委员会 → 委 (管理委员会
# first) and 和 removed. Only names that mean one body in every county: renamed or merged
# bodies (自然资源和规划局/自然资源局/国土资源局, 交通运输局/交通局, 生态环境局/环保局,
# 水务局/水利局) are *not* equated; they are left to similarity.
ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("发展改革委", "发改委"),
    ("卫生健康委", "卫健委"),
    ("住房城乡建设", "住建"),  # 住房和城乡建设局 → 住建局 (and …委 → 住建委)
    ("教育体育局", "教体局"),
    ("人力资源社会保障", "人社"),  # 人力资源和社会保障局 → 人社局
    ("市场监督管理", "市场监管"),  # 市场监督管理局 → 市场监管局
    ("文化旅游", "文旅"),  # 文化和旅游局 → 文旅局
    ("经济信息化", "经信"),  # 经济和信息化局 → 经信局
    ("科学技术局", "科技局"),
    ("应急管理局", "应急局"),
    ("医疗保障局", "医保局"),
    ("退役军人事务局", "退役军人局"),
    ("经济技术开发区", "经开区"),
    ("经济开发区", "经开区"),
    ("高新技术产业开发区", "高新区"),
    ("人民政府", "政府"),
    ("街道办事处", "街道"),
    ("办公室", "办"),
)

_LEVEL_CHARS = "县区市旗"
# After the county's name, these begin the name of a place, not of a county body:
# 清溪镇 is the township, not the county's 镇.
_PLACE_HEADS = ("镇", "乡", "街道", "社区", "村", "居委会")
_BRACKETS = re.compile(r"[()\[\]【】〔〕《》<>{}「」『』]")
_ROLE_NOTE = re.compile(r"[(\[【〔](?:牵头|配合|协办|主办|责任|主责|牵头单位|配合单位|责任单位|"
                        r"协办单位|主办单位)[)\]】〕]")
_PUNCT = re.compile(r"[\s·・.,;:、，。；：\-_'\"“”‘’]")
_TOWNSHIP_GOVERNMENT = re.compile(r"(镇|乡|街道)(?:政府|办)$")


def _county_prefixes(county_names: Sequence[str]) -> tuple[tuple[str, ...], str]:
    names = {n for n in (_PUNCT.sub("", normalise_text(c)) for c in county_names) if n}
    levels = {"县"} | {n[-1] for n in names if n[-1] in _LEVEL_CHARS and len(n) > 1}
    return tuple(sorted(names, key=lambda n: (-len(n), n))), "".join(sorted(levels))


def _strip_prefixes(key: str, counties: tuple[str, ...], levels: str) -> str:
    if key.startswith("中共") and len(key) > 3:
        key = key[2:]
    for county in counties:
        rest = key[len(county):]
        if (key.startswith(county) and len(rest) >= 2 and not rest.startswith(_PLACE_HEADS)
                and not (county[-1] in levels and rest.startswith("委"))):
            key = rest
            break
    if len(key) >= 3 and key[0] in levels and key[1] != "委":
        key = key[1:]
    return key


def _one_pass(key: str, counties: tuple[str, ...], levels: str) -> str:
    key = _PUNCT.sub("", normalise_text(key))
    key = _BRACKETS.sub("", _ROLE_NOTE.sub("", key))
    key = _strip_prefixes(key, counties, levels)
    key = key.replace("管理委员会", "管委会").replace("委员会", "委").replace("和", "")
    for long, short in ABBREVIATIONS:
        key = key.replace(long, short)
    return _TOWNSHIP_GOVERNMENT.sub(r"\1", key)


def normalise_unit(name: str, *, county_names: Sequence[str]) -> str:
    """The key two spellings of one unit share. Rules, in order:

    1. NFKC (full width → half width), white space and punctuation (·.,;:、，。；：-_ quotes)
       removed.
    2. Role notes in brackets dropped (``（牵头）``、``(配合)``、``【责任单位】``…); every
       other bracket character removed *with its content kept in place*, so
       ``市生态环境局（清溪分局）`` and ``市生态环境局清溪分局`` share a key.
    3. A leading 中共 dropped; then the county's own name (longest of ``county_names``
       first) when at least two characters remain and they do not begin a place name
       (镇/乡/街道/社区/村/居委会: 清溪镇 stays 清溪镇); then a leading level character
       (县, and the last character of a county name ending in 区/市/旗) when at least two
       characters remain and they do not begin with 委: the county party committee keeps
       its name, so 清溪县委组织部, 中共清溪县委组织部 and 县委组织部 are all 县委组织部.
    4. 管理委员会 → 管委会, then 委员会 → 委, then every 和 removed.
    5. ``ABBREVIATIONS`` in order (发展改革委 → 发改委, 卫生健康委 → 卫健委, 住房城乡建设 →
       住建, 教育体育局 → 教体局, 人力资源社会保障 → 人社, 市场监督管理 → 市场监管,
       文化旅游 → 文旅, 经济信息化 → 经信, 科学技术局 → 科技局, 应急管理局 → 应急局,
       医疗保障局 → 医保局, 退役军人事务局 → 退役军人局, 经济(技术)开发区 → 经开区,
       高新技术产业开发区 → 高新区, 人民政府 → 政府, 街道办事处 → 街道, 办公室 → 办).
    6. A township's own government is the township: a trailing 镇政府/乡政府/街道办 →
       镇/乡/街道.

    The passes repeat until nothing changes, so the key of a key is itself.
    """
    counties, levels = _county_prefixes(county_names)
    key = name or ""
    for _pass in range(10):
        again = _one_pass(key, counties, levels)
        if again == key:
            break
        key = again
    return key


@dataclass(frozen=True)
class Suggestion:
    """A unit a written name may mean, with how sure (0..1) and why (Chinese, for the page)."""

    unit_id: int
    name: str
    score: float
    reason: str


SAME_NAME, SAME_ALIAS, SAME_SHORT, SAME_KEY, SIMILAR = ("name", "alias", "short name", "key", "similar")
KEY_SCORE = 0.95
SIMILAR_MAX = 0.9  # a similar name never ranks with a normalised match
SIMILAR_MIN = 0.5


def _reason(kind: str) -> str:
    """A suggestion's reason as the page shows it (Chinese without an app context)."""
    return {
        SAME_NAME: lambda: _("same name"),
        SAME_ALIAS: lambda: _("same alias"),
        SAME_SHORT: lambda: _("same short name"),
        SAME_KEY: lambda: _("same once normalised"),
        SIMILAR: lambda: _("similar"),
    }[kind]()


def _plain(text: str | None) -> str:
    """A name compared “exactly”: NFKC, no white space."""
    return re.sub(r"\s", "", normalise_text(text))


def _spellings(unit: UnitRow) -> list[tuple[str, str]]:
    """(reason, spelling) for a unit's name, aliases and short name, in that order."""
    _id, name, short_name, aliases = unit
    found = [(SAME_NAME, name)]
    found += [(SAME_ALIAS, alias) for alias in aliases or () if alias]
    if short_name:
        found.append((SAME_SHORT, short_name))
    return found


def _best(written: str, key: str, unit: UnitRow, keys: dict[str, str]) -> tuple[float, str] | None:
    best: tuple[float, str] | None = None
    similar = 0.0
    for reason, spelling in _spellings(unit):
        if _plain(spelling) == written:
            return 1.0, reason
        other = keys[spelling]
        if other and other == key:
            best = (KEY_SCORE, SAME_KEY)
        elif other and key:
            similar = max(similar, SequenceMatcher(None, key, other, autojunk=False).ratio())
    if best:
        return best
    if similar >= SIMILAR_MIN:
        return min(round(similar, 2), SIMILAR_MAX), SIMILAR
    return None


def suggest_units(
    name: str, units: Sequence[UnitRow], *, county_names: Sequence[str], limit: int = 5
) -> list[Suggestion]:
    """The units a written name may mean, best first, at most ``limit``.

    Each unit scores its best spelling (name, aliases, short name): the same text (after
    NFKC and without white space) scores 1 (名称一致 / 别名一致 / 简称一致); the same
    :func:`normalise_unit` key 0.95 (规范化后一致); otherwise the ``difflib`` ratio of the
    two keys, shown when at least 0.5 and capped at 0.9 (相似). Ties go by unit name, then
    id.
    """
    written = _plain(name)
    if not written:
        return []
    key = normalise_unit(name, county_names=county_names)
    spellings = {spelling for unit in units for _kind, spelling in _spellings(unit)}
    keys = {spelling: normalise_unit(spelling, county_names=county_names) for spelling in spellings}
    found = []
    for unit in units:
        scored = _best(written, key, unit, keys)
        if scored:
            found.append(Suggestion(unit[0], unit[1], scored[0], _reason(scored[1])))
    found.sort(key=lambda s: (-s.score, s.name, s.unit_id))
    return found[:limit]


def match_unit(name: str, units: Sequence[UnitRow], *, county_names: Sequence[str]) -> int | None:
    """The unit a written name certainly means, else ``None``.

    Tried in order, each step deciding only when exactly one unit fits (two units fitting
    one step is ``None``, not a guess from a later step): the same name, the same alias, the
    same short name (each compared after NFKC without white space), the same
    :func:`normalise_unit` key as the unit's name, an alias or the short name.
    """
    written = _plain(name)
    if not written:
        return None
    key = normalise_unit(name, county_names=county_names)

    def fits(unit: UnitRow, reason: str | None) -> bool:
        for why, spelling in _spellings(unit):
            if reason is None:
                if key and normalise_unit(spelling, county_names=county_names) == key:
                    return True
            elif why == reason and _plain(spelling) == written:
                return True
        return False

    for reason in (SAME_NAME, SAME_ALIAS, SAME_SHORT, None):
        ids = {unit[0] for unit in units if fits(unit, reason)}
        if len(ids) == 1:
            return ids.pop()
        if ids:
            return None
    return None
