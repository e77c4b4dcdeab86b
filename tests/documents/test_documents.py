"""PDFs: Chinese text extractable, fonts embedded, numbered, archived unchanged, nothing fetched."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from portal.core.extensions import db
from portal.documents.services import archived_bytes
from portal.models import CardEvent, Document, Interview, JobRun, Unit
from portal.sweeps.services import sweep
from tests import factories as f

EVIL = '<img src="file:///etc/passwd"><link rel="attachment" href="file:///etc/hostname">'


def pdftotext(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def pdffonts(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout


@pytest.fixture
def township(app, clock):
    league = f.league("乡镇联赛")
    unit = f.unit("上派镇", league=league, head_name="王建国")
    f.unit("三河镇", league=league)
    f.user("sup", roles=["supervisor"], unit=f.unit("县委督查室"))
    f.user("leader", roles=["leader"], unit=f.unit("县政府"))
    f.user("staff", roles=["unit_staff"], unit=unit)
    project = f.project(lead_unit=unit, name="新能源整车配套产业园")
    f.node(project, title="完成土地摘牌", deadline=date(2026, 6, 1))
    f.node(project, title=EVIL, deadline=date(2026, 6, 2))
    f.node(project, title="取得施工许可证", deadline=date(2026, 6, 3))
    db.session.commit()
    sweep(clock.today(), clock)
    db.session.commit()
    app.config["JIEDIAN_DOC_PREFIX"] = "清督"
    return unit



def test_ranking_pdf_has_units_scores_and_embedded_subset_fonts(login_as, app, township, tmp_path):
    staff = login_as("staff")
    response = staff.client.get("/rankings/export.pdf?period=month&date=2026-06-15")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdftotext(response.data)
    assert "上派镇" in text and "三河镇" in text and "乡镇联赛" in text and "2026年6月" in text
    fonts = pdffonts(response.data, tmp_path)
    lines = [line for line in fonts.splitlines()[2:] if line.strip()]
    assert lines and all(" yes yes " in line for line in lines), fonts  # embedded, subset
    assert any("Jiedian-Fang" in line for line in lines)  # the print fonts: 仿宋 for the body (GB/T 9704)


def test_cli_writes_the_ranking(app, township, runner, tmp_path):
    out = tmp_path / "ranking.pdf"
    result = runner.invoke(args=["report", "ranking", "--period", "week", "--date", "2026-06-15", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "上派镇" in pdftotext(out.read_bytes())


def test_interview_notice_is_numbered_archived_and_escapes_titles(login_as, app, township, tmp_path):
    interview = next(i for i in db.session.scalars(select(Interview).where(Interview.trigger == "red"))
                     if i.cards[0].node.title == EVIL)
    interview.state = "scheduled"
    interview.scheduled_for = datetime(2026, 6, 18, 7, 0, tzinfo=UTC)  # 15:00 in Shanghai
    interview.place = "县委县政府督查室会议室"
    interview.interviewer_name = "周建华副县长"
    interview.bring = "超期情况说明、整改方案"
    db.session.commit()
    sup = login_as("sup")
    # Reading before issuing numbers nothing (M #5): the notice is issued by a POST only.
    assert sup.client.get(f"/interviews/{interview.id}/notice.pdf").status_code == 404
    assert db.session.scalars(select(Document).where(Document.kind == "notice")).all() == []
    issued = sup.post(f"/interviews/{interview.id}/notice", page=f"/interviews/{interview.id}")
    assert issued.status_code == 303 and issued.headers["Location"] == f"/interviews/{interview.id}/notice.pdf"
    first = sup.client.get(issued.headers["Location"])
    assert first.status_code == 200
    text = pdftotext(first.data)
    assert "清督约〔2026〕1号" in text and "上派镇" in text and "王建国" in text
    assert "2026年6月18日15:00" in text and "周建华副县长" in text
    assert 'src="file:///etc/passwd"' in text.replace("\n", "")  # the evil title is printed as text (wrapped in its cell) …
    assert b"root:x:0:0" not in first.data and b"EmbeddedFile" not in first.data  # … and nothing was fetched
    # Printing again returns the very same archived bytes; issuing again (a double click) numbers nothing.
    again = sup.client.get(f"/interviews/{interview.id}/notice.pdf")
    assert again.data == first.data
    assert sup.post(f"/interviews/{interview.id}/notice", page=f"/interviews/{interview.id}").status_code == 303
    document = db.session.scalars(select(Document).where(Document.kind == "notice")).one()
    assert document.sha256 == hashlib.sha256(first.data).hexdigest() and document.state == "published"
    # Other units' staff may not read it.
    outsider_unit = f.unit("外单位")
    f.user("outsider", roles=["unit_staff"], unit=outsider_unit)
    db.session.commit()
    assert login_as("outsider").client.get(f"/interviews/{interview.id}/notice.pdf").status_code == 403
    assert login_as("staff").client.get(f"/interviews/{interview.id}/notice.pdf").data == first.data
    assert login_as("staff").post(f"/interviews/{interview.id}/notice", page="/").status_code == 403


def _scheduled_red_interview() -> Interview:
    interview = db.session.scalars(select(Interview).where(Interview.trigger == "red")).first()
    interview.state = "scheduled"
    interview.scheduled_for = datetime(2026, 6, 18, 7, 0, tzinfo=UTC)
    interview.place = "县委县政府督查室会议室"
    db.session.commit()
    return interview


def test_changed_arrangements_need_a_new_notice_issued_by_post(login_as, app, township):
    """M #5: opening the PDF after the arrangements changed used to number and archive a new notice."""
    interview = _scheduled_red_interview()
    sup = login_as("sup")
    page = f"/interviews/{interview.id}"
    assert "签发约谈通知" in sup.client.get(page).get_data(as_text=True)
    sup.post(f"/interviews/{interview.id}/notice", page=page)
    assert "打印约谈通知" in sup.client.get(page).get_data(as_text=True)
    interview = db.session.get(Interview, interview.id)
    interview.place = "县政府二楼会议室"
    db.session.commit()
    for _ in range(3):  # refreshing the PDF changes nothing
        response = sup.client.get(f"/interviews/{interview.id}/notice.pdf")
        assert response.status_code == 409 and "重新签发" in response.get_data(as_text=True)
    assert len(db.session.scalars(select(Document).where(Document.kind == "notice")).all()) == 1
    assert "重新签发约谈通知" in sup.client.get(page).get_data(as_text=True)
    assert sup.post(f"/interviews/{interview.id}/notice", page=page).status_code == 303
    notices = db.session.scalars(select(Document).where(Document.kind == "notice").order_by(Document.id)).all()
    assert [n.doc_number for n in notices] == ["清督约〔2026〕1号", "清督约〔2026〕2号"]
    assert "县政府二楼会议室" in pdftotext(sup.client.get(f"/interviews/{interview.id}/notice.pdf").data)


