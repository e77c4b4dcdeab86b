"""The bare baselines: the least work that produces the same result.

Each is what a hand-written program with no framework around it would do:
one raw query, one statement, one static file. The portal's figure is judged
by its ratio to its baseline, measured in the same run on the same data.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import Flask, render_template_string, request
from sqlalchemy import create_engine, text

# -- board: a minimal Flask route rendering the same cards from one raw query --

BOARD_SQL = """
SELECT n.id, n.title, n.status, n.card, n.version, n.deadline, n.committed_deadline, n.is_key_supervision,
       p.name AS project, c.name AS category, u.display_name AS person
FROM node n JOIN project p ON p.id = n.project_id JOIN category c ON c.id = p.category_id
LEFT JOIN "user" u ON u.id = n.responsible_user_id
WHERE n.unit_id = :unit ORDER BY n.deadline, n.id
"""

BOARD_TEMPLATE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>看板</title></head><body>
<main class="board">{% for status, label in columns %}<section class="column" data-status="{{ status }}">
<h2>{{ label }} <span>{{ cards[status]|length }}</span></h2>
{% for n in cards[status] %}<article class="node-card card-{{ n.card }}" id="node-{{ n.id }}" data-version="{{ n.version }}">
<header><span class="card-dot">{{ n.card }}</span>{% if n.late %}<span class="badge">超期{{ n.late }}天</span>{% endif %}
{% if n.is_key_supervision %}<span class="badge">重点督办</span>{% endif %}</header>
<h3><a href="/nodes/{{ n.id }}">{{ n.title }}</a></h3><p>{{ n.project }}</p>
<p><span>时限 {{ n.deadline }}</span>{% if n.committed_deadline %}<span>承诺 {{ n.committed_deadline }}</span>{% endif %}
<span>{{ n.person or '' }}</span></p>
<form method="post" action="/nodes/{{ n.id }}/move"><input type="hidden" name="version" value="{{ n.version }}">
<select name="status"><option value="doing">推进中</option></select><button>移动</button></form></article>{% endfor %}
</section>{% endfor %}</main></body></html>"""

COLUMNS = [("todo", "未启动"), ("doing", "推进中"), ("review", "待销号"), ("done", "已销号")]


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def bare_app(url: str, today: date) -> Flask:
    """A minimal Flask app on the same database: the board page and a move, nothing else."""
    app = Flask("bare")
    engine = create_engine(url)

    @app.get("/units/<int:unit_id>/board")
    def board(unit_id: int):
        cards = {status: [] for status, _ in COLUMNS}
        with engine.connect() as conn:
            for row in conn.execute(text(BOARD_SQL), {"unit": unit_id}).mappings():
                n = dict(row)
                due = _as_date(n["committed_deadline"]) or _as_date(n["deadline"])
                n["late"] = max(0, (today - due).days) if n["status"] in ("todo", "doing") else 0
                cards[n["status"]].append(n)
        return render_template_string(BOARD_TEMPLATE, columns=COLUMNS, cards=cards)

    @app.post("/nodes/<int:node_id>/move")
    def move(node_id: int):
        with engine.begin() as conn:
            conn.execute(text("UPDATE node SET status = :s, version = version + 1 WHERE id = :id"),
                         {"s": request.form["status"], "id": node_id})
        return f'<article id="node-{node_id}" data-status="{request.form["status"]}"></article>'

    app.extensions["bench.engine"] = engine
    return app


# -- sweep: one INSERT … SELECT and one UPDATE doing the same marking ----------


def sweep_statements(dialect: str, as_of: date, policy_id: int, points: int) -> list[tuple[str, dict]]:
    """Yellow cards for open nodes past their deadline that have none, and the nodes marked."""
    next_day = "n.deadline + 1" if dialect == "postgresql" else "date(n.deadline, '+1 day')"
    late = "n.status IN ('todo', 'doing') AND n.deadline < :as_of AND n.card = 'none'"
    insert = f"""
        INSERT INTO card_event (node_id, unit_id, colour, points, effective_date, reason, is_manual, policy_id,
                                is_withdrawn, withdrawn_reason, issued_at)
        SELECT n.id, n.unit_id, 'yellow', n.weight * :points, {next_day}, '超期未销号', false, :policy, false, '',
               :now
        FROM node n WHERE {late}
    """
    update = f"UPDATE node SET card = 'yellow', version = version + 1 WHERE id IN (SELECT n.id FROM node n WHERE {late})"
    now = "2026-12-01 02:10:00" if dialect == "sqlite" else "2026-12-01T02:10:00+00:00"
    params = {"as_of": as_of if dialect == "postgresql" else as_of.isoformat(), "points": points,
              "policy": policy_id, "now": now}
    return [(insert, params), (update, params)]


# -- ranking: one GROUP BY ---------------------------------------------------------

RANKING_SQL = """
SELECT unit_id, sum(points), sum(CASE WHEN colour = 'green' THEN 1 ELSE 0 END),
       sum(CASE WHEN colour = 'yellow' THEN 1 ELSE 0 END), sum(CASE WHEN colour = 'red' THEN 1 ELSE 0 END)
FROM card_event WHERE NOT is_withdrawn AND effective_date BETWEEN :start AND :end GROUP BY unit_id
"""


def ranking_params(dialect: str, year: int) -> dict:
    start, end = date(year, 1, 1), date(year, 12, 31)
    if dialect == "sqlite":
        return {"start": start.isoformat(), "end": end.isoformat()}
    return {"start": start, "end": end}


# -- PDFs: WeasyPrint on a static HTML file of the same content, one font -------

ONE_FONT_CSS = """
@page { size: A4; margin: 25mm 20mm; }
body { font-family: "Noto Sans CJK SC"; font-size: 11pt; line-height: 1.5; }
table { border-collapse: collapse; width: 100%; } th, td { border: 0.5pt solid #444; padding: 2pt 4pt; }
"""


def static_html(html: str) -> str:
    """The document's HTML with its stylesheets and images replaced by one inline style."""
    html = re.sub(r"<link[^>]*>", "", html)
    html = re.sub(r"<style.*?</style>", "", html, flags=re.S)
    html = re.sub(r"<img[^>]*>", "", html)
    return html.replace("</head>", f"<style>{ONE_FONT_CSS}</style></head>", 1)


def static_pdf(path: str) -> bytes:
    from weasyprint import HTML

    return HTML(filename=path).write_pdf()


def week_before(day: date) -> date:
    return day - timedelta(days=7)
