"""Co-responsible units (配合单位, issue H part 4): they see the node on their boards, read-only; cards go to the
responsible unit only."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal.core.extensions import db
from portal.models import CardEvent
from portal.sweeps.services import sweep
from tests import factories as f


@pytest.fixture
def shared_node(app):
    lead, helper = f.unit("县水务局", short_name=""), f.unit("清溪镇", short_name="")
    f.user("lead_staff", roles=["unit_staff"], unit=lead)
    f.user("helper_staff", roles=["unit_staff"], unit=helper)
    node = f.node(f.project(lead_unit=lead), title="完成管网铺设", status="doing", deadline=date(2026, 6, 10))
    node.co_units = [helper]
    db.session.commit()
    return {"node": node.id, "lead": lead.id, "helper": helper.id}


def test_a_co_unit_board_shows_the_node_read_only(login_as, shared_node):
    helper = login_as("helper_staff")
    html = helper.client.get(f"/units/{shared_node['helper']}/board").get_data(as_text=True)
    assert f'data-node-id="{shared_node["node"]}"' in html and "配合 · 责任单位：县水务局" in html
    card = html[html.index(f'id="node-{shared_node["node"]}"'):]
    card = card[:card.index("</article>")]
    assert "move-form" not in card and "submit-link" not in card  # no move, no sign-off from the co-unit
    assert helper.client.get(f"/nodes/{shared_node['node']}").status_code == 200  # the node page, to read
    moved = helper.post(f"/nodes/{shared_node['node']}/move", {"status": "todo", "version": "1"},
                        page=f"/units/{shared_node['helper']}/board")
    assert moved.status_code == 403
    assert helper.client.get(f"/nodes/{shared_node['node']}/submit").status_code == 403


def test_the_responsible_unit_still_moves_it(login_as, shared_node):
    lead = login_as("lead_staff")
    html = lead.client.get(f"/units/{shared_node['lead']}/board").get_data(as_text=True)
    assert "配合 · " not in html and "move-form" in html


def test_cards_and_points_go_to_the_responsible_unit_only(app, clock, shared_node):
    sweep(date(2026, 6, 15), clock)
    db.session.commit()
    cards = db.session.scalars(select(CardEvent)).all()
    assert [(c.colour, c.unit_id) for c in cards] == [("yellow", shared_node["lead"])]
