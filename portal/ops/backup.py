"""Backup and restore (``flask backup`` / ``flask restore``): one portable archive.

An archive is a gzip-compressed tar holding

- ``db/<table>.jsonl``: every row of every table, one JSON object per line,
  the tables in foreign-key dependency order;
- ``files/evidence/…`` and ``files/documents/…``: ``EVIDENCE_DIR`` and
  ``DOCUMENT_DIR`` as stored (evidence under random names, published PDFs
  under their SHA-256);
- ``manifest.json``, last: format and version, the schema's Alembic revision,
  the source database, row counts, and the size and SHA-256 of every other
  member.

Rows go through SQLAlchemy's table metadata, never through a database's own
dump format, so an archive written from SQLite restores into PostgreSQL and
the other way round (a county moving from its first SQLite server to
PostgreSQL takes one backup and one restore). Tables and files are streamed:
memory use does not grow with the size of the database.

A restore verifies every checksum before it writes anything, refuses a target
that already holds data or sits at another schema revision, then inserts all
rows in one transaction (the audit log's triggers refuse UPDATE and DELETE,
not INSERT) and moves the files into place just before the commit: it either
restores everything or leaves the target as it found it. The checksums detect
damage and careless edits; they are not a signature: keep archives where only
the operators can write.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath

from flask import current_app
from sqlalchemy import JSON, Connection, Table, func, inspect, literal, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from portal.core.extensions import db
from portal.models import Base, CalendarDay

FORMAT = "jiedian-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH = 1000  # rows per INSERT batch and per fetch
CHUNK = 1 << 20
# What reading a truncated or corrupt archive raises.
_DAMAGE = (tarfile.TarError, OSError, EOFError, zlib.error)
# The stored files, by their member prefix in the archive and their config key.
FILE_ROOTS = {"evidence": "EVIDENCE_DIR", "documents": "DOCUMENT_DIR"}
# Rows the migrations insert (the holiday calendar): an "empty" database has
# them, and a restore replaces them with the archive's (admins may have edited them).
SEEDED_TABLES = {CalendarDay.__tablename__}
_DB_MEMBER = re.compile(r"db/([a-z_][a-z0-9_]*)\.jsonl")
_SAFE_PART = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why and what to do."""


# --------------------------------------------------------------------------
# Values: one JSON form per column type, decoded by the column's type
# --------------------------------------------------------------------------


