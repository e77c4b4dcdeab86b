"""Evidence files (销号材料): allow-listed, sniffed, stored under random names."""

from __future__ import annotations

import hashlib
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

MAX_BYTES = 20 * 1024 * 1024

# extension -> (content type we serve it as, sniff function)
_ZIP = b"PK\x03\x04"


def _zip_has(data: bytes, member_prefix: str) -> bool:
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            # Names only: never decompress an upload to sniff it.
            return any(name.startswith(member_prefix) for name in archive.namelist())
    except zipfile.BadZipFile:
        return False


ALLOWED = {
    "pdf": ("application/pdf", lambda d: d.startswith(b"%PDF-")),
    "jpg": ("image/jpeg", lambda d: d.startswith(b"\xff\xd8\xff")),
    "jpeg": ("image/jpeg", lambda d: d.startswith(b"\xff\xd8\xff")),
    "png": ("image/png", lambda d: d.startswith(b"\x89PNG\r\n\x1a\n")),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        lambda d: d.startswith(_ZIP) and _zip_has(d, "word/"),
    ),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        lambda d: d.startswith(_ZIP) and _zip_has(d, "xl/"),
    ),
}


class EvidenceError(ValueError):
    """An upload we refuse; the message is for the user."""


@dataclass
class StoredFile:
    original_name: str
    storage_key: str
    content_type: str
    size_bytes: int
    sha256: str


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def check(name: str, data: bytes) -> str:
    """The content type to serve an upload as, or EvidenceError saying why not."""
    ext = _extension(name)
    if ext not in ALLOWED:
        raise EvidenceError(_("“%(name)s”: this file type is not allowed; only PDF, JPG, PNG, DOCX or XLSX files may be uploaded.", name=name))
    if not data:
        raise EvidenceError(_("“%(name)s” is an empty file.", name=name))
    if len(data) > MAX_BYTES:
        raise EvidenceError(_("“%(name)s” is larger than the %(mb)d MB limit.", name=name, mb=MAX_BYTES // (1024 * 1024)))
    content_type, sniff = ALLOWED[ext]
    if not sniff(data):
        raise EvidenceError(_("“%(name)s”: its content does not match its extension; it may be a disguised file.", name=name))
    return content_type


def clean_name(name: str) -> str:
    """A display name without directories or control characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:200] or "file"


def _root() -> Path:
    return Path(current_app.config["EVIDENCE_DIR"])


def store(name: str, data: bytes) -> StoredFile:
    """Check and write one file; the caller deletes it again if the transaction fails."""
    name = clean_name(name)
    content_type = check(name, data)
    key = secrets.token_hex(16)
    path = _root() / key[:2] / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return StoredFile(name, key, content_type, len(data), hashlib.sha256(data).hexdigest())


def path_of(storage_key: str) -> Path:
    return _root() / storage_key[:2] / storage_key


def discard(keys: list[str]) -> None:
    for key in keys:
        path_of(key).unlink(missing_ok=True)
