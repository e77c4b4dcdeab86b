"""Numbering, publishing and archiving documents."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.clock import Clock
from portal.extensions import db
from portal.models import Document, User

KIND_PREFIX = {"notice": "约", "bulletin": "通", "ranking": "排", "ledger": "账"}


def office_name() -> str:
    return current_app.config.get("JIEDIAN_OFFICE_NAME", "县委县政府督查室")


def doc_number(kind: str, year: int, serial: int) -> str:
    """e.g. 清督约〔2026〕12号: county prefix, kind, year, serial per kind and year."""
    prefix = current_app.config.get("JIEDIAN_DOC_PREFIX", "督")
    return f"{prefix}{KIND_PREFIX[kind]}〔{year}〕{serial}号"


def _root() -> Path:
    return Path(current_app.config["DOCUMENT_DIR"])


def archive_path(sha256: str) -> Path:
    return _root() / sha256[:2] / f"{sha256}.pdf"


def publish(actor: User | None, document: Document, render, *, clock: Clock) -> Document:
    """Number the document, render it with its number, archive the bytes under their SHA-256.

    The number is the next serial for its kind and year; the unique constraint
    on (kind, year, serial) makes a race between two publishers fail loudly
    rather than print the same number twice (the caller retries). The archived
    file is written before the row is committed and never rewritten.
    """
    if document.serial is None:
        last = db.session.scalar(
            select(func.max(Document.serial)).where(Document.kind == document.kind, Document.year == document.year)
        )
        document.serial = (last or 0) + 1
        document.doc_number = doc_number(document.kind, document.year, document.serial)
        db.session.flush()  # claim the number now: a concurrent publisher fails here, before rendering
    pdf = render(document)
    digest = hashlib.sha256(pdf).hexdigest()
    path = archive_path(digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.touch()  # reused (a killed build's file): fresh again, so the daily clean-up leaves it alone
    else:
        tmp = path.with_suffix(".part")
        tmp.write_bytes(pdf)
        tmp.replace(path)  # atomic: a half-written archive never exists under its name
    document.sha256, document.size_bytes, document.storage_key = digest, len(pdf), digest
    document.state = "published"
    document.published_at = clock.now()
    document.published_by_id = actor.id if actor else None
    db.session.flush()
    audit.record(actor, f"document.publish_{document.kind}", document, summary=f"{document.doc_number} {document.title}",
                 after={"doc_number": document.doc_number, "sha256": digest, "size": len(pdf)})
    return document


def publish_with_retry(actor, document: Document, render, *, clock: Clock, attempts: int = 3) -> Document:
    """Publish, retrying with the next serial if another publisher took the number."""
    for attempt in range(attempts):
        try:
            with db.session.begin_nested():
                return publish(actor, document, render, clock=clock)
        except IntegrityError:
            document.serial = document.doc_number = None
            if attempt == attempts - 1:
                raise
    raise RuntimeError("unreachable")


def archived_bytes(document: Document) -> bytes:
    """The published PDF exactly as archived (checked against its SHA-256)."""
    data = archive_path(document.sha256).read_bytes()
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise OSError(f"archive of document {document.id} does not match its SHA-256")
    return data
