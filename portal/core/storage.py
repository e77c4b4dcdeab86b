"""Stored files that no row refers to: removed once they are a day old.

Evidence files and archived documents are written before their row is
committed (a file that is half-written never exists under its name). A
process killed between the two, a work horse killed mid-build or an upload
whose request died, leaves a file nothing refers to. The daily maintenance
job removes those files once they are older than a day, so a file whose row
is still on its way to being committed is never touched. A document's file
removed this way is written again when the document is published: its name
is the SHA-256 of its bytes.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from portal.core.extensions import db

GRACE = timedelta(days=1)


def remove_orphans(now: float | None = None, grace: timedelta = GRACE) -> dict[str, int]:
    """Remove stored files older than ``grace`` that no evidence or document row names.

    ``now`` is a Unix time, compared with the files' modification times
    (default: the system clock, which writes them). Returns how many files
    went from each store.
    """
    from portal.models import Document, Evidence

    cutoff = (time.time() if now is None else now) - grace.total_seconds()
    evidence = set(db.session.scalars(select(Evidence.storage_key)))
    documents = {f"{key}.pdf" for key in db.session.scalars(select(Document.storage_key).where(Document.storage_key.is_not(None)))}
    removed = {}
    for store, setting, named in (("evidence", "EVIDENCE_DIR", evidence), ("documents", "DOCUMENT_DIR", documents)):
        removed[store] = 0
        for path in Path(current_app.config[setting]).glob("??/*"):
            if path.name in named or not path.is_file() or path.stat().st_mtime >= cutoff:
                continue
            path.unlink(missing_ok=True)
            removed[store] += 1
    return removed


def store_file(directory: Path, name: str, data: bytes) -> Path:
    """Write ``data`` as ``directory/name`` atomically (a half-written file never exists under its name).

    For files named by their content (a SHA-256): an existing file is kept.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    if not path.exists():
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path
