"""/healthz and /readyz: for monitoring, deploy scripts and a rolling restart.

- ``/healthz``: the process answers requests (200). Nothing else is checked.
- ``/readyz``: 200 when this server can store answers as it should: the database is reachable,
  its schema is the one this code expects, and, when rate limits are kept in Redis, Redis is
  reachable. Otherwise 503, with the failing check named. While Redis is unreachable answering
  goes on with per-worker limits (docs/operators.md), and /readyz says so.

Both answer JSON, carry no data about campaigns or residents, and are never rate limited.
"""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from .db import db

bp = Blueprint("health", __name__)
log = logging.getLogger("survey.health")


@bp.get("/healthz")
def healthz():
    """The process is alive."""
    return jsonify(status="alive")


def _database() -> str | None:
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means: cannot store answers
        return f"unreachable ({type(exc).__name__})"
    from .migrate import schema_problem
    try:
        return schema_problem()
    except Exception as exc:
        return f"schema unreadable ({type(exc).__name__})"


def _rate_limits() -> str | None:
    from .limits import limiter
    uri = str(current_app.config["RATELIMIT_STORAGE_URI"])
    if not current_app.config["RATELIMIT_ENABLED"] or uri.startswith("memory"):
        return None
    try:
        reachable = limiter.storage.check()
    except Exception:
        reachable = False
    if not reachable:
        return "shared storage unreachable: limits are counted in each worker's memory"
    # reachable again: a worker still counting in memory goes back at its next limited request
    return None


@bp.get("/readyz")
def readyz():
    """Database reachable, schema current, Redis reachable when configured: 200, else 503."""
    checks = {"database": _database(), "rate_limits": _rate_limits()}
    problems = {name: problem for name, problem in checks.items() if problem}
    body = {"status": "not ready" if problems else "ready",
            "checks": {name: problem or "ok" for name, problem in checks.items()}}
    return jsonify(body), 503 if problems else 200


def init_app(app):
    """Register the two endpoints, outside every rate limit."""
    from .limits import limiter
    app.register_blueprint(bp)
    limiter.exempt(bp)
