"""Cross-year plans: a project running past its year may have nodes due up to its end date."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal.core.extensions import db
from portal.models import Node, Project
from portal.projects.services import deadline_window
from tests import factories as f


@pytest.fixture
def setup(app):
    unit = f.unit("上派镇")
    f.user("sup", roles=["supervisor"], unit=f.unit("督查室"))
    cross = f.project(lead_unit=unit, year=2026, start_date=date(2026, 12, 1), end_date=date(2027, 12, 31))
    plain = f.project(lead_unit=unit, year=2026)
    short = f.project(lead_unit=unit, year=2026, start_date=date(2026, 3, 1), end_date=date(2026, 6, 30))
    early = f.project(lead_unit=unit, year=2026, start_date=date(2025, 11, 1), end_date=date(2026, 10, 31))
    db.session.commit()
    return {"unit": unit, "cross": cross, "plain": plain, "short": short, "early": early}


def _post_node(sup, project, deadline: str, title: str = "完成竣工验收"):
    return sup.post(
        f"/projects/{project.id}/nodes/new",
        {"title": title, "unit_id": project.lead_unit_id, "responsible_user_id": "", "deadline": deadline,
         "standard": "以竣工验收备案表为准", "weight": "1"},
    )


def _titles(project) -> list[tuple[str, date]]:
    return [(n.title, n.deadline) for n in db.session.scalars(
        select(Node).where(Node.project_id == project.id).order_by(Node.id))]


def test_the_window_is_the_year_or_up_to_an_end_date_past_it(setup):
    assert deadline_window(setup["cross"]) == (date(2026, 1, 1), date(2027, 12, 31))
    assert deadline_window(setup["plain"]) == (date(2026, 1, 1), date(2026, 12, 31))
    assert deadline_window(setup["short"]) == (date(2026, 1, 1), date(2026, 12, 31))  # ends within its year
    # Started the year before: widened to its start date, as the ledger import does.
    assert deadline_window(setup["early"]) == (date(2025, 11, 1), date(2026, 12, 31))


def test_a_node_due_next_year_is_accepted_up_to_the_end_date(setup, login_as):
    sup, cross = login_as("sup"), setup["cross"]
    assert _post_node(sup, cross, "2027-03-31").status_code == 303
    assert _post_node(sup, cross, "2027-12-31", title="项目投产").status_code == 303
    assert _titles(cross) == [("完成竣工验收", date(2027, 3, 31)), ("项目投产", date(2027, 12, 31))]


@pytest.mark.parametrize("deadline", ["2028-01-01", "2025-12-31"])
def test_after_the_end_date_or_before_the_year_is_refused(setup, login_as, deadline):
    response = _post_node(login_as("sup"), setup["cross"], deadline)
    assert response.status_code == 422
    assert "2026-01-01" in response.get_data(as_text=True) and "2027-12-31" in response.get_data(as_text=True)
    assert _titles(setup["cross"]) == []


@pytest.mark.parametrize("project", ["plain", "short"])
def test_without_an_end_date_past_the_year_next_year_is_refused(setup, login_as, project):
    response = _post_node(login_as("sup"), setup[project], "2027-03-31")
    assert response.status_code == 422
    assert "完成时限必须在项目年度（2026 年）之内" in response.get_data(as_text=True)
    assert _titles(setup[project]) == []


def test_a_project_started_the_year_before_may_have_nodes_due_from_its_start(setup, login_as):
    sup, early = login_as("sup"), setup["early"]
    assert _post_node(sup, early, "2025-12-20").status_code == 303
    response = _post_node(sup, early, "2025-10-31", title="前期手续")
    assert response.status_code == 422 and "2025-11-01" in response.get_data(as_text=True)
    assert _titles(early) == [("完成竣工验收", date(2025, 12, 20))]


def test_an_existing_node_may_be_moved_into_the_next_year(setup, login_as):
    cross, unit = setup["cross"], setup["unit"]
    node = f.node(cross, title="完成主体施工", deadline=date(2026, 12, 20))
    db.session.commit()
    sup = login_as("sup")
    fields = {"title": "完成主体施工", "unit_id": unit.id, "responsible_user_id": "", "standard": "以验收为准",
              "weight": "1", "version": str(node.version)}
    assert sup.post(f"/nodes/{node.id}/edit", {**fields, "deadline": "2027-05-31"}).status_code == 303
    db.session.refresh(node)
    assert node.deadline == date(2027, 5, 31)
    stale_free = {**fields, "version": str(node.version), "deadline": "2028-02-01"}
    assert sup.post(f"/nodes/{node.id}/edit", stale_free).status_code == 422


def test_in_december_a_ledger_of_next_years_plan_imports(app, clock):
    """N #4: next year's plan is drawn up in December; its ledger (year 2027, dates in 2027) goes in as written."""
    from tests.ledger.test_ledger import book, row, run_import

    town = f.unit("城关镇", short_name="城关")
    f.user("lixian", roles=["leader"], unit=town)
    f.user("zhang", roles=["unit_staff"], unit=town)
    f.category("产业项目")
    f.theme("产业创新")
    db.session.commit()
    clock.set(date(2026, 12, 7))
    rows = [row(code="CY-2027-001", year=2027, lead_unit="城关镇", unit="城关镇", title=title, deadline=deadline,
                start_date=date(2027, 1, 1), end_date=date(2027, 12, 31))
            for title, deadline in (("完成土地摘牌", date(2027, 3, 31)), ("开工建设", date(2027, 6, 30)))]
    run_import(book(rows), clock)
    project = db.session.scalars(select(Project).where(Project.code == "CY-2027-001")).one()
    assert project.year == 2027
    assert _titles(project) == [("完成土地摘牌", date(2027, 3, 31)), ("开工建设", date(2027, 6, 30))]
