"""Claims are leases: a `wechat_inbound` claim left without a reply (its claimant died between claim and release)
is taken over by WeChat's next delivery of that MsgId, which handles it, once."""

from datetime import timedelta

from sqlalchemy import func, select

from bot.models import InboundMessage
from casework import clock
from casework.db import db
from casework.models import Incident
from tests.wechat_side import Sender, serving, wechat_config
from wechat import simulator


def _abandoned_claim(key: str, openid: str, age: float, payload: str | None = None) -> None:
    db.session.add(
        InboundMessage(
            key=key,
            openid=openid,
            msg_type="text",
            received_at=clock.now() - timedelta(seconds=age),
            payload=payload,
        )
    )
    db.session.commit()


def _incidents() -> int:
    found = db.session.scalar(select(func.count()).select_from(Incident))
    db.session.rollback()
    return found


def test_a_claim_without_a_reply_older_than_the_lease_is_taken_over_and_handled_once(make_app, fake):
    app = make_app(**wechat_config(fake, WECHAT_CLAIM_LEASE_SECONDS=5.0, WECHAT_DUPLICATE_WAIT=0.3))
    message = simulator.message("text", "o-lease", "楼下有人打架", msg_id=880001)
    with serving(app) as url, app.app_context():
        _abandoned_claim("msg:880001", "o-lease", age=30)
        send = Sender(url).reply
        first = send(message)
        assert "警情编号" in first and _incidents() == 1
        row = db.session.get(InboundMessage, "msg:880001")
        assert row.reply == first
        db.session.rollback()
        assert send(message) == first and _incidents() == 1  # a later retry: the stored reply, no second report


def test_a_fresh_claim_is_left_to_its_claimant(make_app, fake):
    app = make_app(**wechat_config(fake, WECHAT_CLAIM_LEASE_SECONDS=60.0, WECHAT_DUPLICATE_WAIT=0.3))
    message = simulator.message("text", "o-busy", "楼下有人打架", msg_id=880002)
    with serving(app) as url, app.app_context():
        _abandoned_claim("msg:880002", "o-busy", age=1)
        assert Sender(url).reply(message) == "success"  # still in progress elsewhere: that delivery answers
        assert _incidents() == 0


def test_a_queued_capture_is_never_taken_over(make_app, fake):
    """A captured message without a reply is waiting for its job, not abandoned."""
    app = make_app(**wechat_config(fake, WECHAT_CLAIM_LEASE_SECONDS=5.0, WECHAT_DUPLICATE_WAIT=0.3))
    message = simulator.message("text", "o-captured", "楼下有人打架", msg_id=880003)
    with serving(app) as url, app.app_context():
        _abandoned_claim("msg:880003", "o-captured", age=30, payload=simulator.xml_of(message))
        assert Sender(url).reply(message) == "success"
        assert _incidents() == 0