def _encode(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _decoder(column):
    """A function turning a column's JSON form back into the value SQLAlchemy binds."""
    if isinstance(column.type, JSON):
        # [value] is a JSON document (even the JSON null); None is SQL NULL.
        return lambda v: None if v is None else v[0]
    kind = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
    try:
        python_type = kind.python_type
    except NotImplementedError:
        return lambda v: v
    if python_type is datetime:
        return lambda v: None if v is None else datetime.fromisoformat(v)
    if python_type is date:
        return lambda v: None if v is None else date.fromisoformat(v)
    if python_type is Decimal:
        return lambda v: None if v is None else Decimal(v)
    if python_type is bytes:
        return lambda v: None if v is None else base64.b64decode(v)
    return lambda v: v


def _json_columns(table: Table) -> list:
    return [c for c in table.columns if isinstance(c.type, JSON)]


def _select_rows(table: Table):
    """All rows in primary-key order; JSON columns also say whether they are SQL NULL."""
    flags = [c.is_(None).label(f"{c.name}__sql_null") for c in _json_columns(table)]
    return select(table, *flags).order_by(*table.primary_key.columns)


def _encode_row(table: Table, row) -> dict:
    mapping = row._mapping
    out = {}
    for column in table.columns:
        value = mapping[column]
        if isinstance(column.type, JSON):
            out[column.name] = None if mapping[f"{column.name}__sql_null"] else [value]
        else:
            out[column.name] = _encode(value)
    return out


# --------------------------------------------------------------------------
# Schema revision
# --------------------------------------------------------------------------


def code_revision() -> str:
    """The newest migration this code ships (``flask db upgrade`` brings a database there)."""
    from alembic.script import ScriptDirectory

    config = current_app.extensions["migrate"]
    script = ScriptDirectory.from_config(config.migrate.get_config(config.directory))
    return script.get_current_head()


def database_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


# --------------------------------------------------------------------------
# Archive members
# --------------------------------------------------------------------------


class _HashingReader:
    """Reads a file object through, keeping its SHA-256 and size."""

    def __init__(self, fh) -> None:
        self.fh, self.digest, self.size = fh, hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.digest.update(data)
        self.size += len(data)
        return data


def _tarinfo(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o600
    return info


def _stored_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Every stored file under root as (relative POSIX path, path), sorted; half-written ``.part`` files skipped."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".part"):
                continue
            path = Path(dirpath) / name
            yield path.relative_to(root).as_posix(), path


def _check_member_name(name: str) -> None:
    if name == MANIFEST or _DB_MEMBER.fullmatch(name):
        return
    parts = PurePosixPath(name).parts
    if len(parts) >= 3 and parts[0] == "files" and parts[1] in FILE_ROOTS and all(
        _SAFE_PART.fullmatch(p) for p in parts[2:]
    ):
        return
    raise BackupError(f"the archive holds an unexpected member {name!r}: not a Jiedian backup, or tampered with")


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


def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r|gz")
    except FileNotFoundError:
        raise BackupError(f"{path} does not exist") from None
    except _DAMAGE as error:
        raise BackupError(f"{path} is not a readable backup archive ({error})") from None


def _members(path: Path) -> Iterator[tuple[tarfile.TarInfo, tarfile.TarFile]]:
    """The regular-file members of the archive in order, damage reported as BackupError."""
    tar = _open(path)
    try:
        seen = set()
        for info in tar:
            if not info.isfile():
                raise BackupError(f"the archive holds {info.name!r}, which is not a regular file: tampered with")
            _check_member_name(info.name)
            if info.name in seen:
                raise BackupError(f"the archive holds {info.name!r} twice: tampered with")
            seen.add(info.name)
            yield info, tar
    except _DAMAGE as error:
        raise BackupError(f"{path} is damaged ({error}); use another copy") from None
    finally:
        tar.close()


def _chunks(tar: tarfile.TarFile, info: tarfile.TarInfo) -> Iterator[bytes]:
    try:
        fh = tar.extractfile(info)
        while chunk := fh.read(CHUNK):
            yield chunk
    except _DAMAGE as error:
        raise BackupError(f"the archive is damaged at {info.name} ({error}); use another copy") from None


def verify(path: Path) -> dict:
    """Check every member against the manifest without writing anything; returns the manifest."""
    path = Path(path)
    found: dict[str, dict] = {}
    order: list[str] = []
    manifest = None
    for info, tar in _members(path):
        if info.name == MANIFEST:
            if info.size > 256 * 1024 * 1024:
                raise BackupError("the manifest is implausibly large: tampered with")
            try:
                manifest = json.loads(b"".join(_chunks(tar, info)))
            except ValueError:
                raise BackupError("the manifest is not valid JSON: damaged or tampered with") from None
            continue
        digest, size = hashlib.sha256(), 0
        for chunk in _chunks(tar, info):
            digest.update(chunk)
            size += len(chunk)
        found[info.name] = {"sha256": digest.hexdigest(), "size": size}
        if info.name.startswith("db/"):
            order.append(info.name)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} has no Jiedian manifest: not a backup written by `flask backup`")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"the archive has format version {manifest.get('format_version')}; "
                          f"this release reads version {FORMAT_VERSION}")
    expected = manifest.get("members") or {}
    for name in sorted(set(expected) | set(found)):
        if name not in found:
            raise BackupError(f"{name} is listed in the manifest but missing from the archive")
        if name not in expected:
            raise BackupError(f"{name} is in the archive but not in the manifest: tampered with")
        if found[name] != expected[name]:
            raise BackupError(f"{name} does not match its SHA-256 in the manifest: damaged or tampered with")
    tables = manifest.get("tables")
    if not isinstance(tables, list) or not all(
        isinstance(t, dict) and isinstance(t.get("name"), str) and isinstance(t.get("rows"), int) for t in tables
    ):
        raise BackupError("the manifest's table list is malformed: damaged or tampered with")
    if [f"db/{t['name']}.jsonl" for t in tables] != order:
        raise BackupError("the tables in the archive do not match its manifest")
    return manifest


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
