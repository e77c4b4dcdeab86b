"""Importing the organisation chart (leagues, units, users) from one Excel workbook.

The entry points for the admin pages and the ``flask users import`` command:
``check(data)`` reads and checks a file and returns the plan with every
problem (it writes nothing); ``apply(actor, report, clock=…)`` writes a
clean plan in the caller's transaction and returns the counts and the new
accounts' one-time passwords (in memory only); ``passwords_pdf`` prints them;
``template_workbook`` is the empty template. The file itself is checked and
opened by the ledger import's code (size, zip bombs, not a workbook), by step:
``columns`` (the format), ``reading``, ``checking``, ``applying``, ``sheets``.
"""

from __future__ import annotations

from flask_babel import ngettext

from portal.admin.orgchart.applying import ONE_TIME_HASH as ONE_TIME_HASH
from portal.admin.orgchart.applying import PASSWORD_ALPHABET as PASSWORD_ALPHABET
from portal.admin.orgchart.applying import ImportResult as ImportResult
from portal.admin.orgchart.applying import NewAccount as NewAccount
from portal.admin.orgchart.applying import apply as apply
from portal.admin.orgchart.applying import create_accounts as create_accounts
from portal.admin.orgchart.checking import CREATE as CREATE
from portal.admin.orgchart.checking import UNCHANGED as UNCHANGED
from portal.admin.orgchart.checking import UPDATE as UPDATE
from portal.admin.orgchart.checking import Report as Report
from portal.admin.orgchart.checking import check as check_read
from portal.admin.orgchart.columns import MAX_BYTES as MAX_BYTES
from portal.admin.orgchart.columns import SHEETS as SHEETS
from portal.admin.orgchart.columns import SHOWN_PROBLEMS as SHOWN_PROBLEMS
from portal.admin.orgchart.columns import XLSX_MIMETYPE as XLSX_MIMETYPE
from portal.admin.orgchart.reading import Problem as Problem
from portal.admin.orgchart.reading import open_book, read_book
from portal.admin.orgchart.sheets import passwords_pdf as passwords_pdf
from portal.admin.orgchart.sheets import template_workbook as template_workbook


def check(data: bytes) -> Report:
    """Read and check a whole file; raises ``Refused`` (413, 422) when it cannot be read at all. Writes nothing."""
    return check_read(read_book(open_book(data)))


def refusal_lines(report: Report, limit: int | None = None) -> list[str]:
    """The refusal as lines of text (for the command line)."""
    shown = report.problems if limit is None else report.problems[:limit]
    lines = [ngettext("The file has a problem; nothing was imported. Correct it and import it again.",
                       "The file has %(num)d problems; nothing was imported. Correct them and import it again.",
                       len(report.problems)), *(str(p) for p in shown)]
    if len(report.problems) > len(shown):
        lines.append(ngettext("…and one more problem not listed.", "…and %(num)d more problems not listed.",
                              len(report.problems) - len(shown)))
    return lines
