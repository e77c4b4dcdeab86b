"""The page measured against GB/T 9704-2012: margins and the 22 × 28 grid of a full page of body text."""

from __future__ import annotations

import re
import subprocess

from portal.documents.render import html_to_pdf

MM = 25.4 / 72  # millimetres per point


def _lines(pdf: bytes, page: int = 1) -> list[tuple[float, float, float, float, str]]:
    """(left, top, right, bottom) in mm and the text of each line pdftotext finds on a page."""
    out = subprocess.run(["pdftotext", "-bbox-layout", "-f", str(page), "-l", str(page), "-", "-"], input=pdf,
                         capture_output=True, check=True).stdout.decode()
    found = []
    for x0, y0, x1, y1, body in re.findall(
            r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</line>', out, re.S):
        found.append((float(x0) * MM, float(y0) * MM, float(x1) * MM, float(y1) * MM,
                      "".join(re.findall(r">([^<]*)</word>", body))))
    return found


def test_a_full_page_holds_22_lines_of_28_characters_within_the_standard_margins(app):
    text = "节点工作法督查室通报全县重点项目推进情况" * 60
    pdf = html_to_pdf(f'<html><body class="gbt"><p class="flush">{text}</p></body></html>')
    lines = _lines(pdf)
    body, folio = lines[:-1], lines[-1]
    assert len(body) == 22 and {len(line[4]) for line in body} == {28}  # 22 lines × 28 characters
    assert abs(min(line[0] for line in body) - 28) < 0.1  # 订口 28 mm (±1)
    assert 183.5 < max(line[2] for line in body) <= 184.0  # the 版心 is 156 mm wide: 26 mm on the right
    pitch = (body[-1][1] - body[0][1]) / 21
    assert abs(pitch * 22 - 225) < 1  # 22 lines fill the 225 mm 版心
    top_of_block = body[0][1] - (pitch - 16 * MM) / 2  # the first line box starts at the 版心's top
    assert abs(top_of_block - 37) < 0.1  # 天头 37 mm (±1)
    assert folio[4] == "—1—" and abs(folio[2] - (184 - 5.6)) < 0.3  # 页码 one character in from the right on an odd page …
    assert 5.5 < folio[1] - (37 + 225) < 8.5  # … its line 7 mm below the 版心 (pdftotext measures from the ascent)
    print(f"grid: {len(body)} lines x {len(body[0][4])} characters; text from {min(line[0] for line in body):.2f} "
          f"to {max(line[2] for line in body):.2f} mm; block top {top_of_block:.2f} mm; pitch {pitch:.3f} mm "
          f"(22 lines = {pitch * 22:.2f} mm); folio top {folio[1] - 262:.2f} mm below the block, right edge {folio[2]:.2f} mm")
