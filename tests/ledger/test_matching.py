"""Matching the unit names ledgers write to the county's units (portal.ledger.matching)."""

from __future__ import annotations

import os
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from portal.ledger.matching import (
    ABBREVIATIONS,
    Suggestion,
    match_unit,
    normalise_unit,
    suggest_units,
)

set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "jiedian-hypothesis"))
SETTINGS = settings(max_examples=300, deadline=None, database=None)

COUNTY = ["清溪县", "清溪"]

# (unit_id, name, short_name, aliases): the units of 清溪县 as the admin pages hold them.
UNITS = [
    (1, "清溪镇", None, []),
    (2, "青山镇", None, []),
    (3, "白沙镇", None, []),
    (4, "石门镇", None, []),
    (5, "龙潭镇", None, []),
    (6, "青石镇", None, []),
    (7, "桃源乡", None, []),
    (8, "城关街道", None, ["城关街道办事处"]),
    (9, "县委办公室", "县委办", []),
    (10, "县人民政府办公室", "县政府办", []),
    (11, "县委组织部", None, []),
    (12, "县委宣传部", None, []),
    (13, "县发展和改革委员会", "县发改委", []),
    (14, "县卫生健康委员会", "县卫健委", []),
    (15, "县住房和城乡建设局", "县住建局", []),
    (16, "县水务局", None, []),
    (17, "县自然资源和规划局", "县资规局", []),
    (18, "县教育体育局", "县教体局", []),
    (19, "县公安局", None, []),
    (20, "县财政局", None, []),
    (21, "市生态环境局清溪分局", "生态环境分局", ["县环保局"]),
    (22, "县城投集团", None, ["清溪县城市建设投资集团有限公司"]),
    (23, "经济开发区管委会", "经开区", ["清溪经开区管委会"]),
    (24, "县交通运输局", None, []),
    (25, "县农业农村局", None, []),
    (26, "县人力资源和社会保障局", "县人社局", []),
    (27, "县市场监督管理局", "县市场监管局", []),
    (28, "县文化和旅游局", "县文旅局", []),
    (29, "县应急管理局", None, []),
    (30, "县医疗保障局", None, []),
    (31, "县退役军人事务局", None, []),
    (32, "县经济和信息化局", "县经信局", []),
    (33, "县科学技术局", None, []),
    (34, "县商务局", None, []),
    (35, "县审计局", None, []),
    (36, "县统计局", None, []),
    (37, "县林业局", None, []),
    (38, "县民政局", None, []),
    (39, "县司法局", None, []),
    (40, "国家税务总局清溪县税务局", "县税务局", []),
    (41, "国网清溪县供电公司", "县供电公司", []),
    (42, "县融媒体中心", None, []),
    (43, "县行政审批服务局", None, []),
    (44, "县人民医院", None, []),
    (45, "县中医院", None, []),
    (46, "县机关事务服务中心", None, []),
    (47, "县委", None, ["中共清溪县委员会"]),
    (48, "县人民政府", "县政府", []),
]
NAMES = {unit_id: name for unit_id, name, _, _ in UNITS}

# -- normalise_unit -------------------------------------------------------------


