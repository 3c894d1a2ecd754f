"""The app behind PgBouncer in transaction mode: clients share a few server connections transaction by
transaction, so nothing may rely on session state (session-level advisory locks, server-side prepared statements,
SET without LOCAL). A representative set runs concurrently through a PgBouncer of the test's own: reports, status
changes, complaints, the outbox's jobs and relay, and the audit chain."""

import threading
from datetime import timedelta

import psycopg
import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select, text, update

from bot import queued
from casework import audit, citizens, clock, complaints, events, incidents, locks, outbox, seed
from casework.db import db
from casework.events import Event
from casework.models import AuditEntry, Complaint, Incident, OutboxMessage
from casework.status import Channel, IncidentStatus
from casework.unit_of_work import transaction
from server import housekeeping, jobs, worker
from server.extensions import worker_redis
from tests import pgbouncer, services

pytestmark = pytest.mark.needs_postgresql  # PgBouncer stands in front of PostgreSQL

WRITERS, PER_WRITER = 8, 4


@pytest.fixture
def bouncer(postgresql_only):
    services.require("pgbouncer", pgbouncer.problem())
    server = pgbouncer.PgBouncer(services.PG_ADMIN_URL, services.PG_DATABASE).start()
    yield server
    server.stop()


@pytest.fixture
def pooled_app(bouncer, make_app):  # PgBouncer outlives the app: its teardown drains jobs
    make_app()  # migrated and emptied directly; the app under test reaches the database only through PgBouncer
    return make_app(SQLALCHEMY_DATABASE_URI=bouncer.url(), DATABASE_TRANSACTION_POOLER=True)


def _advisory_locks_left() -> int:
    with psycopg.connect(services.PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{services.PG_DATABASE}") as connection:
        return connection.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()[0]


def _in_threads(app, count: int, work) -> list[str]:
    errors: list[str] = []
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                work(index)
            except Exception as exc:  # noqa: BLE001 - every failure is collected and shown
                errors.append(f"writer {index}: {type(exc).__name__}: {exc}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_reports_status_changes_complaints_outbox_and_audit_behind_pgbouncer(pooled_app, bouncer):
    app = pooled_app
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        db.session.commit()
        seed_entries = db.session.scalar(select(func.count(AuditEntry.id)))

    def work(index: int) -> None:
        citizen = citizens.identify(oa_openid=f"openid-pooled-{index}")
        for n in range(PER_WRITER):
            incident = incidents.report(citizen=citizen, channel=Channel.WECHAT, description=f"第{n}次:楼下有人打架")
            incidents.change_status(
                incident=incident, actor=seed.officer("100007"), status=IncidentStatus.DISPATCHED, public_note="已派警"
            )
            complaints.file(citizen=citizen, incident=incident, body="出警太慢")

    assert _in_threads(app, WRITERS, work) == []
    app.extensions["wx110.dispatcher"].drain()

    # The relay: messages whose after-commit push was lost (as when Redis is down) are found and run.
    with app.app_context():
        some = db.session.scalars(select(Incident.id).order_by(Incident.id).limit(3)).all()
        with transaction():
            lost = [i for incident_id in some for i in events.publish(Event.INCIDENT_REPORTED, incident_id=incident_id)]
            db.session.info.pop(outbox.PENDING_KEY)  # the push never happens, and its failure is recorded:
            db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(lost)).values(dispatched_at=None))
        relayed: list[int] = []
        assert (
            _in_threads(app, 2, lambda _i: relayed.append(jobs.relay_pending(grace_seconds=0, now=clock.now()))) == []
        )
        assert sum(relayed) == len(lost)  # SKIP LOCKED: no message taken by both relays
        app.extensions["wx110.dispatcher"].drain()

        total = WRITERS * PER_WRITER
        assert db.session.scalar(select(func.count(Incident.id))) == total
        assert db.session.scalar(select(func.count(func.distinct(Incident.number)))) == total
        assert db.session.scalar(select(func.count(Complaint.id))) == total
        assert set(db.session.scalars(select(Incident.status))) == {IncidentStatus.DISPATCHED.value}
        undone = db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.done_at.is_(None))).all()
        assert undone == []
        checked, broken = audit.verify()
        assert broken is None
        assert checked > seed_entries + 3 * total  # a report, a status change and a complaint each audited
        db.session.remove()

    assert _advisory_locks_left() == 0
    pools = [row for row in bouncer.show("POOLS") if row["database"] == services.PG_DATABASE]
    servers = sum(row["sv_active"] + row["sv_idle"] + row["sv_used"] + row["sv_tested"] for row in pools)
    assert 0 < servers <= pgbouncer.SERVER_CONNECTIONS  # eight writers and the job thread shared these
    stats = {row["database"]: row for row in bouncer.show("STATS")}
    assert stats[services.PG_DATABASE]["total_xact_count"] > 3 * WRITERS * PER_WRITER


