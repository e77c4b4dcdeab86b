"""The benchmark harness: ``python -m bench.run`` (``make bench``); see bench/README.md.

For every figure it runs the portal's real code and a bare baseline on the
same data, alternately (warm-up first, then N timed runs of each), and prints
the median, the spread (min–max) and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text

from bench import baselines, data

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


@dataclass
class Figure:
    name: str
    backend: str
    times: list[float] = field(default_factory=list)
    base: list[float] = field(default_factory=list)
    max_ratio: float | None = None
    max_seconds: float | None = None
    max_bytes: int | None = None
    size_bytes: int | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def base_median(self) -> float:
        return statistics.median(self.base)

    @property
    def ratio(self) -> float:
        return self.median / self.base_median

    @property
    def target(self) -> str:
        parts = []
        if self.max_ratio is not None:
            parts.append(f"≤ {self.max_ratio:g}×")
        if self.max_seconds is not None:
            parts.append(f"≤ {_fmt(self.max_seconds)}")
        if self.max_bytes is not None:
            parts.append(f"≤ {self.max_bytes // 1000} KB")
        return ", ".join(parts)

    @property
    def met(self) -> bool:
        ok = True
        if self.max_ratio is not None:
            ok &= self.ratio <= self.max_ratio
        if self.max_seconds is not None:
            ok &= self.median <= self.max_seconds
        if self.max_bytes is not None and self.size_bytes is not None:
            ok &= self.size_bytes <= self.max_bytes
        return ok

    def row(self) -> list[str]:
        size = f"{self.size_bytes / 1000:.0f} KB" if self.size_bytes is not None else ""
        return [
            self.name, self.backend, _fmt(self.median), f"{_fmt(min(self.times))}–{_fmt(max(self.times))}",
            _fmt(self.base_median), f"{_fmt(min(self.base))}–{_fmt(max(self.base))}", f"{self.ratio:.2f}×",
            size, self.target, "yes" if self.met else "**no**",
        ]


HEADER = ["figure", "db", "median", "spread", "baseline", "baseline spread", "ratio", "size", "target", "met"]


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def measure(figure: Figure, subject: Callable[[], object], baseline: Callable[[], object], *, runs: int,
            warmup: int, reset: Callable[[], None] | None = None, log=print) -> Figure:
    """Alternate subject and baseline (so a busy machine slows both alike); reset outside the clock."""
    for i in range(warmup + runs):
        for fn, sink in ((subject, figure.times), (baseline, figure.base)):
            if reset is not None:
                reset()
            started = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - started
            if reset is not None:
                reset()
            if i >= warmup:
                sink.append(elapsed)
    log(f"  {figure.name:<22} {figure.backend:<10} {_fmt(figure.median):>9}  baseline {_fmt(figure.base_median):>9}"
        f"  ratio {figure.ratio:5.2f}×  {'ok' if figure.met else 'MISSED ' + figure.target}")
    return figure


# -- the portal, logged in ---------------------------------------------------------

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def logged_in_client(app, username: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = CSRF.search(page).group(1)
    response = client.post("/login", data={"username": username, "password": data.PASSWORD, "csrf_token": token})
    assert response.status_code in (302, 303), f"login as {username} failed: {response.status_code}"
    return client


def _check(response, status: int = 200) -> str:
    body = response.get_data(as_text=True)
    if response.status_code != status:
        raise AssertionError(f"{response.request.path}: {response.status_code} {body[:300]}")
    return body


# -- figures -----------------------------------------------------------------------


def web_figures(backend: str, url: str, runs: int, warmup: int, log) -> list[Figure]:
    """The board page and a move: the real views through the Flask test client."""
    from bench.app import make_app
    from portal.core.extensions import db
    from portal.models import Node

    app = make_app(url)
    bare = baselines.bare_app(url, data.AS_OF)
    bare_client = bare.test_client()
    client = logged_in_client(app, f"staff{data.BOARD_UNIT_ID}_1")
    path = f"/units/{data.BOARD_UNIT_ID}/board"

    def board():
        body = _check(client.get(path))
        assert body.count('class="node-card') == data.BOARD_NODES, "the board lost cards"

    def bare_board():
        body = _check(bare_client.get(path))
        assert body.count('class="node-card') == data.BOARD_NODES

    figures = [measure(Figure("board (300 nodes)", backend, max_ratio=1.5), board, bare_board,
                       runs=max(runs, 15), warmup=warmup + 2, log=log)]

    with app.app_context():
        movable = db.session.execute(
            select(Node.id, Node.version).where(Node.unit_id == data.BOARD_UNIT_ID, Node.status == "todo")
            .order_by(Node.id).limit(2)
        ).all()
    (node_id, version), (bare_id, _) = movable
    token = CSRF.search(_check(client.get(path))).group(1)
    state = {"version": version, "to": "doing", "bare_to": "doing"}
    headers = {"HX-Request": "true", "HX-Target": f"node-{node_id}"}

    def move():
        body = _check(client.post(f"/nodes/{node_id}/move", headers=headers, data={
            "status": state["to"], "version": state["version"], "csrf_token": token}))
        assert f'data-status="{state["to"]}"' in body
        state["version"] += 1
        state["to"] = "todo" if state["to"] == "doing" else "doing"

    def bare_move():
        _check(bare_client.post(f"/nodes/{bare_id}/move", data={"status": state["bare_to"]}))
        state["bare_to"] = "todo" if state["bare_to"] == "doing" else "doing"

    figures.append(measure(Figure("move (POST)", backend, max_ratio=3), move, bare_move,
                           runs=max(runs, 15), warmup=warmup + 2, log=log))
    # Put both nodes back where they were, so every run starts from the same data.
    for fn, key in ((move, "to"), (bare_move, "bare_to")):
        if state[key] == "todo":
            fn()
    bare.extensions["bench.engine"].dispose()
    with app.app_context():
        db.engine.dispose()
    return figures


def sweep_figure(backend: str, url: str, size: data.Size, runs: int, warmup: int, log) -> Figure:
    """portal.sweeps.services.sweep(as_of) against one INSERT … SELECT + UPDATE; both rolled back after each run."""
    from bench.app import make_app
    from portal.core.clock import get_clock
    from portal.core.extensions import db
    from portal.sweeps.services import sweep

    app = make_app(url)
    touched = "node, card_event, notification, interview, interview_card, audit_entry"
    with app.app_context():
        clock = get_clock()
        dialect = db.engine.dialect.name
        policy_id, points = 2, -1  # the policy in force on AS_OF (see bench.data)

        def reset():
            db.session.rollback()
            if dialect == "postgresql":  # the rolled-back rows are dead tuples: clear them
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text(f"VACUUM {touched}"))

        def real():
            result = sweep(data.AS_OF, clock)
            assert result.yellow == size.late and result.red == 0, result.line()

        def bare():
            conn = db.session.connection()
            inserted = 0
            for sql, params in baselines.sweep_statements(dialect, data.AS_OF, policy_id, points):
                inserted = inserted or conn.execute(text(sql), params).rowcount
            assert inserted == size.late, inserted

        reset()
        figure = measure(Figure(f"sweep ({size.late:,} late)", backend, max_ratio=1.5), real, bare,
                         runs=runs, warmup=warmup, reset=reset, log=log)
        db.engine.dispose()
    return figure


def ranking_figure(backend: str, url: str, size: data.Size, runs: int, warmup: int, log) -> Figure:
    """rankings.league_tables('year') against one GROUP BY over the year's card events."""
    from bench.app import make_app
    from portal.core.extensions import db
    from portal.rankings.services import league_tables

    app = make_app(url)
    with app.app_context():
        dialect = db.engine.dialect.name
        events = db.session.scalar(text("SELECT count(*) FROM card_event"))

        def real():
            _, tables = league_tables("year", data.AS_OF, today=data.AS_OF)
            assert sum(len(t.rows) for t in tables) == size.units

        def bare():
            db.session.execute(text(baselines.RANKING_SQL), baselines.ranking_params(dialect, data.YEAR)).all()

        figure = measure(Figure(f"ranking (year, {events / 1e6:.1f}M cards)", backend, max_ratio=2), real, bare,
                         runs=max(runs, 9), warmup=warmup, log=log)
        db.session.rollback()
        db.engine.dispose()
    return figure


