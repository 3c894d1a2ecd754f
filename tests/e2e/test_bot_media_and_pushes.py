"""Jobs behind the chat window: a WeChat video ends up stored and hashed; officers' messages and progress reach
the citizen (customer-service message, or a template message outside the 48-hour window)."""

import hashlib
import os

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import select

from bot.outbound import fetch_media
from casework import chat, citizens, incidents
from casework.db import db
from casework.models import Attachment, AttachmentKind, AttachmentState, AuditEntry, ChatMessage, Incident, Officer
from casework.status import IncidentStatus
from media.storage import storage
from server import worker
from server.extensions import worker_redis
from server.jobs import QUEUES
from tests.wechat_side import Sender, serving, wechat_config
from wechat import simulator


def run_jobs(app) -> None:
    """What `flask worker --burst` does: an rq worker on real Redis runs everything queued, then stops."""
    worker.use_app(app)
    connection = worker_redis(app)
    SimpleWorker([Queue(name, connection=connection) for name in QUEUES], connection=connection).work(burst=True)


def settle(app) -> None:
    """Let the in-process job thread run everything scheduled (ending our transaction first: SQLite's lock)."""
    db.session.rollback()
    app.extensions["wx110.dispatcher"].drain()


def test_video_message_ends_stored_and_hashed_via_rq(make_app, fake, redis, redis_url, tmp_path):
    app = make_app(**wechat_config(fake, REDIS_URL=redis_url, MEDIA_ROOT=str(tmp_path)))
    payload = os.urandom(3 * 1024 * 1024 + 17)
    fake.media["VIDEO_MEDIA_1"] = ("video/mp4", payload)
    with serving(app) as url:
        reply = Sender(url, "safe").reply(simulator.message("video", "o-video", media_id="VIDEO_MEDIA_1"))
    assert "警情编号" in reply
    with app.app_context():
        attachment = db.session.scalar(select(Attachment))
        assert attachment.state == AttachmentState.PENDING.value  # the callback never downloads inline
        db.session.rollback()
        run_jobs(app)
        attachment = db.session.scalar(select(Attachment))
        assert attachment.state == AttachmentState.STORED.value
        assert attachment.sha256 == hashlib.sha256(payload).hexdigest() and attachment.size == len(payload)
        assert attachment.incident.description == "视频报警"
        with storage().open(attachment.storage_key) as stored:
            assert stored.read() == payload
        assert [c.params["media_id"] for c in fake.sent("/cgi-bin/media/get")] == ["VIDEO_MEDIA_1"]
        assert len(fake.sent("/fake-media/VIDEO_MEDIA_1")) == 1
        stored_audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "attachment.stored"))
        assert stored_audit.subject_id == attachment.id
        attachment_id = attachment.id
        db.session.rollback()
        fetch_media(attachment_id)  # delivered again: nothing happens
        assert len(fake.sent("/fake-media/VIDEO_MEDIA_1")) == 1


@pytest.mark.expect_job_failures  # WeChat answers "busy" to every download, on purpose
def test_failed_downloads_are_counted_and_visible(make_app, fake):
    app = make_app(**wechat_config(fake))
    attempts = app.config["WECHAT_MEDIA_FETCH_ATTEMPTS"]
    fake.media["BUSY_MEDIA"] = ("image/jpeg", b"\xff\xd8\xff" + b"\x00" * 64)
    fake.fail_next += [("/cgi-bin/media/get", -1)] * attempts  # a transient error: retried, counted
    with app.app_context():
        citizen = citizens.identify(oa_openid="o-busy")
        incident = incidents.report(citizen=citizen, channel="wechat", description="图片报警")
        attachment = incidents.attach_evidence(
            incident=incident,
            actor=citizen,
            kind=AttachmentKind.IMAGE,
            source_ref="wechat:1",
            wechat_media_id="BUSY_MEDIA",
        )
        attachment_id = attachment.id
        db.session.commit()
        app.extensions["wx110.dispatcher"].drain()  # the job ran once already, in the background
        for _ in range(attempts - 2):
            with pytest.raises(Exception, match="-1"):
                fetch_media(attachment_id)
        attachment = db.session.get(Attachment, attachment_id)
        assert attachment.attempts == attempts - 1 and attachment.state == AttachmentState.PENDING.value
        assert not fake.sent("/cgi-bin/message/custom/send")  # nobody is asked again while retries remain
        db.session.rollback()
        with pytest.raises(Exception, match="-1"):
            fetch_media(attachment_id)
        attachment = db.session.get(Attachment, attachment_id)
        assert attachment.attempts == attempts
        assert attachment.state == AttachmentState.FAILED.value and "-1" in attachment.error
        notes = [e.internal_note for e in attachment.incident.timeline if e.kind == "evidence_failed"]
        assert len(notes) == 1 and "下载失败" in notes[0]
        db.session.rollback()
        app.extensions["wx110.dispatcher"].drain()
        asked = [c.body["text"]["content"] for c in fake.sent("/cgi-bin/message/custom/send")]
        assert len(asked) == 1 and "图片未能接收" in asked[0] and "请重新发送" in asked[0]


