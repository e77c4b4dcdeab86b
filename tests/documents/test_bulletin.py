"""Bulletins say what happened in their own period (O #2), and the office writes the lead and remarks of a draft."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime

from sqlalchemy import select

from portal.core.extensions import db
from portal.documents import services
from portal.models import AuditEntry, CardEvent, Document, Interview, Unit, User
from tests import factories as f


def pdftotext(pdf: bytes) -> str:
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return "".join(text.split())  # lines and cells joined, so phrases are found whatever the layout


def _county():
    """Two towns in a league, the office outside any; cards in June (the period) and in May (earlier this year)."""
    league = f.league("乡镇联赛")
    town, other = f.unit("上派镇", league=league), f.unit("三河镇", league=league)
    office = f.unit("县委县政府督查室")
    f.user("sup", roles=["supervisor"], unit=office)
    project = f.project(lead_unit=town, name="新能源整车配套产业园", start_date=date(2026, 1, 1), end_date=date(2026, 12, 31))
    late = f.node(project, title="取得施工许可证", deadline=date(2026, 6, 3), status="doing", card="yellow")
    done = f.node(project, title="完成土地摘牌", deadline=date(2026, 6, 4), status="done", card="green")
    may = f.node(project, title="完成规划设计", deadline=date(2026, 5, 10), status="done", card="green", unit=other)
    db.session.add_all([
        CardEvent(node=late, unit=town, colour="yellow", points=0, effective_date=date(2026, 6, 4)),
        CardEvent(node=done, unit=town, colour="green", points=1, effective_date=date(2026, 6, 4)),
        CardEvent(node=may, unit=other, colour="green", points=1, effective_date=date(2026, 5, 9)),
        Interview(unit=town, trigger="manual", state="held", proposed_on=date(2026, 6, 1), place="会议室",
                  interviewer_name="周副县长", held_at=datetime(2026, 6, 5, 2, 0, tzinfo=UTC)),
    ])
    db.session.commit()


def _bulletin(clock, day=date(2026, 6, 3), lead="", remarks=""):
    sup = db.session.scalars(select(User).where(User.username == "sup")).one()
    document = services.draft_bulletin(sup, "week", day, None, None, "", remarks, clock=clock)
    if lead:
        services.edit_bulletin(sup, document, lead, remarks)
    return pdftotext(services.render_bulletin(document, "督通〔2026〕1号", clock=clock))


def test_a_weekly_bulletin_counts_its_own_week_and_the_year_apart(app, clock):
    _county()
    text = _bulletin(clock)
    assert "关于2026年第23周" in text and "节点工作情况的通报" in text
    assert "本期到期节点2个，已销号1个（其中按时完成1个）" in text  # June's two nodes, not May's
    assert "本期记红牌0张、黄牌1张、绿牌1张；约谈1家单位（上派镇）" in text
    assert "全年累计情况（截至2026年6月7日）" in text and "全年累计记绿牌2张、黄牌1张、红牌0张" in text
    # League table with movement; the office outside the leagues is never ranked.
    assert "乡镇联赛" in text and "较上期" in text and "三河镇（末位）" in text and "本期末位：三河镇" in text
    assert "县委县政府督查室" in text  # the issuing organ …
    ranked = text[text.index("联赛排名情况"):text.index("项目推进情况")]
    assert "县委县政府督查室" not in ranked  # … but not a ranked unit
    assert "红黄绿三色" in text and "绿色（正常推进）项目" in text
    assert "抄送" not in text and "印发" in text  # 版记 without a 抄送 line by default


def test_lagging_projects_are_named(app, clock):
    _county()
    lagging = f.project(lead_unit=db.session.scalars(select(Unit).where(Unit.name == "三河镇")).one(),
                        name="白石工业园标准化厂房", start_date=date(2026, 1, 1), end_date=date(2026, 6, 30))
    f.node(lagging, title="主体封顶", deadline=date(2026, 6, 20))
    db.session.commit()
    text = _bulletin(clock)
    assert "红色项目（严重滞后）" in text and "白石工业园标准化厂房" in text


def test_the_office_edits_a_draft_before_it_is_numbered(login_as, app, clock):
    _county()
    sup = login_as("sup")
    assert sup.post("/bulletins", {"period": "week", "date": "2026-06-03"}).status_code == 303
    document = db.session.scalars(select(Document).where(Document.kind == "bulletin")).one()
    page = f"/bulletins/{document.id}"
    response = sup.post(f"{page}/text", {"lead": "本周各地持续压实节点责任。", "body": "请各单位对照整改。"}, page=page)
    assert response.status_code == 303
    text = pdftotext(sup.client.get(f"{page}/preview.pdf").data)
    assert "本周各地持续压实节点责任。" in text and "请各单位对照整改。" in text and "现将" not in text
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "document.edit_bulletin")).one()
    assert sup.post(f"{page}/text", {"lead": "<script>alert(1)</script>", "body": ""}, page=page).status_code == 422
    document = db.session.get(Document, document.id)
    document.state = "published"
    db.session.commit()
    assert sup.post(f"{page}/text", {"lead": "改写", "body": ""}, page="/bulletins").status_code == 409
