"""The transactional outbox: jobs are rows written in the business transaction, relayed to the queue after it
commits (and again by the periodic relay if the queue was unreachable), and executed at most once to completion.

Jobs are registered per app in `casework.subscriptions` (through `casework.events` in each package's `init_app`).
`add(name, **payload)` schedules one job; `casework.events.publish` schedules every job subscribed to an event.
Jobs take plain ids, load fresh state, and must be idempotent: delivery is at least once. A job runs outside any
use case and keeps its own boundary: `execute` commits what it did, and the services it calls commit themselves.
"""

import json
import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import event, insert, or_, select, text, update
from sqlalchemy.orm import Session

from casework import clock, locks, settings, subscriptions
from casework.db import db
from casework.models import OutboxMessage
from casework.unit_of_work import transaction

log = logging.getLogger(__name__)

PENDING_KEY = "wx110.outbox.pending"


# One prepared Core INSERT: this runs on every callback in queued reply mode, where the ORM's unit of work and
# building the statement anew cost more than the insert itself.
_INSERT = insert(OutboxMessage.__table__).returning(OutboxMessage.__table__.c.id)


def add(job: str, **payload) -> int:
    """Schedule job `job` in the current transaction; it is relayed once the transaction commits.

    The row is written as dispatched, because the after-commit push almost always succeeds; a push that fails
    clears the mark so the relay picks the row up, and a push lost to a crash is re-sent once it is stale.
    """
    entry = subscriptions.of().jobs.get(job)
    if entry is None:
        raise KeyError(f"no outbox job named {job!r} is registered for this app")
    now = clock.now()
    message_id = db.session.execute(
        _INSERT,
        {
            "job": job,
            "payload": json.dumps(payload, sort_keys=True),
            "created_at": now,
            "dispatched_at": now,
            "attempts": 0,
        },
    ).scalar_one()
    db.session.info.setdefault(PENDING_KEY, []).append((message_id, entry.queue))
    return message_id


def pending_mark() -> int:
    """How many messages this transaction has scheduled so far (see `forget_since`)."""
    return len(db.session.info.get(PENDING_KEY, ()))


def forget_since(mark: int) -> None:
    """Drop messages scheduled after `mark`, whose rows a rolled-back SAVEPOINT took away."""
    pending = db.session.info.get(PENDING_KEY)
    if pending is not None:
        del pending[mark:]


IN_PLACE_KEY = "wx110.outbox.in_place"  # session.info: jobs deferred to the end of an `in_place` block
IN_PLACE_LIMIT = 50  # jobs run in place per block at most (a chain of events that schedule each other)


def defer_in_place(job: str, payload: dict) -> bool:
    """Inside `in_place`, keep a joining job (`Job.joins`) to run at the end of the block instead of scheduling it;
    False when it must go through the outbox."""
    deferred = db.session.info.get(IN_PLACE_KEY)
    entry = subscriptions.of().jobs.get(job)
    if deferred is None or entry is None or not entry.joins:
        return False
    deferred.append((job, payload))
    return True


@contextmanager
def in_place() -> Iterator[None]:
    """Jobs that join their caller's transaction (routing, supervision clocks), scheduled inside the block, run in
    this transaction as the block ends, in a SAVEPOINT: no outbox row, no second transaction, and their effects
    commit with what scheduled them, or not at all. One that fails is scheduled through the outbox as usual and
    retried by the queue (as is anything past IN_PLACE_LIMIT); the others still run in place."""
    session = db.session
    outer = session.info.get(IN_PLACE_KEY)
    deferred: list[tuple[str, dict]] = []
    session.info[IN_PLACE_KEY] = deferred
    try:
        yield
        if deferred:
            scheduled = list(deferred)
            # Usually every job succeeds: all of them in one SAVEPOINT. Should one fail, that SAVEPOINT takes all
            # their work away, and they run again one SAVEPOINT each, so that only the failing one is left out.
            if _in_savepoint(_run_deferred, {"deferred": deferred}) is not None:
                deferred[:] = scheduled
                _run_deferred(deferred, each_alone=True)
    finally:
        session.info[IN_PLACE_KEY] = outer


def _run_deferred(deferred: list[tuple[str, dict]], *, each_alone: bool = False) -> None:
    """Run the jobs deferred in place (and those they defer in turn), at most IN_PLACE_LIMIT; the rest are
    scheduled. With `each_alone`, each runs in a SAVEPOINT of its own, and one that fails, with the jobs it
    deferred, is scheduled for the queue instead; otherwise a failure propagates."""
    jobs, ran = subscriptions.of().jobs, 0
    while deferred:
        job, payload = deferred.pop(0)
        if ran >= IN_PLACE_LIMIT:
            add(job, **payload)
            continue
        ran += 1
        if not each_alone:
            jobs[job].func(**payload)
            continue
        before = len(deferred)
        error = _in_savepoint(jobs[job].func, payload)
        if error is not None:  # gone with its SAVEPOINT, and so are the jobs it deferred: the queue retries it
            del deferred[before:]
            log.error("outbox: job %s failed in place; scheduled for the queue", job, exc_info=error)
            add(job, **payload)


def _in_savepoint(func, payload: dict) -> Exception | None:
    """Run `func(**payload)` in a SAVEPOINT of the current transaction; the error that rolled it back, if any (the
    jobs it scheduled are forgotten with it)."""
    mark = pending_mark()
    try:
        with db.session.begin_nested():
            func(**payload)
    except Exception as exc:  # noqa: BLE001 - returned: one job failing must not spoil the others
        forget_since(mark)
        return exc
    return None


