"""Command line: ``flask --app wsgi <command>`` (SPEC section 6)."""

from __future__ import annotations

import sys
from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from portal.auth.passwords import password_problem
from portal.core.extensions import db

users_cli = AppGroup("users", help="Provision accounts.")


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--role", "roles", required=True, multiple=True, help="Repeat for several roles.")
@click.option("--unit", "unit_name", default=None, help="Unit name or short name.")
@click.option("--name", "display_name", default=None, help="Full name (defaults to the username).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(username, roles, unit_name, display_name, password_stdin):
    """Create an account; prints a generated password unless one is given on stdin."""
    import secrets

    from portal.audit import services as audit
    from portal.models import ROLES, Unit, User

    unknown = set(roles) - set(ROLES)
    if unknown:
        raise click.UsageError(f"unknown role(s): {', '.join(sorted(unknown))}; choose from {', '.join(ROLES)}")
    if db.session.scalar(select(User).where(User.username == username)):
        raise click.ClickException(f"user {username!r} already exists")
    unit = None
    if unit_name:
        unit = db.session.scalar(select(Unit).where((Unit.name == unit_name) | (Unit.short_name == unit_name)))
        if unit is None:
            raise click.ClickException(f"no unit named {unit_name!r}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        problem = password_problem(username, password)
        if problem:
            raise click.ClickException(f"password refused: {problem}")
        generated = False
    else:
        password = secrets.token_urlsafe(12)
        generated = True
    user = User(username=username, display_name=display_name or username, unit=unit)
    user.set_password(password)
    user.roles = roles
    db.session.add(user)
    db.session.flush()
    audit.record(None, "user.create", user, summary=f"{username} (command line)", after={"roles": sorted(roles)})
    db.session.commit()
    click.echo(f"created user {username} roles={','.join(sorted(roles))} unit={unit.name if unit else '-'}")
    if generated:
        click.echo(f"password: {password}")


@users_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--check", is_flag=True, help="Check the file and show what it would do; write nothing.")
def users_import(path, check):
    """Import leagues, units and users from one workbook (sheets 联赛, 单位, 用户); all or nothing.

    A refused file lists every problem and exits with 1. A commit writes the
    new accounts' one-time password sheet next to the file as <FILE>-passwords.pdf.
    """
    import os
    from pathlib import Path

    from portal.admin import orgchart
    from portal.core.clock import get_clock
    from portal.core.errors import Refused

    with open(path, "rb") as fh:
        data = fh.read(orgchart.MAX_BYTES + 1)
    try:
        report = orgchart.check(data)
    except Refused as refusal:
        click.echo(refusal.message, err=True)
        raise SystemExit(1) from None
    if not report.ok:
        for line in orgchart.refusal_lines(report):
            click.echo(line, err=True)
        raise SystemExit(1)
    for sheet in orgchart.SHEETS:
        counts = report.counts(sheet.key)
        click.echo(f"{sheet.title}: create={counts['create']} update={counts['update']} unchanged={counts['unchanged']}")
    if check:
        c = {s.key: report.counts(s.key) for s in orgchart.SHEETS}
        click.echo("check only: nothing written")
        click.echo(f"users import leagues_created={c['leagues']['create']} units_created={c['units']['create']} "
                   f"units_updated={c['units']['update']} users_created={c['users']['create']} "
                   f"users_updated={c['users']['update']}")
        return
    sheet_path = Path(path).with_name(Path(path).stem + "-passwords.pdf")
    if report.new_accounts and sheet_path.exists():
        click.echo(f"{sheet_path} already exists (it may hold passwords not yet handed out): move it away first; "
                   "nothing was imported", err=True)
        raise SystemExit(1)
    clock = get_clock()
    try:
        result = orgchart.apply(None, report, clock=clock)
    except Refused as refusal:
        db.session.rollback()
        click.echo(refusal.message, err=True)
        raise SystemExit(1) from None
    if result.accounts:
        pdf = orgchart.passwords_pdf(result.accounts, today=clock.today())
        fd = os.open(sheet_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # the passwords: for this user only
        with os.fdopen(fd, "wb") as fh:
            fh.write(pdf)
    try:
        db.session.commit()
    except Exception:
        if result.accounts:
            sheet_path.unlink(missing_ok=True)
        raise
    if result.accounts:
        click.echo(f"one-time passwords: {sheet_path}")
    click.echo(result.line())


@click.command("demo")
@click.option("--today", "today", default=None, help="Anchor date YYYY-MM-DD (default: today).")
@click.option("--reset", is_flag=True, help="Erase an existing database first.")
@click.option("--if-empty", is_flag=True, help="Do nothing (successfully) when data exists.")
def demo_command(today, reset, if_empty):
    """Load a realistic demo county anchored on --today."""
    from portal.core.clock import get_clock
    from portal.ops import demo

    try:
        anchor = date.fromisoformat(today) if today else get_clock().today()
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--today") from None
    if not reset and demo.has_data():
        if if_empty:
            click.echo("demo: the database already holds data; left as it is")
            return
        raise click.ClickException("the database already holds data; use --reset to replace it")
    if reset:
        demo.erase()
    summary = demo.build(anchor)
    db.session.commit()
    click.echo(summary.describe())


@click.group("notify")
def notify_cli():
    """Reminders that leave the portal (e-mail, WeCom and DingTalk robots, SMS)."""


@notify_cli.command("test")
@click.option("--channel", required=True, type=click.Choice(["email", "wecom", "dingtalk", "sms"]))
@click.option("--to", "address", default="",
              help="An e-mail address, a mobile number, or for a robot the numbers to @-mention (comma-separated).")
def notify_test_command(channel, address):
    """Send one test message now over CHANNEL; exit 1 with the channel's error when it is refused."""
    from portal.core.clock import get_clock
    from portal.notifications.delivery import send_test

    if channel in ("email", "sms") and not address:
        raise click.ClickException(f"--to is required for {channel}")
    try:
        row = send_test(channel, address, get_clock())
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if row.state != "sent":
        click.echo(f"notify test channel={channel} status=failed error={row.last_error}", err=True)
        raise SystemExit(1)
    click.echo(f"notify test channel={channel} status=sent")


@notify_cli.command("deliver")
def notify_deliver_command():
    """Fan out new notices and send what is due now (what the worker does every minute)."""
    from portal.core.clock import get_clock
    from portal.notifications.delivery import deliver

    click.echo(deliver(get_clock()).line())


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker_command(burst):
    """Start an RQ worker on the portal's queues."""
    from jobs.worker import run_worker

    run_worker(current_app, burst=burst)


@click.command("scheduler")
def scheduler_command():
    """Start the (single) scheduler process."""
    from jobs.scheduler import run_scheduler

    run_scheduler(current_app)


@click.command("sweep")
@click.option("--as-of", "as_of", default=None, help="The date to sweep, YYYY-MM-DD (default: today).")
@click.option("--enqueue", is_flag=True, help="Run it on a worker and wait for the result.")
@click.option("--timeout", default=600, show_default=True, help="With --enqueue: seconds to wait.")
def sweep_command(as_of, enqueue, timeout):
    """Run the overdue sweep; prints `sweep as_of=… yellow=N red=N warned=N interviews=N`."""
    import time as systime

    from portal.core.clock import get_clock
    from portal.sweeps.services import SweepDateError, SweepResult, sweep

    clock = get_clock()
    try:
        day = date.fromisoformat(as_of) if as_of else clock.today()
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--as-of") from None
    if day > clock.today():
        raise click.BadParameter(f"{day.isoformat()} is in the future", param_hint="--as-of")
    if not enqueue:
        try:
            result = sweep(day, clock)
        except SweepDateError as error:
            raise click.ClickException(str(error)) from None
        db.session.commit()
        click.echo(result.line())
        return
    from jobs.queue import QueueUnavailable
    from portal.sweeps.services import start_sweep

    try:
        run, job = start_sweep(None, day)
    except QueueUnavailable as error:
        raise click.ClickException(f"the queue is unavailable ({error}); run without --enqueue") from None
    deadline = systime.monotonic() + timeout
    while systime.monotonic() < deadline:
        status = job.get_status(refresh=True)
        if status == "finished":
            values = job.return_value()
            click.echo(SweepResult(day, values["yellow"], values["red"], values["warned"], values["interviews"]).line())
            return
        if status == "failed":
            raise click.ClickException(f"the sweep job {job.id} failed; see the worker's log")
        systime.sleep(0.5)
    raise click.ClickException(f"enqueued {job.id}, but no worker finished it within {timeout} s")


report_cli = AppGroup("report", help="Write documents to files.")


@report_cli.command("ranking")
@click.option("--period", type=click.Choice(["week", "month", "quarter", "year"]), default="week", show_default=True)
@click.option("--date", "day", default=None, help="A day in the period, YYYY-MM-DD (default: today).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True))
def report_ranking(period, day, out):
    """Write the league ranking PDF for the period containing --date."""
    from portal.core.clock import get_clock
    from portal.documents.services import ranking_pdf

    try:
        when = date.fromisoformat(day) if day else get_clock().today()
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--date") from None
    pdf = ranking_pdf(period, when, clock=get_clock())
    with open(out, "wb") as fh:
        fh.write(pdf)
    click.echo(f"report ranking period={period} date={when.isoformat()} bytes={len(pdf)} out={out}")


@click.command("print-fonts")
@click.option("--force", is_flag=True, help="Cut every face again even if it is up to date.")
def print_fonts_command(force):
    """Cut the compact CJK print fonts for the PDFs into PRINT_FONT_DIR (once per machine)."""
    from portal.documents import fonts

    directory = current_app.config["PRINT_FONT_DIR"]
    built = fonts.build(directory, force=force)
    ready = [face.file for face in fonts.available(directory)]
    missing = [face.file for face in fonts.FACES if face.file not in ready]
    click.echo(f"print-fonts dir={directory} built={len(built)} ready={len(ready)} missing={len(missing)}")
    if missing:
        click.echo("  missing faces fall back to the system fonts: install fonts-noto-cjk", err=True)


@click.command("backup")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False),
              help="The archive to write (default: jiedian-backup-<UTC time>.tar.gz here).")
def backup_command(out):
    """Write the database and the stored files to one .tar.gz archive with a manifest."""
    from pathlib import Path

    from portal.core.clock import get_clock
    from portal.ops.backup import BackupError, backup

    now = get_clock().now()
    path = Path(out) if out else Path(f"jiedian-backup-{now.strftime('%Y%m%dT%H%M%SZ')}.tar.gz")
    try:
        summary = backup(path, now)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(summary.line())
    for name in summary.missing_files:
        click.echo(f"warning: a row refers to {name}, which is not on disk", err=True)
    for name in summary.skipped_files:
        click.echo(f"warning: {name} is not a file the portal stores; left out", err=True)


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True, help="Only verify the archive's checksums; write nothing.")
def restore_command(archive, check):
    """Restore an archive into an empty, migrated database (all or nothing)."""
    from pathlib import Path

    from portal.ops.backup import BackupError, restore, verify

    try:
        if check:
            manifest = verify(Path(archive))
            rows = sum(t["rows"] for t in manifest["tables"])
            click.echo(f"check {archive}: ok revision={manifest['alembic_revision']} "
                       f"source={manifest.get('source_dialect')} created_at={manifest.get('created_at')} "
                       f"tables={len(manifest['tables'])} rows={rows} files={len(manifest['members']) - len(manifest['tables'])}")
            return
        summary = restore(Path(archive))
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(summary.line())


# ``flask --app wsgi ledger import FILE.xlsx`` and ``ledger export FILE.xlsx``.
ledger_cli = AppGroup("ledger", help="Excel ledgers (台账) in and out.")


@ledger_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--check", is_flag=True, help="Check and report what would change; write nothing.")
@click.option("--sheet", default=None, help="Read only this sheet.")
@click.option("--mapping", "mapping_name", default=None, help="A column mapping saved in the import wizard.")
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="The year of dates written without one.")
@click.option("--category", default=None, help="The category of rows whose sheet or columns name none.")
@click.option("--create-units", is_flag=True, help="Create the units the county does not have yet.")
@click.option("--go-live", "go_live", default=None, help="The county's go-live date (启用日期), YYYY-MM-DD.")
def ledger_import(path, check, sheet, mapping_name, year, category, create_units, go_live):
    """Import a ledger laid out any way offices keep them; a bad file is refused whole, with every reason, exit 1.

    The last line is ``ledger import rows=N projects_created=N … nodes_unchanged=N`` followed by the added counts.
    """
    from datetime import date

    from portal.core.clock import get_clock
    from portal.ledger.services import (
        MAX_BYTES,
        LedgerError,
        Options,
        county_names,
        import_ledger,
        saved_mapping,
    )

    try:
        go_live_day = date.fromisoformat(go_live) if go_live else None
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--go-live") from None
    mapping = None
    if mapping_name:
        mapping = saved_mapping(mapping_name)
        if mapping is None:
            raise click.BadParameter(f"no saved mapping named {mapping_name!r}", param_hint="--mapping")
    options = Options(year=year, category=category, create_units=create_units, go_live=go_live_day, sheet=sheet,
                      mapping=mapping, county_names=county_names())
    with open(path, "rb") as fh:
        data = fh.read(MAX_BYTES + 1)
    try:
        result = import_ledger(None, data, clock=get_clock(), options=options, filename=path, check=check)
    except LedgerError as error:
        db.session.rollback()
        for line in error.lines(limit=None):
            click.echo(line, err=True)
        raise SystemExit(1) from None
    if check:
        db.session.rollback()
    else:
        db.session.commit()
    for note in result.notes:
        click.echo(str(note), err=True)
    if check:
        click.echo("--check: the file would be imported as below; nothing was written.", err=True)
    click.echo(result.line())


