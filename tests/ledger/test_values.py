"""Reading cell values the way county offices write them (portal.ledger.values)."""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from portal.ledger.values import (
    clean_person,
    is_finished,
    is_same_as_above,
    normalise_text,
    parse_date,
    parse_money,
    people,
    split_units,
    year_hint,
)

set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "jiedian-hypothesis"))
SETTINGS = settings(max_examples=200, deadline=None, database=None)

D = date(2026, 3, 31)

# -- parse_date -----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        # cells that already are dates
        (date(2026, 3, 31), D),
        (datetime(2026, 3, 31), D),
        (datetime(2026, 3, 31, 17, 30), D),
        # Excel serial numbers and 8-digit numbers
        (46112, D),
        (46112.0, D),
        (46112.75, D),
        (Decimal("46112"), D),
        (20260331, D),
        # full dates in text
        ("2026年3月31日", D),
        ("2026年03月31日", D),
        ("2026年03月31号", D),
        ("2026年3月31", D),
        ("2026.3.31", D),
        ("2026.03.31", D),
        ("2026/03/31", D),
        ("2026/3/31", D),
        ("2026-03-31", D),
        ("2026-3-31", D),
        ("20260331", D),
        ("2026-03-31 00:00:00", D),
        ("2026/3/31 17:30", D),
        ("2026-03-31T08:00:00", D),
        ("2026年3月31日 09:00", D),
        ("2026 年 3 月 31 日", D),
        ("  2026年3月31日  ", D),
        ("2026年3月31日。", D),
        ("2026。3。31", D),
        # full width
        ("２０２６年３月３１日", D),
        ("２０２６．３．３１", D),
        ("２０２６／０３／３１", D),
        ("２０２６－０３－３１", D),
        ("\u3000２０２６年３月３１日\u3000", D),
        # Chinese numerals
        ("二〇二六年三月三十一日", D),
        ("二零二六年三月三十一日", D),
        ("二〇二六年十二月三十一日", date(2026, 12, 31)),
        ("二〇二六年十月一日", date(2026, 10, 1)),
        ("二〇二六年六月二十日", date(2026, 6, 20)),
        ("三月三十一日", D),
        # without a year: the year argument
        ("3月31日", D),
        ("3月31号", D),
        ("03月31日", D),
        ("3.31", D),
        ("3/31", D),
        ("3-31", D),
        ("３月３１日", D),
        ("３．３１", D),
        # month ends
        ("3月底", D),
        ("3月末", D),
        ("3月", D),
        ("3月份", D),
        ("2月底", date(2026, 2, 28)),
        ("2026年4月", date(2026, 4, 30)),
        ("2026年4月底", date(2026, 4, 30)),
        ("2026年4月份", date(2026, 4, 30)),
        ("2026.4", date(2026, 4, 30)),
        ("2026/4", date(2026, 4, 30)),
        ("2026-04", date(2026, 4, 30)),
        ("2028年2月", date(2028, 2, 29)),
        ("2026年底", date(2026, 12, 31)),
        ("年底", date(2026, 12, 31)),
        ("年底前", date(2026, 12, 31)),
        # deadlines with words around them
        ("6月30日前", date(2026, 6, 30)),
        ("6月30日之前", date(2026, 6, 30)),
        ("6月30日以前", date(2026, 6, 30)),
        ("6月底前", date(2026, 6, 30)),
        ("6月末前", date(2026, 6, 30)),
        ("6月30日前完成", date(2026, 6, 30)),
        ("6月30日止", date(2026, 6, 30)),
        ("截至6月30日", date(2026, 6, 30)),
        ("截止6月30日前", date(2026, 6, 30)),
        ("于2026年6月30日前", date(2026, 6, 30)),
        ("2026年6月底前", date(2026, 6, 30)),
        (" 6月30日 前 ", date(2026, 6, 30)),
    ],
)
def test_parse_date_reads_what_offices_write(raw, expected):
    assert parse_date(raw, year=2026) == expected


@pytest.mark.parametrize(
    "raw, year, expected",
    [
        ("3月31日", 2027, date(2027, 3, 31)),
        ("2月底", 2028, date(2028, 2, 29)),
        ("2026年3月31日", 2030, D),  # the text's own year wins
        ("2026.3.31", None, D),
        (46112, None, D),
        (date(2026, 3, 31), None, D),
    ],
)
def test_parse_date_year_argument(raw, year, expected):
    assert parse_date(raw, year=year) == expected


