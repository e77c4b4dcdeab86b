"""The audit log (append-only) and its page."""
