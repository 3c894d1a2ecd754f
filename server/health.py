"""Liveness and readiness probes."""

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from casework.db import db
from server.extensions import redis_client

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready when the database answers and, unless running in-process, Redis answers."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    ready = all(check["ok"] for check in checks.values())
    return jsonify(status="ready" if ready else "not_ready", **checks), 200 if ready else 503


def _check_database() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        return {"ok": True, "backend": db.engine.dialect.name}
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", and is reported
        db.session.rollback()
        return {"ok": False, "backend": db.engine.dialect.name, "error": type(exc).__name__}


def _check_redis() -> dict:
    client = redis_client()
    if client is None:
        return {"ok": True, "mode": "in-process"}
    try:
        client.ping()
        return {"ok": True, "mode": "redis"}
    except Exception as exc:  # noqa: BLE001
        current_app.logger.warning("readiness: redis unreachable: %s", type(exc).__name__)
        return {"ok": False, "mode": "redis", "error": type(exc).__name__}
