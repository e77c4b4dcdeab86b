"""Writing a backup: every table from one snapshot, then the stored files, the manifest last."""


from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import Connection, select, text

from portal.core.extensions import db
from portal.models import Base
from portal.ops.backup.archive import (
    BATCH,
    FILE_ROOTS,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    BackupError,
    _check_member_name,
    _encode_row,
    _HashingReader,
    _select_rows,
    _stored_files,
    _tarinfo,
    code_revision,
    database_revision,
)

# --------------------------------------------------------------------------
# Backup
# --------------------------------------------------------------------------


@dataclass
class BackupSummary:
    path: Path
    revision: str
    tables: int
    rows: int
    files: int
    size: int
    missing_files: list[str] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"backup out={self.path} revision={self.revision} tables={self.tables} rows={self.rows} "
                f"files={self.files} bytes={self.size} missing_files={len(self.missing_files)} "
                f"skipped_files={len(self.skipped_files)}")


def _snapshot(conn: Connection) -> None:
    """Read every table from one snapshot, so the archive is consistent while the portal runs."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    else:
        # pysqlite opens no transaction for a SELECT; an explicit one holds
        # the WAL snapshot of its first read until it ends.
        conn.exec_driver_sql("BEGIN")


def _missing_files(conn: Connection, archived: dict[str, set[str]]) -> list[str]:
    """Stored-file names the rows refer to that are not on disk (reported, not fatal)."""
    from portal.models import Document, Evidence

    missing = []
    for key in conn.execute(select(Evidence.storage_key)).scalars():
        if f"{key[:2]}/{key}" not in archived["evidence"]:
            missing.append(f"evidence/{key[:2]}/{key}")
    for key in conn.execute(select(Document.storage_key).where(Document.storage_key.is_not(None))).scalars():
        if f"{key[:2]}/{key}.pdf" not in archived["documents"]:
            missing.append(f"documents/{key[:2]}/{key}.pdf")
    return missing


def backup(out: Path, now: datetime) -> BackupSummary:
    """Write the database and the stored files to ``out`` (a .tar.gz), atomically."""
    out = Path(out)
    if out.exists():
        raise BackupError(f"{out} already exists; choose another name (a backup never overwrites one)")
    partial = out.with_name(out.name + ".part")
    members: dict[str, dict] = {}
    tables_meta, archived, skipped = [], {prefix: set() for prefix in FILE_ROOTS}, []
    total_rows = 0
    engine = db.engine
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # it holds password hashes
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as tar, \
                engine.connect() as conn:
            _snapshot(conn)
            revision = database_revision(conn)
            if revision != code_revision():
                raise BackupError(f"the database is at schema revision {revision}, this code expects "
                                  f"{code_revision()}: run `flask db upgrade` (or use the release that matches)")
            for table in Base.metadata.sorted_tables:
                name = f"db/{table.name}.jsonl"
                rows = 0
                with tempfile.TemporaryFile(dir=out.parent) as spool:
                    digest = hashlib.sha256()
                    result = conn.execution_options(yield_per=BATCH).execute(_select_rows(table))
                    for row in result:
                        line = json.dumps(_encode_row(table, row), ensure_ascii=False, separators=(",", ":"))
                        data = (line + "\n").encode()
                        digest.update(data)
                        spool.write(data)
                        rows += 1
                    size = spool.tell()
                    spool.seek(0)
                    tar.addfile(_tarinfo(name, size, now.timestamp()), spool)
                members[name] = {"sha256": digest.hexdigest(), "size": size}
                tables_meta.append({"name": table.name, "member": name, "rows": rows})
                total_rows += rows
            # Files after rows: a file is written before its row commits, so
            # every row in the snapshot finds its file.
            for prefix, key in FILE_ROOTS.items():
                for rel, path in _stored_files(Path(current_app.config[key])):
                    name = f"files/{prefix}/{rel}"
                    try:
                        _check_member_name(name)
                    except BackupError:
                        skipped.append(f"{prefix}/{rel}")  # not a name the portal writes
                        continue
                    with path.open("rb") as fh:
                        stat = os.fstat(fh.fileno())
                        reader = _HashingReader(fh)
                        tar.addfile(_tarinfo(name, stat.st_size, stat.st_mtime), reader)
                    if reader.size != stat.st_size:
                        raise BackupError(f"{path} changed while it was read; run the backup again")
                    members[name] = {"sha256": reader.digest.hexdigest(), "size": reader.size}
                    archived[prefix].add(rel)
            missing = _missing_files(conn, archived)
            conn.rollback()
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_at": now.isoformat(),
                "alembic_revision": revision,
                "source_dialect": engine.dialect.name,
                "tables": tables_meta,
                "files": {prefix: len(names) for prefix, names in archived.items()},
                "missing_files": missing,
                "members": members,
            }
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            tar.addfile(_tarinfo(MANIFEST, len(data), now.timestamp()), io.BytesIO(data))
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupSummary(out, revision, len(tables_meta), total_rows,
                         sum(len(n) for n in archived.values()), out.stat().st_size, missing, skipped)
