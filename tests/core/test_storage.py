"""Stored files no row refers to are removed by the daily maintenance, and only those."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

from portal.core.extensions import db
from portal.core.storage import remove_orphans
from portal.documents.services import archive_path
from portal.models import Document
from portal.nodes import services
from portal.nodes.evidence import path_of
from tests import factories as f

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
DAY = timedelta(days=1).total_seconds()


def _age(path: Path, seconds: float) -> Path:
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_files_no_row_names_go_after_a_day_and_nothing_else(app):
    unit = f.unit("上派镇")
    staff = f.user("staff", roles=["unit_staff"], unit=unit)
    node = f.node(f.project(lead_unit=unit))
    db.session.commit()
    [kept_evidence] = services.attach(staff, node, [("施工许可证.pdf", PDF)])
    digest = "ab" * 32
    kept_pdf = archive_path(digest)
    kept_pdf.parent.mkdir(parents=True, exist_ok=True)
    kept_pdf.write_bytes(PDF)
    db.session.add(Document(kind="bulletin", title="六月通报", state="published", year=2026, params={},
                            storage_key=digest, sha256=digest))
    db.session.commit()
    _age(path_of(kept_evidence.storage_key), 3 * DAY)
    _age(kept_pdf, 3 * DAY)

    def orphan(root: str, name: str, age: float) -> Path:
        path = Path(app.config[root]) / name[:2] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(PDF)
        return _age(path, age)

    old_upload = orphan("EVIDENCE_DIR", "cd" * 16, 2 * DAY)           # the request died before its commit
    old_archive = orphan("DOCUMENT_DIR", "ef" * 32 + ".pdf", 2 * DAY)  # the work horse was killed
    old_part = orphan("DOCUMENT_DIR", "ef" * 32 + ".part", 2 * DAY)    # killed while writing
    fresh = orphan("DOCUMENT_DIR", "12" * 32 + ".pdf", 60)             # its row may be committing right now

    assert remove_orphans() == {"evidence": 1, "documents": 2}
    assert not old_upload.exists() and not old_archive.exists() and not old_part.exists()
    assert path_of(kept_evidence.storage_key).exists() and kept_pdf.exists() and fresh.exists()
    assert remove_orphans(now=time.time() + 2 * DAY) == {"evidence": 0, "documents": 1}  # the fresh one, a day later
    assert path_of(kept_evidence.storage_key).exists() and kept_pdf.exists()


def test_an_archive_reused_by_a_late_retry_is_fresh_again(app, clock):
    """A build killed after archiving, retried days later: the file it finds is not an orphan to the clean-up."""
    import hashlib

    from portal.documents.services import publish

    leftover = archive_path(hashlib.sha256(PDF).hexdigest())
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(PDF)
    _age(leftover, 3 * DAY)
    document = Document(kind="bulletin", title="六月通报", state="building", year=2026, params={})
    db.session.add(document)
    db.session.flush()
    publish(None, document, lambda d: PDF, clock=clock)
    db.session.commit()
    assert time.time() - leftover.stat().st_mtime < 60
    assert remove_orphans() == {"evidence": 0, "documents": 0} and leftover.exists()