@ledger_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--unit", "unit_name", default=None, help="A unit's nodes (name or short name).")
@click.option("--project", "project_code", default=None, help="One project, by code.")
@click.option("--category", "category_name", default=None, help="The projects of one category.")
def ledger_export(path, unit_name, project_code, category_name):
    """Write the ledger of the county (default), a unit, a project or a category."""
    from portal.ledger.services import Scope, build_workbook, ledger_rows
    from portal.models import Category, Project, Unit

    if sum(x is not None for x in (unit_name, project_code, category_name)) > 1:
        raise click.UsageError("give at most one of --unit, --project, --category")
    scope = Scope()
    if unit_name is not None:
        unit = db.session.scalar(select(Unit).where(Unit.name == unit_name))
        unit = unit or db.session.scalar(select(Unit).where(Unit.short_name == unit_name).limit(1))
        if unit is None:
            raise click.ClickException(f"no unit named {unit_name!r}")
        scope = Scope(unit=unit)
    elif project_code is not None:
        project = db.session.scalar(select(Project).where(Project.code == project_code))
        if project is None:
            raise click.ClickException(f"no project with code {project_code!r}")
        scope = Scope(project=project)
    elif category_name is not None:
        category = db.session.scalar(select(Category).where(Category.name == category_name))
        if category is None:
            raise click.ClickException(f"no category named {category_name!r}")
        scope = Scope(category=category)
    rows = ledger_rows(scope)
    data = build_workbook(rows)
    with open(path, "wb") as fh:
        fh.write(data)
    click.echo(f"ledger export rows={len(rows)} bytes={len(data)} out={path}")


def init_app(app) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(sweep_command)
    app.cli.add_command(report_cli)
    app.cli.add_command(print_fonts_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(notify_cli)
