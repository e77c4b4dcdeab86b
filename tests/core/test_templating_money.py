"""Money as offices write it (N #7)."""

from __future__ import annotations

from decimal import Decimal

from portal.core.templating import money


def test_amounts_get_thousands_separators():
    assert money(Decimal("44554")) == "44,554.00"
    assert money(Decimal("1234567.5")) == "1,234,567.50"
    assert money(0) == "0.00" and money(None) == "—" and money("") == "—"
    assert money("not a number") == "not a number"
