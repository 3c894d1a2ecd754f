"""What every `flask worker` does beside running jobs, so that no single process is needed for the queue to move.

Every few seconds, in a thread of each worker (one worker at a time does the work, under a transaction-scoped
advisory lock, which is safe behind PgBouncer): messages captured in Redis while the database was down are moved
into it (`bot.queued.drain_held`); outbox messages never queued are queued (the relay); messages whose job the
queue no longer holds and no live process runs are queued again (a worker killed mid-job, a Redis restart that
lost its lists); and rq's started-job registries are cleaned. Nothing here ends the thread: a Redis or
PostgreSQL outage is logged once when it starts and once when it ends, and the next round tries again.
"""

import logging
import re
import threading
import time
from datetime import datetime

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy.exc import InterfaceError, OperationalError

from bot import queued
from casework import clock, locks, outbox
from casework.db import db
from server import jobs

log = logging.getLogger(__name__)

LOCK = (0x6873, 1)  # the advisory lock one housekeeping round holds ("hs")
_OUTBOX_JOB = re.compile(r"^outbox-(\d+)-")


class Outage:
    """Logs a failing dependency once when it starts failing and once when it is back (not once per try)."""

    def __init__(self, what: str, logger: logging.Logger = log):
        self.what, self.log, self.since = what, logger, None

    def failed(self, exc: BaseException) -> None:
        if self.since is None:
            self.since = time.monotonic()
            self.log.warning("%s unreachable (%s: %s); retrying until it is back", self.what, type(exc).__name__, exc)

    def ok(self) -> None:
        if self.since is not None:
            self.log.warning("%s back after %.0f s", self.what, time.monotonic() - self.since)
            self.since = None


def queue_holds(connection: Redis, queue_names=jobs.QUEUES) -> tuple[set[int], set[int]]:
    """Outbox message ids the queue holds: (waiting, scheduled or failed), and (in a started registry)."""
    waiting: set[int] = set()
    started: set[int] = set()
    with connection.pipeline(transaction=False) as pipe:
        for name in queue_names:
            queue = Queue(name, connection=connection)
            pipe.lrange(queue.key, 0, -1)
            pipe.zrange(ScheduledJobRegistry(queue=queue).key, 0, -1)
            pipe.zrange(FailedJobRegistry(queue=queue).key, 0, -1)
            pipe.zrange(StartedJobRegistry(queue=queue).key, 0, -1)
        replies = pipe.execute()
    for index, ids in enumerate(replies):
        into = started if index % 4 == 3 else waiting
        for raw in ids:
            match = _OUTBOX_JOB.match(raw.decode() if isinstance(raw, bytes) else raw)
            if match:
                into.add(int(match.group(1)))
    return waiting, started


def requeue_abandoned(connection: Redis, *, now: datetime) -> int:
    """Queue again the messages whose job is gone (see `outbox.claim_abandoned`); return how many."""
    waiting, started = queue_holds(connection)
    running = outbox.running_ids()
    # Without advisory locks (SQLite) nobody can tell a dead worker's job from a running one: trust the registry.
    alive = waiting | (started if running is None else (started & running))
    rows = outbox.claim_abandoned(now=now, alive=alive)
    if not rows:
        db.session.rollback()
        return 0
    dispatcher = current_app.extensions["wx110.dispatcher"]
    sent = dispatcher.enqueue([(row.id, outbox.queue_of(row)) for row in rows])
    outbox.mark_dispatched(sent, now=now)
    db.session.commit()
    log.warning("outbox: re-queued %d abandoned message(s): %s", len(sent), sent[:20])
    return len(sent)


def clean_started_registries(connection: Redis) -> None:
    """Move jobs whose worker stopped heartbeating out of the started registries (rq itself does it every 10 min)."""
    for name in jobs.QUEUES:
        StartedJobRegistry(queue=Queue(name, connection=connection)).cleanup()


def one_round(app: Flask, connection: Redis, *, now: datetime | None = None) -> dict:
    """One housekeeping round in `app` (tests call it directly); returns what it did."""
    done = {"held": 0, "relayed": 0, "requeued": 0, "skipped": False}
    connection.ping()  # an unreachable Redis fails every round alike, not only the rounds that take the lock
    with app.app_context():
        try:
            with locks.try_held(*LOCK) as mine:
                if not mine:
                    done["skipped"] = True
                    return done
                done["held"] = queued.drain_held(connection)
                done["relayed"] = jobs.relay_pending(now=now)
                done["requeued"] = requeue_abandoned(connection, now=now or clock.now())
                clean_started_registries(connection)
        finally:
            db.session.remove()
    return done


class Housekeeper:
    """The thread a worker runs `one_round` in, every `every` seconds, until `stop` is set."""

    def __init__(self, app: Flask, connection: Redis, every: float):
        self.app, self.connection, self.every = app, connection, every
        self.stop = threading.Event()
        self.outage = Outage("housekeeping: Redis or the database")

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="wx110-housekeeping", daemon=True)
        thread.start()
        return thread

    def _loop(self) -> None:
        while not self.stop.wait(self.every):
            try:
                one_round(self.app, self.connection)
            except Exception as exc:
                if self.outage.since is None and not _is_connection_error(exc):
                    log.exception("housekeeping round failed")
                self.outage.failed(exc)
            else:
                self.outage.ok()


def _is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, (RedisConnectionError, RedisTimeoutError, OperationalError, InterfaceError))
