"""What rq workers run: each job enters an app context, runs one outbox message or sweep, and cleans up."""

import os

from flask import Flask

from casework import outbox
from casework.db import db

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


def run_periodic(name: str) -> None:
    with _job_app().app_context():
        try:
            outbox.PERIODIC[name].func()
        finally:
            db.session.remove()