def test_a_double_click_on_issue_numbers_one_notice(login_as, app, township):
    """Three POSTs at the same moment (a double click, two supervisors): one number, all land on it."""
    from tests.conftest import post_at_once

    interview = _scheduled_red_interview()
    url = f"/interviews/{interview.id}/notice"
    clicks = []
    for _ in range(3):
        sup = login_as("sup")  # each its own browser and session
        clicks.append((sup.client, url, {"csrf_token": sup.csrf(f"/interviews/{interview.id}")}))
    statuses = post_at_once(app, clicks)
    assert statuses == [303] * len(clicks), statuses
    db.session.expire_all()
    notices = db.session.scalars(select(Document).where(Document.kind == "notice")).all()
    assert [n.doc_number for n in notices] == ["清督约〔2026〕1号"]


def test_the_fetcher_refuses_files_and_the_network(app):
    from portal.documents.render import RefusedURL, safe_fetcher

    fetcher = safe_fetcher()
    for url in ("file:///etc/passwd", "http://127.0.0.1/", "https://example.org/x.css",
                "jiedian-asset:/../../../../etc/passwd", "jiedian-asset:/document.css/../../app.py", "data:text/plain,hi"):
        with pytest.raises(RefusedURL):
            fetcher.fetch(url)
    assert fetcher.fetch("jiedian-asset:/document.css").read().startswith(b"/*")


