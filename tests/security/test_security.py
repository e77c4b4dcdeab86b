"""CSRF on every POST, the CSP and pages that keep to it, and logout.

Idle sessions and logout ending the server-side row are in test_auth.py.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from portal.core.extensions import db
from portal.models import AuditEntry, Node, UserSession
from tests import factories as f
from tests.conftest import AuthActions

# The route matrix's objects, the fixture ``permission_objects`` of test_permissions (imported so pytest finds it;
# ruff sees the parameters below as redefinitions, hence the noqa comments).
from tests.security.test_permissions import (
    _url,
    permission_objects,  # noqa: F401
)

# -- CSRF -----------------------------------------------------------------------------


def _post_rules(app):
    return sorted((r for r in app.url_map.iter_rules() if "POST" in r.methods), key=lambda r: r.rule)


def _audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


@pytest.mark.parametrize("role", ["anonymous", "supervisor", "admin"])
def test_every_post_without_a_csrf_token_is_refused(app, client, auth, permission_objects, role):  # noqa: F811
    if role != "anonymous":
        assert auth.login(role).status_code == 302
    other = app.test_client()  # a token from another session is no token
    foreign = AuthActions(other).csrf("/login")
    before = _audit_count()
    checked = 0
    for rule in _post_rules(app):
        url = _url(rule, permission_objects["args"])
        for data, headers in (
            ({}, {}),
            ({"csrf_token": "forged"}, {}),
            ({"csrf_token": foreign}, {}),
            ({}, {"HX-Request": "true"}),  # an htmx request that lost its X-CSRFToken header
            ({}, {"HX-Request": "true", "X-CSRFToken": foreign}),
        ):
            response = client.post(url, data=data, headers=headers)
            where = f"{role} POST {url} {data} {headers}"
            assert response.status_code == 400, where
            assert "安全令牌" in response.get_data(as_text=True), where
            checked += 1
    assert checked >= 5 * 30
    assert _audit_count() == before
    if role != "anonymous":
        assert client.get("/").status_code == 200  # the refused logout did not log anyone out
        assert db.session.scalar(select(func.count()).select_from(UserSession).where(UserSession.ended_at.is_(None))) == 1


@pytest.fixture
def board(app):
    unit = f.unit("城关镇")
    f.user("staff", roles=["unit_staff"], unit=unit)
    node = f.node(f.project(lead_unit=unit))
    db.session.commit()
    return node


def test_htmx_move_needs_the_csrf_header_and_works_with_it(app, client, auth, board):
    auth.login("staff")
    page = client.get(f"/units/{board.unit_id}/board").get_data(as_text=True)
    token = page.split('"X-CSRFToken": "', 1)[1].split('"', 1)[0]  # set once on <body>, as the browser reads it
    form = {"status": "doing", "version": str(board.version)}
    refused = client.post(f"/nodes/{board.id}/move", data=form, headers={"HX-Request": "true"})
    assert refused.status_code == 400
    assert db.session.get(Node, board.id).status == "todo"
    moved = client.post(f"/nodes/{board.id}/move", data=form, headers={"HX-Request": "true", "X-CSRFToken": token})
    assert moved.status_code == 200, moved.get_data(as_text=True)
    assert db.session.get(Node, board.id).status == "doing"
    assert f'id="node-{board.id}"' in moved.get_data(as_text=True)  # the card fragment, not a page


# -- CSP and pages that keep to it ----------------------------------------------------


class _Inline(HTMLParser):
    """What a strict CSP (no 'unsafe-inline') would block: inline scripts, styles and handlers."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script":
            self._in_script = True
            if not names.get("src"):
                self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style> element")
        if tag == "link" and names.get("rel") == "stylesheet" and not (names.get("href") or "").startswith("/static/"):
            self.found.append(f"foreign stylesheet {names.get('href')}")
        for name, value in attrs:
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append(f"inline script body {data.strip()[:60]!r}")


def inline_code(html: str) -> list[str]:
    parser = _Inline()
    parser.feed(html)
    parser.close()
    return parser.found


def _get_rules(app):
    return sorted(
        (r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint not in ("static", "auth.set_language")),
        key=lambda r: r.rule,
    )


