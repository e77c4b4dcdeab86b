"""The portal app the benchmarks drive: the real create_app on a benchmark database."""

from __future__ import annotations

import gc
import os
import tempfile

from portal import create_app


def make_app(url: str):
    from bench.data import AS_OF

    tmp = tempfile.mkdtemp(prefix="jiedian-bench-")
    app = create_app({
        "JIEDIAN_ENV": "testing",
        "TESTING": False,
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {},
        "REDIS_URL": os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0"),
        "JIEDIAN_TODAY": AS_OF.isoformat(),
        "EVIDENCE_DIR": os.path.join(tmp, "evidence"),
        "DOCUMENT_DIR": os.path.join(tmp, "documents"),
    })
    gc.freeze()  # as wsgi.py does in production
    return app
