"""Queued reply mode: the callback captures and answers `success`; an rq worker handles and pushes the reply."""

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from bot.inbox import dedupe_key
from bot.models import InboundMessage
from bot.queued import handle_inbound
from casework import outbox, subscriptions
from casework.db import db
from casework.doorplates import token_for
from casework.models import AuditEntry, ChatMessage, Incident, OutboxMessage
from server import jobs, worker
from server.extensions import worker_redis
from supervision.models import DeadlineClock
from tests.wechat_side import Sender, serving, wechat_config
from wechat import simulator

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once
CUSTOM = "/cgi-bin/message/custom/send"


@pytest.fixture
def queued_app(make_app, fake, redis, redis_url):
    return make_app(**wechat_config(fake, REDIS_URL=redis_url, WECHAT_REPLY_MODE="queued"))


def run_jobs(app) -> None:
    """What `flask worker --burst` does: run everything queued on real Redis, then stop."""
    db.session.rollback()  # on SQLite an open transaction would hold the write lock the jobs need
    worker.use_app(app)
    connection = worker_redis(app)
    SimpleWorker([Queue(name, connection=connection) for name in jobs.QUEUES], connection=connection).work(burst=True)
    db.session.expire_all()


def count(model, *where) -> int:
    value = db.session.scalar(select(func.count()).select_from(model).where(*where))
    db.session.rollback()
    return value


def pushed(fake, openid: str) -> list[str]:
    """Customer-service texts the fake accepted (a call with a token another test's fake issued is refused)."""
    return [
        c.body["text"]["content"]
        for c in fake.sent(CUSTOM)
        if c.body and c.body.get("touser") == openid and c.params.get("access_token") in fake.tokens
    ]


def test_a_text_report_is_captured_answered_success_and_its_reply_pushed_by_the_job(queued_app, fake):
    message = simulator.message("text", "o-queued-1", "超市门口有人抢包", msg_id=9_100_000_001)
    with serving(queued_app) as url:
        assert Sender(url, "safe").reply(message) == "success"
    with queued_app.app_context():
        row = db.session.get(InboundMessage, f"msg:{message['MsgId']}")
        assert "超市门口有人抢包" in row.payload and row.reply is None and row.sent_at is None
        db.session.rollback()
        assert count(Incident) == 0, "the callback must only capture"
        assert pushed(fake, "o-queued-1") == []
        assert Queue("inbound", connection=worker_redis(queued_app)).count == 1

        run_jobs(queued_app)
        incident = db.session.scalar(select(Incident))
        number = incident.number
        assert incident.description == "超市门口有人抢包" and incident.source_msg_id == f"wechat:{message['MsgId']}"
        [text] = pushed(fake, "o-queued-1")
        assert "已收到" in text and number in text
        row = db.session.get(InboundMessage, f"msg:{message['MsgId']}")
        assert row.reply == text and row.sent_via == "custom" and row.sent_at is not None
        db.session.rollback()

        # The job delivered again (at least once): nothing acts or sends twice.
        job = db.session.scalar(select(OutboxMessage).where(OutboxMessage.job == "bot.handle_inbound"))
        db.session.rollback()
        queued_app.extensions["wx110.dispatcher"].enqueue([(job.id, "inbound")])
        run_jobs(queued_app)
        handle_inbound(f"msg:{message['MsgId']}")
        assert count(Incident) == 1 and len(pushed(fake, "o-queued-1")) == 1


def test_a_message_delivered_three_times_makes_one_incident_and_one_pushed_reply(queued_app, fake):
    message = simulator.message("text", "o-queued-3x", "有人翻墙进了小区", msg_id=9_100_000_003)
    with serving(queued_app) as url:
        senders = [Sender(url, mode) for mode in simulator.MODES]
        with ThreadPoolExecutor(max_workers=3) as pool:
            answers = list(pool.map(lambda sender: sender.reply(message), senders))
        assert answers == ["success"] * 3
        assert Sender(url, "safe").reply(message) == "success"  # a late retry, after capture
    with queued_app.app_context():
        assert count(InboundMessage) == 1
        assert count(OutboxMessage, OutboxMessage.job == "bot.handle_inbound") == 1
        run_jobs(queued_app)
        assert count(Incident) == 1
        [text] = pushed(fake, "o-queued-3x")
        assert db.session.scalar(select(Incident.number)) in text


