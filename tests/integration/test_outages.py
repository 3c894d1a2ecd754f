"""What keeps the queue moving through outages, piece by piece (the whole, under load: `tests/faults/`).

A message captured in Redis while the database is down, and drained into it in order, once; the callback that
cannot keep a message anywhere does not answer 200; abandoned outbox messages re-queued in seconds; a sweep
moment run once however often it is enqueued, and none skipped across a scheduler restart.
"""

import json
from datetime import timedelta

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select, update

from bot import queued
from bot.models import InboundMessage
from casework import citizens, clock, incidents, locks
from casework.db import db
from casework.models import OutboxMessage
from casework.status import Channel
from server import housekeeping, jobs, processes, worker
from server.extensions import worker_redis
from tests.wechat_side import Sender, serving, wechat_config
from wechat import simulator

DEAD_POSTGRESQL = "postgresql+psycopg://postgres@127.0.0.1:1/none"  # nothing listens on port 1
DEAD_REDIS = "redis://127.0.0.1:1/0"


def run_jobs(app) -> None:
    db.session.rollback()
    worker.use_app(app)
    connection = worker_redis(app)
    SimpleWorker([Queue(name, connection=connection) for name in jobs.QUEUES], connection=connection).work(burst=True)
    db.session.expire_all()


def test_while_the_database_is_down_the_callback_keeps_messages_in_redis_and_the_drain_moves_them_in_order_once(
    make_app, fake, redis, redis_url
):
    up = make_app(**wechat_config(fake, REDIS_URL=redis_url, WECHAT_REPLY_MODE="queued", WECHAT_ALLOW_PLAINTEXT=False))
    down = make_app(
        **wechat_config(
            fake,
            REDIS_URL=redis_url,
            WECHAT_REPLY_MODE="queued",
            WECHAT_ALLOW_PLAINTEXT=False,
            SQLALCHEMY_DATABASE_URI=DEAD_POSTGRESQL,
        )
    )
    first = simulator.message("text", "o-outage-1", "小区门口有人打架", msg_id=9_300_000_001)
    second = simulator.message("text", "o-outage-1", "有人受伤了", msg_id=9_300_000_002)
    with serving(down) as url:
        sender = Sender(url, "safe")
        assert sender.reply(first) == "success"
        assert sender.reply(second) == "success"
        assert sender.reply(first) == "success"  # WeChat's retry of the first: kept again, drained as a no-op
    assert redis.xlen(queued.HELD) == 3
    with serving(up) as url:  # back up: while messages wait in Redis, a new one queues behind them
        third = simulator.message("text", "o-outage-1", "在3号楼", msg_id=9_300_000_003)
        assert Sender(url, "safe").reply(third) == "success"
    assert redis.xlen(queued.HELD) == 4
    with up.app_context():
        assert queued.drain_held(up.extensions["wx110.redis"]) == 4
        assert queued.drain_held(up.extensions["wx110.redis"]) == 0
        rows = db.session.execute(select(InboundMessage.key).order_by(InboundMessage.outbox_id)).scalars().all()
        assert rows == ["msg:9300000001", "msg:9300000002", "msg:9300000003"]  # arrival order, each once
        db.session.rollback()
        run_jobs(up)
        assert (
            db.session.scalar(select(func.count()).select_from(InboundMessage).where(InboundMessage.sent_at.is_(None)))
            == 0
        )
    custom = fake.sent("/cgi-bin/message/custom/send")
    pushes = [c.body["text"]["content"] for c in custom if c.body["touser"] == "o-outage-1"]
    assert len(pushes) == 3, pushes  # one reply per message, none for the retry, in the order they were sent:
    assert "您的报警已收到" in pushes[0]  # the report,
    assert pushes[1].startswith("已收到,已转给")  # the follow-up added to it,
    assert "在3号楼" in pushes[2]  # and the place, sent after the database was back


def test_when_neither_the_database_nor_redis_can_keep_a_message_the_callback_does_not_answer_200(make_app, fake):
    make_app()  # the test database, migrated (the first app built)
    nowhere = make_app(
        **wechat_config(
            fake,
            REDIS_URL=DEAD_REDIS,
            WECHAT_REPLY_MODE="queued",
            SQLALCHEMY_DATABASE_URI=DEAD_POSTGRESQL,
            WECHAT_UNKEPT_WAIT=0.5,
        )
    )
    with serving(nowhere) as url:
        response = Sender(url, "safe").post(simulator.message("text", "o-outage-2", "救命", msg_id=9_300_000_010))
    assert response.status_code == 503  # WeChat retries; a 200 here would lose the report


