"""Helpers for tests that drive Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

CHROMIUM = os.environ.get("JIEDIAN_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("JIEDIAN_ARTIFACTS", Path(__file__).resolve().parents[1] / "test-artifacts"))
# Chromium's own background traffic has nowhere to go on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def live_server(app):
    """Serve the app on a free loopback port in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def drag(page, card_selector: str, column: str) -> None:
    """Drag a card onto a column the way a hand does: press, move in steps, release."""
    card = page.locator(card_selector)
    target = page.locator(f'.column-body[data-column="{column}"]')
    box = card.bounding_box()
    goal = target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 12)
    page.mouse.down()
    steps = 12
    for i in range(1, steps + 1):
        page.mouse.move(
            box["x"] + box["width"] / 2 + (goal["x"] + goal["width"] / 2 - box["x"] - box["width"] / 2) * i / steps,
            box["y"] + 12 + (goal["y"] + 40 - box["y"] - 12) * i / steps,
        )
    page.mouse.up()


def login(page, base: str, username: str, password: str | None = None) -> None:
    """Log in through the real login form."""
    from tests.factories import PASSWORD

    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password or PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


class ConsoleWatch:
    """Collects page errors and console errors (CSP violations among them) of every page in a context.

    ``allow`` lists HTTP statuses a test provokes on purpose (a refused page logs
    "Failed to load resource: … status of 403"); anything else is a failure.
    """

    def __init__(self, context, allow: tuple[int, ...] = ()):
        self.errors: list[str] = []
        self.allow = allow
        context.on("page", self.watch)
        for page in context.pages:
            self.watch(page)

    def watch(self, page) -> None:
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type not in ("error", "warning"):
            return
        text = message.text
        status = re.search(r"status of (\d{3})", text)
        if status and int(status.group(1)) in self.allow:
            return
        if message.type == "warning" and "Content Security Policy" not in text:
            return
        self.errors.append(f"{message.type}: {text} @ {message.location.get('url')}")
