"""Visual regression: every document, rendered from a fixed county, looks like its reviewed reference.

Each document is rendered from the same county (fixed data, fixed dates,
the print fonts cut from the faces ``scripts/services.sh fonts`` installs),
turned into greyscale PNGs by ``pdftoppm`` at 40 dpi and compared page by
page with the PNGs committed under ``tests/documents/reference/``. A page
differs when more than ``THRESHOLD`` of its pixels differ by more than
``TOLERANCE`` grey levels: a margin moved by a millimetre or another face
changes several percent of them; anti-aliasing noise none.

After a deliberate change of the layout, look at the new renderings and
write them as the references: ``UPDATE_REFERENCE=1 pytest tests/documents/test_visual.py``.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from sqlalchemy import select

from portal.core.extensions import db
from portal.documents import content, fonts, layout, services
from portal.models import CardEvent, Interview, Project
from tests import factories as f

REFERENCE = Path(__file__).parent / "reference"
DPI = 40
TOLERANCE = 48  # grey levels (of 255) a pixel may differ by before it counts
THRESHOLD = 0.002  # share of a page's pixels that may differ (0.2 %)
UPDATE = os.environ.get("UPDATE_REFERENCE") == "1"
DOCUMENTS = ("notice", "bulletin", "ranking", "ledger")


def seal_png() -> bytes:
    from PIL import ImageDraw

    image = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((12, 12, 388, 388), outline=(220, 0, 0, 230), width=14)
    draw.regular_polygon((200, 200, 60), 5, fill=(220, 0, 0, 230))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _expected_sources() -> dict[str, str]:
    """The faces each print font must be cut from for the references to hold (what services.sh installs)."""
    return {face.file: (face.source_files[0] if face.source_files else face.source_family.partition(":")[0])
            for face in fonts.FACES}


def _check_fonts(directory: str) -> None:
    manifest = fonts.read_manifest(directory)
    for file, source in _expected_sources().items():
        path = manifest.get(file, {}).get("path", "")
        family_file = {"Noto Serif CJK SC": "NotoSerifCJK", "Noto Sans CJK SC": "NotoSansCJK"}.get(source, source)
        if family_file not in path:
            pytest.fail(f"the print font {file} was cut from {path or 'nothing'}, not {source}: the references need "
                        "the faces scripts/services.sh fonts installs (fonts-noto-cjk, texlive-lang-chinese)")


@pytest.fixture
def county(app, clock, print_font_dir):
    """One county, always the same: two leagues, an office outside them, cards, an interview, a seal."""
    _check_fonts(print_font_dir)
    app.config["JIEDIAN_DOC_PREFIX"] = "清督"
    towns, departments = f.league("乡镇联赛"), f.league("部门联赛")
    # Every name given: the factories' defaults number objects across the whole session.
    office = f.unit("清溪县委县政府督查室", short_name="督查室")
    units = [f.unit(name, league=towns, short_name=name, head_name="王建国" if i == 0 else None)
             for i, name in enumerate(("青山镇", "龙泉镇", "清溪镇", "白石乡", "花园乡"))]
    units += [f.unit(name, league=departments, short_name=name[:6]) for name in ("县发展和改革委员会", "县住房和城乡建设局", "县自然资源和规划局",
                                                            "清溪县城市建设投资集团有限公司")]
    sup = f.user("sup", roles=["supervisor"], unit=office)
    industry, city, theme = f.category("产业项目"), f.category("城市建设"), f.theme("产业创新")
    titles = ("完成土地摘牌", "取得施工许可证", "主体结构封顶", "完成设备安装调试", "通过竣工验收")
    for i, unit in enumerate(units):
        project = f.project(lead_unit=unit, category=industry if i % 2 == 0 else city, code=f"QX-{i:02d}",
                            name=("新能源整车配套产业园", "雨污分流管网改造工程", "白石工业园标准化厂房",
                                  "清溪大道综合改造工程", "现代农业产业园冷链物流中心")[i % 5] + ("" if i < 5 else "二期"),
                            start_date=date(2026, 1, 1), end_date=date(2026, 12, 31), theme=theme)
        for j, title in enumerate(titles):
            deadline = date(2026, 6, 1 + j + i % 3)
            status = "done" if (i + j) % 3 == 0 else ("doing" if j < 3 else "todo")
            card = "green" if status == "done" else ("yellow" if deadline < date(2026, 6, 8) and (i + j) % 4 == 1 else "none")
            node = f.node(project, title=title, deadline=deadline, status=status, card=card)
            if card != "none":
                db.session.add(CardEvent(node=node, unit=unit, colour=card, points=1 if card == "green" else 0,
                                         effective_date=deadline))
    db.session.flush()
    red_node = f.node(db.session.scalars(select(Project).order_by(Project.id)).first(), title="完成征迁扫尾", deadline=date(2026, 5, 20), status="doing",
                      card="red", is_key_supervision=True)
    red = CardEvent(node=red_node, unit=units[0], colour="red", points=-1, effective_date=date(2026, 6, 3))
    interview = Interview(unit=units[0], trigger="red", state="scheduled", proposed_on=date(2026, 6, 4),
                          scheduled_for=datetime(2026, 6, 18, 7, 0, tzinfo=UTC), place="县委县政府督查室会议室",
                          interviewer_name="周建华副县长", bring="超期情况说明、整改方案")
    interview.cards.append(red)
    db.session.add_all([red, interview])
    layout.save_texts(sup.id, "清溪县委县政府督查室", "县委办公室，县政府办公室", "", now=clock.now())
    db.session.commit()
    return {"sup": sup, "interview": interview, "unit": units[0]}


def _render(name: str, county, clock) -> bytes:
    if name == "notice":
        layout.save_seal(None, seal_png(), now=clock.now())  # one document shows the seal image
        document = services.issue_notice(county["sup"], county["interview"], clock=clock)
        return services.archived_bytes(document)
    if name == "bulletin":
        document = services.draft_bulletin(county["sup"], "week", date(2026, 6, 1), None, None, "",
                                           "请各单位对照通报问题，倒排工期、压实责任，确保节点按期完成。", clock=clock)
        services.edit_bulletin(county["sup"], document, "6月1日至7日，各地各部门持续压紧压实节点责任，重点工作总体推进有力，"
                               "但仍有部分节点超期未完成。现将有关情况通报如下。", document.body)
        return services.render_bulletin(document, "清督通〔2026〕1号", clock=clock)
    if name == "ranking":
        return services.ranking_pdf("week", date(2026, 6, 1), "清督排〔2026〕1号", clock=clock)
    return services.unit_ledger_pdf(county["unit"], clock=clock)


def _pages(pdf: bytes, tmp_path: Path, name: str) -> list[Image.Image]:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-gray", "-png", "-r", str(DPI), str(path), str(tmp_path / name)], check=True)
    return [Image.open(p).convert("L") for p in sorted(tmp_path.glob(f"{name}-*.png"))]


def difference(page: Image.Image, reference: Image.Image) -> float:
    """The share of pixels that differ by more than TOLERANCE grey levels (1.0 when the sizes differ)."""
    if page.size != reference.size:
        return 1.0
    histogram = ImageChops.difference(page, reference).histogram()
    return sum(histogram[TOLERANCE + 1:]) / (page.size[0] * page.size[1])


def compare(name: str, pages: list[Image.Image], update: bool = False) -> list[str]:
    """Problems found against the references (none when ``update`` writes them instead)."""
    if update:
        REFERENCE.mkdir(exist_ok=True)
        for old in REFERENCE.glob(f"{name}-*.png"):
            old.unlink()
        for number, page in enumerate(pages, 1):
            page.save(REFERENCE / f"{name}-{number}.png", optimize=True)
        return []
    references = sorted(REFERENCE.glob(f"{name}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    problems = []
    if len(references) != len(pages):
        problems.append(f"{name}: {len(pages)} pages, the reference has {len(references)}")
    for number, (page, ref) in enumerate(zip(pages, references, strict=False), 1):
        share = difference(page, Image.open(ref).convert("L"))
        if share > THRESHOLD:
            problems.append(f"{name} page {number}: {share:.2%} of the pixels differ (at most {THRESHOLD:.1%})")
    return problems


@pytest.mark.parametrize("name", DOCUMENTS)
def test_each_document_looks_like_its_reference(app, county, clock, tmp_path, name):
    pdf = _render(name, county, clock)
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    flat = "".join(text.split())
    assert flat.startswith("清溪县委县政府督查室")  # 版头: the issuing organ comes first
    number = {"notice": "清督约〔2026〕1号", "bulletin": "清督通〔2026〕1号", "ranking": "清督排〔2026〕1号"}.get(name)
    if number:
        assert number in flat  # 发文字号
    title = {"notice": "关于对青山镇进行红牌约谈的通知", "bulletin": "关于2026年第23周（6月1日—6月7日）节点工作情况的通报",
             "ranking": "2026年第23周（6月1日—6月7日）节点工作联赛排名", "ledger": "青山镇节点工作台账"}[name]
    assert title in flat  # the title, whatever its lines
    last = re.sub(r"—\d+—$", "", flat)  # the last page's number
    assert "抄送：县委办公室，县政府办公室。" in flat and last.endswith("2026年6月15日印发")  # 版记, last
    problems = compare(name, _pages(pdf, tmp_path, name), update=UPDATE)
    assert not problems, "; ".join(problems) + " — look at the rendering; if the change is meant, UPDATE_REFERENCE=1"


def test_the_comparison_sees_a_moved_margin_and_another_face(app, county, clock, tmp_path, monkeypatch):
    """The check itself: the ranking with its left margin 2 mm wider, or its body in 楷体, is caught."""
    from weasyprint import CSS

    from portal.documents import render

    def with_rule(css: str, folder: str) -> list[Image.Image]:
        parse = render._stylesheets

        def patched():
            font_config, sheets = parse()
            return font_config, [*sheets, CSS(string=css, font_config=font_config)]

        monkeypatch.setattr(render, "_stylesheets", patched)
        try:
            (tmp_path / folder).mkdir()
            return _pages(_render("ranking", county, clock), tmp_path / folder, "ranking")
        finally:
            monkeypatch.setattr(render, "_stylesheets", parse)

    pristine = with_rule("", "pristine")
    assert not compare("ranking", pristine) or UPDATE  # the references are being written
    moved = with_rule("@page gbt { margin-left: 30mm; }", "moved")
    face = with_rule('.gbt { font-family: "Jiedian Kai"; }', "face")
    assert difference(moved[0], pristine[0]) > 5 * THRESHOLD  # 2 mm: every line of text moves
    assert difference(face[0], pristine[0]) > 5 * THRESHOLD  # 楷体 for 仿宋: the body's strokes change
    assert compare("ranking", moved) and compare("ranking", face)


def test_title_lines_are_whole_words():
    assert content.title_lines("关于2026年第23周（6月1日—6月7日）节点工作情况的通报") == [
        "关于2026年第23周（6月1日—6月7日）", "节点工作情况的通报"]

