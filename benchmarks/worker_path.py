"""Statements, commits and HTTP calls per queued WeChat report on the worker side, by job.

Captures REPORTS text reports from distinct registered citizens (what the queued callback does), then runs the
jobs they schedule with one rq SimpleWorker in this process (`flask worker --no-fork` does the same) against
PostgreSQL and Redis, counting every statement SQLAlchemy sends (`before_cursor_execute`), every transaction end
(commit / rollback: one round trip each) and every request the fake WeChat API receives. Prints the totals per
report and per job name, and the statements that ran most often, so that waste shows.

Usage: python benchmarks/worker_path.py [--reports 200] [--batch N] [--code OTHER_CHECKOUT] [--profile]
(env: BENCH_PG_ADMIN_URL, BENCH_REDIS_URL, BENCH_DATABASE; with --profile, the profile counts CPU time unless
BENCH_PROFILE_WALL is set, BENCH_PROFILE_DUMP=FILE keeps it for pstats, BENCH_PROFILE_TOP=N prints the top N)
"""

import argparse
import collections
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
DATABASE = os.environ.get("BENCH_DATABASE", "wx110_bench_worker")


# Entry points whose cumulative time splits the worker's run (each counted once: none calls another).
PROFILE_GROUPS = [
    ("rq: the whole run (dequeue, bookkeeping, our jobs)", lambda path, name: name == "work" and "rq" in path),
    ("our jobs (run_outbox_message)", lambda path, name: name == "run_outbox_message"),
    ("  handlers of captured messages (bot handle_turn)", lambda path, name: name == "handle_turn"),
    ("  pushing replies over HTTP (bot outbound.push)", lambda path, name: name == "push" and "outbound" in path),
    ("  commits (psycopg commit)", lambda path, name: name == "commit" and "psycopg/connection" in path),
    ("  database round trips (psycopg execute)", lambda path, name: name == "execute" and "psycopg/cursor" in path),
]


