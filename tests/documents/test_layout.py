"""GB/T 9704 layout settings: the issuing organ, 抄送, 印发机关 and the seal image, set by an administrator."""

from __future__ import annotations

import io
import subprocess
from datetime import date

from sqlalchemy import select

from portal.core.extensions import db
from portal.documents import content, services
from portal.models import AuditEntry, CountySetting
from tests import factories as f


def pdftotext(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def pdf_images(pdf: bytes, tmp_path) -> list[str]:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, check=True, text=True).stdout
    return [line for line in out.splitlines()[2:] if line.strip()]


def seal_png(width: int = 300, height: int = 300) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 10, width - 10, height - 10), outline=(220, 0, 0, 255), width=12)
    draw.regular_polygon((width // 2, height // 2, width // 6), 5, fill=(220, 0, 0, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _admin():
    f.user("root", roles=["admin"], unit=f.unit("县委县政府督查室"))
    db.session.commit()


def _ranking(clock) -> bytes:
    return services.ranking_pdf("week", date(2026, 6, 8), "督排〔2026〕1号", clock=clock)


def test_the_issuing_organ_copies_and_printer_are_set_by_an_administrator(app, client, auth, clock):
    _admin()
    before = pdftotext(_ranking(clock))
    assert "县委县政府督查室" in before and "抄送" not in before  # the configured default, no 抄送 line
    auth.login("root")
    response = auth.post("/admin/documents", {"office": "清溪县委县政府督查室", "cc": "县委办公室，县政府办公室",
                                              "printer": "清溪县委县政府督查室秘书科"}, page="/admin/")
    assert response.status_code == 303
    text = pdftotext(_ranking(clock))
    assert "清溪县委县政府督查室" in text  # 版头 and signature
    assert "抄送：县委办公室，县政府办公室。" in text
    assert "清溪县委县政府督查室秘书科" in text and "印发" in text
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "setting.documents")).one()
    assert entry.after["office"] == "清溪县委县政府督查室"
    page = auth.client.get("/admin/").get_data(as_text=True)
    assert 'value="清溪县委县政府督查室"' in page


def test_markup_in_the_settings_is_refused(app, client, auth):
    _admin()
    auth.login("root")
    response = auth.post("/admin/documents", {"office": "<script>x</script>", "cc": "", "printer": ""}, page="/admin/")
    assert response.status_code == 422
    assert db.session.get(CountySetting, "document.office") is None


def test_a_seal_image_is_checked_printed_and_removed(app, client, auth, clock, tmp_path):
    _admin()
    auth.login("root")
    assert pdf_images(_ranking(clock), tmp_path) == []  # room for the paper seal, no image
    for data, name, message in ((b"GIF89a not a png", "seal.png", "PNG"),
                                (seal_png(40, 40), "seal.png", "像素"),
                                (seal_png(400, 200), "seal.png", "圆形")):
        response = auth.post("/admin/documents", {"office": "", "cc": "", "printer": "",
                                                  "seal": (io.BytesIO(data), name)}, page="/admin/",
                             content_type="multipart/form-data")
        assert response.status_code == 422 and message in response.get_data(as_text=True), message
        assert db.session.get(CountySetting, "document.seal") is None
    response = auth.post("/admin/documents", {"office": "", "cc": "", "printer": "",
                                              "seal": (io.BytesIO(seal_png()), "公章.png")}, page="/admin/",
                         content_type="multipart/form-data")
    assert response.status_code == 303
    assert auth.client.get("/admin/documents/seal.png").data == seal_png()
    images = pdf_images(_ranking(clock), tmp_path)
    assert len(images) >= 1, images  # the seal, pressed over the signature
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "setting.seal")).one()
    response = auth.post("/admin/documents", {"office": "", "cc": "", "printer": "", "remove_seal": "y"}, page="/admin/")
    assert response.status_code == 303
    assert pdf_images(_ranking(clock), tmp_path) == []
    assert auth.client.get("/admin/documents/seal.png").status_code == 302


def test_an_oversized_seal_is_refused(app):
    import pytest

    from portal.core.errors import Refused
    from portal.documents.layout import check_seal

    with pytest.raises(Refused) as refusal:
        check_seal(b"\x89PNG\r\n\x1a\n" + b"0" * (2 * 1024 * 1024 + 10))
    assert refusal.value.status == 422 and "2 MB" in refusal.value.message


def test_titles_break_between_words_never_inside_a_name():
    assert content.title_lines("关于对上派镇进行红牌约谈的通知") == ["关于对上派镇进行红牌约谈的通知"]
    lines = content.title_lines("关于2026年第49周（11月30日—12月6日）节点工作情况的通报")
    assert lines == ["关于2026年第49周（11月30日—12月6日）", "节点工作情况的通报"]
    lines = content.title_lines("关于对清溪县发展和改革委员会进行黄牌约谈的通知", keep=("清溪县发展和改革委员会",))
    assert lines == ["关于对清溪县发展和改革委员会", "进行黄牌约谈的通知"]
    assert all(len(line) <= 20 for line in content.title_lines("清溪县城市建设投资集团有限公司节点工作台账明细表",
                                                                keep=("清溪县城市建设投资集团有限公司",)))
