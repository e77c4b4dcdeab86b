"""Backup and restore: a county restored into an empty database is the same county, row by row and byte by byte."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import JSON, func, select, text

from portal import create_app
from portal.core.extensions import db
from portal.models import Base, CalendarDay, Document, Evidence, JobRun, Node, Unit
from portal.ops import demo
from portal.ops.backup import MANIFEST
from tests import factories as f
from tests.conftest import (
    BACKEND,
    TODAY,
    _base_config,
    _migrate,
    _worker_suffix,
    create_pg_database,
    drop_pg_database,
    head_revision,
)

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


@pytest.fixture
def targets(tmp_path, clock, database_template):
    """Make empty, migrated databases (each with its own file directories) to restore into."""
    made: list[tuple[str, object]] = []

    def make(backend: str = BACKEND, tag: str = "target"):
        root = tmp_path / tag
        root.mkdir()
        if backend == "postgresql":
            name = f"jiedian_test_{_worker_suffix()}_{tag}"
            url = create_pg_database(name)
            made.append(("postgresql", name))
        elif BACKEND == "sqlite":
            shutil.copyfile(database_template, root / "jiedian.db")  # the migrated template
            url = "sqlite:///" + str(root / "jiedian.db")
        else:
            url = "sqlite:///" + str(root / "jiedian.db")
        if not (backend == "sqlite" and BACKEND == "sqlite"):
            _migrate(url, str(root))
        target = create_app(_base_config(url, str(root)))
        target.extensions["jiedian.clock"] = clock
        made.append(("app", target))
        return target

    yield make
    for kind, value in reversed(made):
        if kind == "app":
            with value.app_context():
                db.engine.dispose()
        else:
            drop_pg_database(value)


def snapshot(app) -> dict[str, list[tuple]]:
    """Every row of every table in primary-key order; JSON columns also say whether they are SQL NULL."""
    with app.app_context(), db.engine.connect() as conn:
        rows = {}
        for table in Base.metadata.sorted_tables:
            flags = [c.is_(None) for c in table.columns if isinstance(c.type, JSON)]
            stmt = select(table, *flags).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(row) for row in conn.execute(stmt)]
        return rows


def stored_files(app) -> dict[str, bytes]:
    files = {}
    for key in ("EVIDENCE_DIR", "DOCUMENT_DIR"):
        root = Path(app.config[key])
        for path in sorted(root.rglob("*")) if root.exists() else []:
            if path.is_file():
                files[f"{key}/{path.relative_to(root).as_posix()}"] = path.read_bytes()
    return files


def assert_same_county(source, restored) -> None:
    before, after = snapshot(source), snapshot(restored)
    assert list(before) == list(after)
    for table in before:
        assert len(after[table]) == len(before[table]), table
        for old, new in zip(before[table], after[table], strict=True):
            assert old == new, table
    assert stored_files(restored) == stored_files(source)


def add_files(app, clock) -> None:
    """Evidence on two nodes and a published ranking PDF, through the real storage code."""
    from portal.core.periods import period_bounds
    from portal.documents.services import publish, ranking_pdf
    from portal.nodes import evidence as files

    nodes = db.session.scalars(select(Node).order_by(Node.id).limit(2)).all()
    for node, (name, data) in zip(nodes, [("验收单.pdf", b"%PDF-1.4 acceptance " + os.urandom(64)),
                                          ("现场.png", b"\x89PNG\r\n\x1a\n" + os.urandom(256))], strict=True):
        stored = files.store(name, data)
        db.session.add(Evidence(node=node, original_name=stored.original_name, storage_key=stored.storage_key,
                                content_type=stored.content_type, size_bytes=stored.size_bytes, sha256=stored.sha256))
    start, end = period_bounds("week", TODAY - timedelta(days=7))
    document = Document(kind="ranking", title="第24周节点工作联赛排名", year=start.year, period="week",
                        period_start=start, period_end=end, params={"note": None}, created_at=clock.now())
    db.session.add(document)
    db.session.flush()
    publish(None, document, lambda d: ranking_pdf("week", start, d.doc_number, clock=clock), clock=clock)
    # A JSON column holding SQL NULL next to one holding a document.
    db.session.add_all([JobRun(kind="sweep", params={"as_of": "2026-06-15"}, state="finished", result=None),
                        JobRun(kind="sweep", params={}, state="finished", result={"yellow": 3})])
    db.session.commit()


def small_county(app) -> None:
    """A few rows and one evidence file: enough for the refusals."""
    from portal.nodes import evidence as files

    node = f.node()
    stored = files.store("验收单.pdf", b"%PDF-1.4 small county")
    db.session.add(Evidence(node=node, original_name=stored.original_name, storage_key=stored.storage_key,
                            content_type=stored.content_type, size_bytes=stored.size_bytes, sha256=stored.sha256))
    db.session.commit()


def invoke(app, *args: str):
    """Run a command against ``app`` (the CLI runner uses whichever app context is current)."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
        db.session.remove()
    return result


