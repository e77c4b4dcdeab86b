"""The ledger upload form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class LedgerUploadForm(FlaskForm):
    """One .xlsx file; its contents are checked by the service, not here."""

    file = FileField(
        _l("Ledger file (.xlsx, at most 20 MB)"),
        validators=[FileRequired(_l("Choose a ledger file to import."))],
    )