def test_doorplate_scan_then_text_is_handled_in_order_even_when_the_text_job_runs_first(queued_app, fake, world):
    plate = world.doorplate("DH-0001")
    scene, address, plate_id = f"dp:{token_for(plate)}", plate.address, plate.id
    db.session.rollback()
    openid = "o-queued-plate"
    scan = simulator.event("scan", openid, scene)
    report = simulator.message("text", openid, "楼道里有煤气味", msg_id=9_100_000_010)
    follow_up = simulator.message("text", openid, "味道越来越大了", msg_id=9_100_000_011)
    with serving(queued_app) as url:
        send = Sender(url, "safe").reply
        assert [send(scan), send(report), send(follow_up)] == ["success"] * 3

    # A worker happens to pick the follow-up's job first: it must still see the scan, then the report.
    with queued_app.app_context():
        last = db.session.scalar(select(InboundMessage.outbox_id).where(InboundMessage.key == dedupe_key(follow_up)))
        db.session.commit()
        outbox.execute(last)
        incident = db.session.scalar(select(Incident))
        assert incident.doorplate_id == plate_id and incident.description == "楼道里有煤气味"
        number = incident.number
        db.session.rollback()
        texts = pushed(fake, openid)
        assert len(texts) == 3
        assert address in texts[0] and "警情编号" not in texts[0]
        assert "已收到" in texts[1] and number in texts[1] and address in texts[1]
        assert number in texts[2]
        assert db.session.scalar(select(ChatMessage.body)) == "味道越来越大了"
        db.session.rollback()

        run_jobs(queued_app)  # the other two jobs find their messages handled and sent
        assert count(Incident) == 1 and len(pushed(fake, openid)) == 3


def test_with_redis_down_the_message_is_captured_and_relayed_later(make_app, fake, redis, redis_url):
    down = make_app(**wechat_config(fake, REDIS_URL=DEAD_REDIS, WECHAT_REPLY_MODE="queued"))
    message = simulator.message("text", "o-queued-noredis", "路口有车辆相撞", msg_id=9_100_000_020)
    with serving(down) as url:
        assert Sender(url, "safe").reply(message) == "success"
    with down.app_context():
        row = db.session.get(InboundMessage, f"msg:{message['MsgId']}")
        job = db.session.get(OutboxMessage, row.outbox_id)
        assert row.payload and job.job == "bot.handle_inbound" and job.dispatched_at is None
        db.session.rollback()
        assert count(Incident) == 0

    up = make_app(**wechat_config(fake, REDIS_URL=redis_url, WECHAT_REPLY_MODE="queued"))
    with up.app_context():
        assert jobs.relay_pending(grace_seconds=0) == 1
        run_jobs(up)
        number = db.session.scalar(select(Incident.number))
        db.session.rollback()
        [text] = pushed(fake, "o-queued-noredis")
        assert number in text and "已收到" in text


def test_outside_the_48_hour_window_the_reply_goes_as_a_template(queued_app, fake):
    queued_app.config["WECHAT_CHAT_TEMPLATE_ID"] = "TPL_CHAT"
    fake.outside_window.add("o-queued-late")
    message = simulator.message("text", "o-queued-late", "门口停的车被砸了", msg_id=9_100_000_030)
    with serving(queued_app) as url:
        assert Sender(url, "plain").reply(message) == "success"
    with queued_app.app_context():
        run_jobs(queued_app)
        number = db.session.scalar(select(Incident.number))
        db.session.rollback()
        [template] = [c.body for c in fake.sent("/cgi-bin/message/template/send")]
        assert template["template_id"] == "TPL_CHAT" and template["touser"] == "o-queued-late"
        assert number in template["data"]["remark"]["value"]
        row = db.session.get(InboundMessage, f"msg:{message['MsgId']}")
        assert row.sent_via == "template"


