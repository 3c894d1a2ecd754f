"""WeChat's retries under load, against a real HTTP server on PostgreSQL and Redis."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bot.models import InboundMessage
from casework import audit
from casework.db import db
from casework.models import Incident
from tests.wechat_side import Sender, serving, wechat_config
from wechat import simulator

MESSAGES = 200
DELIVERIES = 3


@pytest.mark.parametrize("backend", ["postgresql"])
def test_200_messages_delivered_3_times_concurrently_make_200_incidents(make_app, fake, redis, redis_url, backend):
    app = make_app(**wechat_config(fake, REDIS_URL=redis_url))
    messages = [
        simulator.message("text", f"o-load-{i}", f"第{i}号报警:楼下有人争吵", msg_id=7 * 10**17 + i)
        for i in range(MESSAGES)
    ]
    deliveries = [m for m in messages for _ in range(DELIVERIES)]  # each retry right behind its original
    with serving(app) as url:
        senders = {mode: Sender(url, mode) for mode in simulator.MODES}

        def deliver(index_and_message):
            index, message = index_and_message
            return message["MsgId"], senders[simulator.MODES[index % 3]].reply(message)

        with ThreadPoolExecutor(max_workers=24) as pool:
            answers = list(pool.map(deliver, enumerate(deliveries)))

    by_message: dict[int, set[str]] = {}
    for msg_id, reply in answers:
        by_message.setdefault(msg_id, set()).add(reply)
    assert len(by_message) == MESSAGES
    assert all(len(replies) == 1 for replies in by_message.values()), "a retry got a different answer"
    assert all("警情编号" in next(iter(replies)) for replies in by_message.values())
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Incident)) == MESSAGES
        assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == MESSAGES
        sources = db.session.scalars(select(Incident.source_msg_id)).all()
        assert sorted(sources) == sorted(f"wechat:{7 * 10**17 + i}" for i in range(MESSAGES))
        assert audit.verify()[1] is None  # concurrent writers never forked the chain


def test_a_dead_redis_slows_nothing_down_to_failure(make_app, fake):
    """Redis unreachable: the report is still taken and acknowledged; the database guards retries alone."""
    app = make_app(**wechat_config(fake, REDIS_URL="redis://127.0.0.1:1/0"))
    message = simulator.message("text", "o-no-redis", "店里有人闹事", msg_id=555)
    with serving(app) as url:
        sender = Sender(url, "safe")
        first = sender.reply(message)
        assert "警情编号" in first and sender.reply(message) == first
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Incident)) == 1
