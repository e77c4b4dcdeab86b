"""Documents: numbering, publishing and archiving; interview notices, bulletins, the ranking PDF, ledgers.

Views call these and commit; the bulletin job (``tasks.build_bulletin``) and the
weekly ranking job run the same functions in a worker.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import JobStatus
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from jobs import runs
from jobs.faults import pause_point
from jobs.queue import QueueUnavailable, fetch_job
from portal import permissions
from portal.audit import services as audit
from portal.core.clock import Clock
from portal.core.database import lock_row
from portal.core.errors import Refused
from portal.core.extensions import db
from portal.core.periods import period_bounds, period_label
from portal.documents import content, layout
from portal.documents.render import render_pdf
from portal.models import Document, Interview, JobRun, Project, Unit, User, UserRole
from portal.notifications import services as notify
from portal.rankings.services import TIE_BREAK, league_tables

KIND_PREFIX = {"notice": "约", "bulletin": "通", "ranking": "排", "ledger": "账", "assignment": "办", "minutes": "纪"}


def office_name() -> str:
    """The issuing organ's full name (发文机关), as an administrator set it."""
    return layout.current().office


def render_document(template: str, *, title: str, doc_number: str | None, issued_on: date, keep=(), **context) -> bytes:
    """Render a document to GB/T 9704 (documents/_base.html): the county's layout settings and the
    title's lines (broken between words, never inside one of the names in ``keep``) are added here."""
    return render_pdf(template, title=title, title_lines=content.title_lines(title, keep), layout=layout.current(),
                      doc_number=doc_number, issued_on=issued_on, **context)


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


# -- who may read what ------------------------------------------------------------


def notice_interview(document: Document) -> Interview | None:
    """The interview a notice was issued for, whether it is the current notice or one reissued since."""
    interview_id = (document.params or {}).get("interview_id")
    if interview_id is not None:
        return db.session.get(Interview, interview_id)
    return db.session.scalar(select(Interview).where(Interview.notice_document_id == document.id))


def may_read(actor: User, document: Document) -> bool:
    """Notices: those who may read their interview; rankings and bulletins are public within the portal."""
    if document.kind == "notice":
        interview = notice_interview(document)
        return interview is not None and permissions.can_view_interview(actor, interview)
    if document.kind == "assignment":  # 督办通知单: those who may read the matter
        from portal.models import Assignment

        assignment = db.session.get(Assignment, (document.params or {}).get("assignment_id") or 0)
        return assignment is not None and permissions.can_view_assignment(actor, assignment)
    if document.kind == "minutes":  # 会议纪要: those who may read the meeting
        from portal.models import Meeting

        meeting = db.session.get(Meeting, (document.params or {}).get("meeting_id") or 0)
        return meeting is not None and permissions.can_view_meeting(actor, meeting)
    return True


def published_for(actor: User, kind: str | None) -> list[Document]:
    """The archive as the actor may read it, newest first (at most 200)."""
    stmt = select(Document).where(Document.state == "published").order_by(Document.published_at.desc(), Document.id.desc())
    if kind:
        stmt = stmt.where(Document.kind == kind)
    documents = db.session.scalars(stmt.limit(200)).all()
    # The notices' interviews in one query, not one per notice: held here, so
    # the session (which holds objects weakly) finds them when may_read asks.
    interview_ids = {(d.params or {}).get("interview_id") for d in documents if d.kind == "notice"} - {None}
    _held = db.session.scalars(select(Interview).where(Interview.id.in_(interview_ids))).all() if interview_ids else []
    return [d for d in documents if may_read(actor, d)]


# -- interview notices ------------------------------------------------------------


def notice_fingerprint(interview: Interview) -> str:
    """The arrangements a notice prints: when they change, the notice is reissued."""
    facts = [interview.scheduled_for.isoformat() if interview.scheduled_for else "", interview.place,
             interview.interviewer_name, interview.bring, sorted(c.id for c in interview.cards)]
    return hashlib.sha256(json.dumps(facts, ensure_ascii=False).encode()).hexdigest()


def _trigger_word(interview: Interview) -> str:
    return {"red": "红牌", "yellow_threshold": "黄牌"}.get(interview.trigger, "")


