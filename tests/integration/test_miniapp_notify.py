"""Mini-program notifications: consents are recorded, one subscribe message is sent per consent when the timeline
moves, an officer writes in the chat or a complaint is answered (through the outbox); "no consent left" (43101) is
absorbed; a job run twice sends once; an officer's message that reached no one says so (official account too)."""

import uuid

import pytest
from sqlalchemy import select

from casework import chat, citizens, complaints, incidents, seed
from casework.complaint_status import ComplaintStatus
from casework.db import db
from casework.models import AuditEntry, ChatMessage, OutboxMessage, Undelivered
from casework.status import Channel, IncidentStatus
from miniapp_api import consents
from miniapp_api.models import ConsentState, SubscribeConsent
from tests.complaint_steps import walk

SEND = "/cgi-bin/message/subscribe/send"


@pytest.fixture
def notify_app(make_app, fake_wechat):
    # A fresh app id per test: the client caches tokens per app id in-process, and each test has its own fake.
    app = make_app(
        WECHAT_API_BASE=fake_wechat.base_url,
        MINIAPP_APPID=f"wx-{uuid.uuid4().hex[:8]}",
        MINIAPP_SECRET="s",
        MINIAPP_PROGRESS_TEMPLATE_ID="tmpl-progress",
    )
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        yield app
        db.session.remove()


def drain(app):
    app.extensions["wx110.dispatcher"].drain()
    db.session.expire_all()


def advance(app, incident, status):
    entry = incidents.change_status(incident=incident, actor=seed.officer("100007"), status=status)
    drain(app)
    return entry


def states():
    return [c.state for c in db.session.scalars(select(SubscribeConsent).order_by(SubscribeConsent.id))]


def test_one_message_per_consent_then_silence(notify_app, fake_wechat):
    citizen = citizens.identify(miniapp_openid="mini-1")
    incident = incidents.report(citizen=citizen, channel=Channel.MINIAPP, description="有人吵架")
    recorded = consents.record(
        citizen=citizen, results={"tmpl-progress": "accept", "tmpl-other": "reject"}, incident=incident
    )
    consents.record(citizen=citizen, results={"tmpl-progress": "accept"})
    assert recorded == 1 and consents.available(citizen) == 2

    advance(notify_app, incident, IncidentStatus.DISPATCHED)
    sent = fake_wechat.sent(SEND)
    assert len(sent) == 1
    assert sent[0].body["touser"] == "mini-1" and sent[0].body["template_id"] == "tmpl-progress"
    assert sent[0].body["data"]["character_string1"]["value"] == incident.number
    assert sent[0].body["data"]["phrase2"]["value"] == "已派警"
    assert sent[0].body["page"] == f"pages/incident/detail?id={incident.id}"
    # The consent given for this very incident is spent first.
    assert states() == [ConsentState.SENT, ConsentState.AVAILABLE]

    advance(notify_app, incident, IncidentStatus.ON_SCENE)
    advance(notify_app, incident, IncidentStatus.HANDLED)
    assert len(fake_wechat.sent(SEND)) == 2  # two consents, two messages; the third step has none left
    assert states() == [ConsentState.SENT, ConsentState.SENT]
    assert all(m.done_at is not None for m in db.session.scalars(select(OutboxMessage)))


def test_no_consent_left_is_absorbed_and_voids_the_stale_records(notify_app, fake_wechat):
    citizen = citizens.identify(miniapp_openid="mini-2")
    incident = incidents.report(citizen=citizen, channel=Channel.MINIAPP, description="求助")
    consents.record(citizen=citizen, results={"tmpl-progress": "accept"})
    consents.record(citizen=citizen, results={"tmpl-progress": "accept"})
    fake_wechat.consents_exhausted.add("mini-2")
    advance(notify_app, incident, IncidentStatus.DISPATCHED)
    assert len(fake_wechat.sent(SEND)) == 1
    assert states() == [ConsentState.REFUSED, ConsentState.REFUSED]
    job = db.session.scalar(select(OutboxMessage).where(OutboxMessage.job == "miniapp.notify_progress"))
    assert job.done_at is not None and job.last_error is None  # handled, not a failure to retry


@pytest.mark.expect_job_failures  # WeChat answers 45009 once, on purpose
def test_the_job_is_idempotent_and_a_transient_error_keeps_the_consent(notify_app, fake_wechat):
    citizen = citizens.identify(miniapp_openid="mini-3")
    incident = incidents.report(citizen=citizen, channel=Channel.MINIAPP, description="丢失钱包")
    consents.record(citizen=citizen, results={"tmpl-progress": "accept"})
    fake_wechat.fail_next.append((SEND, 45009))  # e.g. WeChat's rate limit: try again later
    entry = advance(notify_app, incident, IncidentStatus.DISPATCHED)
    assert states() == [ConsentState.AVAILABLE]
    job = db.session.scalar(select(OutboxMessage).where(OutboxMessage.job == "miniapp.notify_progress"))
    assert job.done_at is None and "45009" in job.last_error

    consents.notify_progress(incident_id=incident.id, timeline_entry_id=entry.id)  # the retry
    consents.notify_progress(incident_id=incident.id, timeline_entry_id=entry.id)  # delivered twice
    ok = [c for c in fake_wechat.sent(SEND) if c.body]
    assert len(ok) == 2  # the failed attempt and exactly one successful send
    assert states() == [ConsentState.SENT]


def test_a_citizen_without_the_mini_program_gets_nothing(notify_app, fake_wechat):
    citizen = citizens.identify(oa_openid="oa-only")
    incident = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="噪音扰民")
    advance(notify_app, incident, IncidentStatus.DISPATCHED)
    assert fake_wechat.sent(SEND) == []