def pdf_figures(backend: str, url: str, runs: int, warmup: int, log) -> list[Figure]:
    """The interview notice and the weekly ranking through the renderers the portal uses."""
    from flask import render_template

    from bench.app import make_app
    from portal.core.clock import get_clock
    from portal.core.extensions import db
    from portal.core.periods import period_label
    from portal.documents import content, layout
    from portal.documents.render import ASSET_ROOT
    from portal.documents.services import ranking_pdf, render_document
    from portal.models import Interview
    from portal.rankings.services import TIE_BREAK, league_tables

    app = make_app(url)
    figures = []
    tmp = Path(tempfile.mkdtemp(prefix="jiedian-bench-pdf-"))
    with app.app_context():
        clock = get_clock()
        interview = db.session.scalars(select(Interview).where(Interview.trigger_key.like("bench:%"))).one()
        title = f"关于对{interview.unit.name}进行约谈的通知"
        notice_args = {"title": title, "doc_number": "督约〔2026〕1号", "issued_on": clock.today(), "clock": clock}
        sizes = {}

        def notice():
            pdf = render_document("documents/notice.html", keep=(interview.unit.name,), **notice_args,
                                  **content.notice_context(interview))
            sizes["notice"] = len(pdf)

        html = render_template("documents/notice.html", asset_root=ASSET_ROOT, **notice_args,
                               title_lines=content.title_lines(title, (interview.unit.name,)), layout=layout.current(),
                               **content.notice_context(interview))
        (tmp / "notice.html").write_text(baselines.static_html(html), encoding="utf-8")
        figure = measure(Figure("notice PDF", backend, max_seconds=0.15, max_bytes=300_000), notice,
                         lambda: baselines.static_pdf(str(tmp / "notice.html")), runs=runs, warmup=warmup, log=log)
        figure.size_bytes = sizes["notice"]
        figures.append(figure)

        week = baselines.week_before(data.AS_OF)

        def ranking():
            sizes["ranking"] = len(ranking_pdf("week", week, clock=clock))

        (start, end), tables = league_tables("week", week, today=clock.today())
        label = period_label("week", start, end)
        html = render_template("documents/ranking.html", asset_root=ASSET_ROOT, title=f"{label}节点工作联赛排名",
                               title_lines=content.title_lines(f"{label}节点工作联赛排名", (label,)),
                               layout=layout.current(), doc_number=None, period_label=label, tables=tables,
                               issued_on=clock.today(), tie_break=TIE_BREAK)
        (tmp / "ranking.html").write_text(baselines.static_html(html), encoding="utf-8")
        units = sum(len(t.rows) for t in tables)
        figure = measure(Figure(f"weekly ranking PDF ({units} units)", backend, max_seconds=1.5), ranking,
                         lambda: baselines.static_pdf(str(tmp / "ranking.html")), runs=runs, warmup=warmup, log=log)
        figure.size_bytes = sizes["ranking"]
        figures.append(figure)
        db.engine.dispose()
    return figures


