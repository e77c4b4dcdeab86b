"""The archive format: members, values by column type, the schema revision, reading and verifying an archive."""


from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tarfile
import zlib
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath

from flask import current_app
from sqlalchemy import JSON, Connection, Table, inspect, select, text
from sqlalchemy.types import TypeDecorator

from portal.models import CalendarDay, ProblemType

FORMAT = "jiedian-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH = 1000  # rows per INSERT batch and per fetch
CHUNK = 1 << 20
# What reading a truncated or corrupt archive raises.
_DAMAGE = (tarfile.TarError, OSError, EOFError, zlib.error)
# The stored files, by their member prefix in the archive and their config key.
FILE_ROOTS = {"evidence": "EVIDENCE_DIR", "documents": "DOCUMENT_DIR"}
# Rows the migrations insert (the holiday calendar, the problem types): an "empty" database has
# them, and a restore replaces them with the archive's (admins may have edited them).
SEEDED_TABLES = {CalendarDay.__tablename__, ProblemType.__tablename__}
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
# Reading and verifying
# --------------------------------------------------------------------------


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