class Counter:
    """Statements and transaction ends, attributed to the outbox job running when they happened."""

    def __init__(self) -> None:
        self.job = "(outside jobs)"
        self.statements: collections.Counter = collections.Counter()
        self.ends: collections.Counter = collections.Counter()
        self.shapes: collections.Counter = collections.Counter()
        self.runs: collections.Counter = collections.Counter()
        self.flushing: collections.Counter = collections.Counter()  # commits that wait for the WAL flush
        self.paused = False

    def hook(self, engine) -> None:
        from sqlalchemy import event

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(conn, cursor, statement, parameters, context, executemany):
            if self.paused:
                return
            self.statements[self.job] += 1
            self.shapes[" ".join(statement.split())[:110]] += 1
            # A transaction that wrote (or locked rows) has a transaction id: its commit waits for the WAL flush
            # unless it said `synchronous_commit TO OFF` (or `set_config(...)` it, locally).
            head = statement.lstrip()[:6].upper()
            if head in ("INSERT", "UPDATE", "DELETE") or "FOR UPDATE" in statement:
                conn.info["wx110.bench.wrote"] = True
            if "synchronous_commit TO OFF" in statement or "'synchronous_commit', 'off', true" in statement:
                conn.info["wx110.bench.async"] = True

        @event.listens_for(engine, "commit")
        def _commit(conn):
            wrote = conn.info.pop("wx110.bench.wrote", False)
            unflushed = conn.info.pop("wx110.bench.async", False)
            if not self.paused:
                self.ends[self.job] += 1
                if wrote and not unflushed:
                    self.flushing[self.job] += 1

        @event.listens_for(engine, "rollback")
        def _rollback(conn):
            conn.info.pop("wx110.bench.wrote", None)
            conn.info.pop("wx110.bench.async", None)
            if not self.paused:
                self.ends[self.job] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--batch", type=int, help="WECHAT_QUEUED_BATCH (default: the setting's default)")
    parser.add_argument("--code", type=Path, help="measure the checkout at this path instead (a before/after pair)")
    parser.add_argument("--profile", action="store_true", help="also print where the worker's CPU time went")
    args = parser.parse_args()
    root = args.code.resolve() if args.code else ROOT
    if args.code:
        sys.path.insert(0, str(root))

    from redis import Redis

    from wechat import simulator
    from wechat.fake import FakeWeChat

    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    db_url = PG_ADMIN.rsplit("/", 1)[0] + f"/{DATABASE}"
    Redis.from_url(REDIS_URL).flushdb()
    fake = FakeWeChat().start()

    from flask_migrate import upgrade
    from rq import Queue, SimpleWorker

    from bot import queued
    from casework import citizens, outbox
    from casework.db import db
    from server import create_app, jobs, worker
    from server.extensions import worker_redis

    os.environ["DATABASE_URL"] = db_url
    app = create_app(
        {
            "REDIS_URL": REDIS_URL,
            "WECHAT_REPLY_MODE": "queued",
            "WECHAT_TOKEN": "bench-token",
            "WECHAT_AES_KEY": "g3IEIbXeKbk0nYM3noR73T4GUV25WvP4tQIq33QnJLA",
            "WECHAT_APPID": "wxbench0000000001",
            "WECHAT_SECRET": "bench",
            "WECHAT_API_BASE": fake.base_url,
            "INLINE_TIMER": False,
            **({"WECHAT_QUEUED_BATCH": args.batch} if args.batch else {}),
        }
    )
    openids = [f"o-worker-{i:06d}" for i in range(args.reports)]
    with app.app_context():
        upgrade(directory=str(root / "migrations"))
        for openid in openids:
            citizens.identify(oa_openid=openid)
        db.session.commit()
        for index, openid in enumerate(openids):
            fields = simulator.message("text", openid, f"压测报警 {index}:小区门口有人争吵", msg_id=7 * 10**15 + index)
            xml = simulator.xml_of(fields).encode("utf-8")
            queued.capture(fields, xml)
        counter = Counter()
        counter.hook(db.engine)

    original = outbox.execute
    original_together = getattr(outbox, "execute_together", None)
    original_delivery = worker.run_outbox_message
    delivery = "(each rq job: its own bookkeeping)"

    def execute(message_id: int) -> bool:
        from casework.models import OutboxMessage

        counter.paused = True  # the lookup is ours, not the job's
        job = db.session.get(OutboxMessage, message_id).job
        db.session.rollback()
        counter.paused = False
        counter.job = job
        counter.runs[job] += 1
        try:
            return original(message_id)
        finally:
            counter.job = delivery

    def execute_together(message_ids: list[int]) -> list[int]:
        counter.job = "follow-ups in one transaction"
        counter.runs[counter.job] += 1
        try:
            return original_together(message_ids)
        finally:
            counter.job = delivery

    def run_outbox_message(message_id: int) -> bool:
        counter.job = delivery
        counter.runs[delivery] += 1
        try:
            return original_delivery(message_id)
        finally:
            counter.job = "(outside jobs)"

    outbox.execute = execute
    if original_together is not None:
        outbox.execute_together = execute_together
    worker.run_outbox_message = run_outbox_message
    worker.use_app(app)
    connection = worker_redis(app)
    before = len(fake.calls)
    profiler = (
        (cProfile.Profile() if os.environ.get("BENCH_PROFILE_WALL") else cProfile.Profile(time.process_time))
        if args.profile
        else None
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    SimpleWorker([Queue(name, connection=connection) for name in jobs.QUEUES], connection=connection).work(burst=True)
    if profiler is not None:
        profiler.disable()
        if os.environ.get("BENCH_PROFILE_DUMP"):
            profiler.dump_stats(os.environ["BENCH_PROFILE_DUMP"])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    outbox.execute = original
    if original_together is not None:
        outbox.execute_together = original_together
    worker.run_outbox_message = original_delivery
    http = len(fake.calls) - before
    n = args.reports
    total_statements = sum(counter.statements.values())
    total_ends = sum(counter.ends.values())
    print(
        f"{n} reports handled in {seconds:.1f} s by one in-process worker ({n / seconds:.1f} reports/s); "
        f"{cpu / n * 1000:.1f} ms of this process's CPU a report (the worker and the fake WeChat API)"
    )
    print(
        f"per report: {total_statements / n:.1f} statements, {total_ends / n:.1f} commits/rollbacks "
        f"({sum(counter.flushing.values()) / n:.2f} waiting for the WAL flush), "
        f"{(total_statements + total_ends) / n:.1f} database round trips, {http / n:.2f} WeChat API calls, "
        f"{counter.runs[delivery] / n:.2f} rq jobs"
    )
    for job in sorted(set(counter.runs) | set(counter.statements)):
        print(
            f"  {job:38s} {counter.runs[job] / n:5.2f} runs   {counter.statements[job] / n:6.1f} statements   "
            f"{counter.ends[job] / n:5.1f} ends   {counter.flushing[job] / n:5.2f} flushing"
        )
    print("most frequent statements (per report):")
    for shape, times in counter.shapes.most_common(25):
        print(f"  {times / n:5.2f}  {shape}")
    if profiler is not None:
        print("where the worker's time went (cumulative seconds):")
        stats = pstats.Stats(profiler)
        for label, pattern in PROFILE_GROUPS:
            total = sum(row[3] for (path, _line, name), row in stats.stats.items() if pattern(path, name))
            print(f"  {label:52s} {total:6.2f} s")
        if os.environ.get("BENCH_PROFILE_TOP"):
            stats.sort_stats("tottime").print_stats(int(os.environ["BENCH_PROFILE_TOP"]))
        if os.environ.get("BENCH_PROFILE_CALLERS"):
            stats.print_callers(os.environ["BENCH_PROFILE_CALLERS"])
    fake.stop()
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


if __name__ == "__main__":
    main()