# -- the machine and the report -----------------------------------------------------


def ledger_figures(backend: str, url: str, runs: int, warmup: int, log) -> list[Figure]:
    """A 5,000-row real-layout ledger: the check (nothing kept) and the import (rolled back), against reading the file."""
    from bench.app import make_app
    from bench.ledger import ROWS, bare_read, county_ledger
    from portal.core.clock import get_clock
    from portal.core.extensions import db
    from portal.ledger.services import Options, county_names, import_ledger

    app = make_app(url)
    figures = []
    with app.app_context():
        data = county_ledger()
        options = Options(year=2026, county_names=county_names(), create_units=True)

        def check():
            import_ledger(None, data, clock=get_clock(), options=options, check=True)
            db.session.rollback()

        def real():
            result = import_ledger(None, data, clock=get_clock(), options=options)
            assert result.nodes_created == ROWS, result.line()
            db.session.flush()

        base = lambda: bare_read(data)  # noqa: E731
        figures.append(measure(Figure(f"ledger check ({ROWS:,} rows)", backend, max_seconds=10), check, base,
                               runs=runs, warmup=warmup, reset=db.session.rollback, log=log))
        figures.append(measure(Figure(f"ledger import ({ROWS:,} rows)", backend, max_seconds=20), real, base,
                               runs=runs, warmup=warmup, reset=db.session.rollback, log=log))
    return figures