def _report_and_lose_the_queue(app, redis, *openids: str) -> list[int]:
    """Reports whose jobs were queued a minute ago, then lost by a Redis restart without persistence."""
    with app.app_context():
        for openid in openids:
            citizen = citizens.identify(oa_openid=openid)
            incidents.report(citizen=citizen, channel=Channel.WECHAT, description="电动车被偷了")
            db.session.commit()
        ids = db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.done_at.is_(None))).all()
        db.session.execute(
            update(OutboxMessage).values(
                dispatched_at=clock.now() - timedelta(seconds=60), created_at=clock.now() - timedelta(seconds=60)
            )
        )
        db.session.commit()
        db.session.remove()
    redis.flushdb()
    return list(ids)


def test_messages_a_redis_restart_lost_are_requeued_by_housekeeping_and_run(make_app, redis, redis_url):
    app = make_app(REDIS_URL=redis_url)
    ids = _report_and_lose_the_queue(app, redis, "o-outage-3")
    assert ids
    done = housekeeping.one_round(app, app.extensions["wx110.redis"])
    assert done["requeued"] == len(ids)
    assert housekeeping.one_round(app, app.extensions["wx110.redis"])["requeued"] == 0  # queued again: alive
    with app.app_context():
        run_jobs(app)
        assert (
            db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.done_at.is_(None)))
            == 0
        )


@pytest.mark.needs_postgresql
def test_a_job_in_the_started_registry_is_requeued_only_when_no_process_runs_it(make_app, redis, redis_url, backend):
    app = make_app(REDIS_URL=redis_url)
    dead, running = _report_and_lose_the_queue(app, redis, "o-outage-4", "o-outage-5")[:2]
    started = f"rq:wip:{jobs.QUEUES[1]}"
    # Both in a started registry, as a worker leaves its job; only `running`'s run lock is held by a live process.
    redis.zadd(started, {f"outbox-{dead}-aaaaaaaaaaaa:x": 9e9, f"outbox-{running}-bbbbbbbbbbbb:y": 9e9})
    with app.app_context(), locks.held(0x6F62, running):
        with app.app_context():
            requeued = housekeeping.requeue_abandoned(app.extensions["wx110.redis"], now=clock.now())
    with app.app_context():
        rows = dict(db.session.execute(select(OutboxMessage.id, OutboxMessage.dispatched_at)).all())
        db.session.rollback()
    assert requeued >= 1
    assert rows[dead] > clock.now() - timedelta(seconds=10)  # re-sent just now
    assert rows[running] < clock.now() - timedelta(seconds=30)  # left to the process running it
    redis.delete(started)
    with app.app_context():
        run_jobs(app)


def test_a_sweep_moment_enqueued_twice_runs_once(make_app, redis, redis_url):
    app = make_app(REDIS_URL=redis_url)
    queue = Queue("default", connection=redis)
    moment = "2026-12-01T04:00:00+00:00"
    for _ in range(2):
        queue.enqueue(worker.run_periodic, "outbox.relay", moment, job_id="periodic-outbox_relay-x")
    queue.enqueue(worker.run_periodic, "outbox.relay", "2026-12-01T04:00:02+00:00", job_id="periodic-outbox_relay-y")
    with app.app_context():
        run_jobs(app)
    ran = [r.return_value for r in queue.fetch_job("periodic-outbox_relay-x").results()]
    assert sorted(ran) == [False, True]
    assert [r.return_value for r in queue.fetch_job("periodic-outbox_relay-y").results()] == [True]


def test_the_scheduler_enqueues_every_moment_missed_while_it_was_down(make_app, redis, redis_url):
    app = make_app(REDIS_URL=redis_url)
    interval = app.config["OUTBOX_RELAY_SECONDS"]
    start = 1_800_000_000 // interval * interval
    first = [m for name, m in processes.schedule_round(app, redis, now=start + 0.5) if name == "outbox.relay"]
    assert first == [start]
    assert processes.schedule_round(app, redis, now=start + 0.9) == []
    later = [m for name, m in processes.schedule_round(app, redis, now=start + 5 * interval) if name == "outbox.relay"]
    assert later == [start + k * interval for k in range(1, 6)]  # none skipped, none twice
    payloads = [json.dumps(job.args) for job in Queue("default", connection=redis).get_jobs()]
    assert len([p for p in payloads if "outbox.relay" in p]) == 6