def issued_notice(interview: Interview) -> Document:
    """The notice issued for the interview's arrangements as they stand, to print; never numbers anything.

    404 while none has been issued, 409 when the time, place or interviewer
    changed since (the supervisors' office reissues it with a POST: issue_notice).
    """
    if interview.state not in ("scheduled", "held", "closed"):
        raise Refused(409, _("The interview has no time and place yet, so its notice cannot be issued."))
    current = db.session.get(Document, interview.notice_document_id) if interview.notice_document_id else None
    if current is None:
        raise Refused(404, _("The interview notice has not been issued yet."))
    if current.params.get("fingerprint") != notice_fingerprint(interview):
        raise Refused(409, _("The arrangements changed after the notice was issued; the supervisors' office must issue it again."))
    return current


def notice_state(interview: Interview) -> str:
    """What the interview page offers: "none" (nothing to print before it is scheduled), "unissued",
    "issued" (print it) or "stale" (the arrangements changed since: issue it again)."""
    if interview.state not in ("scheduled", "held", "closed"):
        return "none"
    try:
        issued_notice(interview)
    except Refused as refusal:
        return "unissued" if refusal.status == 404 else "stale"
    return "issued"


def issue_notice(actor: User, interview: Interview, *, clock: Clock) -> Document:
    """签发: number, print and archive the notice for the arrangements as they stand (supervisors, by POST only).

    The one way a notice gets a number. Issuing again while the arrangements
    are unchanged returns the notice already issued (a second click or a
    replayed form numbers nothing); after a change it issues a new one, and
    the first stays archived. The caller commits.
    """
    if not permissions.can_manage_cards(actor):
        raise Refused(403, _("Only the supervisors' office issues interview notices."))
    lock_row(interview)  # a double click or two supervisors at once: the second sees the first's notice
    try:
        return issued_notice(interview)
    except Refused as refusal:
        if interview.state not in ("scheduled", "held", "closed"):
            raise refusal
    fingerprint = notice_fingerprint(interview)
    document = Document(kind="notice", title=f"关于对{interview.unit.name}进行{_trigger_word(interview)}约谈的通知",
                        year=clock.today().year, period="adhoc", params={"fingerprint": fingerprint, "interview_id": interview.id},
                        state="building", created_by_id=actor.id, created_at=clock.now())
    db.session.add(document)
    db.session.flush()
    context = content.notice_context(interview)
    publish_with_retry(actor, document, lambda d: render_document(
        "documents/notice.html", title=d.title, doc_number=d.doc_number, issued_on=clock.today(),
        keep=(interview.unit.name,), clock=clock, **context), clock=clock)
    before = {"notice_document_id": interview.notice_document_id}
    interview.notice_document_id = document.id
    audit.record(actor, "interview.notice", interview, summary=document.doc_number, before=before,
                 after={"notice_document_id": document.id})
    return document


# -- the meeting loop's documents: 督办通知单 and 会议纪要 ------------------------------------


def issue_document(actor: User | None, kind: str, title: str, template: str, context: dict, *, params: dict,
                   clock: Clock) -> Document:
    """Number, render and archive a document of the meeting loop (kind ``assignment`` or ``minutes``).

    Numbered per kind and year like every document; its template extends
    ``documents/_base.html``, so it is printed in the house layout. The caller commits.
    """
    document = Document(kind=kind, title=title, year=clock.today().year, period="adhoc", params=params,
                        state="building", created_by_id=actor.id if actor else None, created_at=clock.now())
    db.session.add(document)
    db.session.flush()
    return publish_with_retry(actor, document, lambda d: render_document(
        template, title=d.title, doc_number=d.doc_number, issued_on=clock.today(), clock=clock, **context),
        clock=clock)


# -- ledgers and the ranking ---------------------------------------------------------


def unit_ledger_pdf(unit: Unit, *, clock: Clock) -> bytes:
    return _ledger_pdf(f"{unit.name}节点工作台账", unit.name, content.ledger_nodes(unit=unit), clock)


def project_ledger_pdf(project: Project, *, clock: Clock) -> bytes:
    return _ledger_pdf(f"{project.name}节点台账", project.name, content.ledger_nodes(project=project), clock)