@pytest.mark.parametrize(
    "raw, message",
    [
        ("下半年", "无法识别的日期“下半年”"),
        ("上半年", "无法识别的日期“上半年”"),
        ("第二季度", "无法识别的日期“第二季度”"),
        ("6月中旬", "无法识别的日期“6月中旬”"),
        ("长期", "无法识别的日期“长期”"),
        ("持续推进", "无法识别的日期“持续推进”"),
        ("2026年", "无法识别的日期“2026年”"),
        ("26.3.31", "无法识别的日期“26.3.31”"),
        ("2026.3/31", "无法识别的日期“2026.3/31”"),
        ("3月31日至4月5日", "无法识别的日期“3月31日至4月5日”"),
        ("2026-03-31 25:00", "无法识别的日期“2026-03-31 25:00”"),
        ("前", "无法识别的日期“前”"),
        ("46112", "无法识别的日期“46112”"),
        ("2月30日", "日期“2月30日”不存在"),
        ("2026年2月29日", "日期“2026年2月29日”不存在"),
        ("2026.4.31", "日期“2026.4.31”不存在"),
        ("13月1日", "日期“13月1日”不存在"),
        ("2026.13", "日期“2026.13”不存在"),
        ("0月5日", "日期“0月5日”不存在"),
        ("3月0日", "日期“3月0日”不存在"),
        ("20261331", "日期“20261331”不存在"),
        ("1999年1月1日", "日期“1999年1月1日”的年份不对"),
        ("2206年3月31日", "日期“2206年3月31日”的年份不对"),
        ("", "未填写日期"),
        ("   ", "未填写日期"),
        (None, "无法识别的日期“”"),
        (True, "无法识别的日期“True”"),
        (5, "无法识别的日期“5”"),
        (2026, "无法识别的日期“2026”"),
        (float("nan"), "无法识别的日期“nan”"),
        (3.31, "日期“3.31”被存成了数字，请写成“3月31日”的样式"),
        (["2026-03-31"], "无法识别的日期“['2026-03-31']”"),
    ],
)
def test_parse_date_refuses_with_a_chinese_reason(raw, message):
    with pytest.raises(ValueError) as caught:
        parse_date(raw, year=2026)
    assert str(caught.value) == message


@pytest.mark.parametrize("raw", ["3月31日", "3.31", "3/31", "3月底", "6月底前", "年底", "三月三十一日"])
def test_parse_date_without_any_year_says_the_year_is_missing(raw):
    with pytest.raises(ValueError, match="缺少年份"):
        parse_date(raw, year=None)


def test_parse_date_message_quotes_a_long_value_cut_short():
    with pytest.raises(ValueError) as caught:
        parse_date("已完成主体结构施工正在装修预计下半年完成验收工作", year=2026)
    assert str(caught.value) == "无法识别的日期“已完成主体结构施工正在装修预计下半年完成…”"


@SETTINGS
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_every_written_date_round_trips(day):
    y, m, d = day.year, day.month, day.day
    for text in (
        f"{y}年{m}月{d}日",
        f"{y}年{m:02d}月{d:02d}日",
        f"{y}.{m}.{d}",
        f"{y}/{m:02d}/{d:02d}",
        f"{y}-{m:02d}-{d:02d} 00:00:00",
        f"{y}{m:02d}{d:02d}",
        f"{m}月{d}日前",
    ):
        assert parse_date(text, year=y) == day, text
    assert parse_date(f"{y}年{m}月{d}日".translate(_FULL_WIDTH), year=None) == day
    assert parse_date(f"{y}.{m}.{d}".translate(_FULL_WIDTH), year=None) == day


_FULL_WIDTH = str.maketrans("0123456789./-", "０１２３４５６７８９．／－")


@SETTINGS
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_every_excel_serial_round_trips(day):
    serial = (day - date(1899, 12, 30)).days
    assert parse_date(serial, year=None) == day
    assert parse_date(float(serial) + 0.5, year=None) == day


@SETTINGS
@given(st.integers(2000, 2099), st.integers(1, 12))
def test_month_end_is_the_last_day_of_that_month(year, month):
    end = parse_date(f"{year}年{month}月底", year=None)
    assert (end.year, end.month) == (year, month)
    assert date.fromordinal(end.toordinal() + 1).day == 1
    assert parse_date(f"{month}月末", year=year) == end == parse_date(f"{year}.{month}", year=None)


