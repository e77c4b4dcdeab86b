"""A working morning in the demo county (``make load`` runs it; see bench/LOAD.md).

Three kinds of people, logged in with the demo accounts (several sessions per
account, as when colleagues share one):

- unit staff (most of the traffic): open their board, open a node, drag a card
  between 未启动 and 推进中 with the CSRF token and the version the board showed;
- supervisors: open any unit's board, a node, the rankings;
- leaders: the rankings, a unit's board, a node.

A move answered 409 is a genuine version conflict (two sessions dragged the
same card): the portal refused to overwrite, which is correct, so it counts as
a success and is tallied apart. Any 5xx, a refused login or an unexpected
status is an error.
"""

from __future__ import annotations

import json
import os
import random
import re

from locust import HttpUser, between, events

PASSWORD = os.environ.get("LOAD_PASSWORD", "jiedian-demo")
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')
CARD = re.compile(r'data-node-id="(\d+)" data-status="(\w+)"\s+data-card="\w+" data-version="(\d+)"')
# Seconds a person spends reading before the next click: "low,high" (uniform).
WAIT = tuple(float(x) for x in os.environ.get("LOAD_WAIT", "1,5").split(","))
UNIT_IDS = range(1, int(os.environ.get("LOAD_UNITS", "56")) + 1)
CONFLICTS = {"moves": 0, "conflicts": 0}


class Portal(HttpUser):
    abstract = True
    wait_time = between(*WAIT)
    username = ""

    def on_start(self) -> None:
        page = self.client.get("/login", name="login page")
        token = CSRF_FIELD.search(page.text).group(1)
        with self.client.post("/login", data={"username": self.username, "password": PASSWORD, "csrf_token": token},
                              name="login", allow_redirects=False, catch_response=True) as response:
            if response.status_code != 302:
                response.failure(f"login as {self.username} answered {response.status_code}")
        self.node_ids: list[int] = []
        self.csrf = ""
        # One's own board: /boards redirects to it.
        home = self.client.get("/boards", name="own board (redirect)", allow_redirects=False)
        match = re.search(r"/units/(\d+)/board", home.headers.get("Location", ""))
        self.unit_id = int(match.group(1)) if match else None

    def board_unit(self) -> int | None:
        """The board this person usually opens."""
        return self.unit_id

    def remember(self, html: str) -> list[tuple[int, str, int]]:
        cards = [(int(i), status, int(v)) for i, status, v in CARD.findall(html)]
        if cards:
            self.node_ids = [c[0] for c in cards]
        header = CSRF_HEADER.search(html)
        if header:
            self.csrf = header.group(1)
        return cards

    def open_board(self, unit_id: int | None = None) -> list[tuple[int, str, int]]:
        unit_id = unit_id or self.board_unit()
        response = self.client.get(f"/units/{unit_id}/board", name="board")
        return self.remember(response.text)

    def open_node(self) -> None:
        if not self.node_ids:
            self.open_board()
        if self.node_ids:
            self.client.get(f"/nodes/{random.choice(self.node_ids)}", name="node page")

    def rankings(self) -> None:
        period = random.choice(["week", "week", "month", "quarter"])
        self.client.get(f"/rankings?period={period}", name="rankings")


class UnitStaff(Portal):
    weight = 6
    username = "staff"

    def move(self) -> None:
        cards = [c for c in self.open_board() if c[1] in ("todo", "doing")]
        if not cards or not self.csrf:
            return
        node_id, status, version = random.choice(cards)
        target = "doing" if status == "todo" else "todo"
        with self.client.post(
            f"/nodes/{node_id}/move", data={"status": target, "version": version},
            headers={"X-CSRFToken": self.csrf, "HX-Request": "true"}, name="move", catch_response=True,
        ) as response:
            CONFLICTS["moves"] += 1
            if response.status_code == 409:
                CONFLICTS["conflicts"] += 1
                response.success()
            elif response.status_code != 200:
                response.failure(f"move answered {response.status_code}")

    tasks = {Portal.open_board: 4, Portal.open_node: 3, move: 3, Portal.rankings: 1}


class AnyUnit(Portal):
    """Supervisors and leaders open any unit's board."""

    abstract = True

    def board_unit(self) -> int:
        return random.choice(UNIT_IDS)


class Supervisor(AnyUnit):
    weight = 3
    username = "supervisor"
    tasks = {Portal.open_board: 4, Portal.open_node: 3, Portal.rankings: 2}


class Leader(AnyUnit):
    weight = 1
    username = "leader"
    tasks = {Portal.rankings: 3, Portal.open_board: 2, Portal.open_node: 2}


@events.quitting.add_listener
def _write_conflicts(environment, **_kwargs) -> None:
    path = os.environ.get("LOAD_CONFLICTS_FILE")
    if path:
        with open(path, "w") as fh:
            json.dump(CONFLICTS, fh)
