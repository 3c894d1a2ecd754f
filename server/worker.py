"""What rq workers run: each job enters an app context, runs one outbox message or sweep, and cleans up."""

import os
from datetime import UTC, datetime

from flask import Flask
from rq import get_current_job

from casework import clock, outbox, subscriptions
from casework.db import db

RAN_KEY = "wx110:periodic:ran"  # + ":<sweep>:<moment>": set by the run of that moment
RAN_TTL = 7 * 86400
_app: Flask | None = None
_pid: int | None = None


def use_app(app: Flask) -> None:
    """Make `app` the one jobs run in (the worker command and tests call this)."""
    global _app, _pid
    _app, _pid = app, os.getpid()


def _job_app() -> Flask:
    global _app, _pid
    if _app is None:
        raise RuntimeError("wx110 jobs run under `flask worker`, which says which app they belong to")
    if _pid != os.getpid():
        # rq forks a work horse per job; connections inherited from the parent must not be shared.
        with _app.app_context():
            db.engine.dispose(close=False)
        _pid = os.getpid()
    return _app


def run_outbox_message(message_id: int) -> bool:
    with _job_app().app_context():
        try:
            return outbox.execute(message_id)
        finally:
            db.session.remove()


def run_periodic(name: str, now: str | None = None) -> bool:
    """Run one sweep for the moment `now` (ISO 8601; by default the moment the scheduler enqueued it), once per
    moment under rq; return whether it ran (False: that moment already ran)."""
    moment = datetime.fromisoformat(now) if now else _enqueued_at()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    job = get_current_job()
    if job is not None and now and not job.connection.set(f"{RAN_KEY}:{name}:{now}", job.id, nx=True, ex=RAN_TTL):
        return False  # this moment of the sweep already ran (the same moment enqueued twice)
    with _job_app().app_context():
        try:
            subscriptions.of().sweeps[name].func(now=moment)
            return True
        finally:
            db.session.remove()


def _enqueued_at() -> datetime:
    job = get_current_job()
    return job.enqueued_at if job is not None and job.enqueued_at is not None else clock.now()