def back_up(app, path: Path) -> Path:
    result = invoke(app, "backup", "--out", str(path))
    assert result.exit_code == 0, result.output
    return path


def restore(app, path: Path):
    return invoke(app, "restore", str(path))


def rewrite(src: Path, dst: Path, edit=None, extra: dict[str, bytes] | None = None, fix_manifest: bool = False,
            manifest_edit=None) -> Path:
    """Copy an archive, changing members (edit(name, data) -> data); optionally make the manifest agree."""
    with tarfile.open(src, "r:gz") as tar:
        members = [(info.name, tar.extractfile(info).read()) for info in tar.getmembers()]
    manifest = json.loads(dict(members)[MANIFEST])
    out = []
    for name, data in members:
        if name == MANIFEST:
            continue
        data = edit(name, data) if edit else data
        out.append((name, data))
        if fix_manifest:
            manifest["members"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for table in manifest["tables"]:
                if table["member"] == name:
                    table["rows"] = data.count(b"\n")
    out += list((extra or {}).items())
    if manifest_edit:
        manifest_edit(manifest)
    out.append((MANIFEST, json.dumps(manifest).encode()))
    with tarfile.open(dst, "w:gz") as tar:
        for name, data in out:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return dst


def assert_untouched(target, calendar_rows: int) -> None:
    """Nothing written: no rows besides the seeded calendar and problem types, no files."""
    with target.app_context():
        for table in Base.metadata.sorted_tables:
            count = db.session.scalar(select(func.count()).select_from(table))
            seeded = {CalendarDay.__tablename__: calendar_rows, "problem_type": 7}
            assert count == seeded.get(table.name, 0), table.name
        db.session.remove()
    assert stored_files(target) == {}
    for key in ("EVIDENCE_DIR", "DOCUMENT_DIR"):
        root = Path(target.config[key])
        assert not list(root.parent.glob(root.name + ".restoring-*"))


def calendar_count(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(CalendarDay))
        db.session.remove()
        return count


# --------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------


@pytest.mark.slow
def test_the_demo_county_restores_row_by_row_and_byte_by_byte(app, clock, targets, tmp_path):
    demo.build(TODAY)
    db.session.commit()
    add_files(app, clock)
    archive = back_up(app, tmp_path / "county.tar.gz")
    assert oct(archive.stat().st_mode & 0o777) == "0o600"  # password hashes inside

    target = targets()
    result = restore(target, archive)
    assert result.exit_code == 0, result.output
    assert f"source={BACKEND}" in result.output
    assert_same_county(app, target)
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile(MANIFEST))
    assert manifest["alembic_revision"] == head_revision() and manifest["files"]["evidence"] == 2
    # the ranking PDF, and the demo's 督办通知单 and 会议纪要 (one per assignment and meeting)
    assert manifest["files"]["documents"] == 1 + db.session.scalar(select(func.count()).select_from(Document).where(
        Document.kind.in_(("assignment", "minutes"))))
    assert sum(t["rows"] for t in manifest["tables"]) > 5000 and manifest["missing_files"] == []

    # The restored county works: new ids follow the restored ones (PostgreSQL
    # sequences were reset), the audit log still refuses changes, and the
    # archived PDF still matches its hash.
    with target.app_context():
        highest = db.session.scalar(select(func.max(Unit.id)))
        unit = f.unit("新设单位")
        db.session.commit()
        assert unit.id == highest + 1
        from portal.documents.services import archived_bytes

        document = db.session.scalars(select(Document).where(Document.state == "published", Document.kind == "ranking")).one()
        assert archived_bytes(document).startswith(b"%PDF")
        from sqlalchemy.exc import DatabaseError

        with pytest.raises(DatabaseError):
            db.session.execute(text("DELETE FROM audit_entry"))
        db.session.rollback()
        db.session.remove()