@event.listens_for(Session, "after_commit")
def _relay_after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a SAVEPOINT was released (SQLAlchemy reports that too): nothing is durable until the real commit
    messages = session.info.pop(PENDING_KEY, None)
    if messages and has_app_context():
        dispatcher = current_app.extensions.get("wx110.dispatcher")
        if dispatcher is not None:
            dispatcher.dispatch(messages)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction; a SAVEPOINT's own are trimmed by the caller
        session.info.pop(PENDING_KEY, None)


def queue_of(message: OutboxMessage) -> str:
    entry = subscriptions.of().jobs.get(message.job)
    return entry.queue if entry else "default"


def claim_for_relay(*, now: datetime, limit: int = 500) -> list[OutboxMessage]:
    """Lock and return messages that need (re)sending as of `now`: never dispatched, or dispatched long ago and
    not done.

    Rows are locked with SKIP LOCKED so two relays running at once never pick the same row.
    """
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


def claim_abandoned(*, now: datetime, alive: set[int], limit: int = 200) -> list[OutboxMessage]:
    """Lock and return messages queued a while ago, not done, whose job is neither waiting in the queue nor running
    (`alive`: the ids the queue still holds or a live process runs): the worker died mid-job, or a Redis restart
    lost the queue. Re-sending one that is in fact still starting is harmless: `execute` runs a message once.
    """
    since = now - timedelta(seconds=settings.get("OUTBOX_ABANDONED_SECONDS"))
    unfinished = (
        OutboxMessage.done_at.is_(None),
        OutboxMessage.attempts < settings.get("OUTBOX_MAX_ATTEMPTS"),
        OutboxMessage.dispatched_at.is_not(None),
        OutboxMessage.dispatched_at < since,
    )
    # Ids first, unlocked, so that a long backlog still waiting in the queue does not hide the abandoned ones
    # behind it; then lock those (the conditions again: another relay may have re-sent one meanwhile).
    ids = select(OutboxMessage.id).where(*unfinished).order_by(OutboxMessage.id).limit(20_000)
    candidates = db.session.scalars(ids)
    gone = [message_id for message_id in candidates if message_id not in alive][:limit]
    if not gone:
        return []
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(gone), *unfinished)
        .order_by(OutboxMessage.id)
        .with_for_update(skip_locked=True)
    )
    return list(db.session.scalars(query))


def running_ids() -> set[int] | None:
    """Ids of the messages whose handler some process is running now (PostgreSQL: their run lock is held; None
    elsewhere)."""
    return locks.held_keys(_RUN_LOCK_SPACE)


def mark_dispatched(ids: list[int], *, now: datetime) -> None:
    """Record that these messages went to the queue at `now` (in the current transaction)."""
    if ids:
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(dispatched_at=now))


def is_done(message_id: int) -> bool:
    """Whether the message completed (read without its run lock: a quick answer for a delivery that comes late)."""
    done = db.session.scalar(select(OutboxMessage.done_at).where(OutboxMessage.id == message_id))
    db.session.rollback()
    return done is not None


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
        entry = subscriptions.of().jobs.get(message.job)
        payload = json.loads(message.payload)
        db.session.commit()  # end the read transaction before a handler that may do slow I/O
        try:
            if entry is None:
                raise LookupError(f"no outbox job named {message.job!r} is registered for this app")
            entry.func(**payload)
            _without_flush_wait()
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


def execute_together(message_ids: list[int]) -> list[int]:
    """Run several messages whose jobs join their caller's transaction (`Job.joins`: routing, supervision clocks)
    in one transaction, each in a SAVEPOINT, and mark the ones that ran done in the same commit: one commit for
    all instead of two each. Return the ids that failed (their error recorded; the caller hands them to the queue,
    which retries each alone). A message another process runs now (its run lock is taken) is left to it."""
    keys = {message_id % 2_147_483_647: message_id for message_id in message_ids}
    with locks.try_held_many(_RUN_LOCK_SPACE, list(keys)) as taken:
        ids = sorted(keys[key] for key in taken)
        if not ids:
            return []
        rows = db.session.execute(
            select(OutboxMessage.id, OutboxMessage.job, OutboxMessage.payload)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.done_at.is_(None))
            .order_by(OutboxMessage.id)
        ).all()
        jobs = subscriptions.of().jobs
        ran: list[int] = []
        failed: dict[int, Exception] = {}
        with transaction():
            for row in rows:
                entry = jobs.get(row.job)
                if entry is None or not entry.joins:
                    error = LookupError(f"outbox job {row.job!r} cannot share a transaction")
                else:
                    error = _in_savepoint(entry.func, json.loads(row.payload))
                if error is None:
                    ran.append(row.id)
                else:  # retried alone
                    failed[row.id] = error
                    log.error("outbox: message %s failed in a shared transaction", row.id, exc_info=error)
            now = clock.now()
            if ran:
                db.session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ran), OutboxMessage.done_at.is_(None))
                    .values(done_at=now, attempts=OutboxMessage.attempts + 1, last_error=None)
                )
            for message_id, exc in failed.items():
                db.session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message_id)
                    .values(attempts=OutboxMessage.attempts + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000])
                )
        return sorted(failed)


def _without_flush_wait() -> None:
    """Commit the completion mark without waiting for its WAL flush (PostgreSQL): the handler's own commits before
    it were flushed, and a mark that a crash loses only runs the (idempotent) job again. One flush a job saved."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))


_RUN_LOCK_SPACE = 0x6F62  # first key of the two-key advisory locks held while one message runs


def _running(message_id: int) -> AbstractContextManager[None]:
    """Hold a lock on one message across its handler's own commits (PostgreSQL; one in-process runner elsewhere)."""
    return locks.held(_RUN_LOCK_SPACE, message_id % 2_147_483_647)
