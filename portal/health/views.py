"""GET /healthz: JSON, 200 while the database answers (even with Redis down), 503 otherwise."""

from __future__ import annotations

from flask import Blueprint, jsonify

from portal.health import services

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    parts = services.status()
    status = 200 if parts["database"] == "ok" else 503
    return jsonify({"status": "ok" if status == 200 else "error", **parts}), status