def test_an_unknown_reply_mode_is_refused_at_start(make_app):
    with pytest.raises(ValueError, match="WECHAT_REPLY_MODE"):
        make_app(WECHAT_REPLY_MODE="later")


def test_without_redis_the_in_process_dispatcher_runs_the_queued_job(make_app, fake):
    app = make_app(**wechat_config(fake, WECHAT_REPLY_MODE="queued"))
    message = simulator.message("text", "o-queued-inproc", "小区里有人偷电瓶车", msg_id=9_100_000_040)
    with serving(app) as url:
        assert Sender(url, "compatible").reply(message) == "success"
    app.extensions["wx110.dispatcher"].drain()
    with app.app_context():
        number = db.session.scalar(select(Incident.number))
        db.session.rollback()
        texts = pushed(fake, "o-queued-inproc")
        assert len(texts) == 1, texts
        [text] = texts
        assert number in text


def _capture_one(app, openid: str, msg_id: int) -> int:
    """Send one report through the callback; the id of the outbox message that will handle it."""
    message = simulator.message("text", openid, "菜场门口有人打架", msg_id=msg_id)
    with serving(app) as url:
        assert Sender(url, "safe").reply(message) == "success"
    [queued_job] = Queue("inbound", connection=worker_redis(app)).jobs
    return queued_job.args[0]


def test_the_jobs_a_report_schedules_run_in_its_transaction_and_the_rest_right_after_it(queued_app, fake):
    with queued_app.app_context():
        message_id = _capture_one(queued_app, "o-queued-follow", 9_100_000_900)
        worker.use_app(queued_app)
        assert worker.run_outbox_message(message_id) is True  # what one rq job runs
        connection = worker_redis(queued_app)
        # Nothing reached the other queues (the inbound job itself is still there: rq was not the one running it).
        assert [Queue(name, connection=connection).count for name in ("default", "media", "notify")] == [0, 0, 0]
        done = dict(db.session.execute(select(OutboxMessage.job, OutboxMessage.attempts)).all())
        db.session.rollback()
        # Routing and the supervision clock joined the report's own transaction: no jobs of their own.
        assert done == {"bot.handle_inbound": 1}
        assert count(DeadlineClock) == 1
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
        assert actions.index("incident.reported") < actions.index("clock.started")
        assert count(OutboxMessage, OutboxMessage.done_at.is_(None)) == 0
        assert len(pushed(fake, "o-queued-follow")) == 1


def test_a_follow_up_that_fails_is_handed_to_the_queue_for_its_retries(queued_app, fake):
    subs = subscriptions.of(queued_app)
    route = subs.jobs["incident.route"]

    def broken(**_payload):
        raise RuntimeError("routing is down")

    subs.jobs["incident.route"] = dataclasses.replace(route, func=broken)
    with queued_app.app_context():
        message_id = _capture_one(queued_app, "o-queued-follow-2", 9_100_000_901)
        worker.use_app(queued_app)
        assert worker.run_outbox_message(message_id) is True  # the report and its reply do not depend on routing
        assert len(pushed(fake, "o-queued-follow-2")) == 1
        failed = db.session.scalar(select(OutboxMessage).where(OutboxMessage.job == "incident.route"))
        assert failed.done_at is None and failed.attempts == 1 and "routing is down" in failed.last_error
        db.session.rollback()
        [queued_job] = Queue("default", connection=worker_redis(queued_app)).jobs
        assert queued_job.args == (failed.id,)

        subs.jobs["incident.route"] = route  # routing is back: the queue's run completes it
        run_jobs(queued_app)
        assert count(OutboxMessage, OutboxMessage.done_at.is_(None)) == 0