def machine(backends: list[str]) -> dict[str, str]:
    info = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or platform.machine()
    info["CPU"] = cpu
    info["cores"] = str(os.cpu_count())
    try:
        kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        info["RAM"] = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    info["OS"] = platform.platform()
    info["Python"] = platform.python_version()
    info["SQLite"] = sqlite3.sqlite_version
    if "postgresql" in backends:
        from sqlalchemy import create_engine

        engine = create_engine(data.PG_SERVER + "/postgres")
        with engine.connect() as conn:
            info["PostgreSQL"] = conn.execute(text("SHOW server_version")).scalar()
        engine.dispose()
    if hasattr(os, "getloadavg"):
        info["load average at start"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return info


def table(figures: list[Figure]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(f.row()) + " |" for f in figures]
    return "\n".join(lines)


def write_results(figures: list[Figure], info: dict[str, str], args, elapsed: float, generated: bool) -> None:
    command = "make bench " + " ".join(f"{k}={v}" for k, v in (("SIZE", args.size), ("DBS", ",".join(args.db)),
                                                                  ("RUNS", args.runs)))
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{command}` in {elapsed / 60:.1f} min ({'data generated in this run' if generated else 'data kept from an earlier run'}). "
        "Medians of the timed runs; spread is min–max; ratio is median over the baseline's median, "
        "both measured alternately in the same run. How: bench/README.md.",
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in info.items()],
        "",
        "## Figures",
        "",
        table(figures),
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--size", choices=sorted(data.SIZES), default="province")
    parser.add_argument("--db", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (fast figures do at least 15)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="board,move,sweep,ranking,pdf,ledger", help="comma-separated figures")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the datasets even if present")
    parser.add_argument("--write", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args(argv)
    args.db = [d.strip() for d in args.db.split(",") if d.strip()]
    only = set(args.only.split(","))
    started = time.perf_counter()
    info = machine(args.db)
    print("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()))
    size = data.SIZES[args.size]
    figures: list[Figure] = []
    generated = args.regenerate or not all(data.is_loaded(b, size, args.seed) for b in args.db)
    for backend in args.db:
        print(f"{backend}: dataset {size.name}")
        url = data.ensure(backend, size.name, args.seed, force=args.regenerate)
        if only & {"board", "move"}:
            figures += [f for f in web_figures(backend, url, args.runs, args.warmup, print)
                        if f.name.split()[0] in only]
        if "ranking" in only:
            figures.append(ranking_figure(backend, url, size, args.runs, args.warmup, print))
        if "sweep" in only:
            figures.append(sweep_figure(backend, url, size, args.runs, args.warmup, print))
        if "pdf" in only:
            # The PDFs are of one county: 300 units in the weekly ranking.
            county = url if size.name == "county" else data.ensure(backend, "county", args.seed, force=args.regenerate)
            figures += pdf_figures(backend, county, args.runs, args.warmup, print)
        if "ledger" in only:
            county = url if size.name == "county" else data.ensure(backend, "county", args.seed, force=args.regenerate)
            figures += ledger_figures(backend, county, max(3, args.runs // 2), args.warmup, print)
    elapsed = time.perf_counter() - started
    print()
    print(table(figures))
    print(f"\n{len(figures)} figures in {elapsed / 60:.1f} min; targets missed: "
          + (", ".join(f"{f.name} ({f.backend})" for f in figures if not f.met) or "none"))
    if args.write:
        write_results(figures, info, args, elapsed, generated)
        print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