@pytest.mark.parametrize(
    "name, key",
    [
        # the county's own name and a leading 县
        ("清溪县发展和改革委员会", "发改委"),
        ("县发展和改革委员会", "发改委"),
        ("发展和改革委员会", "发改委"),
        ("清溪发改委", "发改委"),
        ("县发展改革委", "发改委"),
        ("县发改委", "发改委"),
        ("  县 发改委 ", "发改委"),
        ("清溪县财政局", "财政局"),
        ("县财政局", "财政局"),
        ("财政局", "财政局"),
        ("清溪县城投集团", "城投集团"),
        ("县城投集团", "城投集团"),
        # the county's name that begins a place name stays
        ("清溪镇", "清溪镇"),
        ("清溪街道", "清溪街道"),
        ("清溪村", "清溪村"),
        ("清溪镇人民政府", "清溪镇"),
        ("清溪镇政府", "清溪镇"),
        ("青山镇人民政府", "青山镇"),
        ("桃源乡人民政府", "桃源乡"),
        ("城关街道办事处", "城关街道"),
        ("城关街道办", "城关街道"),
        # 县委 keeps its name
        ("县委", "县委"),
        ("清溪县委", "县委"),
        ("中共清溪县委员会", "县委"),
        ("县委办公室", "县委办"),
        ("县委办", "县委办"),
        ("中共清溪县委组织部", "县委组织部"),
        ("清溪县委组织部", "县委组织部"),
        ("县政府", "政府"),
        ("清溪县人民政府", "政府"),
        ("县人民政府办公室", "政府办"),
        ("县政府办", "政府办"),
        # brackets: the content is kept in place, role notes are dropped
        ("市生态环境局（清溪分局）", "市生态环境局清溪分局"),
        ("市生态环境局(清溪分局)", "市生态环境局清溪分局"),
        ("市生态环境局【清溪分局】", "市生态环境局清溪分局"),
        ("市生态环境局清溪分局", "市生态环境局清溪分局"),
        ("县发改委（牵头）", "发改委"),
        ("县财政局(配合)", "财政局"),
        # full width, spaces, punctuation
        ("县发改委\u3000", "发改委"),
        ("县 财政 局", "财政局"),
        ("ＸＸ县财政局", "XX县财政局"),
        # abbreviations
        ("县卫生健康委员会", "卫健委"),
        ("县卫生健康委", "卫健委"),
        ("县卫健委", "卫健委"),
        ("县住房和城乡建设局", "住建局"),
        ("县住房城乡建设局", "住建局"),
        ("县住建局", "住建局"),
        ("县住房和城乡建设委员会", "住建委"),
        ("县教育体育局", "教体局"),
        ("县教育和体育局", "教体局"),
        ("县人力资源和社会保障局", "人社局"),
        ("县市场监督管理局", "市场监管局"),
        ("县文化和旅游局", "文旅局"),
        ("县经济和信息化局", "经信局"),
        ("县科学技术局", "科技局"),
        ("县应急管理局", "应急局"),
        ("县医疗保障局", "医保局"),
        ("县退役军人事务局", "退役军人局"),
        ("清溪经济开发区管理委员会", "经开区管委会"),
        ("经济开发区管委会", "经开区管委会"),
        ("清溪经济技术开发区管委会", "经开区管委会"),
        ("高新技术产业开发区管委会", "高新区管委会"),
        # not equated: bodies that were renamed or merged
        ("县自然资源和规划局", "自然资源规划局"),
        ("县自然资源局", "自然资源局"),
        ("县交通运输局", "交通运输局"),
        ("县交通局", "交通局"),
        ("县生态环境局", "生态环境局"),
        ("县环保局", "环保局"),
        ("县水利局", "水利局"),
        ("县水务局", "水务局"),
        # odd inputs
        ("", ""),
        ("县", "县"),
        ("县县财政局", "财政局"),
    ],
)
def test_normalise_unit(name, key):
    assert normalise_unit(name, county_names=COUNTY) == key


def test_normalise_unit_of_a_district_drops_its_level_character():
    county = ["东湖区", "东湖"]
    assert normalise_unit("东湖区财政局", county_names=county) == "财政局"
    assert normalise_unit("区财政局", county_names=county) == "财政局"
    assert normalise_unit("县财政局", county_names=county) == "财政局"
    assert normalise_unit("东湖街道", county_names=county) == "东湖街道"
    assert normalise_unit("区委办公室", county_names=county) == "区委办"


def test_normalise_unit_without_county_names():
    assert normalise_unit("清溪县财政局", county_names=[]) == "清溪县财政局"
    assert normalise_unit("县财政局", county_names=[]) == "财政局"


def test_abbreviations_are_long_to_short():
    assert all(len(short) < len(long) for long, short in ABBREVIATIONS)


UNIT_TEXT = st.text(
    alphabet=st.sampled_from(list("清溪县镇乡市区委员会局办公室和及发展改革卫生健康住房城乡建设政府人民街道中共"
                                  "()（）【】 　·,、牵头配合经济开发管理技术a1")),
    max_size=20,
)


@SETTINGS
@given(UNIT_TEXT)
def test_normalise_unit_is_idempotent(name):
    key = normalise_unit(name, county_names=COUNTY)
    assert normalise_unit(key, county_names=COUNTY) == key


@SETTINGS
@given(st.text(max_size=30))
def test_normalise_unit_is_idempotent_on_any_text(name):
    key = normalise_unit(name, county_names=COUNTY)
    assert normalise_unit(key, county_names=COUNTY) == key