def test_bulletin_draft_preview_publish_and_same_bytes(login_as, app, township, redis, tmp_path):
    sup = login_as("sup")
    response = sup.post("/bulletins", {"period": "month", "date": "2026-06-15", "body": "各单位要对照节点倒排工期。"})
    assert response.status_code == 303
    document = db.session.scalars(select(Document).where(Document.kind == "bulletin")).one()
    preview = sup.client.get(f"/bulletins/{document.id}/preview.pdf")
    assert preview.status_code == 200 and "草稿" in pdftotext(preview.data)
    # Redis is up in the suite, but no worker runs here: build it with a real burst worker.
    assert sup.post(f"/bulletins/{document.id}/publish", page=f"/bulletins/{document.id}").status_code == 303
    status = sup.client.get(f"/bulletins/{document.id}/status").get_data(as_text=True)
    assert "hx-trigger=\"every 2s\"" in status
    import os
    import sys

    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": app.config["REDIS_URL"],
           "JIEDIAN_ENV": "testing", "JIEDIAN_TODAY": "2026-06-15", "JIEDIAN_DOC_PREFIX": "清督",
           "DOCUMENT_DIR": app.config["DOCUMENT_DIR"]}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
                            cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]), env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    db.session.expire_all()
    document = db.session.get(Document, document.id)
    run = db.session.scalars(select(JobRun)).all()
    assert document.state == "published" and document.doc_number == "清督通〔2026〕1号", [(r.state, r.message) for r in run]
    download = sup.client.get(f"/documents/{document.id}/download")
    text = pdftotext(download.data)
    assert "清督通〔2026〕1号" in text and "完成土地摘牌" in text and "上派镇" in text and "红牌" in text
    assert hashlib.sha256(download.data).hexdigest() == document.sha256
    assert sup.client.get(f"/documents/{document.id}/download").data == download.data
    assert "已印发" in sup.client.get(f"/bulletins/{document.id}").get_data(as_text=True) or document.doc_number in sup.client.get(f"/bulletins/{document.id}").get_data(as_text=True)


def test_bulletin_bad_input_is_refused(login_as, app, township):
    sup = login_as("sup")
    for data, message in [({"period": "year"}, "通报类型"), ({"period": "adhoc", "start": "2026-06-10", "end": "2026-06-01"}, "结束日期"),
                          ({"period": "month", "date": "2026-02-30"}, "YYYY-MM-DD"), ({"period": "week", "body": "<script>x</script>"}, "HTML")]:
        response = sup.post("/bulletins", data)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalars(select(Document)).all() == []
    staff = login_as("staff")
    assert staff.post("/bulletins", {"period": "week"}, page="/bulletins").status_code == 403


def test_ledger_pdf(login_as, app, township):
    staff = login_as("staff")
    response = staff.client.get(f"/units/{township.id}/ledger.pdf")
    text = pdftotext(response.data)
    assert "上派镇节点工作台账" in text and "完成土地摘牌" in text and "红牌" in text and "<img" in text
    assert db.session.scalars(select(CardEvent)).first() is not None


def test_monday_ranking_is_published_once_per_week(app, township, clock):
    from portal.documents.tasks import weekly_ranking

    first = weekly_ranking()  # Monday 2026-06-15: last week is 06-08..06-14
    assert first["new"] and first["doc_number"] == "清督排〔2026〕1号"
    assert weekly_ranking() == {**first, "new": False}
    document = db.session.get(Document, first["document_id"])
    assert (document.period_start, document.period_end) == (date(2026, 6, 8), date(2026, 6, 14))
    assert "2026年第24周" in pdftotext(archived_bytes(document))


# -- print fonts ------------------------------------------------------------------


def _scheduled_notice(login_as, township, head_name=None):
    if head_name:
        township.head_name = head_name
    interview = db.session.scalars(select(Interview).where(Interview.trigger == "red")).first()
    interview.state = "scheduled"
    interview.scheduled_for = datetime(2026, 6, 18, 7, 0, tzinfo=UTC)
    interview.place = "县委县政府督查室会议室"
    db.session.commit()
    sup = login_as("sup")
    assert sup.post(f"/interviews/{interview.id}/notice", page=f"/interviews/{interview.id}").status_code == 303
    response = sup.client.get(f"/interviews/{interview.id}/notice.pdf")
    assert response.status_code == 200
    return response.data


def _font_names(pdf: bytes, tmp_path) -> list[str]:
    return [line.split()[0].split("+")[-1] for line in pdffonts(pdf, tmp_path).splitlines()[2:] if line.strip()]


def test_notice_is_set_in_the_compact_print_fonts(login_as, app, township, tmp_path):
    pdf = _scheduled_notice(login_as, township)
    # 小标宋 (title, 版头), 仿宋 (body), 黑体 (一、 headings, table heads), 宋体 (page numbers).
    assert sorted(_font_names(pdf, tmp_path)) == ["Jiedian-Fang", "Jiedian-Hei", "Jiedian-Song", "Jiedian-Title"]
    assert len(pdf) < 300 * 1024, len(pdf)


def test_a_character_outside_the_print_fonts_falls_back_to_the_system_face(login_as, app, township, tmp_path):
    pdf = _scheduled_notice(login_as, township, head_name="王堃")  # 堃 is not in GB 2312
    assert "王堃同志" in pdftotext(pdf)
    names = _font_names(pdf, tmp_path)
    assert "Jiedian-Fang" in names and any(name.startswith("Noto-Serif-CJK") for name in names), names