@pytest.mark.slow
@pytest.mark.skipif(BACKEND != "postgresql", reason="moves a county between SQLite and PostgreSQL: run with JIEDIAN_TEST_DB=postgresql")
def test_a_county_moves_from_sqlite_to_postgresql(app, clock, targets, tmp_path):
    demo.build(TODAY)
    db.session.commit()
    add_files(app, clock)
    from_postgresql = back_up(app, tmp_path / "pg.tar.gz")

    on_sqlite = targets("sqlite", "sqlite")
    assert restore(on_sqlite, from_postgresql).exit_code == 0
    assert_same_county(app, on_sqlite)

    from_sqlite = back_up(on_sqlite, tmp_path / "sqlite.tar.gz")
    on_postgresql = targets("postgresql", "postgresql")
    result = restore(on_postgresql, from_sqlite)
    assert result.exit_code == 0, result.output
    assert "source=sqlite" in result.output
    assert_same_county(app, on_postgresql)


# --------------------------------------------------------------------------
# The command line and the refusals
# --------------------------------------------------------------------------


def test_backup_prints_a_summary_and_check_verifies_without_writing(app, runner, targets, tmp_path):
    small_county(app)
    out = tmp_path / "small.tar.gz"
    result = runner.invoke(args=["backup", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"backup out={out} revision={head_revision()} tables={len(Base.metadata.sorted_tables)} ")
    assert "files=1 " in result.output and "missing_files=0" in result.output
    again = runner.invoke(args=["backup", "--out", str(out)])
    assert again.exit_code == 1 and "already exists" in again.output

    target = targets()
    check = invoke(target, "restore", "--check", str(out))
    assert check.exit_code == 0 and check.output.startswith(f"check {out}: ok revision={head_revision()}")
    assert_untouched(target, calendar_count(app))


def test_backup_reports_missing_files_and_leaves_out_strangers(app, runner, tmp_path):
    small_county(app)
    evidence = db.session.scalars(select(Evidence)).one()
    from portal.nodes.evidence import path_of

    path_of(evidence.storage_key).unlink()
    stray = Path(app.config["DOCUMENT_DIR"]) / "notes for me~"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_text("not the portal's")
    result = runner.invoke(args=["backup", "--out", str(tmp_path / "gap.tar.gz")])
    assert result.exit_code == 0 and "missing_files=1 skipped_files=1" in result.output
    assert f"evidence/{evidence.storage_key[:2]}/{evidence.storage_key}, which is not on disk" in result.output
    assert "documents/notes for me~ is not a file the portal stores; left out" in result.output


def test_restore_refuses_a_database_that_holds_data(app, targets, tmp_path):
    small_county(app)
    archive = back_up(app, tmp_path / "small.tar.gz")
    target = targets()
    with target.app_context():
        f.unit("已有单位")
        db.session.commit()
        db.session.remove()
    result = restore(target, archive)
    assert result.exit_code == 1 and "already holds data (unit)" in result.output
    with target.app_context():
        assert db.session.scalars(select(Unit.name)).all() == ["已有单位"]
        db.session.remove()
    assert stored_files(target) == {}


def test_restore_refuses_file_directories_that_hold_files(app, targets, tmp_path):
    small_county(app)
    archive = back_up(app, tmp_path / "small.tar.gz")
    target = targets()
    stray = Path(target.config["DOCUMENT_DIR"]) / "stray.pdf"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"%PDF")
    result = restore(target, archive)
    assert result.exit_code == 1 and "is not empty" in result.output
    stray.unlink()
    assert_untouched(target, calendar_count(app))


