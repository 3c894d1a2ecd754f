"""Getting outbox messages onto a queue: rq when REDIS_URL is set, an in-process thread when it is not.

The dispatcher is called after a business transaction commits. It never raises: if Redis is unreachable the
message stays pending in the database and the periodic relay sends it later.
"""

import atexit
import logging
import queue
import re
import threading
import time
import uuid
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask, current_app
from rq import Queue
from rq import Retry as JobRetry
from rq.job import Job
from rq.utils import as_text
from sqlalchemy import and_, update

from casework import clock, events, outbox, settings, subscriptions
from casework.db import db
from casework.models import OutboxMessage
from server.extensions import make_redis

log = logging.getLogger(__name__)

QUEUES = ("inbound", "default", "media", "notify")  # a worker serves them in this order
_OUTBOX_JOB = re.compile(r"^outbox-(\d+)-")  # an outbox message's rq job id (see `RqDispatcher.enqueue`)
RETRY_INTERVALS = [10, 30, 60, 180, 600]


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    if url:
        client = make_redis(
            url, connect_timeout=app.config["REDIS_CONNECT_TIMEOUT"], socket_timeout=app.config["REDIS_SOCKET_TIMEOUT"]
        )
        app.extensions["wx110.redis"] = client
        app.extensions["wx110.dispatcher"] = RqDispatcher(app, client)
    else:
        app.extensions["wx110.redis"] = None
        app.extensions["wx110.dispatcher"] = InlineDispatcher(app)
    # In-process mode the relay is how a row written by another process (a CLI, a shell) reaches the web process's
    # job thread, so it runs every few seconds there; with rq it only catches what Redis missed.
    every = app.config["OUTBOX_RELAY_SECONDS"] if url else app.config["OUTBOX_RELAY_EMBEDDED_SECONDS"]
    events.periodic(app, "outbox.relay", periodic_relay, every=every)


class RqDispatcher:
    def __init__(self, app: Flask, connection):
        self.app = app
        self.connection = connection

    def queue(self, name: str) -> Queue:
        return Queue(name, connection=self.connection)

    def enqueue(self, messages: list[tuple[int, str]]) -> list[int]:
        """Push (message id, queue name) pairs in one Redis round trip; return the ids that reached Redis."""
        by_queue: dict[str, list] = {}
        for message_id, queue_name in messages:
            by_queue.setdefault(queue_name, []).append(
                Queue.prepare_data(
                    "server.worker.run_outbox_message",
                    args=(message_id,),
                    job_id=f"outbox-{message_id}-{uuid.uuid4().hex[:12]}",
                    retry=JobRetry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                    result_ttl=3600,
                    failure_ttl=30 * 86400,
                    timeout=600,
                )
            )
        try:
            with self.connection.pipeline() as pipe:
                for queue_name, datas in by_queue.items():
                    self.queue(queue_name).enqueue_many(datas, pipeline=pipe)
                pipe.execute()
        except Exception as exc:  # noqa: BLE001 - Redis down: the relay will send them
            log.warning(
                "outbox: redis unreachable, %d message(s) left for the relay: %s", len(messages), type(exc).__name__
            )
            return []
        return [message_id for message_id, _ in messages]

    def withdraw(self, queue_name: str, message_ids: list[int], *, look: int = 500) -> list[int]:
        """Take out of the queue the jobs of these messages (a batch is about to handle them), looking at its first
        `look` entries; return the ids of the messages whose jobs came out. Each job is removed from the list first
        and its data deleted only if that removal found it, so a job a worker has just taken is left to run. Best
        effort: where Redis cannot be reached, none."""
        wanted = {str(message_id) for message_id in message_ids}
        if not wanted:
            return []
        queue = self.queue(queue_name)
        try:
            ids = [as_text(raw) for raw in self.connection.lrange(queue.key, 0, look - 1)]
            chosen = [job_id for job_id in ids if (match := _OUTBOX_JOB.match(job_id)) and match.group(1) in wanted]
            if not chosen:
                return []
            with self.connection.pipeline(transaction=False) as pipe:
                for job_id in chosen:
                    pipe.lrem(queue.key, 1, job_id)
                removed = [job_id for job_id, count in zip(chosen, pipe.execute(), strict=True) if count]
            if removed:
                self.connection.delete(*(Job.key_for(job_id) for job_id in removed))
            return [int(_OUTBOX_JOB.match(job_id).group(1)) for job_id in removed]
        except Exception as exc:  # noqa: BLE001 - Redis unreachable: the jobs stay queued and run by themselves
            log.warning("outbox: could not withdraw jobs from %s: %s", queue_name, type(exc).__name__)
            return []

    def dispatch(self, messages: list[tuple[int, str]]) -> None:
        """After commit: push the transaction's messages; any that fail go back to pending for the relay. Inside
        `kept_here` (a worker running a job), those of the queues it names are kept for that worker instead."""
        kept = _kept.get()
        if kept is not None:
            kept.messages.extend(message for message in messages if message[1] in kept.queues)
            messages = [message for message in messages if message[1] not in kept.queues]
            if not messages:
                return
        sent = set(self.enqueue(messages))
        failed = [message_id for message_id, _ in messages if message_id not in sent]
        if failed:
            with self.app.app_context():
                _unmark(failed)