def _check_page(response, where: str) -> bool:
    """CSP on every answer; HTML ones must keep to it. Returns whether it was HTML."""
    csp = response.headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "object-src 'none'" in csp, where
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    if response.mimetype != "text/html":
        return False
    assert inline_code(response.get_data(as_text=True)) == [], where
    return True


@pytest.mark.parametrize("role", ["supervisor", "admin", "unit_staff"])
def test_every_page_keeps_to_the_csp(app, client, auth, permission_objects, role):  # noqa: F811
    assert auth.login(role).status_code == 302
    pages = 0
    for rule in _get_rules(app):
        url = _url(rule, permission_objects["args"])
        for headers in ({}, {"HX-Request": "true"}, {"HX-Request": "true", "HX-Target": "board"}):
            response = client.get(url, headers=headers)
            response.close()
            pages += _check_page(response, f"{role} GET {url} {headers}")
    assert pages > 60


def test_login_error_and_refusal_pages_keep_to_the_csp(app, client, auth, permission_objects):  # noqa: F811
    assert _check_page(client.get("/login"), "login")
    assert _check_page(client.get("/no/such/page"), "404")
    assert _check_page(client.post("/login", data={}), "csrf 400")
    assert _check_page(auth.login("leader", "wrong-password"), "401")
    auth.login("contact")
    assert _check_page(client.get("/admin/"), "403")
    assert _check_page(auth.post("/admin/leagues/new", {"name": ""}, page="/"), "403 on POST")


def test_the_csp_parser_sees_what_it_should():
    assert inline_code('<script src="/static/app.js"></script><p class="x">ok</p>') == []
    assert inline_code("<script>alert(1)</script>")
    assert inline_code('<div style="color:red">x</div>')
    assert inline_code('<button onclick="go()">x</button>')
    assert inline_code("<style>p{}</style>")
    assert inline_code('<a href="javascript:void(0)">x</a>')


# -- logout ---------------------------------------------------------------------------


def test_logout_ends_only_its_own_session(app, client, auth):
    """Two browsers, one user: logging out of one leaves the other signed in (its row stays live)."""
    f.user("liu", roles=["supervisor"])
    db.session.commit()
    desk = AuthActions(app.test_client())
    assert desk.login("liu").status_code == 302
    desk_row = db.session.scalars(select(UserSession.id)).one()
    assert auth.login("liu").status_code == 302
    assert auth.logout().status_code == 302
    ended = {row.id: row.ended_at is not None for row in db.session.scalars(select(UserSession))}
    assert len(ended) == 2 and ended.pop(desk_row) is False and list(ended.values()) == [True]
    assert client.get("/").status_code == 302
    assert desk.client.get("/").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "/\\\\evil.example",
                                    "/\tevil", "/\n/evil.example", "javascript:alert(1)", "evil.example", "", None])
def test_next_never_leads_to_another_host(target):
    from portal.core.security import safe_next

    assert safe_next(target) is None


def test_next_keeps_a_path_on_this_site():
    from portal.core.security import safe_next

    assert safe_next("/boards/3?status=doing#n12") == "/boards/3?status=doing#n12"


def test_favicon_ico_leads_to_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response.headers["Location"].endswith("/static/favicon.svg")


# -- caching (M #4) ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["supervisor", "unit_staff"])
def test_nothing_but_static_files_may_be_kept_by_a_browser_or_proxy(app, client, auth, permission_objects, role):  # noqa: F811
    """Evidence downloads said no-cache (a proxy may keep it); every answer outside /static/ is private, no-store."""
    assert auth.login(role).status_code == 302
    seen = 0
    for rule in _get_rules(app):
        response = client.get(_url(rule, permission_objects["args"]))
        response.close()
        if response.status_code == 200:
            assert response.headers.get("Cache-Control") == "private, no-store", f"{rule.rule}: {response.headers.get('Cache-Control')}"
            seen += 1
    assert seen > 10
    evidence = client.get(f"/evidence/{permission_objects['args']['evidence_id']}")
    evidence.close()
    if role == "supervisor":
        assert evidence.status_code == 200 and evidence.headers["Cache-Control"] == "private, no-store"
    static = client.get("/static/app.css")
    static.close()
    assert "no-store" not in static.headers.get("Cache-Control", "")
