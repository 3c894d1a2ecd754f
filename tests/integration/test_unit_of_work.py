"""One use case, one transaction: services called inside another join it, and a racing duplicate rolls back only
its SAVEPOINT."""

import pytest
from sqlalchemy import func, select

from casework import chat, citizens, idempotency, incidents
from casework.db import db
from casework.incidents import EvidenceSpec
from casework.models import Attachment, AttachmentKind, AuditEntry, ChatMessage, Incident, OutboxMessage
from casework.status import Channel
from casework.unit_of_work import transaction


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_services_inside_a_failed_use_case_leave_nothing(ctx, citizen):
    before = (count(Incident), count(Attachment), count(AuditEntry), count(OutboxMessage))
    with pytest.raises(RuntimeError), transaction():
        incident = incidents.report(
            citizen=citizen,
            channel=Channel.WECHAT,
            description="有人砸车",
            evidence=[EvidenceSpec(kind=AttachmentKind.IMAGE, source_ref="wechat:u1", wechat_media_id="M1")],
        )
        chat.add_message(incident=incident, actor=citizen, body="车牌是浙A12345")
        raise RuntimeError("the channel failed after the services returned")
    assert (count(Incident), count(Attachment), count(AuditEntry), count(OutboxMessage)) == before
    assert count(ChatMessage) == 0


def test_a_report_and_its_evidence_are_one_commit(ctx, citizen, background_fake):
    background_fake.media["V1"] = ("video/mp4", b"\x00\x00\x00\x18ftypmp42" + b"v" * 64)  # fetched by a job
    incident = incidents.report(
        citizen=citizen,
        channel=Channel.WECHAT,
        description="视频报警",
        source_msg_id="m-1",
        evidence=[EvidenceSpec(kind=AttachmentKind.VIDEO, source_ref="wechat:m-1", wechat_media_id="V1")],
    )
    db.session.rollback()  # nothing uncommitted is left: both are already durable
    stored = db.session.get(Incident, incident.id)
    assert [a.source_ref for a in stored.attachments] == ["wechat:m-1"]
    again = incidents.report(
        citizen=citizen,
        channel=Channel.WECHAT,
        description="视频报警",
        source_msg_id="m-1",
        evidence=[EvidenceSpec(kind=AttachmentKind.VIDEO, source_ref="wechat:m-1", wechat_media_id="V1")],
    )
    assert again.id == incident.id and count(Incident) == 1 and count(Attachment) == 1


def test_a_racing_duplicate_rolls_back_only_its_savepoint(ctx, citizen, monkeypatch):
    incident = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="门口有人吵架")
    winner = chat.add_message(incident=incident, actor=citizen, body="第一次投递", source_msg_id="wechat:dup")
    # The losing delivery looked before the winner committed: its first look finds nothing.
    real = idempotency.earlier
    looks = []

    def late(column, key):
        looks.append(key)
        return None if len(looks) == 1 else real(column, key)

    monkeypatch.setattr(idempotency, "earlier", late)
    with transaction():
        other = citizens.identify(oa_openid="openid-joined-use-case")  # the use case's own earlier work
        answer = chat.add_message(incident=incident, actor=citizen, body="重复投递", source_msg_id="wechat:dup")
    assert answer.id == winner.id and len(looks) == 2
    db.session.expire_all()
    assert db.session.get(type(other), other.id) is not None, "the rest of the use case was committed"
    assert count(ChatMessage) == 1
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.payload.like(f'%"chat_message_id": {winner.id + 1}%'))
        )
        == 0
    )


class Recording:
    def __init__(self):
        self.dispatched: list[int] = []

    def dispatch(self, messages):
        self.dispatched.extend(message_id for message_id, _ in messages)

    def enqueue(self, messages):
        return [message_id for message_id, _ in messages]


def test_jobs_are_dispatched_once_at_the_real_commit_not_at_a_savepoint(app):
    recording = app.extensions["wx110.dispatcher"] = Recording()
    with app.app_context():
        citizen = citizens.identify(oa_openid="openid-savepoint")
        with transaction():
            incident = incidents.report(
                citizen=citizen, channel=Channel.WECHAT, description="有人打架", source_msg_id="wechat:sp-1"
            )  # created inside a SAVEPOINT
            chat.add_message(incident=incident, actor=citizen, body="在三楼", source_msg_id="wechat:sp-2")
            assert recording.dispatched == [], "nothing is pushed before the use case commits"
        rows = db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)).all()
        assert rows and recording.dispatched == rows
        with pytest.raises(RuntimeError), transaction():
            incidents.report(citizen=citizen, channel=Channel.WECHAT, description="又一起", source_msg_id="wechat:sp-3")
            raise RuntimeError("rolled back")
        incidents.report(citizen=citizen, channel=Channel.WECHAT, description="第三起")
        later = db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.id.not_in(rows))).all()
        assert recording.dispatched == rows + later, "a rolled-back use case's jobs are forgotten, not pushed later"
