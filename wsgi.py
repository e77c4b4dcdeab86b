"""Entry point for gunicorn (``gunicorn wsgi:app``) and ``flask --app wsgi``."""

import gc

from portal import create_app

app = create_app()

# What exists now (modules, templates, the app) lives as long as the process.
# Freezing it keeps every full garbage collection from scanning it again: in a
# large request, a province's ranking, those scans cost 80–110 ms each. Under
# gunicorn's preload it also leaves the pages the forked workers share unwritten.
gc.freeze()