def _ledger_pdf(title: str, name: str, nodes, clock: Clock) -> bytes:
    """A cover to GB/T 9704 (the counts by status and card) and the nodes as its landscape 附件."""
    return render_document("documents/ledger.html", title=title, doc_number=None, issued_on=clock.today(),
                           keep=(name,), nodes=nodes, summary=content.ledger_summary(nodes), clock=clock,
                           attachment_lines=content.title_lines(f"{title}明细", (name,), width=30))


def ranking_pdf(kind: str, day: date, doc_number: str | None = None, *, clock: Clock) -> bytes:
    """The league ranking for leaders (SPEC rule 7), as printed and as published every Monday."""
    (start, end), tables = league_tables(kind, day, today=clock.today())
    label = period_label(kind, start, end)
    return render_document(
        "documents/ranking.html", title=f"{label}节点工作联赛排名", doc_number=doc_number, keep=(label,),
        period_label=label, tables=tables, issued_on=clock.today(), tie_break=TIE_BREAK,
    )


# -- bulletins ---------------------------------------------------------------------

BULLETIN_PERIODS = ("week", "month", "adhoc")


def bulletins_for(actor: User) -> list[Document]:
    """Published bulletins, and drafts for those who publish them, newest first."""
    rows = db.session.scalars(select(Document).where(Document.kind == "bulletin").order_by(Document.id.desc()).limit(100)).all()
    return [d for d in rows if d.state == "published" or permissions.can_manage_cards(actor)]


def draft_bulletin(actor: User, period: str, day: date | None, start: date | None, end: date | None,
                   title: str, body: str, *, clock: Clock) -> Document:
    """A draft weekly, monthly or ad hoc bulletin; the form has checked the fields."""
    if period != "adhoc":
        start, end = period_bounds(period, day or clock.today())
    span = f"{start.isoformat()}至{end.isoformat()}" if period == "adhoc" else period_label(period, start, end)
    title = title.strip()[:200] or f"关于{span}节点工作情况的通报"
    document = Document(kind="bulletin", title=title, year=clock.today().year, period=period, period_start=start,
                        period_end=end, body=body, params={}, state="draft", created_by_id=actor.id,
                        created_at=clock.now())
    db.session.add(document)
    db.session.flush()
    audit.record(actor, "document.draft_bulletin", document, summary=title)
    return document


def edit_bulletin(actor: User, document: Document, lead: str, remarks: str) -> Document:
    """The office's own words in a draft: the lead paragraph (导语) and the remarks (备注), before it is numbered.

    Refused (409) once the bulletin is being published or has been; the form
    has checked the lengths and markup. Flushes; the caller commits.
    """
    if not permissions.can_manage_cards(actor):
        raise Refused(403, _("Only the supervisors' office publishes bulletins."))
    lock_row(document)
    if document.state != "draft":
        raise Refused(409, _("This bulletin is being issued or has been issued; its text can no longer change."))
    before = {"lead": (document.params or {}).get("lead", ""), "remarks": document.body or ""}
    after = {"lead": lead.strip(), "remarks": remarks.strip()}
    if before != after:
        document.params = {**(document.params or {}), "lead": after["lead"]}
        document.body = after["remarks"]
        db.session.flush()
        audit.record(actor, "document.edit_bulletin", document, summary=document.title, before=before, after=after)
    return document


def render_bulletin(document: Document, doc_number: str | None, *, clock: Clock) -> bytes:
    ranking = document.period if document.period in ("week", "month") else None
    start, end = document.period_start, document.period_end
    return render_document("documents/bulletin.html", title=document.title, doc_number=doc_number,
                           issued_on=clock.today(), document=document, start=start, end=end, clock=clock,
                           tie_break=TIE_BREAK,
                      **content.bulletin_context(start, end, ranking, today=min(end + timedelta(days=1), clock.today())))


