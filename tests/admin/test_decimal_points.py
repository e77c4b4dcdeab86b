"""Points with one decimal place (N #7): the policy form, the cards the sweep issues, the scores a ranking shows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.core.extensions import db
from portal.models import CardEvent, ScoringPolicy
from portal.models.policy import points
from portal.rankings.services import league_tables, unit_history
from portal.sweeps.services import sweep
from tests import factories as f

FIELDS = {"effective_from": "2026-06-20", "green_points": "1", "yellow_points": "-0.5", "red_points": "-1.5",
          "warn_days": "3", "recommit_grace_days": "5", "interview_yellow_threshold": "3", "recommit_max_days": "60",
          "project_yellow_lag": "10", "project_red_lag": "25", "note": "半分制"}
MESSAGE = "请输入 -100 到 100 之间的数，最多一位小数，例如 -0.5。"


@pytest.fixture
def admin(app, login_as):
    f.user("root", roles=["admin"])
    db.session.commit()
    return login_as("root")


def test_the_policy_takes_one_decimal_place_and_the_page_shows_it(admin):
    assert admin.post("/admin/policy", FIELDS).status_code == 303
    policy = db.session.scalars(select(ScoringPolicy)).one()
    assert (policy.green_points, policy.yellow_points, policy.red_points) == (1, Decimal("-0.5"), Decimal("-1.5"))
    page = admin.client.get("/admin/policy").get_data(as_text=True)
    assert '<td class="num">-0.5</td><td class="num">-1.5</td>' in page


@pytest.mark.parametrize("value", ["-0.55", "abc", "101", "-100.1", "1e400", "NaN", "Infinity", "0.5.5", "9" * 400])
def test_a_bad_value_is_refused_with_one_message_by_its_field(admin, value):
    response = admin.post("/admin/policy", {**FIELDS, "yellow_points": value})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert page.count(MESSAGE) == 1  # once, by the field; the summary above links to it
    assert 'href="#yellow_points"' in page
    assert db.session.scalars(select(ScoringPolicy)).all() == []


@pytest.mark.parametrize("value, stored", [("−0.5", Decimal("-0.5")), ("-0", Decimal(0)), (" 2 ", Decimal(2))])
def test_full_width_minus_and_spaces_are_read(admin, value, stored):
    assert admin.post("/admin/policy", {**FIELDS, "yellow_points": value}).status_code == 303
    assert db.session.scalars(select(ScoringPolicy.yellow_points)).one() == stored


def test_half_points_times_the_weight_score_and_rank(app, clock):
    league = f.league("乡镇联赛")
    a, b = f.unit("甲镇", league=league), f.unit("乙镇", league=league)
    db.session.add(ScoringPolicy(effective_from=date(2026, 1, 1), green_points=Decimal("1.5"),
                                 yellow_points=Decimal("-0.5"), red_points=Decimal("-1.5")))
    late_a = f.node(f.project(lead_unit=a), deadline=date(2026, 6, 2), weight=3)
    f.node(f.project(lead_unit=b), deadline=date(2026, 6, 2), weight=1)
    db.session.commit()
    clock.set(date(2026, 6, 3))
    sweep(date(2026, 6, 3), clock)
    db.session.commit()
    assert db.session.scalars(select(CardEvent.points).where(CardEvent.node_id == late_a.id)).all() == [Decimal("-1.5")]
    _, tables = league_tables("month", date(2026, 6, 10), today=date(2026, 6, 30))
    rows = {r.unit.name: r.unit.score for r in tables[0].rows}
    assert rows == {"甲镇": Decimal("-1.5"), "乙镇": Decimal("-0.5")}
    assert str(rows["甲镇"]) == "-1.5"
    assert unit_history(a.id, 2026)[5][1] == Decimal("-1.5")


@pytest.mark.parametrize("value, shown", [(3, "3"), (Decimal("-2.0"), "-2"), (Decimal("12.50"), "12.5"), (0.30000000000000004, "0.3"),
                                          (None, "0"), (-0.5, "-0.5")])
def test_points_are_shown_whole_or_with_one_decimal(value, shown):
    assert str(points(value)) == shown
