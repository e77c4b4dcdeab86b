"""Interviews (约谈, SPEC rule 6): proposed by the sweep or by a supervisor,
scheduled, held (minutes), closed — or cancelled with a reason."""
