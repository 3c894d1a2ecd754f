"""Nothing acknowledged is lost: when the database fails inside the callback's transaction (a PostgreSQL trigger
that raises, at the INSERT or at COMMIT), the citizen is not told 已收到, nothing is stored, and WeChat's retry
once the database works again creates exactly one incident. Inline and queued reply modes."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select, text

from bot import replies
from bot.models import InboundMessage
from casework.db import db
from casework.models import Attachment, AuditEntry, Incident, OutboxMessage
from server import jobs, worker
from server.extensions import worker_redis
from tests.wechat_side import KEYS, Sender, serving, wechat_config
from wechat import simulator

pytestmark = pytest.mark.needs_postgresql
CUSTOM = "/cgi-bin/message/custom/send"
WHEN = {
    # at the INSERT of the incident row (the flush inside the use case)
    "insert": "CREATE TRIGGER wx110_test_fault AFTER INSERT ON incident FOR EACH ROW "
    "EXECUTE FUNCTION wx110_test_fault()",
    # at COMMIT (a deferred constraint trigger): the last moment the transaction can fail
    "commit": "CREATE CONSTRAINT TRIGGER wx110_test_fault AFTER INSERT ON incident DEFERRABLE INITIALLY DEFERRED "
    "FOR EACH ROW EXECUTE FUNCTION wx110_test_fault()",
}


@contextmanager
def failing_incident_insert(app, when: str) -> Iterator[None]:
    """Every transaction that inserts an incident fails (at `when`) while the block runs; dropped on exit."""
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(
            text(
                "CREATE OR REPLACE FUNCTION wx110_test_fault() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'injected database failure'; END $$"
            )
        )
        connection.execute(text(WHEN[when]))
    try:
        yield
    finally:
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(text("DROP TRIGGER IF EXISTS wx110_test_fault ON incident"))
            connection.execute(text("DROP FUNCTION IF EXISTS wx110_test_fault()"))


def stored(app) -> dict[str, int]:
    """What a report leaves behind, counted."""
    with app.app_context():
        counts = {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Incident, Attachment, OutboxMessage, InboundMessage)
        }
        counts["incident audit"] = db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.subject_type == "incident")
        )
        db.session.remove()
    return counts


def pushed(fake, openid: str) -> list[str]:
    return [
        c.body["text"]["content"]
        for c in fake.sent(CUSTOM)
        if c.body and c.body.get("touser") == openid and c.params.get("access_token") in fake.tokens
    ]


def answer_text(response) -> str:
    assert response.status_code == 200, response.text
    answer = simulator.read_reply(response.text, KEYS)
    return answer if isinstance(answer, str) else answer["Content"]


@pytest.mark.parametrize("when", WHEN)
def test_inline_mode_a_failed_commit_is_never_acknowledged_and_the_retry_reports_once(
    postgresql_only, make_app, fake, when
):
    app = make_app(**wechat_config(fake))
    message = simulator.message("text", "o-fault-inline", "小区门口有人持刀", msg_id=7_300_000_001)
    with serving(app) as url:
        sender = Sender(url, "safe")
        with failing_incident_insert(app, when):
            first = answer_text(sender.post(message))
        assert "已收到" not in first and first == replies.BUSY
        assert stored(app) == {
            "incident": 0,
            "attachment": 0,
            "outbox_message": 0,
            "wechat_inbound": 0,
            "incident audit": 0,
        }

        retry = answer_text(sender.post(message))  # WeChat's retry, the database working again
        again = answer_text(sender.post(message))
    with app.app_context():
        [incident] = db.session.scalars(select(Incident)).all()
        assert "已收到" in retry and incident.number in retry and again == retry
        assert incident.source_msg_id == f"wechat:{message['MsgId']}"
        db.session.remove()
    assert stored(app)["incident audit"] == 1


def run_jobs(app) -> None:
    """What `flask worker --burst` does: run everything queued on real Redis, then stop."""
    worker.use_app(app)
    connection = worker_redis(app)
    SimpleWorker([Queue(name, connection=connection) for name in jobs.QUEUES], connection=connection).work(burst=True)


@pytest.mark.expect_job_failures  # the job meets the injected failure once, by design
@pytest.mark.parametrize("when", WHEN)
def test_queued_mode_a_failed_commit_is_never_acknowledged_and_the_retry_reports_once(
    postgresql_only, make_app, fake, redis, redis_url, when
):
    app = make_app(**wechat_config(fake, REDIS_URL=redis_url, WECHAT_REPLY_MODE="queued"))
    openid = "o-fault-queued"
    message = simulator.message("text", openid, "银行门口有人抢包", msg_id=7_300_000_002)
    with serving(app) as url:
        sender = Sender(url, "safe")
        with failing_incident_insert(app, when):
            assert sender.reply(message) == "success"  # captured: that commit touches no incident
            run_jobs(app)
        assert pushed(fake, openid) == [], "nothing may be pushed for a report that was not committed"
        counts = stored(app)
        assert (counts["incident"], counts["incident audit"], counts["attachment"]) == (0, 0, 0)
        with app.app_context():
            row = db.session.get(InboundMessage, f"msg:{message['MsgId']}")
            assert row.reply is None and row.sent_at is None  # the handler's failure left no stored reply
            job = db.session.scalar(select(OutboxMessage).where(OutboxMessage.job == "bot.handle_inbound"))
            assert job.done_at is None and "injected database failure" in job.last_error
            job_id = job.id
            db.session.remove()

        assert sender.reply(message) == "success"  # WeChat's retry: already captured, nothing new
        app.extensions["wx110.dispatcher"].enqueue([(job_id, "inbound")])  # rq's retry of the job
        run_jobs(app)
        app.extensions["wx110.dispatcher"].enqueue([(job_id, "inbound")])  # and a duplicate delivery
        run_jobs(app)
    with app.app_context():
        [incident] = db.session.scalars(select(Incident)).all()
        [reply] = pushed(fake, openid)
        assert "已收到" in reply and incident.number in reply
        assert db.session.get(OutboxMessage, job_id).done_at is not None
        db.session.remove()
    assert stored(app)["incident audit"] == 1
