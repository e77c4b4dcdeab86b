"""A node's own record: its progress log and evidence, and the node page.

What the node page does that other areas own is imported here, so its views
find it in one place: cards by hand (``cards``) and the re-commitment
(``recommitments``).

Every function takes the actor explicitly, flushes but never commits, and
writes the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal import permissions
from portal.audit import services as audit
from portal.cards.services import issue_manual_card as issue_manual_card
from portal.cards.services import withdraw_card as withdraw_card
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.models import EVIDENCE_KINDS, AuditEntry, Evidence, Node, ProgressEntry, Project, User
from portal.nodes import evidence as files
from portal.recommitments.services import file_request as file_request
from portal.recommitments.services import may_file as may_file


def check_version(node: Node, expected: int | None) -> None:
    if expected is None or expected != node.version:
        raise Refused(409, _("Someone else changed this node; it now shows its latest state. Check it and try again."))


def add_progress(actor: User, node: Node, body: str, percent: int | None, *, version: int | None) -> ProgressEntry:
    """Log progress on the node as the actor saw it: a stale ``version`` is refused (409).

    Entries are only ever added, so two people logging at once both keep
    theirs; but an entry written against a node that was meanwhile moved,
    sent back or signed off would misreport it, so the node row is locked
    (PostgreSQL) and its version checked first.
    """
    if not permissions.can_edit_node(actor, node):
        raise Refused(403, _("You may only log progress on nodes of your own unit or of projects you are a contact for."))
    db.session.refresh(node, with_for_update=True)
    check_version(node, version)
    entry = ProgressEntry(node_id=node.id, author_id=actor.id, body=body, percent=percent)
    db.session.add(entry)
    db.session.flush()
    audit.record(actor, "progress.create", entry, summary=node.title, after={"node_id": node.id, "body": body, "percent": percent})
    return entry


def attach(actor: User, node: Node, uploads: list[tuple[str, bytes]], *, kind: str = "document") -> list[Evidence]:
    """Store uploaded files as evidence; refuses the whole batch if one is bad.

    Files are written before the transaction commits; on any refusal the ones
    already written are removed again, so nothing half-stored remains.
    """
    if not permissions.can_edit_node(actor, node):
        raise Refused(403, _("You may only upload evidence to nodes of your own unit or of projects you are a contact for."))
    written: list[str] = []
    rows = []
    try:
        for name, data in uploads:
            stored = files.store(name, data)
            written.append(stored.storage_key)
            rows.append(
                Evidence(
                    node_id=node.id, uploaded_by_id=actor.id, kind=kind, original_name=stored.original_name,
                    storage_key=stored.storage_key, content_type=stored.content_type,
                    size_bytes=stored.size_bytes, sha256=stored.sha256,
                )
            )
    except files.EvidenceError as error:
        files.discard(written)
        raise Refused(422, str(error)) from error
    db.session.add_all(rows)
    db.session.flush()
    for row in rows:
        audit.record(actor, "evidence.create", row, summary=f"{node.title}：{row.original_name}", after={"node_id": node.id, "name": row.original_name, "sha256": row.sha256, "size": row.size_bytes})
    return rows


@dataclass(frozen=True)
class HistoryRow:
    """One line of a node's history as people read it."""

    at: datetime
    text: str  # 刘晓燕 提交销号：完成征迁交地
    changes: list  # (field, before, after)
    action: str


def remove_evidence(actor: User, evidence: Evidence) -> None:
    """The uploader takes back a wrong file before the node is submitted (audited). The stored file
    goes with the storage clean-up (files no row refers to, once a day old), so a rollback loses nothing."""
    if evidence.uploaded_by_id != actor.id:
        raise Refused(403, _("Only the person who uploaded a file may remove it."))
    if not evidence.node.is_open:
        raise Refused(409, _("The node has been submitted for sign-off; its evidence can no longer be removed."))
    audit.record(actor, "evidence.delete", evidence, summary=f"{evidence.node.title}：{evidence.original_name}",
                 before={"node_id": evidence.node_id, "name": evidence.original_name, "sha256": evidence.sha256})
    db.session.delete(evidence)
    db.session.flush()


def retype_evidence(actor: User, evidence: Evidence, kind: str) -> Evidence:
    """The uploader gives one file its own type (a batch is uploaded under one) until the node is submitted."""
    if evidence.uploaded_by_id != actor.id:
        raise Refused(403, _("Only the person who uploaded a file may change its type."))
    if not evidence.node.is_open:
        raise Refused(409, _("The node has been submitted for sign-off; its evidence can no longer be changed."))
    if kind not in EVIDENCE_KINDS:
        raise Refused(422, _("Choose a type from the list."))
    if evidence.kind != kind:
        audit.record(actor, "evidence.kind", evidence, summary=f"{evidence.node.title}：{evidence.original_name}",
                     before={"kind": evidence.kind}, after={"kind": kind})
        evidence.kind = kind
        db.session.flush()
    return evidence


def node_page(node_id: int) -> tuple[Node | None, list[HistoryRow]]:
    """The node with everything its page shows (project, unit, person, progress, evidence, cards,
    re-commitments) and its last 100 history entries — the node's own and those of its cards,
    re-commitments, progress and evidence — as sentences; (None, []) when there is no such node."""
    node = db.session.scalars(
        select(Node)
        .where(Node.id == node_id)
        .options(
            joinedload(Node.project).joinedload(Project.category),
            joinedload(Node.unit),
            joinedload(Node.responsible_user),
            selectinload(Node.progress_entries),
            selectinload(Node.evidence),
            selectinload(Node.card_events),
            selectinload(Node.recommitments),
        )
    ).first()
    if node is None:
        return None, []
    from portal.audit import labels

    related = {
        "node": [node.id],
        "card_event": [c.id for c in node.card_events],
        "recommitment": [r.id for r in node.recommitments],
        "progress_entry": [p.id for p in node.progress_entries],
        "evidence": [e.id for e in node.evidence],
    }
    which = or_(*(and_(AuditEntry.object_type == kind, AuditEntry.object_id.in_(ids))
                  for kind, ids in related.items() if ids))
    entries = db.session.scalars(
        select(AuditEntry).where(which).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(100)
    ).all()
    return node, [HistoryRow(e.at, labels.sentence(e), labels.changes(e), e.action) for e in entries]