@dataclass
class _Kept:
    queues: frozenset[str]
    messages: list[tuple[int, str]] = field(default_factory=list)


_kept: ContextVar[_Kept | None] = ContextVar("wx110_kept_messages", default=None)


@contextmanager
def kept_here(queues: Iterable[str]) -> Iterator[list[tuple[int, str]]]:
    """Within the block, messages of `queues` that commits schedule are not pushed to Redis but collected in the
    list yielded, for the caller to run itself (their rows stay marked dispatched: if the caller dies before
    running them, the relay re-sends them once they are abandoned)."""
    kept = _Kept(frozenset(queues))
    token = _kept.set(kept)
    try:
        yield kept.messages
    finally:
        _kept.reset(token)


_LIVE_DISPATCHERS: "weakref.WeakSet[InlineDispatcher]" = weakref.WeakSet()
EXIT_WAIT_SECONDS = 10.0  # how long a process that ends waits for the job its thread is running


class InlineDispatcher:
    """In-process mode: one background thread runs outbox jobs in order, in its own app context.

    A process that ends (a CLI command, a shell) hands the jobs its thread has not started back to the outbox, as
    never dispatched, so the web process's relay runs them within seconds instead of once they are stale.
    """

    def __init__(self, app: Flask):
        self.app = app
        self.pending: queue.Queue[int] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self.failures: list[tuple[int, str]] = []  # (message id, error) of jobs that raised; tests read it
        _LIVE_DISPATCHERS.add(self)

    def hand_back(self) -> list[int]:
        """Stop running jobs; return the ones not started to the outbox as pending (for another process's relay)."""
        self._closing.set()
        self._idle.wait(EXIT_WAIT_SECONDS)
        left: list[int] = []
        while True:
            try:
                left.append(self.pending.get_nowait())
            except queue.Empty:
                break
            self.pending.task_done()
        if left:
            with self.app.app_context():
                _unmark(left)
                db.session.remove()
        return left

    def enqueue(self, messages: list[tuple[int, str]]) -> list[int]:
        self._ensure_thread()
        for message_id, _queue_name in messages:
            self.pending.put(message_id)
        return [message_id for message_id, _ in messages]

    def dispatch(self, messages: list[tuple[int, str]]) -> None:
        self.enqueue(messages)

    def withdraw(self, queue_name: str, message_ids: list[int]) -> list[int]:
        """Nothing can be taken back from the thread's queue; every id is answered as taken out, so that a batch
        takes their messages: the thread then finds them done at once."""
        return list(message_ids)

    def drain(self) -> None:
        """Wait until every job handed over so far has run (CLI commands and tests)."""
        self.pending.join()

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="wx110-inline-jobs", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            message_id = self.pending.get()
            if self._closing.is_set():
                self.pending.put(message_id)  # left for `hand_back`
                self.pending.task_done()
                return
            self._idle.clear()
            try:
                with self.app.app_context():
                    try:
                        outbox.execute(message_id)
                    finally:
                        db.session.remove()
            except Exception as exc:
                log.exception("outbox: inline job %s failed", message_id)
                self.failures.append((message_id, f"{type(exc).__name__}: {exc}"))
            finally:
                self._idle.set()
                self.pending.task_done()