def test_officer_messages_and_progress_reach_the_citizen(make_app, fake, world, command_centre):
    app = make_app(**wechat_config(fake))
    openid, dispatcher_id = "o-push", command_centre.id
    db.session.rollback()  # release the fixtures' SQLite transaction before the server writes
    with serving(app) as url:
        send = Sender(url).reply
        send(simulator.message("text", openid, "家门口有可疑人员徘徊"))
        with app.app_context():
            incident = db.session.scalar(select(Incident))
            officer = db.session.get(Officer, dispatcher_id)
            message = chat.add_message(incident=incident, actor=officer, body="请问对方穿什么颜色的衣服?")
            message_id = message.id
            settle(app)
            assert db.session.get(ChatMessage, message_id).delivered_at is not None
            sent = fake.sent("/cgi-bin/message/custom/send")[-1].body
            assert sent["touser"] == openid and "穿什么颜色" in sent["text"]["content"]

            fake.outside_window.add(openid)
            incident = db.session.get(Incident, incident.id)
            incidents.change_status(incident=incident, actor=officer, status=IncidentStatus.DISPATCHED)
            settle(app)
            template = fake.sent("/cgi-bin/message/template/send")[-1].body
            assert template["touser"] == openid and template["template_id"] == "TPL_PROGRESS"
            assert template["data"]["keyword2"]["value"] == "已派警"
            db.session.rollback()
        # The citizen answers in the chat window: it joins the incident's chat, not a new report.
        assert "已转给" in send(simulator.message("text", openid, "黑色外套,戴帽子"))
        with app.app_context():
            bodies = db.session.scalars(select(ChatMessage.body).order_by(ChatMessage.id)).all()
            assert bodies[-1] == "黑色外套,戴帽子"


def test_follow_up_window_and_conversation_state_live_in_redis(make_app, fake, redis, redis_url):
    app = make_app(**wechat_config(fake, REDIS_URL=redis_url, WECHAT_FOLLOWUP_WINDOW=60))
    openid = "o-window"
    with serving(app) as url:
        send = Sender(url, "compatible").reply
        assert "警情编号" in send(simulator.message("text", openid, "有人在砸车"))
        assert "已转给" in send(simulator.message("text", openid, "两个人"))
        assert 0 < redis.ttl(f"wx110:bot:follow:{openid}") <= 60  # Redis ends the window after 60 s
        redis.delete(f"wx110:bot:follow:{openid}")  # as it will have by then, without sleeping through it
        assert "警情编号" in send(simulator.message("text", openid, "另一件事:路口红绿灯坏了"))
        redis.delete(*redis.keys("wx110:bot:reply:*"))  # Redis forgets the answers: the database still has them
        again = simulator.message("text", openid, "有人在砸车", msg_id=4242)
        first = send(again)
        redis.delete(*redis.keys("wx110:bot:reply:*"))
        assert send(again) == first
    with app.app_context():
        assert len(db.session.scalars(select(Incident)).all()) == 2
