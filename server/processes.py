"""The long-running job processes, `flask worker` and `flask scheduler`: they ride out Redis and PostgreSQL outages
(reconnect with backoff, log once per outage, never exit on a connection error) and leave no orphan behind.
"""

import ctypes
import logging
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime

from flask import Flask
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker, Worker

from casework import subscriptions
from server import worker
from server.housekeeping import Housekeeper, Outage

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
MAINTENANCE_SECONDS = 30
MAX_BACKOFF = 5.0  # seconds between reconnection attempts at most: a 20 s outage is over within 5 s of its end


class Backoff:
    def __init__(self, first: float = 0.5, most: float = MAX_BACKOFF):
        self.first, self.most, self.next = first, most, first

    def wait(self, stop: threading.Event | None = None) -> None:
        if stop is not None:
            stop.wait(self.next)
        else:
            time.sleep(self.next)
        self.next = min(self.next * 2, self.most)

    def reset(self) -> None:
        self.next = self.first


def die_with_parent() -> None:
    """In a forked child (rq's scheduler process, a work horse): get SIGKILL when the parent dies, so that a
    worker killed with -9 leaves no scheduler child holding a dequeue (Linux; elsewhere a no-op)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the call took effect
        os._exit(1)


class _OncePerOutage(logging.Filter):
    """rq logs every reconnection attempt; let the first of a run through, then one a minute. A worker loop that
    ends on a lost Redis connection is restarted here: its line is kept, without the traceback."""

    def __init__(self):
        super().__init__()
        self.last = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "rq.scheduler" and "raised an exception" in str(record.msg):
            if "redis.exceptions" in record.getMessage():  # the traceback is in the text
                record.msg, record.args = "Scheduler [PID %s] lost Redis; its worker starts it again", record.args[:1]
            return True
        if record.exc_info and isinstance(record.exc_info[1], (RedisConnectionError, RedisTimeoutError)):
            record.exc_info, record.exc_text = None, None
            record.msg = f"{record.msg} (Redis connection lost; starting again once it is back)"
        if "could not connect to Redis" not in record.getMessage():
            return True
        now = time.monotonic()
        if now - self.last < 60:
            return False
        self.last = now
        return True


def run_worker(
    app: Flask, connection: Redis, queue_names: list[str], *, burst: bool, no_fork: bool, every: float
) -> None:
    """Run an rq worker with rq's scheduler (for retries with backoff) and the housekeeping thread; start a new
    worker when one ends on a connection error, until a signal asks it to stop."""
    worker.use_app(app)
    os.register_at_fork(after_in_child=die_with_parent)
    once = _OncePerOutage()
    logging.getLogger("rq.worker").addFilter(once)
    logging.getLogger("rq.scheduler").addFilter(once)
    housekeeper = None
    if not burst:
        housekeeper = Housekeeper(app, app.extensions["wx110.redis"], every)
        housekeeper.start()
    outage, backoff = Outage("worker: Redis", log), Backoff()
    worker_class = SimpleWorker if no_fork else Worker
    try:
        while True:
            queues = [Queue(name, connection=connection) for name in queue_names]
            # Maintenance (registry cleanup, and starting rq's scheduler process again if Redis killed it, so that
            # retries with backoff move on) every 30 s instead of rq's 10 minutes.
            rq_worker = worker_class(queues, connection=connection, maintenance_interval=MAINTENANCE_SECONDS)
            rq_worker.max_connection_wait_time = MAX_BACKOFF
            try:
                rq_worker.work(with_scheduler=True, burst=burst)
                stopped = burst or rq_worker._shutdown_requested_date is not None  # SIGTERM / SIGINT
            except RedisError as exc:
                outage.failed(exc)
                stopped = False
            if stopped:
                return
            # rq's loop ends on any error it did not expect (a Redis error while finishing a job, say): a worker
            # that just lost Redis waits and starts again, instead of leaving its queues unserved.
            if not _redis_up(connection):
                outage.failed(ConnectionError("Redis"))
                while not _redis_up(connection):
                    backoff.wait()
            outage.ok()
            backoff.reset()
    finally:
        if housekeeper is not None:
            housekeeper.stop.set()


def _redis_up(connection: Redis) -> bool:
    try:
        return bool(connection.ping())
    except RedisError:
        return False


# -- the scheduler -------------------------------------------------------------------------------------------

LAST_KEY = "wx110:periodic:last"  # hash: sweep name -> the last moment (epoch seconds) enqueued
CATCH_UP = 100  # at most this many missed moments of one sweep are enqueued after an outage


def moments_due(last: int | None, now: float, interval: int) -> list[int]:
    """The moments of a sweep to enqueue at `now`: every multiple of `interval` after `last` up to now (the
    latest only, when nothing was ever enqueued)."""
    current = int(now // interval) * interval
    if last is None:
        return [current]
    due = list(range(last + interval, current + 1, interval))
    return due[-CATCH_UP:]


def schedule_round(app: Flask, connection: Redis, *, now: float | None = None) -> list[tuple[str, int]]:
    """Enqueue every sweep moment due since the last one recorded; return (name, moment) pairs enqueued.

    A moment is recorded only after its job is queued, so a scheduler killed in between enqueues it again when it
    restarts, and `worker.run_periodic` runs one moment of a sweep at most once.
    """
    now = time.time() if now is None else now
    enqueued = []
    recorded = connection.hgetall(LAST_KEY)
    for sweep in subscriptions.of(app).sweeps.values():
        raw = recorded.get(sweep.name.encode())
        for moment in moments_due(int(raw) if raw else None, now, sweep.interval):
            at = datetime.fromtimestamp(moment, UTC).isoformat()
            with connection.pipeline() as pipe:
                Queue("default", connection=connection).enqueue(
                    worker.run_periodic,
                    sweep.name,
                    at,
                    job_id=f"periodic-{sweep.name.replace('.', '_')}-{moment}",
                    result_ttl=600,
                    failure_ttl=7 * 86400,
                    pipeline=pipe,
                )
                pipe.hset(LAST_KEY, sweep.name, moment)
                pipe.execute()
            enqueued.append((sweep.name, moment))
    return enqueued


def run_scheduler(app: Flask, connection: Redis, *, tick: float = 1.0, stop: threading.Event | None = None) -> None:
    """Enqueue the periodic sweeps at their moments until SIGTERM; ride out Redis outages and catch up after."""
    stop = stop or threading.Event()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    outage, backoff = Outage("scheduler: Redis", log), Backoff()
    log.info("scheduler: %d periodic sweep(s)", len(subscriptions.of(app).sweeps))
    while not stop.is_set():
        try:
            for name, moment in schedule_round(app, connection):
                log.info("scheduler: enqueued %s for %s", name, datetime.fromtimestamp(moment, UTC).isoformat())
        except RedisError as exc:
            outage.failed(exc)
            backoff.wait(stop)
            continue
        outage.ok()
        backoff.reset()
        stop.wait(tick)
