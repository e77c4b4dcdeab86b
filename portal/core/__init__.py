"""Shared infrastructure: settings, extensions, database helpers, the clock, languages, security, errors, storage, form validators, web helpers."""