def publish_bulletin(document_id: int, *, clock: Clock, progress=lambda percent, message: None) -> Document:
    """Number, render and archive a bulletin; the caller commits."""
    document = db.session.get(Document, document_id)
    if document is None or document.kind != "bulletin":
        raise LookupError(f"no bulletin {document_id}")
    if document.state == "published":
        return document
    progress(20, "正在汇总数据、排版")  # committed by the job, before numbering opens a transaction
    # Hold the row until the job commits. A second build of the same bulletin
    # (its enqueue timed out after Redis had taken the job, so the request
    # built it too) waits here and then finds it published, instead of
    # numbering it again. PostgreSQL locks the row; SQLite takes no row locks.
    document = db.session.get(Document, document_id, with_for_update=True, populate_existing=True)
    if document.state == "published":
        return document
    actor = db.session.get(User, document.created_by_id) if document.created_by_id else None

    def render(d: Document) -> bytes:
        pdf = render_bulletin(d, d.doc_number, clock=clock)
        pause_point("bulletin")  # fault tests kill the work horse here: numbered and rendered, nothing archived or committed
        return pdf

    publish_with_retry(actor, document, render, clock=clock)
    # Leaders and every unit's staff read the bulletin; keyed, so a retried build tells nobody twice.
    readers = db.session.scalars(
        select(User.id).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_(("leader", "unit_staff")), User.is_active_account)
    ).all()
    notify.send(readers, "document.bulletin", f"{document.title}已印发（{document.doc_number}）",
                link=f"/documents/{document.id}/download", key=f"bulletin:{document.id}", now=clock.now())
    pause_point("bulletin_archived")  # and here: archived under its SHA-256, the row not yet committed
    return document


def latest_run(document: Document) -> JobRun | None:
    return db.session.scalars(
        select(JobRun).where(JobRun.kind == "bulletin", JobRun.params["document_id"].as_integer() == document.id)
        .order_by(JobRun.id.desc())
    ).first()


def build_lost(document: Document, run: JobRun | None) -> bool:
    """A bulletin left "building" by a job that is gone or failed for good.

    A work horse killed on its last retry, or a Redis restarted without its
    append-only file, leaves the row claimed with nothing left to finish it.
    While Redis does not answer nobody can tell, so the build is presumed alive.
    """
    if document.state != "building":
        return False
    if run is None or not run.job_id:
        return True
    try:
        job = fetch_job(run.job_id)
        return job.get_status() in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
    except NoSuchJobError:
        return True
    except (RedisError, OSError):
        return False


def request_publication(actor: User, document: Document, *, clock: Clock) -> str | None:
    """Number and publish a draft bulletin on a worker, or here when the queue is down.

    Returns None when it was enqueued, "busy" when it is already published or
    being built, "inline" when it was built in this request. Commits.
    """
    previous = latest_run(document)
    if document.state == "published" or (document.state == "building" and not build_lost(document, previous)):
        return "busy"
    if document.state == "building" and previous is not None and previous.state in ("queued", "running"):
        previous.state, previous.finished_at = "failed", clock.now()
        previous.message = "生成任务已中断（工作进程终止或任务队列丢失），已重新印发。"
    document.state = "building"
    run = runs.create("bulletin", {"document_id": document.id}, actor=actor, clock=clock)
    audit.record(actor, "document.publish_requested", document, summary=document.title)
    try:
        runs.submit(run, "portal.documents.tasks.build_bulletin", document.id, run.id, queue="reports", timeout=900,
                    description=f"bulletin {document.id}")
    except QueueUnavailable:
        # No queue: build it here and now rather than leave the supervisor waiting.
        build_bulletin(document.id, run.id, clock=clock)
        return "inline"
    return None


def build_bulletin(document_id: int, run_id: int | None, *, clock: Clock) -> Document:
    """Render, number and archive a bulletin, reporting on its run; commits.

    A failed build puts a bulletin still marked "building" back to draft, so
    it can be published again.
    """

    def back_to_draft() -> None:
        document = db.session.get(Document, document_id)
        if document is not None and document.state == "building":
            document.state = "draft"

    with runs.running(run_id, clock, on_failure=back_to_draft) as run:
        document = publish_bulletin(document_id, clock=clock, progress=run.progress)
        run.finish({"document_id": document.id, "doc_number": document.doc_number}, document.doc_number)
        db.session.commit()
    return document
