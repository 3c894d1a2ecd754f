"""The transactional outbox: jobs are rows written in the business transaction, relayed to the queue after it
commits (and again by the periodic relay if the queue was unreachable), and executed at most once to completion.

A handler is registered under a job name with `@handler("name", events=[...])`. `add(name, **payload)` schedules
one job; `publish(event, **payload)` schedules every handler subscribed to an event (channels subscribe to
domain events such as "incident.progressed" without the domain knowing them). Handlers take plain ids, load fresh
state, and must be idempotent: delivery is at least once.
"""

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app, has_app_context
from sqlalchemy import event, insert, or_, select, text, update
from sqlalchemy.orm import Session

from casework import clock, settings
from casework.db import db
from casework.models import OutboxMessage

log = logging.getLogger(__name__)

PENDING_KEY = "wx110.outbox.pending"


@dataclass
class Handler:
    name: str
    func: Callable
    queue: str = "default"
    events: tuple[str, ...] = field(default_factory=tuple)


HANDLERS: dict[str, Handler] = {}


def handler(name: str, *, events: tuple[str, ...] | list[str] = (), queue: str = "default"):
    """Register `func` as the job `name`, optionally subscribed to domain events."""

    def register(func: Callable) -> Callable:
        HANDLERS[name] = Handler(name=name, func=func, queue=queue, events=tuple(events))
        return func

    return register


# One prepared Core INSERT: this runs on every callback in queued reply mode, where the ORM's unit of work and
# building the statement anew cost more than the insert itself.
_INSERT = insert(OutboxMessage.__table__).returning(OutboxMessage.__table__.c.id)


def add(job: str, **payload) -> int:
    """Schedule job `job` in the current transaction; it is relayed once the transaction commits.

    The row is written as dispatched, because the after-commit push almost always succeeds; a push that fails
    clears the mark so the relay picks the row up, and a push lost to a crash is re-sent once it is stale.
    """
    if job not in HANDLERS:
        raise KeyError(f"no outbox handler named {job!r}")
    now = clock.now()
    message_id = db.session.execute(
        _INSERT, {"job": job, "payload": json.dumps(payload, sort_keys=True), "created_at": now,
                  "dispatched_at": now, "attempts": 0}
    ).scalar_one()
    db.session.info.setdefault(PENDING_KEY, []).append((message_id, HANDLERS[job].queue))
    return message_id


def publish(event_name: str, **payload) -> list[int]:
    """Schedule every handler subscribed to `event_name`."""
    return [add(h.name, **payload) for h in HANDLERS.values() if event_name in h.events]


@event.listens_for(Session, "after_commit")
def _relay_after_commit(session: Session) -> None:
    messages = session.info.pop(PENDING_KEY, None)
    if messages and has_app_context():
        dispatcher = current_app.extensions.get("wx110.dispatcher")
        if dispatcher is not None:
            dispatcher.dispatch(messages)


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def queue_of(message: OutboxMessage) -> str:
    entry = HANDLERS.get(message.job)
    return entry.queue if entry else "default"


def claim_for_relay(limit: int = 500) -> list[OutboxMessage]:
    """Lock and return messages that need (re)sending: never dispatched, or dispatched long ago and not done.

    Rows are locked with SKIP LOCKED so two relays running at once never pick the same row.
    """
    now = clock.now()
    stale = now - timedelta(seconds=settings.get("OUTBOX_STALE_SECONDS"))
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.done_at.is_(None),
            OutboxMessage.attempts < settings.get("OUTBOX_MAX_ATTEMPTS"),
            or_(OutboxMessage.dispatched_at.is_(None), OutboxMessage.dispatched_at < stale),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(db.session.scalars(query))


def mark_dispatched(ids: list[int]) -> None:
    """Record that these messages are in the queue (in the current transaction)."""
    if ids:
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(dispatched_at=clock.now())
        )


def execute(message_id: int) -> bool:
    """Run one outbox message's handler unless it already completed; return whether it ran.

    On failure the error is recorded and re-raised, so the queue's retry policy applies. Two deliveries of one
    message (at-least-once queues, the relay) never run it at once: the second waits, then finds it done. The
    handler's last writes and `done_at` commit together, so a crash cannot leave a finished handler undone.
    """
    with _running(message_id):
        message = db.session.get(OutboxMessage, message_id)
        if message is None or message.done_at is not None:
            db.session.rollback()
            return False
        entry = HANDLERS.get(message.job)
        payload = json.loads(message.payload)
        db.session.commit()  # end the read transaction before a handler that may do slow I/O
        try:
            if entry is None:
                raise LookupError(f"no outbox handler named {message.job!r}")
            entry.func(**payload)
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.done_at.is_(None))
                .values(done_at=clock.now(), attempts=OutboxMessage.attempts + 1, last_error=None)
            )
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(attempts=OutboxMessage.attempts + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000])
            )
            db.session.commit()
            raise
        return True


_RUN_LOCK_SPACE = 0x6F62  # first key of the two-key advisory locks held while one message runs


@contextmanager
def _running(message_id: int) -> Iterator[None]:
    """Hold a lock on one message across its handler's own commits (PostgreSQL; one in-process runner elsewhere)."""
    if db.engine.dialect.name != "postgresql":
        yield
        return
    params = {"space": _RUN_LOCK_SPACE, "key": message_id % 2_147_483_647}
    with db.engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:space, :key)"), params)
        connection.commit()
        try:
            yield
        finally:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:space, :key)"), params)
                connection.commit()
            except Exception:
                log.exception("outbox: could not release the lock of message %s", message_id)
                connection.invalidate()  # closing it releases the lock; never pool a connection holding it


@dataclass(frozen=True)
class Periodic:
    name: str
    func: Callable
    interval: int  # seconds


PERIODIC: dict[str, Periodic] = {}


def periodic(name: str, *, every: int):
    """Register a sweep the scheduler runs every `every` seconds (rq cron, or a timer in-process)."""

    def register(func: Callable) -> Callable:
        PERIODIC[name] = Periodic(name=name, func=func, interval=every)
        return func

    return register