def test_without_print_fonts_documents_use_the_system_faces(login_as, app, township, tmp_path):
    app.config["PRINT_FONT_DIR"] = str(tmp_path / "not-built")
    pdf = _scheduled_notice(login_as, township)
    assert "上派镇" in pdftotext(pdf)
    assert all(name.startswith("Noto-") for name in _font_names(pdf, tmp_path))


def test_print_fonts_are_cut_once_and_again_when_the_system_font_changes(tmp_path):
    from portal.documents import fonts

    first = fonts.build(tmp_path)
    assert sorted(first) == sorted(face.file for face in fonts.FACES)
    assert fonts.build(tmp_path) == []  # up to date: nothing to do
    manifest = fonts.read_manifest(tmp_path)
    manifest["sans-bold.otf"]["mtime"] -= 1  # as if the system package were upgraded
    (tmp_path / fonts.MANIFEST).write_text(__import__("json").dumps(manifest))
    assert fonts.build(tmp_path) == ["sans-bold.otf"]
    manifest = fonts.read_manifest(tmp_path)
    manifest["serif-regular.otf"]["codepoints"] = "an older list"  # a release that prints more characters
    (tmp_path / fonts.MANIFEST).write_text(__import__("json").dumps(manifest))
    assert fonts.build(tmp_path) == ["serif-regular.otf"]
    assert {ord("▲"), ord("▼"), ord("〔"), ord("“"), ord("①")} <= set(fonts.codepoints())
    assert not list(tmp_path.glob("*.part"))
    css = fonts.stylesheet(tmp_path, "jiedian-asset:/")
    assert css.count("@font-face") == len(fonts.FACES) and 'src: url("jiedian-asset:/fonts/serif-bold.otf")' in css


def test_the_fetcher_serves_only_the_named_print_fonts(app):
    from portal.documents.render import RefusedURL, safe_fetcher

    fetcher = safe_fetcher()
    assert b"@font-face" in fetcher.fetch("jiedian-asset:/fonts.css").read()
    assert fetcher.fetch("jiedian-asset:/fonts/serif-regular.otf").read()[:4] == b"OTTO"
    for url in ("jiedian-asset:/fonts/manifest.json", "jiedian-asset:/fonts/../fonts/serif-regular.otf",
                "jiedian-asset:/fonts/other.otf"):
        with pytest.raises(RefusedURL):
            fetcher.fetch(url)


def test_print_styles_are_parsed_once_and_leave_no_font_files_behind(app, tmp_path, monkeypatch):
    """The parsed stylesheets are reused while the fonts stay the same; released, their font copies go too."""
    import tempfile

    from portal.documents import render

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where WeasyPrint copies the faces
    render.release()
    html = "<html><body><h1>约谈通知</h1><p>节点工作法</p></body></html>"
    first = render.html_to_pdf(html)
    parsed = render._parsed["font_config"]
    assert render.html_to_pdf(html) == first and render._parsed["font_config"] is parsed  # same objects, same bytes
    assert len(list(scratch.iterdir())) == 1  # one copy of the faces while they are in use
    app.config["PRINT_FONT_DIR"] = str(tmp_path / "not-built")
    assert "约谈通知" in pdftotext(render.html_to_pdf(html))  # another font directory: parsed again...
    assert render._parsed["font_config"] is not parsed
    del parsed
    assert list(scratch.iterdir()) == []  # ...and the old copies removed (none for the system faces)
    render.release()
    assert render._parsed == {}


def test_the_archive_list_checks_notice_access_without_a_query_per_notice(login_as, app, township, count_queries):
    """Unit staff see their own unit's notices only; finding out costs the same for 2 notices or 20."""
    other = db.session.scalars(select(Unit).where(Unit.name == "三河镇")).one()
    staff = login_as("staff")

    def add_notices(count: int) -> None:
        for i in range(count):
            unit = township if i % 2 == 0 else other
            interview = Interview(unit_id=unit.id, trigger="manual", state="scheduled", proposed_on=date(2026, 6, 15))
            db.session.add(interview)
            db.session.flush()
            db.session.add(Document(kind="notice", title=f"约谈通知{interview.id}", state="published", year=2026,
                                    params={"interview_id": interview.id}, published_at=datetime(2026, 6, 15, tzinfo=UTC),
                                    sha256=f"{interview.id:064d}"))
        db.session.commit()

    def listing() -> tuple[int, int]:
        db.session.expire_all()
        with count_queries() as counter:
            page = staff.client.get("/documents?kind=notice").get_data(as_text=True)
        return counter["n"], page.count("/download")

    add_notices(2)
    few, shown = listing()
    assert shown == 1  # the other unit's notice is not listed
    add_notices(18)
    assert listing() == (few, 10)