@atexit.register
def _hand_back_at_exit() -> None:
    for dispatcher in list(_LIVE_DISPATCHERS):
        try:
            dispatcher.hand_back()
        except Exception:  # exiting anyway; the stale re-send still covers these rows
            log.exception("outbox: could not hand jobs back at exit")


def _unmark(ids: list[int]) -> None:
    """Return messages to pending, on a connection of its own (the business session has already committed)."""
    with db.engine.begin() as connection:
        connection.execute(
            update(OutboxMessage)
            .where(and_(OutboxMessage.id.in_(ids), OutboxMessage.done_at.is_(None)))
            .values(dispatched_at=None)
        )


def relay_pending(grace_seconds: int | None = None, *, now: datetime | None = None) -> int:
    """Send every message that is still pending (or dispatched long ago and not done) as of `now`; return how
    many.

    Messages younger than the grace period are left to their own after-commit dispatch.
    """
    dispatcher = current_app.extensions["wx110.dispatcher"]
    now = now or clock.now()
    if grace_seconds is None:
        grace_seconds = settings.get("OUTBOX_RELAY_GRACE_SECONDS")
    cutoff = now - timedelta(seconds=grace_seconds)
    rows = [row for row in outbox.claim_for_relay(now=now) if row.created_at <= cutoff]
    if not rows:
        db.session.rollback()
        return 0
    sent = dispatcher.enqueue([(row.id, outbox.queue_of(row)) for row in rows])
    outbox.mark_dispatched(sent, now=now)
    db.session.commit()
    if len(sent) < len(rows):
        log.warning("outbox relay: %d of %d message(s) could not be queued", len(rows) - len(sent), len(rows))
    return len(sent)


def periodic_relay(*, now: datetime) -> None:
    """The relay as a periodic job (registered in `init_app`)."""
    relay_pending(now=now)


class Timer:
    """In-process mode's stand-in for the rq scheduler: runs the periodic sweeps in a daemon thread."""

    def __init__(self, app: Flask, tick: float = 1.0):
        self.app = app
        self.tick = tick
        self.stop = threading.Event()
        self.last_run: dict[str, float] = {}

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="wx110-timer", daemon=True)
        thread.start()
        return thread

    def _loop(self) -> None:
        while not self.stop.wait(self.tick):
            for sweep in list(subscriptions.of(self.app).sweeps.values()):
                if time.monotonic() - self.last_run.get(sweep.name, 0) < sweep.interval:
                    continue
                self.last_run[sweep.name] = time.monotonic()
                with self.app.app_context():
                    try:
                        sweep.func(now=clock.now())  # the moment this run is for
                    except Exception:
                        log.exception("periodic %s failed", sweep.name)
                    finally:
                        db.session.remove()


def start_timer_on_first_request(app: Flask) -> None:
    """In-process mode: start the sweep timer when the app first serves (never in CLI commands or tests)."""
    if app.config.get("REDIS_URL") or not app.config.get("INLINE_TIMER") or app.config.get("TESTING"):
        return
    started = threading.Event()
    lock = threading.Lock()

    @app.before_request
    def _start_timer() -> None:
        if started.is_set():
            return
        with lock:
            if not started.is_set():
                Timer(app).start()
                started.set()