@SETTINGS
@given(st.text(max_size=12))
def test_parse_date_returns_a_date_or_says_why(text):
    try:
        result = parse_date(text, year=2026)
    except ValueError as refused:
        assert str(refused)
        assert any("\u4e00" <= c <= "\u9fff" for c in str(refused))
    else:
        assert isinstance(result, date)


# -- year_hint ------------------------------------------------------------------


@pytest.mark.parametrize(
    "texts, expected",
    [
        (["清溪县2026年重点项目节点任务台账"], 2026),
        (["清溪县 2026 年度重点项目督查台账"], 2026),
        (["清溪县２０２６年重点项目节点任务台账"], 2026),
        ([None, 7, "", "清溪县2025年重点项目台账（截至2025年12月）"], 2025),
        (["台账", "清溪台账2026.xlsx"], 2026),
        (["清溪县重点项目台账", "2027年"], 2027),
        (["2025年度总结及2026年计划"], None),
        (["清溪县重点项目节点任务台账"], None),
        (["编号20260331"], None),
        (["1999年台账"], None),
        ([], None),
    ],
)
def test_year_hint(texts, expected):
    assert year_hint(texts) == expected


def test_year_hint_reads_a_generator_and_stops_at_the_first_year():
    assert year_hint(t for t in ["标题", "2026年台账", "2027年"]) == 2026


# -- parse_money ----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1.2亿", "12000"),
        ("1.2亿元", "12000"),
        ("2.35亿元", "23500"),
        ("0.5亿", "5000"),
        ("8000万元", "8000"),
        ("8000万", "8000"),
        ("8000", "8000"),
        ("1,560.5", "1560.5"),
        ("12,345,678.9", "12345678.9"),
        ("1560.5", "1560.5"),
        ("3000元", "0.3"),
        ("123456元", "12.35"),
        ("1元", "0"),
        ("１，５６０．５", "1560.5"),
        ("１２００万元", "1200"),
        ("1.2 亿元", "12000"),
        (" 8000 万 ", "8000"),
        ("0", "0"),
        ("1560.555", "1560.56"),
        ("1560.554", "1560.55"),
        (1560.5, "1560.5"),
        (0.1 + 0.2, "0.3"),
        (12, "12"),
        (Decimal("99.999"), "100"),
        (0, "0"),
    ],
)
def test_parse_money_in_wan_yuan(raw, expected):
    value = parse_money(raw)
    assert value == Decimal(expected)
    assert value.as_tuple().exponent == -2


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000", "\n"])
def test_parse_money_blank_is_none(raw):
    assert parse_money(raw) is None


@pytest.mark.parametrize(
    "raw, message",
    [
        ("约3000万", "无法识别的金额“约3000万”"),
        ("三千万", "无法识别的金额“三千万”"),
        ("待定", "无法识别的金额“待定”"),
        ("1,56,0", "无法识别的金额“1,56,0”"),
        ("1.2.3", "无法识别的金额“1.2.3”"),
        ("-5", "无法识别的金额“-5”"),
        ("1e3", "无法识别的金额“1e3”"),
        ("1.2美元", "无法识别的金额“1.2美元”"),
        ("亿", "无法识别的金额“亿”"),
        ("1.2亿万", "无法识别的金额“1.2亿万”"),
        (".5", "无法识别的金额“.5”"),
        (-5, "金额“-5”不能为负数"),
        (Decimal("-0.5"), "金额“-0.5”不能为负数"),
        (True, "无法识别的金额“True”"),
        (float("inf"), "无法识别的金额“inf”"),
        (date(2026, 3, 31), "无法识别的金额“2026-03-31”"),
    ],
)
def test_parse_money_refuses_with_a_chinese_reason(raw, message):
    with pytest.raises(ValueError) as caught:
        parse_money(raw)
    assert str(caught.value) == message


@SETTINGS
@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_money_written_every_way_reads_the_same(amount):
    wan = parse_money(f"{amount}")
    assert wan == amount
    assert parse_money(f"{amount:,}") == wan
    assert parse_money(f"{amount}万元") == wan
    assert parse_money(f"{amount / 10000}亿元") == wan
    assert parse_money(f"{amount * 10000}元") == wan