@SETTINGS
@given(st.sampled_from([name for _, name, _, _ in UNITS]), st.sampled_from(["", "清溪县", "清溪"]),
       st.sampled_from(["", " ", "\u3000"]))
def test_a_unit_written_with_the_county_name_or_padded_keeps_its_key(name, prefix, pad):
    plain = name.removeprefix("县")
    expected = normalise_unit(name, county_names=COUNTY)
    written = pad + prefix + pad.join(plain) + pad
    if not name.startswith(("清溪", "县委", "国")):  # 县委 needs its 县; these have no county prefix
        assert normalise_unit(written, county_names=COUNTY) == expected


@SETTINGS
@given(st.text(max_size=15))
def test_normalise_unit_never_keeps_white_space(name):
    key = normalise_unit(name, county_names=COUNTY)
    assert not any(c.isspace() for c in key)


# -- match_unit -----------------------------------------------------------------


@pytest.mark.parametrize(
    "written, unit_id",
    [
        # exact name, alias, short name
        ("县发展和改革委员会", 13),
        (" 县发展和改革委员会 ", 13),
        ("县发改委", 13),
        ("县环保局", 21),
        ("清溪县城市建设投资集团有限公司", 22),
        ("经开区", 23),
        ("县税务局", 40),
        ("县资规局", 17),
        # normalised
        ("清溪县发展和改革委员会", 13),
        ("县发展改革委", 13),
        ("发改委", 13),
        ("清溪县发改委", 13),
        ("县卫生健康委", 14),
        ("县卫健委", 14),
        ("卫生健康委员会", 14),
        ("县住房城乡建设局", 15),
        ("住建局", 15),
        ("清溪县住房和城乡建设局", 15),
        ("县教育和体育局", 18),
        ("教体局", 18),
        ("清溪县公安局", 19),
        ("公安局", 19),
        ("财政局", 20),
        ("市生态环境局（清溪分局）", 21),
        ("市生态环境局 清溪分局", 21),
        ("城投集团", 22),
        ("清溪经济开发区管理委员会", 23),
        ("经开区管委会", 23),
        ("清溪镇人民政府", 1),
        ("清溪镇政府", 1),
        ("青山镇人民政府", 2),
        ("城关街道办", 8),
        ("县委办", 9),
        ("中共清溪县委办公室", 9),
        ("县政府办", 10),
        ("清溪县人民政府办公室", 10),
        ("中共清溪县委组织部", 11),
        ("清溪县委", 47),
        ("中共清溪县委员会", 47),
        ("清溪县人民政府", 48),
        ("县人社局", 26),
        ("人力资源和社会保障局", 26),
        ("市场监管局", 27),
        ("县文化旅游局", 28),
        ("应急局", 29),
        ("县医保局", 30),
        ("退役军人局", 31),
        ("县经信局", 32),
        ("科技局", 33),
        ("县发改委（牵头）", 13),
        ("ＸＸ", None),
        # not certain
        ("县自然资源局", None),
        ("县交通局", None),
        ("县水利局", None),
        ("教育局", None),
        ("青山", None),
        ("县直各单位", None),
        ("", None),
        ("   ", None),
    ],
)
def test_match_unit(written, unit_id):
    assert match_unit(written, UNITS, county_names=COUNTY) == unit_id


def test_match_unit_two_units_with_one_key_is_no_match():
    units = [*UNITS, (99, "清溪县发展和改革委员会", None, [])]
    assert match_unit("发改委", units, county_names=COUNTY) is None
    assert match_unit("县发展和改革委员会", units, county_names=COUNTY) == 13  # the exact name decides
    assert match_unit("清溪县发展和改革委员会", units, county_names=COUNTY) == 99


def test_match_unit_exact_name_beats_another_units_alias():
    units = [(1, "县财政局", None, []), (2, "县国资中心", None, ["县财政局"])]
    assert match_unit("县财政局", units, county_names=COUNTY) == 1


def test_match_unit_one_alias_on_two_units_is_no_match():
    units = [(1, "县财政局", None, ["财政"]), (2, "县国资中心", None, ["财政"])]
    assert match_unit("财政", units, county_names=COUNTY) is None


def test_match_unit_with_no_units():
    assert match_unit("县财政局", [], county_names=COUNTY) is None


@SETTINGS
@given(st.sampled_from(UNITS))
def test_every_unit_matches_its_own_name_aliases_and_short_name(unit):
    unit_id, name, short_name, aliases = unit
    for spelling in [name, short_name, *aliases]:
        if spelling:
            assert match_unit(spelling, UNITS, county_names=COUNTY) == unit_id


