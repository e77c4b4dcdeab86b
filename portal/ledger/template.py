"""The empty import template."""

from __future__ import annotations

from portal.ledger.export import build_workbook


def template_workbook() -> bytes:
    """The empty import template, with today's lists of categories, themes and units."""
    return build_workbook([])