LOCKS = {
    "an outbox message's run lock": lambda: locks.held(0x7465, 42),
    "a citizen's queued messages": lambda: queued.citizen_lock("o-pooled-citizen"),
}


@pytest.mark.parametrize("lock", LOCKS.values(), ids=LOCKS.keys())
def test_a_lock_held_across_commits_behind_pgbouncer_excludes_others_and_is_released(pooled_app, lock):
    app = pooled_app
    holding, release, second_got_it = threading.Event(), threading.Event(), threading.Event()

    def first(_index: int) -> None:
        with lock():
            for _ in range(20):  # many transactions of the holder's own, each possibly on another server connection
                db.session.execute(text("SELECT 1"))
                db.session.commit()
            holding.set()
            assert release.wait(timeout=30)

    def second(_index: int) -> None:
        assert holding.wait(timeout=30)
        with lock():
            second_got_it.set()

    errors: list[str] = []
    runner = threading.Thread(target=lambda: errors.extend(_in_threads(app, 1, first)))
    runner.start()
    waiter = threading.Thread(target=lambda: errors.extend(_in_threads(app, 1, second)))
    waiter.start()
    assert holding.wait(timeout=30)
    assert not second_got_it.wait(timeout=1.0), "the second holder got the lock while the first held it"
    release.set()
    runner.join(timeout=30)
    assert second_got_it.wait(timeout=30)
    waiter.join(timeout=30)
    assert errors == []
    assert _advisory_locks_left() == 0


def test_housekeeping_rounds_of_several_workers_behind_pgbouncer_take_turns_and_leave_no_lock(
    bouncer, make_app, redis, redis_url
):
    make_app()
    app = make_app(SQLALCHEMY_DATABASE_URI=bouncer.url(), DATABASE_TRANSACTION_POOLER=True, REDIS_URL=redis_url)
    with app.app_context():
        for index in range(3):
            incidents.report(
                citizen=citizens.identify(oa_openid=f"o-pooled-hk-{index}"),
                channel=Channel.WECHAT,
                description="有人打架",
            )
            db.session.commit()
        db.session.execute(update(OutboxMessage).values(dispatched_at=clock.now() - timedelta(seconds=60)))
        db.session.commit()
        lost = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.done_at.is_(None)))
        db.session.remove()
    redis.flushdb()  # a Redis restart lost the queue
    rounds: list[dict] = []
    errors = _in_threads(
        app, 4, lambda _index: rounds.append(housekeeping.one_round(app, app.extensions["wx110.redis"]))
    )
    assert errors == []
    assert lost >= 3
    assert sum(done["requeued"] for done in rounds) == lost  # each lost message queued again once
    assert _advisory_locks_left() == 0
    worker.use_app(app)
    connection = worker_redis(app)
    SimpleWorker([Queue(name, connection=connection) for name in jobs.QUEUES], connection=connection).work(burst=True)
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.done_at.is_(None)))
            == 0
        )