# -- people ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("周敏", "周敏"),
        ("周敏 13907210001", "周敏"),
        ("周敏13907210001", "周敏"),
        ("周敏 139-0721-0001", "周敏"),
        ("周敏 +86 13907210001", "周敏"),
        ("周敏（电话：0721-1234567）", "周敏"),
        ("周敏 手机：13907210001", "周敏"),
        ("周敏 联系电话13907210001", "周敏"),
        ("孙丽（副主任）", "孙丽"),
        ("孙丽(副主任)", "孙丽"),
        ("孙丽【副主任】", "孙丽"),
        ("孙丽 副主任", "孙丽"),
        ("孙丽\u3000副主任", "孙丽"),
        ("孙丽副主任", "孙丽"),
        ("王建军局长", "王建军"),
        ("王建军 副局长 13800000000", "王建军"),
        ("李强 书记", "李强"),
        ("赵刚 镇长", "赵刚"),
        ("钱进 科长", "钱进"),
        ("吴芳 经理", "吴芳"),
        ("王建军/13800000000", "王建军"),
        ("县发改委 王建军", "王建军"),
        ("清溪镇人民政府 赵刚", "赵刚"),
        ("王建军、李明", "王建军"),
        ("王建军，李明", "王建军"),
        ("王建军;李明", "王建军"),
        ("周　敏", "周敏"),
        ("周 敏 13907210001", "周敏"),
        ("张主任", "张主任"),  # only a surname would be left: kept as written
        ("张和平", "张和平"),
        ("李镇", "李镇"),
        ("阿卜杜拉·买买提", "阿卜杜拉·买买提"),
        ("", ""),
        (None, ""),
        ("13907210001", ""),
    ],
)
def test_clean_person(raw, expected):
    assert clean_person(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("王建军、李明", ["王建军", "李明"]),
        ("王建军 李明", ["王建军", "李明"]),
        ("王建军\n李明", ["王建军", "李明"]),
        ("王建军/李明/周敏", ["王建军", "李明", "周敏"]),
        ("王建军（主任）、李明（副主任）", ["王建军", "李明"]),
        ("王建军 13800000000、李明 13900000000", ["王建军", "李明"]),
        ("周 敏、李 明", ["周敏", "李明"]),
        ("王建军、王建军", ["王建军"]),
        ("县发改委 王建军 主任、县财政局 李明", ["王建军", "李明"]),
        ("张和平和李明", ["张和平和李明"]),  # 和 does not separate people
        ("", []),
        ("、 ；", []),
    ],
)
def test_people(raw, expected):
    assert people(raw) == expected


@SETTINGS
@given(st.lists(st.sampled_from(["周敏", "孙丽", "王建军", "李明", "欧阳明", "赵刚"]), min_size=1, max_size=4,
                unique=True), st.sampled_from(["、", "，", ";", "/", " ", "\n"]))
def test_people_joined_any_way_come_back_in_order(names, separator):
    written = separator.join(f"{n}（副主任） 1390721000{i}" for i, n in enumerate(names))
    assert people(written) == names
    assert clean_person(written) == names[0]


# -- is_finished ----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("已完成", True),
        ("完成", True),
        ("已办结", True),
        ("办结", True),
        ("已销号", True),
        ("✓", True),
        ("√", True),
        ("✔", True),
        ("是", True),
        (" 已完成。", True),
        ("已完成，待验收", True),
        ("已完成。", True),
        ("完成,资料已归档", True),
        ("已完成（6月28日）", True),
        (True, True),
        ("未完成", False),
        ("推进中", False),
        ("正在推进", False),
        ("未开始", False),
        ("否", False),
        ("×", False),
        (False, False),
        ("", None),
        ("  ", None),
        (None, None),
        ("已完成主体结构施工，正在装修", None),
        ("完成率80%", None),
        ("基本完成", None),
        ("部分完成", None),
        ("未完成，正在推进", None),
        ("已完成80%", None),
        ("进展顺利", None),
        (1, None),
        (date(2026, 3, 31), None),
    ],
)
def test_is_finished(raw, expected):
    assert is_finished(raw) is expected