def test_restore_refuses_damaged_and_tampered_archives(app, targets, tmp_path):
    small_county(app)
    archive = back_up(app, tmp_path / "small.tar.gz")
    target = targets()
    seeded = calendar_count(app)

    def flip(name, data):
        return data.replace("测试节点".encode(), "伪造节点".encode()) if name == "db/node.jsonl" else data

    cases = {
        "edited row": (rewrite(archive, tmp_path / "edited.tar.gz", flip), "does not match its SHA-256"),
        "extra member": (rewrite(archive, tmp_path / "extra.tar.gz", extra={"files/evidence/zz/planted": b"x"}),
                         "not in the manifest"),
        "path outside": (rewrite(archive, tmp_path / "escape.tar.gz", extra={"files/evidence/../../etc/x": b"x"}),
                         "unexpected member"),
        "missing member": (rewrite(archive, tmp_path / "missing.tar.gz",
                                   manifest_edit=lambda m: m["members"].update({"db/ghost.jsonl": m["members"]["db/node.jsonl"]})),
                           "missing from the archive"),
    }
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    cases["truncated"] = (truncated, "damaged")
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not an archive at all")
    cases["not an archive"] = (garbage, "not a readable backup archive")

    for case, (path, message) in cases.items():
        result = restore(target, path)
        assert result.exit_code == 1, case
        assert message in result.output, (case, result.output)
        assert "Traceback" not in result.output, case
    assert_untouched(target, seeded)


def test_restore_refuses_another_schema_revision(app, targets, tmp_path):
    small_county(app)
    archive = back_up(app, tmp_path / "small.tar.gz")
    target = targets()
    older = rewrite(archive, tmp_path / "older.tar.gz", manifest_edit=lambda m: m.update(alembic_revision="0001"))
    result = restore(target, older)
    assert result.exit_code == 1 and "written at schema revision 0001" in result.output
    assert_untouched(target, calendar_count(app))

    with target.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        db.session.commit()
        db.session.remove()
    result = restore(target, archive)
    assert result.exit_code == 1 and "target database is at schema revision 0001" in result.output
    assert_untouched(target, calendar_count(app))


def test_a_restore_that_fails_half_way_leaves_nothing(app, targets, tmp_path):
    """Rows that pass the checksums but not the database: everything rolls back, seeded calendar included."""
    small_county(app)
    archive = back_up(app, tmp_path / "small.tar.gz")
    target = targets()

    def orphan(name, data):
        # Evidence pointing at a node that does not exist, after every earlier table went in.
        if name != "db/evidence.jsonl":
            return data
        row = json.loads(data)
        row["node_id"] = 999_999
        return (json.dumps(row, ensure_ascii=False) + "\n").encode()

    broken = rewrite(archive, tmp_path / "broken.tar.gz", orphan, fix_manifest=True)
    result = restore(target, broken)
    assert result.exit_code == 1 and "nothing was restored" in result.output, result.output
    assert_untouched(target, calendar_count(app))


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's write-ahead log")
def test_a_copy_of_the_sqlite_file_alone_misses_recent_writes_and_backup_has_them(app, tmp_path):
    """M #10, as docs/deploy.md says: the newest writes live in jiedian.db-wal until a checkpoint."""
    import sqlite3

    database = Path(db.engine.url.database)
    db.session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint=0")  # as between two automatic checkpoints
    f.unit("刚建的单位")
    db.session.commit()
    assert Path(f"{database}-wal").stat().st_size > 0
    copy = tmp_path / "copied.db"
    shutil.copyfile(database, copy)  # what a careless nightly `cp` takes
    with sqlite3.connect(copy) as copied:
        assert copied.execute("select count(*) from unit where name = '刚建的单位'").fetchone() == (0,)
    archive = back_up(app, tmp_path / "backup.tar.gz")
    with tarfile.open(archive) as tar:
        rows = [json.loads(line) for line in tar.extractfile("db/unit.jsonl").read().splitlines()]
    assert "刚建的单位" in {row["name"] for row in rows}
