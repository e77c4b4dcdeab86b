"""Benchmark data: a deterministic county or province, bulk-loaded through the DB driver.

The schema comes from the real Alembic migrations (``flask db upgrade``); the
rows are written in one transaction with ``executemany`` (SQLite) or ``COPY``
(PostgreSQL). The same seed gives the same rows on both databases.

The state is that of a portal whose daily sweep ran every day up to the day
before ``AS_OF``: past nodes carry the cards the rules gave them (green,
yellow, red, with their interviews), nodes due in the next days were warned,
and one batch of nodes — the "late" ones, all due the day before ``AS_OF`` (a
month-end deadline) — is open and not yet swept. Sweeping ``AS_OF`` gives
those their yellow cards: the work the sweep benchmark measures.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as dtime
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", ROOT / "data"))
PG_SERVER = os.environ.get("BENCH_PG", "postgresql+psycopg://jiedian:jiedian@127.0.0.1:5432")

AS_OF = date(2026, 12, 1)  # a Tuesday; "today" of every dataset
YEAR = AS_OF.year
PASSWORD = "bench-password"
BOARD_UNIT_ID = 1  # the unit whose board is measured: exactly ``board_nodes`` nodes
BOARD_NODES = 300
GRACE_DAYS = 5
COUNTY_TZ = timezone(timedelta(hours=8))  # Asia/Shanghai has no daylight saving


@dataclass(frozen=True)
class Size:
    name: str
    units: int
    leagues: int
    nodes: int
    card_events: int
    late: int  # open nodes due the day before AS_OF, not yet swept
    nodes_per_project: int = 12
    staff_per_unit: int = 2


SIZES = {
    # One county: a ranking of 300 units (the PDF figures), ~3k nodes.
    "county": Size("county", units=300, leagues=10, nodes=3_000, card_events=3_000, late=150),
    # A province: the figures of the issue.
    "province": Size("province", units=10_000, leagues=100, nodes=1_000_000, card_events=1_000_000, late=50_000),
}

CATEGORIES = ["产业项目", "城市建设", "乡村振兴", "民生实事", "生态环保", "招商引资", "社会治理", "改革创新"]
THEMES = ["产业创新", "城乡发展", "团队改革"]
TOWNS = ["城关", "河口", "石桥", "新塘", "白沙", "龙泉", "青山", "柳溪", "桃源", "双河"]
KINDS = ["镇", "街道", "局", "办", "园区管委会", "中心"]
STEPS = ["完成立项审批", "完成土地征收", "完成施工招标", "主体结构封顶", "完成设备安装", "完成竣工验收",
         "完成可研编制", "完成规划设计", "完成环评批复", "开工建设", "完成年度投资", "投产运行"]
GREEN_REASON = "按期完成，督查核验销号"
YELLOW_REASON = "超过节点时限未提交销号，系统自动记黄牌"
RED_REASON = "黄牌节点在宽限期内未获准重新承诺，系统自动记红牌并列入重点督办"
MANUAL_REASONS = ["县领导批示表扬", "专项督查发现问题", "群众反映问题属实", "主动攻坚克难成效明显"]


# -- databases -----------------------------------------------------------------


def sqlite_path(size: str) -> Path:
    return DATA_DIR / f"{size}.db"


def pg_name(size: str) -> str:
    return f"jiedian_bench_{size}"


def url_for(backend: str, size: str) -> str:
    if backend == "sqlite":
        return "sqlite:///" + str(sqlite_path(size))
    return f"{PG_SERVER}/{pg_name(size)}"


def _pg_admin():
    return create_engine(PG_SERVER + "/postgres", isolation_level="AUTOCOMMIT")


def drop(backend: str, size: str) -> None:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(str(sqlite_path(size)) + suffix).unlink(missing_ok=True)
        return
    engine = _pg_admin()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name(size)}" WITH (FORCE)'))
    engine.dispose()


def _create_empty(backend: str, size: str) -> None:
    drop(backend, size)
    if backend == "sqlite":
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        return
    engine = _pg_admin()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{pg_name(size)}"'))
    engine.dispose()


def migrate(url: str) -> None:
    """The real schema: every Alembic migration, as ``flask db upgrade`` runs them."""
    from flask_migrate import upgrade

    from bench.app import make_app
    from portal.core.extensions import db

    app = make_app(url)
    with app.app_context():
        upgrade()
        db.engine.dispose()


def stamp(size: Size, seed: int) -> str:
    """What the data was made from: a changed migration or another seed makes it stale."""
    digest = hashlib.sha256()
    for path in sorted((ROOT.parent / "migrations" / "versions").glob("*.py")):
        digest.update(path.read_bytes())
    return f"{size.name}:{size.nodes}:{size.card_events}:{seed}:{digest.hexdigest()[:12]}:v1"


def is_loaded(backend: str, size: Size, seed: int) -> bool:
    """True when the dataset exists, complete, from the same size and seed."""
    if backend == "sqlite" and not sqlite_path(size.name).exists():
        return False
    try:
        engine = create_engine(url_for(backend, size.name))
        with engine.connect() as conn:
            found = conn.execute(text("SELECT value FROM bench_meta WHERE key = 'stamp'")).scalar()
        engine.dispose()
    except Exception:  # noqa: BLE001 - a missing database or table means "not loaded"
        return False
    return found == stamp(size, seed)


def ensure(backend: str, size_name: str, seed: int = 1, *, force: bool = False, log=print) -> str:
    """The URL of a loaded dataset, generating it when missing or stale."""
    size = SIZES[size_name]
    if not force and is_loaded(backend, size, seed):
        return url_for(backend, size_name)
    started = time.perf_counter()
    _create_empty(backend, size_name)
    url = url_for(backend, size_name)
    migrate(url)
    migrated = time.perf_counter()
    rows = generate(size, seed)
    generated = time.perf_counter()
    counts = (_load_sqlite if backend == "sqlite" else _load_pg)(size, seed, rows)
    log(f"  data {size.name}/{backend}: migrate {migrated - started:.1f}s, generate {generated - migrated:.1f}s, "
        f"load {time.perf_counter() - generated:.1f}s — "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items() if k in ("unit", "node", "card_event", "interview")))
    return url


# -- rows ----------------------------------------------------------------------

COLUMNS = {
    "league": ["id", "name", "description", "sort_order"],
    "unit": ["id", "name", "short_name", "league_id", "head_name", "is_active", "sort_order"],
    "user": ["id", "username", "display_name", "password_hash", "unit_id", "title", "phone", "is_active", "created_at"],
    "user_role": ["user_id", "role"],
    "leader_unit": ["user_id", "unit_id"],
    "category": ["id", "name", "sort_order", "is_active"],
    "theme": ["id", "name", "sort_order", "is_active"],
    "scoring_policy": ["id", "effective_from", "green_points", "yellow_points", "red_points", "warn_days",
                       "recommit_grace_days", "interview_yellow_threshold", "recommit_max_days",
                       "project_yellow_lag", "project_red_lag", "note", "created_at"],
    "project": ["id", "code", "name", "category_id", "theme_id", "year", "lead_leader_id", "lead_unit_id", "stage",
                "investment_total", "investment_planned", "investment_completed", "start_date", "end_date",
                "description", "is_archived", "created_at", "updated_at"],
    "node": ["id", "project_id", "title", "unit_id", "responsible_user_id", "deadline", "committed_deadline",
             "standard", "weight", "is_major", "is_key_supervision", "status", "card", "submitted_at",
             "submitted_on", "submitted_by_id", "submission_note", "closed_at", "closed_by_id", "warned_on",
             "created_at", "updated_at", "version"],
    "recommitment": ["id", "node_id", "reason", "new_deadline", "filed_by_id", "filed_at", "state", "decided_by_id",
                     "decided_at", "comment"],
    "card_event": ["id", "node_id", "unit_id", "colour", "points", "effective_date", "reason", "is_manual",
                   "issued_by_id", "issued_at", "policy_id", "is_withdrawn", "withdrawn_reason", "withdrawn_at",
                   "withdrawn_by_id"],
    "interview": ["id", "unit_id", "trigger", "trigger_key", "state", "proposed_on", "proposed_by_id",
                  "scheduled_for", "place", "interviewer_id", "interviewer_name", "bring", "minutes", "held_at",
                  "closed_at", "notice_document_id", "created_at"],
    "interview_card": ["interview_id", "card_event_id"],
}


def _instant(day: date, hour: int = 10) -> datetime:
    """``hour`` o'clock county time on ``day``, as an aware UTC datetime."""
    return datetime.combine(day, dtime(hour), tzinfo=COUNTY_TZ).astimezone(UTC)