# -- suggest_units --------------------------------------------------------------


def _top(written: str, **kw) -> list[tuple[int, float, str]]:
    found = suggest_units(written, UNITS, county_names=COUNTY, **kw)
    return [(s.unit_id, s.score, s.reason) for s in found]


@pytest.mark.parametrize(
    "written, first",
    [
        ("县发展和改革委员会", (13, 1.0, "名称一致")),
        ("县发改委", (13, 1.0, "简称一致")),
        ("县环保局", (21, 1.0, "别名一致")),
        ("清溪经开区管委会", (23, 1.0, "别名一致")),
        ("清溪县发展和改革委员会", (13, 0.95, "规范化后一致")),
        ("市生态环境局（清溪分局）", (21, 0.95, "规范化后一致")),
        ("住建局", (15, 0.95, "规范化后一致")),
        ("清溪镇人民政府", (1, 0.95, "规范化后一致")),
    ],
)
def test_suggest_units_first_suggestion(written, first):
    assert _top(written)[0] == first


@pytest.mark.parametrize(
    "written, unit_id",
    [
        ("县自然资源局", 17),
        ("县交通局", 24),
        ("县水利局", 16),
        ("县教育局", 18),
        ("县农业局", 25),
        ("县环境局", 21),
        ("县审计", 35),
        ("县融媒中心", 42),
        ("县中医医院", 45),
    ],
)
def test_suggest_units_similar_names(written, unit_id):
    suggestions = suggest_units(written, UNITS, county_names=COUNTY)
    assert suggestions[0].unit_id == unit_id
    assert suggestions[0].reason == "相似"
    assert 0.5 <= suggestions[0].score <= 0.9


def test_suggest_units_ranks_and_breaks_ties_by_name():
    suggestions = suggest_units("青山镇", UNITS, county_names=COUNTY)
    assert suggestions[0] == Suggestion(2, "青山镇", 1.0, "名称一致")
    assert 6 in {s.unit_id for s in suggestions[1:]}  # 青石镇, similar
    order = [(-s.score, s.name) for s in suggestions]
    assert order == sorted(order)


def test_suggest_units_tied_scores_are_in_name_order():
    units = [(3, "县丙局", None, []), (1, "县乙局", None, []), (2, "县甲局", None, [])]
    suggestions = suggest_units("县丁局", units, county_names=COUNTY)
    assert [s.name for s in suggestions] == sorted(s.name for s in suggestions)
    assert len({s.score for s in suggestions}) == 1


def test_suggest_units_limit():
    assert len(suggest_units("县局", UNITS, county_names=COUNTY, limit=3)) <= 3
    assert len(suggest_units("镇", UNITS, county_names=COUNTY, limit=2)) <= 2
    assert suggest_units("县发改委", UNITS, county_names=COUNTY, limit=0) == []


def test_suggest_units_two_units_with_one_key_both_shown():
    units = [*UNITS, (99, "清溪县发展和改革委员会", None, [])]
    found = suggest_units("发改委", units, county_names=COUNTY)
    assert [(s.unit_id, s.score) for s in found[:2]] == [(13, 0.95), (99, 0.95)]


@pytest.mark.parametrize("written", ["", "   ", "某某科技有限公司", "县直各相关单位", "xyz"])
def test_suggest_units_nothing_like_it(written):
    assert suggest_units(written, UNITS, county_names=COUNTY) == []


@SETTINGS
@given(st.text(max_size=12))
def test_suggestions_are_ranked_scored_and_limited(written):
    found = suggest_units(written, UNITS, county_names=COUNTY)
    assert len(found) <= 5
    assert all(0.5 <= s.score <= 1 for s in found)
    assert [(-s.score, s.name) for s in found] == sorted((-s.score, s.name) for s in found)
    assert all(s.reason in {"名称一致", "别名一致", "简称一致", "规范化后一致", "相似"} for s in found)


@SETTINGS
@given(st.text(max_size=12))
def test_a_certain_match_is_the_first_suggestion(written):
    unit_id = match_unit(written, UNITS, county_names=COUNTY)
    if unit_id is not None:
        found = suggest_units(written, UNITS, county_names=COUNTY)
        assert found[0].unit_id == unit_id
        assert found[0].score >= 0.95