def chat_state(message_id):
    message = db.session.get(ChatMessage, message_id)
    return message.delivered_at is not None, message.undelivered_reason, message.delivery_label


def test_an_officer_s_chat_message_spends_one_consent_and_says_when_it_could_not_reach(notify_app, fake_wechat):
    citizen = citizens.identify(miniapp_openid="mini-chat")
    incident = incidents.report(
        citizen=citizen, channel=Channel.MINIAPP, description="楼道里有烟味", doorplate=seed.doorplate("DH-0001")
    )
    consents.record(citizen=citizen, results={"tmpl-progress": "accept"}, incident=incident)
    dispatcher = seed.officer("100001")

    first = chat.add_message(incident=incident, actor=dispatcher, body="请先离开楼道,民警马上到")
    drain(notify_app)
    sent = fake_wechat.sent(SEND)
    assert len(sent) == 1 and sent[0].body["touser"] == "mini-chat"
    assert sent[0].body["data"]["phrase2"]["value"] == "民警留言"
    assert sent[0].body["data"]["thing3"]["value"].startswith("请先离开楼道")
    assert sent[0].body["page"] == f"pages/incident/chat?id={incident.id}"
    assert chat_state(first.id) == (True, None, "已送达")
    assert states() == [ConsentState.SENT]

    # No consent left: nothing is sent, and the officer sees that the citizen was not reached.
    second = chat.add_message(incident=incident, actor=dispatcher, body="到了吗?")
    drain(notify_app)
    assert len(fake_wechat.sent(SEND)) == 1
    delivered, reason, label = chat_state(second.id)
    assert (delivered, reason) == (False, Undelivered.NO_CONSENT.value) and label.startswith("未能送达")
    audit_actions = [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.subject_id == second.id))]
    assert "chat.message_undelivered" in audit_actions

    # Running the jobs again sends nothing more and spends nothing more.
    consents.record(citizen=citizen, results={"tmpl-progress": "accept"})
    consents.notify_chat_message(chat_message_id=first.id)
    consents.notify_chat_message(chat_message_id=second.id)
    assert len(fake_wechat.sent(SEND)) == 1 and states() == [ConsentState.SENT, ConsentState.AVAILABLE]


def test_a_complaint_answer_reaches_the_mini_program_complainant_once(notify_app, fake_wechat):
    citizen = citizens.identify(miniapp_openid="mini-complains")
    incident = incidents.report(
        citizen=citizen, channel=Channel.MINIAPP, description="电动车被盗", doorplate=seed.doorplate("DH-0001")
    )
    complaint = complaints.file(citizen=citizen, incident=incident, body="三天了没人联系我")
    drain(notify_app)
    consents.record(citizen=citizen, results={"tmpl-progress": "accept"})
    walk(
        complaint,
        ComplaintStatus.ANSWERED,
        supervisor=seed.officer("100005"),
        explainer=seed.officer("100002"),
        answer="已责成派出所今日回访。",
    )
    db.session.commit()  # walk's last read holds a transaction (on SQLite, the write lock) the jobs need
    drain(notify_app)
    sent = fake_wechat.sent(SEND)
    assert len(sent) == 1 and sent[0].body["touser"] == "mini-complains"
    data = sent[0].body["data"]
    assert data["character_string1"]["value"] == complaint.number and data["phrase2"]["value"] == "投诉已答复"
    assert data["thing3"]["value"] == "已责成派出所今日回访。"
    assert sent[0].body["page"] == f"pages/complaint/detail?id={complaint.id}"
    consents.record(citizen=citizen, results={"tmpl-progress": "accept"})
    consents.notify_complaint_answer(complaint_id=complaint.id)  # run again: already told
    assert len(fake_wechat.sent(SEND)) == 1 and states() == [ConsentState.SENT, ConsentState.AVAILABLE]


def test_an_official_account_citizen_outside_the_window_is_marked_unreached(notify_app, fake_wechat):
    citizen = citizens.identify(oa_openid="oa-silent")
    incident = incidents.report(
        citizen=citizen, channel=Channel.WECHAT, description="有人敲门", doorplate=seed.doorplate("DH-0001")
    )
    fake_wechat.outside_window.add("oa-silent")  # and no chat template configured in this app
    message = chat.add_message(incident=incident, actor=seed.officer("100001"), body="请开门,我是民警")
    drain(notify_app)
    assert fake_wechat.sent(SEND) == []
    assert chat_state(message.id)[:2] == (False, Undelivered.OUTSIDE_WINDOW.value)


def test_a_chat_push_whose_run_died_after_sending_is_recorded_as_delivered_not_sent_again(notify_app, fake_wechat):
    citizen = citizens.identify(miniapp_openid="mini-crash")
    incident = incidents.report(
        citizen=citizen, channel=Channel.MINIAPP, description="有人在砸门", doorplate=seed.doorplate("DH-0001")
    )
    consents.record(citizen=citizen, results={"tmpl-progress": "accept"})
    consents.record(citizen=citizen, results={"tmpl-progress": "accept"})
    message = chat.add_message(incident=incident, actor=seed.officer("100001"), body="民警已在路上")
    drain(notify_app)
    # As if the run had died between WeChat's answer and recording the delivery.
    db.session.get(ChatMessage, message.id).delivered_at = None
    db.session.commit()
    consents.notify_chat_message(chat_message_id=message.id)
    assert len(fake_wechat.sent(SEND)) == 1 and states() == [ConsentState.SENT, ConsentState.AVAILABLE]
    assert chat_state(message.id)[0] is True
