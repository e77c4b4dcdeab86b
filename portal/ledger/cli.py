"""``flask --app wsgi ledger import FILE.xlsx`` and ``ledger export FILE.xlsx``."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.core.extensions import db

ledger_cli = AppGroup("ledger", help="Excel ledgers (台账) in and out.")


@ledger_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def ledger_import(path):
    """Import a ledger; a bad file is refused whole, with every reason, exit code 1."""
    from portal.core.clock import get_clock
    from portal.ledger.services import MAX_BYTES, LedgerError, import_ledger

    with open(path, "rb") as fh:
        data = fh.read(MAX_BYTES + 1)
    try:
        result = import_ledger(None, data, clock=get_clock())
    except LedgerError as error:
        db.session.rollback()
        for line in error.lines(limit=None):
            click.echo(line, err=True)
        raise SystemExit(1) from None
    db.session.commit()
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
    app.cli.add_command(ledger_cli)
