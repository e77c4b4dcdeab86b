"""Restoring a backup into an empty database and empty file directories, all or nothing."""


from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import Connection, Table, func, literal, select
from sqlalchemy.exc import SQLAlchemyError

from portal.core.extensions import db
from portal.models import Base
from portal.ops.backup.archive import (
    _DB_MEMBER,
    BATCH,
    FILE_ROOTS,
    MANIFEST,
    SEEDED_TABLES,
    BackupError,
    _chunks,
    _decoder,
    _members,
    code_revision,
    database_revision,
    verify,
)

# --------------------------------------------------------------------------
# Restore
# --------------------------------------------------------------------------


@dataclass
class RestoreSummary:
    path: Path
    revision: str
    source_dialect: str
    tables: int
    rows: int
    files: int

    def line(self) -> str:
        return (f"restore from={self.path} revision={self.revision} source={self.source_dialect} "
                f"tables={self.tables} rows={self.rows} files={self.files}")


def _check_schema(manifest: dict, conn: Connection) -> None:
    revision = manifest.get("alembic_revision")
    target = database_revision(conn)
    code = code_revision()
    if target != code:
        raise BackupError(f"the target database is at schema revision {target}, this code expects {code}: "
                          "create it with `flask db upgrade` first")
    if revision != target:
        raise BackupError(f"the archive was written at schema revision {revision}, the target database is at "
                          f"{target}: restore with the release that wrote the archive, then upgrade")
    tables = [t["name"] for t in manifest["tables"]]
    known = {t.name: t for t in Base.metadata.sorted_tables}
    if sorted(tables) != sorted(known):
        raise BackupError("the archive's tables differ from this schema's: restore with the release that wrote it")
    # Inserting in the archive's order must never meet a row before the row it refers to.
    placed: set[str] = set()
    for name in tables:
        needs = {fk.column.table.name for fk in known[name].foreign_keys} - {name}
        if not needs <= placed:
            raise BackupError(f"the archive stores {name} before {', '.join(sorted(needs - placed))}: tampered with")
        placed.add(name)


def _check_empty(conn: Connection) -> None:
    busy = [
        t.name for t in Base.metadata.sorted_tables
        if t.name not in SEEDED_TABLES and conn.execute(select(literal(1)).select_from(t).limit(1)).first()
    ]
    if busy:
        raise BackupError(f"the target database already holds data ({', '.join(busy)}); restore only into an "
                          "empty database just created with `flask db upgrade`")


def _check_empty_dirs(roots: dict[str, Path]) -> None:
    for root in roots.values():
        if root.exists() and any(root.iterdir()):
            raise BackupError(f"{root} is not empty; restore only into empty file directories")


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: make the next generated id follow the restored ones."""
    if conn.dialect.name != "postgresql":
        return  # SQLite takes max(rowid) + 1
    preparer = conn.dialect.identifier_preparer
    for table in Base.metadata.sorted_tables:
        for column in table.primary_key.columns:
            sequence = conn.execute(
                select(func.pg_get_serial_sequence(preparer.format_table(table), column.name))
            ).scalar()
            if sequence is None:
                continue
            last = conn.execute(select(func.max(column))).scalar()
            # is_called=False: the next nextval() returns exactly this value.
            conn.execute(select(func.setval(sequence, (last or 0) + 1, False)))


def _insert_rows(conn: Connection, table: Table, lines: Iterator[bytes]) -> int:
    decoders = {c.name: _decoder(c) for c in table.columns}
    names = set(decoders)
    batch, count = [], 0
    for line in lines:
        try:
            raw = json.loads(line)
        except ValueError:
            raise BackupError(f"a row of {table.name} is not valid JSON: damaged or tampered with") from None
        if not isinstance(raw, dict) or set(raw) != names:
            raise BackupError(f"a row of {table.name} does not have the columns of this schema ({', '.join(sorted(names))})")
        batch.append({name: decoders[name](value) for name, value in raw.items()})
        if len(batch) >= BATCH:
            conn.execute(table.insert(), batch)
            count += len(batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
        count += len(batch)
    return count


def _lines(chunks: Iterator[bytes], digest) -> Iterator[bytes]:
    """Split a member into lines, hashing it on the way."""
    rest = b""
    for chunk in chunks:
        digest.update(chunk)
        rest += chunk
        *lines, rest = rest.split(b"\n")
        yield from lines
    if rest:
        yield rest


def restore(path: Path) -> RestoreSummary:
    """Restore an archive into an empty database at the same schema revision, all or nothing."""
    path = Path(path)
    manifest = verify(path)
    roots = {prefix: Path(current_app.config[key]) for prefix, key in FILE_ROOTS.items()}
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    expected_rows = {t["name"]: t["rows"] for t in manifest["tables"]}
    members = manifest["members"]
    token = secrets.token_hex(4)
    staging = {prefix: root.with_name(f"{root.name}.restoring-{token}") for prefix, root in roots.items()}
    placed: list[Path] = []
    rows = files = 0
    db.session.remove()  # the restore works on a connection of its own
    try:
        with db.engine.connect() as conn, conn.begin():
            _check_schema(manifest, conn)
            _check_empty(conn)
            _check_empty_dirs(roots)
            for seeded in SEEDED_TABLES:
                conn.execute(tables[seeded].delete())
            for info, tar in _members(path):
                digest = hashlib.sha256()
                if info.name == MANIFEST:
                    continue
                if (match := _DB_MEMBER.fullmatch(info.name)) is not None:
                    table = tables[match.group(1)]
                    count = _insert_rows(conn, table, _lines(_chunks(tar, info), digest))
                    if count != expected_rows[table.name]:
                        raise BackupError(f"{table.name}: {count} rows restored, the manifest says "
                                          f"{expected_rows[table.name]}")
                    rows += count
                else:
                    _, prefix, rel = info.name.split("/", 2)
                    target = staging[prefix] / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with target.open("xb") as fh:
                        for chunk in _chunks(tar, info):
                            digest.update(chunk)
                            fh.write(chunk)
                    os.utime(target, (info.mtime, info.mtime))
                    files += 1
                # The archive may have changed since it was verified: check again.
                if digest.hexdigest() != members[info.name]["sha256"]:
                    raise BackupError(f"{info.name} changed during the restore; nothing was restored")
            _reset_sequences(conn)
            # Files go into place last, just before the commit; a failure
            # from here on takes them away again.
            for prefix, root in roots.items():
                root.parent.mkdir(parents=True, exist_ok=True)
                if root.exists():
                    root.rmdir()  # checked empty above
                staging[prefix].mkdir(parents=True, exist_ok=True)
                staging[prefix].rename(root)
                placed.append(root)
    except BaseException as error:
        for root in placed:
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True, exist_ok=True)
        if isinstance(error, SQLAlchemyError):
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise BackupError(f"the database refused the archive's rows ({reason}); nothing was restored") from error
        raise
    finally:
        for stage in staging.values():
            shutil.rmtree(stage, ignore_errors=True)
    return RestoreSummary(path, manifest["alembic_revision"], manifest.get("source_dialect", "?"),
                          len(manifest["tables"]), rows, files)
