"""What rq workers run: each job enters an app context, runs one outbox message or sweep, and cleans up."""

import logging
import os
from datetime import UTC, datetime

from flask import Flask
from rq import get_current_job
from sqlalchemy import select

from casework import clock, outbox, subscriptions
from casework.db import db
from casework.models import OutboxMessage
from server import jobs

log = logging.getLogger(__name__)
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


# Jobs that a job schedules on these queues (an incident's routing and supervision clocks, pushes) run right after
# it in the same worker, each in its own transaction as if delivered by rq: the queue's round trips and the job
# bookkeeping cost more than most of them. Media downloads (slow) still go through the queue.
FOLLOW_UP_QUEUES = ("default", "notify")
FOLLOW_UP_LIMIT = (
    400  # past this many (a batch of reports schedules ~2 each; jobs scheduling jobs) the rest go back to the queue
)


def run_outbox_message(message_id: int) -> bool:
    app = _job_app()
    with app.app_context():
        try:
            if outbox.is_done(message_id):
                return False  # done already (a batch handled it): no run lock to take
            try:
                with jobs.kept_here(FOLLOW_UP_QUEUES) as follow_ups:
                    ran = outbox.execute(message_id)
            except Exception:
                # What its commits scheduled before it failed (a batch's reports) still runs, or goes to the queue.
                db.session.rollback()
                _run_follow_ups(app, follow_ups)
                raise
            _run_follow_ups(app, follow_ups)
            return ran
        finally:
            db.session.remove()


def _run_follow_ups(app: Flask, follow_ups: list[tuple[int, str]]) -> None:
    """Run the messages the job scheduled (and those they schedule), once each; hand to the queue, for its
    retries, any that fail and any left past the limit."""
    pending, done = list(follow_ups), 0
    dispatcher = app.extensions["wx110.dispatcher"]
    registered = subscriptions.of(app).jobs
    while pending and done < FOLLOW_UP_LIMIT:
        together = _joining(pending, registered)
        if len(together) > 1:
            # Use cases that join a transaction (routing, supervision clocks): all of them in one.
            pending = [message for message in pending if message not in together]
            done += len(together)
            try:
                with jobs.kept_here(FOLLOW_UP_QUEUES) as more:
                    failed = set(outbox.execute_together([message[0] for message in together]))
            except Exception:
                log.exception(
                    "worker: %d follow-up outbox messages failed together; handed to the queue", len(together)
                )
                db.session.rollback()
                dispatcher.dispatch(together)
            else:
                if failed:
                    dispatcher.dispatch([message for message in together if message[0] in failed])
                pending.extend(more)
            continue
        message = pending.pop(0)
        done += 1
        try:
            with jobs.kept_here(FOLLOW_UP_QUEUES) as more:
                outbox.execute(message[0])
        except Exception:
            # `execute` recorded the error on the row; the queue runs it again (and retries it with backoff).
            log.exception("worker: follow-up outbox message %s failed; handed to the queue", message[0])
            db.session.rollback()
            dispatcher.dispatch([message])
        else:
            pending.extend(more)
    if pending:
        dispatcher.dispatch(pending)


def _joining(pending: list[tuple[int, str]], registered: dict) -> list[tuple[int, str]]:
    """The pending messages whose jobs may share one transaction (`Job.joins`), in order."""
    ids = [message[0] for message in pending]
    rows = db.session.execute(select(OutboxMessage.id, OutboxMessage.job).where(OutboxMessage.id.in_(ids)))
    names = {row.id: row.job for row in rows}
    db.session.rollback()
    return [message for message in pending if getattr(registered.get(names.get(message[0], "")), "joins", False)]


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