def _policy_for(day: date) -> tuple[int, int, int, int]:
    """(policy id, green, yellow, red points) of the two policies the data uses."""
    return (1, 1, 0, -1) if day < date(YEAR, 7, 1) else (2, 2, -1, -3)


def generate(size: Size, seed: int) -> dict[str, list[tuple]]:
    """Every row of the dataset, as tuples in ``COLUMNS`` order."""
    rng = random.Random(seed)
    created = _instant(date(YEAR, 1, 4))
    rows: dict[str, list[tuple]] = {name: [] for name in COLUMNS}
    from werkzeug.security import generate_password_hash

    password_hash = generate_password_hash(PASSWORD, method="scrypt")

    # Leagues and units.
    for i in range(1, size.leagues + 1):
        rows["league"].append((i, f"第{i}联赛", "", i))
    for u in range(1, size.units + 1):
        name = f"{TOWNS[u % len(TOWNS)]}{KINDS[u % len(KINDS)]}{u:05d}"
        rows["unit"].append((u, name, f"单位{u}", (u - 1) % size.leagues + 1, f"负责人{u}", True, u))

    # Users: an admin, supervisors, leaders in charge of units, unit staff.
    uid = 0

    def add_user(username: str, display: str, unit_id: int | None, roles: tuple[str, ...]) -> int:
        nonlocal uid
        uid += 1
        rows["user"].append((uid, username, display, password_hash, unit_id, "", "", True, created))
        rows["user_role"].extend((uid, role) for role in roles)
        return uid

    add_user("admin", "管理员", None, ("admin",))
    supervisors = [add_user(f"supervisor{i}", f"督查员{i}", None, ("supervisor",)) for i in range(1, 6)]
    leaders = []
    per_leader = max(1, size.units // max(1, size.units // 100))
    for i, first in enumerate(range(1, size.units + 1, per_leader), start=1):
        leader = add_user(f"leader{i}", f"县领导{i}", None, ("leader",))
        leaders.append(leader)
        rows["leader_unit"].extend((leader, u) for u in range(first, min(first + per_leader, size.units + 1)))
    staff: dict[int, list[int]] = {}
    for u in range(1, size.units + 1):
        staff[u] = [add_user(f"staff{u}_{k}", f"联络员{u}-{k}", u, ("unit_staff",)) for k in range(1, size.staff_per_unit + 1)]

    for i, name in enumerate(CATEGORIES, start=1):
        rows["category"].append((i, name, i, True))
    for i, name in enumerate(THEMES, start=1):
        rows["theme"].append((i, name, i, True))
    rows["scoring_policy"] = [
        (1, date(YEAR, 1, 1), 1, 0, -1, 3, GRACE_DAYS, 3, 60, 10, 25, "年初口径", created),
        (2, date(YEAR, 7, 1), 2, -1, -3, 3, GRACE_DAYS, 3, 60, 10, 25, "下半年加大奖惩力度", _instant(date(YEAR, 6, 20))),
    ]

    # Projects: the board unit leads exactly BOARD_NODES nodes' worth; every
    # other unit leads projects at random.
    projects = []  # (id, lead unit, node count)
    board_projects, rest = divmod(BOARD_NODES, size.nodes_per_project)
    plan = [(BOARD_UNIT_ID, size.nodes_per_project)] * board_projects + ([(BOARD_UNIT_ID, rest)] if rest else [])
    remaining = size.nodes - BOARD_NODES
    while remaining > 0:
        count = min(remaining, rng.randint(size.nodes_per_project - 4, size.nodes_per_project + 4))
        plan.append((rng.randint(2, size.units), count))
        remaining -= count
    for pid, (lead, count) in enumerate(plan, start=1):
        cat = rng.randint(1, len(CATEGORIES))
        total = rng.randint(500, 200_000)
        rows["project"].append((
            pid, f"B{YEAR}-{pid:06d}", f"{TOWNS[pid % len(TOWNS)]}{CATEGORIES[cat - 1]}项目{pid}", cat,
            rng.randint(1, len(THEMES)), YEAR, leaders[(lead - 1) // per_leader % len(leaders)], lead,
            rng.choice(("started", "building", "completed")), total, total * 0.6, total * 0.3,
            date(YEAR, 1, 1), date(YEAR, 12, 31), "", False, created, created,
        ))
        projects.append((pid, lead, count))

    # Nodes. The late batch: `late` nodes of units other than the board's,
    # concentrated on a fifth of the units (lateness is not spread evenly).
    total_other = size.nodes - BOARD_NODES
    late_flags = [True] * size.late + [False] * (total_other - size.late)
    rng.shuffle(late_flags)
    late_units = list(range(2, size.units + 1))
    rng.shuffle(late_units)
    late_units = late_units[: max(1, len(late_units) // 5)]
    due_day = AS_OF - timedelta(days=1)
    year_days = (date(YEAR, 12, 31) - date(YEAR, 1, 1)).days
    node_id = 0
    other_index = 0
    cards: list[list] = []  # rule cards; ids are given once manual cards are added
    recommit_id = 0
    node_rows = rows["node"]
    for pid, lead, count in projects:
        for k in range(count):
            node_id += 1
            late = False
            unit = lead
            if lead != BOARD_UNIT_ID:
                late = late_flags[other_index]
                other_index += 1
                if late:
                    unit = late_units[node_id % len(late_units)]
                elif rng.random() < 0.2:
                    unit = rng.randint(2, size.units)
            person = staff[unit][node_id % len(staff[unit])]
            weight = rng.choice((1, 1, 1, 2, 3))
            title = f"{STEPS[k % len(STEPS)]}（{k + 1}）"
            committed = submitted_at = submitted_on = submitted_by = closed_at = closed_by = warned = None
            key = False
            if late:
                deadline = due_day
                status, card = rng.choice(("todo", "doing", "doing")), "none"
                warned = deadline - timedelta(days=3)
            else:
                deadline = date(YEAR, 1, 1) + timedelta(days=rng.randint(0, year_days))
                if deadline == due_day:
                    deadline -= timedelta(days=1)
                if deadline >= AS_OF:
                    status, card = rng.choice(("todo", "doing", "doing")), "none"
                    if (deadline - AS_OF).days < 3:  # warned by the sweeps of the last days
                        warned = deadline - timedelta(days=3)
                else:
                    roll = rng.random()
                    old_enough = (AS_OF - deadline).days > 20
                    if roll < 0.83 or (roll < 0.86 and not old_enough):
                        # On time: green at verification.
                        status, card = "done", "green"
                        submitted_on = deadline - timedelta(days=rng.randint(0, 10))
                        verified = min(submitted_on + timedelta(days=rng.randint(1, 3)), AS_OF - timedelta(days=1))
                        closed_at, closed_by = _instant(verified, 15), supervisors[node_id % len(supervisors)]
                        pol, green, _, _ = _policy_for(verified)
                        cards.append([node_id, unit, "green", green * weight, verified, GREEN_REASON, False,
                                      closed_by, _instant(verified, 15), pol])
                    elif roll < 0.86:
                        # Submitted before sign-off was checked: waiting in the queue.
                        status, card = "review", "none"
                        submitted_on = deadline - timedelta(days=rng.randint(0, 3))
                    elif roll < 0.95 or not old_enough:
                        # Late, finished within the grace period: stays yellow.
                        status, card = "done", "yellow"
                        submitted_on = deadline + timedelta(days=2)
                        closed_at = _instant(submitted_on + timedelta(days=1), 15)
                        closed_by = supervisors[node_id % len(supervisors)]
                        pol, _, yellow, _ = _policy_for(deadline + timedelta(days=1))
                        cards.append([node_id, unit, "yellow", yellow * weight, deadline + timedelta(days=1),
                                      YELLOW_REASON, False, None, _instant(deadline + timedelta(days=1), 0), pol])
                    elif roll < 0.96:
                        # Late, re-committed in time; the new deadline is still ahead.
                        status, card = "doing", "yellow"
                        committed = AS_OF + timedelta(days=rng.randint(10, 40))
                        pol, _, yellow, _ = _policy_for(deadline + timedelta(days=1))
                        cards.append([node_id, unit, "yellow", yellow * weight, deadline + timedelta(days=1),
                                      YELLOW_REASON, False, None, _instant(deadline + timedelta(days=1), 0), pol])
                        recommit_id += 1
                        decided = _instant(deadline + timedelta(days=2), 16)
                        rows["recommitment"].append((
                            recommit_id, node_id, "受征地拆迁影响，申请延期", committed, person,
                            _instant(deadline + timedelta(days=1), 11), "approved",
                            leaders[(unit - 1) // per_leader % len(leaders)], decided, "同意",
                        ))
                    else:
                        # Red: no re-commitment within the grace period.
                        key = True
                        yellow_on = deadline + timedelta(days=1)
                        red_on = deadline + timedelta(days=8)
                        if rng.random() < 0.6:
                            status = "done"
                            submitted_on = red_on + timedelta(days=rng.randint(1, 10))
                            submitted_on = min(submitted_on, AS_OF - timedelta(days=1))
                            closed_at = _instant(submitted_on, 17)
                            closed_by = supervisors[node_id % len(supervisors)]
                        else:
                            status = "doing"
                        card = "red"
                        pol, _, yellow, _ = _policy_for(yellow_on)
                        cards.append([node_id, unit, "yellow", yellow * weight, yellow_on, YELLOW_REASON, False,
                                      None, _instant(yellow_on, 0), pol])
                        pol, _, _, red = _policy_for(red_on)
                        cards.append([node_id, unit, "red", red * weight, red_on, RED_REASON, False, None,
                                      _instant(red_on, 0), pol])
                    if submitted_on is not None:
                        submitted_at, submitted_by = _instant(submitted_on, 11), person
            node_rows.append((
                node_id, pid, title, unit, person, deadline, committed, "取得批复文件并上传佐证材料", weight,
                k == 0, key, status, card, submitted_at, submitted_on, submitted_by, "" if submitted_at is None else "已完成",
                closed_at, closed_by, warned, created, closed_at or created, 1 + (card != "none") + (status != "todo"),
            ))

    # Manual cards fill up to the requested number of card events, on past nodes.
    past = [n for n in node_rows if n[5] < due_day]
    manual = max(0, size.card_events - len(cards))
    for _ in range(manual):
        n = past[rng.randrange(len(past))]
        colour = rng.choice(("green", "yellow", "red"))
        day = n[5] + timedelta(days=rng.randint(1, 15))
        day = min(day, AS_OF - timedelta(days=1))
        pol = _policy_for(day)
        points = {"green": pol[1], "yellow": pol[2], "red": pol[3]}[colour]
        cards.append([n[0], n[3], colour, points, day, MANUAL_REASONS[n[0] % len(MANUAL_REASONS)], True,
                      supervisors[0], _instant(day, 14), pol[0]])
    cards.sort(key=lambda c: (c[4], c[0]))  # issued in date order
    card_rows = rows["card_event"]
    for cid, c in enumerate(cards, start=1):
        withdrawn = c[6] and cid % 50 == 0  # a few manual cards were withdrawn
        card_rows.append((cid, *c[:9], c[9], withdrawn, "复核后撤销" if withdrawn else "",
                          c[8] + timedelta(days=2) if withdrawn else None, supervisors[0] if withdrawn else None))

    # Interviews the sweeps already proposed: one per red card, one per unit and
    # month with three yellow cards or more; older ones held and closed.
    iid = 0
    yellow_by_month: dict[tuple[int, str], list[tuple[int, date]]] = {}
    for c in card_rows:
        cid, colour, effective, withdrawn = c[0], c[3], c[5], c[11]
        if withdrawn:
            continue
        if colour == "red":
            iid += 1
            rows["interview"].append(_interview_row(iid, c[2], "red", f"red:{cid}", effective, supervisors))
            rows["interview_card"].append((iid, cid))
        if colour == "yellow":
            yellow_by_month.setdefault((c[2], effective.strftime("%Y-%m")), []).append((cid, effective))
    for (unit, month), found in sorted(yellow_by_month.items()):
        if len(found) < 3:
            continue
        iid += 1
        rows["interview"].append(_interview_row(iid, unit, "yellow_threshold", f"yellow:{unit}:{month}", found[2][1], supervisors))
        rows["interview_card"].extend((iid, cid) for cid, _ in found)
    # The interview whose notice is printed: scheduled, with 12 cards of the board unit.
    board_cards = [c[0] for c in card_rows if c[2] == BOARD_UNIT_ID and not c[11]][:12]
    iid += 1
    rows["interview"].append((
        iid, BOARD_UNIT_ID, "manual", f"bench:{iid}", "scheduled", AS_OF - timedelta(days=3), supervisors[0],
        _instant(AS_OF + timedelta(days=2), 9), "县行政中心三楼会议室", supervisors[0], "督查员1",
        "节点超期情况说明及整改方案", "", None, None, None, _instant(AS_OF - timedelta(days=3)),
    ))
    rows["interview_card"].extend((iid, cid) for cid in board_cards)
    return rows


def _interview_row(iid: int, unit: int, trigger: str, key: str, on: date, supervisors: list[int]) -> tuple:
    closed = (AS_OF - on).days > 30
    return (
        iid, unit, trigger, key, "closed" if closed else "proposed", on, None,
        _instant(on + timedelta(days=7), 9) if closed else None, "县行政中心会议室" if closed else "",
        supervisors[0] if closed else None, "督查员1" if closed else "", "", "已约谈，单位作出整改承诺" if closed else "",
        _instant(on + timedelta(days=7), 10) if closed else None, _instant(on + timedelta(days=8)) if closed else None,
        None, _instant(on, 0),
    )


# -- loading -------------------------------------------------------------------

ORDER = ["league", "unit", "user", "user_role", "leader_unit", "category", "theme", "scoring_policy", "project",
         "node", "recommitment", "card_event", "interview", "interview_card"]


def _sqlite_value(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return f"{value:.2f}"
    return value


def _load_sqlite(size: Size, seed: int, rows: dict[str, list[tuple]]) -> dict[str, int]:
    conn = sqlite3.connect(sqlite_path(size.name), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        conn.execute("BEGIN")
        # Secondary indexes are built once after the load, not row by row.
        tables = ", ".join(f"'{t}'" for t in ORDER)
        indexes = conn.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                               f"AND tbl_name IN ({tables})").fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for table in ORDER:
            cols = COLUMNS[table]
            sql = f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({", ".join("?" * len(cols))})'
            conn.executemany(sql, ([_sqlite_value(v) for v in row] for row in rows[table]))
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("CREATE TABLE bench_meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO bench_meta VALUES ('stamp', ?)", (stamp(size, seed),))
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return {table: len(rows[table]) for table in ORDER}


def _load_pg(size: Size, seed: int, rows: dict[str, list[tuple]]) -> dict[str, int]:
    import psycopg

    dsn = url_for("postgresql", size.name).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        with conn.cursor() as cur:
            # The rows are consistent by construction: skip the per-row foreign
            # key triggers, and build the secondary indexes once after the load.
            cur.execute("SET session_replication_role = replica")
            cur.execute("SET maintenance_work_mem = '512MB'")
            cur.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
                "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conindid = format('%%I.%%I', i.schemaname, i.indexname)::regclass)",
                (ORDER,),
            )
            indexes = cur.fetchall()
            for name, _ in indexes:
                cur.execute(f'DROP INDEX "{name}"')
            for table in ORDER:
                cols = COLUMNS[table]
                with cur.copy(f'COPY "{table}" ({", ".join(cols)}) FROM STDIN') as copy:
                    for row in rows[table]:
                        copy.write_row(row)
            for _, sql in indexes:
                cur.execute(sql)
            cur.execute("SET session_replication_role = origin")
            for table in ORDER:
                if "id" in COLUMNS[table]:
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                f"(SELECT coalesce(max(id), 0) + 1 FROM \"{table}\"), false)")
            cur.execute("CREATE TABLE bench_meta (key TEXT PRIMARY KEY, value TEXT)")
            cur.execute("INSERT INTO bench_meta VALUES ('stamp', %s)", (stamp(size, seed),))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    return {table: len(rows[table]) for table in ORDER}
