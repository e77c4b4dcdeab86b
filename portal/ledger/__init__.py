"""Excel ledgers (台账): the template, a checked all-or-nothing import, and export."""