# -- split_units ----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("县发改委", ["县发改委"]),
        ("县发改委、县财政局", ["县发改委", "县财政局"]),
        ("县发改委，县财政局", ["县发改委", "县财政局"]),
        ("县发改委,县财政局", ["县发改委", "县财政局"]),
        ("县发改委；县财政局;县水务局", ["县发改委", "县财政局", "县水务局"]),
        ("县发改委/县财政局", ["县发改委", "县财政局"]),
        ("县发改委 县财政局", ["县发改委", "县财政局"]),
        ("县发改委\u3000县财政局", ["县发改委", "县财政局"]),
        ("县发改委\n县财政局\r\n县水务局", ["县发改委", "县财政局", "县水务局"]),
        ("  县发改委 、、 县财政局  ", ["县发改委", "县财政局"]),
        ("县发改委、县发改委", ["县发改委"]),
        ("县发改委（牵头）、县财政局（配合）", ["县发改委", "县财政局"]),
        ("县发改委【牵头单位】、县财政局", ["县发改委", "县财政局"]),
        ("市生态环境局（清溪分局）", ["市生态环境局(清溪分局)"]),
        ("市生态环境局（清溪分局、监测站）、县水务局", ["市生态环境局(清溪分局、监测站)", "县水务局"]),
        ("县 发改委、县 财政局", ["县发改委", "县财政局"]),
        ("县住房和城乡建设局、县自然资源和规划局等", ["县住房和城乡建设局", "县自然资源和规划局"]),
        # 和 / 及 split only between two unit names
        ("县发展和改革委员会", ["县发展和改革委员会"]),
        ("县住房和城乡建设局", ["县住房和城乡建设局"]),
        ("县自然资源和规划局", ["县自然资源和规划局"]),
        ("县人力资源和社会保障局", ["县人力资源和社会保障局"]),
        ("县文化和旅游局", ["县文化和旅游局"]),
        ("县财政局和县水务局", ["县财政局", "县水务局"]),
        ("县发改委及县财政局", ["县发改委", "县财政局"]),
        ("县发展和改革委员会和县财政局", ["县发展和改革委员会", "县财政局"]),
        ("县委办和县政府办", ["县委办", "县政府办"]),
        ("清溪镇和青山镇", ["清溪镇", "青山镇"]),
        ("清溪镇和平村委会", ["清溪镇和平村委会"]),
        ("清溪镇和平村", ["清溪镇和平村"]),
        ("县发改委及各镇", ["县发改委及各镇"]),
        ("", []),
        (None, []),
    ],
)
def test_split_units(raw, expected):
    assert split_units(raw) == expected


@SETTINGS
@given(
    st.lists(st.sampled_from(["县发展和改革委员会", "县财政局", "清溪镇", "市生态环境局（清溪分局）",
                              "县住房和城乡建设局", "经济开发区管委会"]), min_size=1, max_size=5, unique=True),
    st.sampled_from(["、", "，", ",", "；", ";", "/", " ", "\n"]),
)
def test_units_joined_any_way_come_back_in_order(units, separator):
    assert split_units(separator.join(units)) == [normalise_text(u) for u in units]


# -- is_same_as_above -----------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("同上", True),
        (" 同上 ", True),
        ("同 上", True),
        ("同上。", True),
        ("“同上”", True),
        ('"同上"', True),
        ("＂同上＂", True),
        ("『同上』", True),
        ("〃", True),
        ("〃〃", True),
        ("”", True),
        ('"', True),
        ("″", True),
        ("''", True),
        ("同上级要求", False),
        ("见上", False),
        ("", False),
        (None, False),
        ("县发改委", False),
        (1, False),
    ],
)
def test_is_same_as_above(raw, expected):
    assert is_same_as_above(raw) is expected


# -- normalise_text -------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("ＡＢＣ１２３", "ABC123"),
        ("（副主任）", "(副主任)"),
        ("１，５６０．５", "1,560.5"),
        ("  a \t b\n\nc  ", "a b c"),
        ("\u3000清溪县\u3000", "清溪县"),
        ("清\u200b溪\ufeff县", "清溪县"),
        ("县发改委、县财政局。", "县发改委、县财政局。"),
        ("", ""),
        (None, ""),
        (12, "12"),
    ],
)
def test_normalise_text(raw, expected):
    assert normalise_text(raw) == expected


@SETTINGS
@given(st.text())
def test_normalise_text_is_idempotent_and_tidy(text):
    once = normalise_text(text)
    assert normalise_text(once) == once
    assert once == once.strip()
    assert "  " not in once and "\n" not in once
