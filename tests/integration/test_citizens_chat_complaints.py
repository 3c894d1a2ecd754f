"""Citizens across channels, the incident chat, and complaints."""

import pytest
from sqlalchemy import func, select

from casework import audit, chat, citizens, complaints, incidents, queries
from casework.db import db
from casework.errors import Conflict, Forbidden, InvalidInput, NotFound
from casework.models import Attachment, Citizen, Complaint, Incident
from casework.status import Channel, IncidentStatus


def test_official_account_and_miniapp_identities_join_by_unionid(ctx):
    oa = citizens.identify(oa_openid="oa-1")
    mini = citizens.identify(miniapp_openid="mini-1")
    incidents.report(citizen=mini, channel=Channel.MINIAPP, description="小程序报警")
    assert oa.id != mini.id
    joined = citizens.identify(miniapp_openid="mini-1", unionid="union-1")
    assert joined.id == mini.id
    merged = citizens.identify(oa_openid="oa-1", unionid="union-1")
    assert merged.id == min(oa.id, mini.id)
    db.session.expire_all()
    person = db.session.get(Citizen, merged.id)
    assert (person.oa_openid, person.miniapp_openid, person.unionid) == ("oa-1", "mini-1", "union-1")
    assert [i.description for i in queries.incidents_of(person)] == ["小程序报警"]
    assert citizens.identify(oa_openid="oa-1").id == person.id


def test_chat_between_citizen_and_dispatcher(citizen, other_citizen, dispatcher, world):
    incident = incidents.report(
        citizen=citizen, channel=Channel.WECHAT, description="有人跟踪我", doorplate=world.doorplate("DH-0001")
    )
    chat.add_message(incident=incident, actor=citizen, body="他还在楼下", source_msg_id="wechat:77")
    chat.add_message(incident=incident, actor=citizen, body="他还在楼下", source_msg_id="wechat:77")  # retry
    reply = chat.add_message(incident=incident, actor=dispatcher, body="请锁好门,民警马上到")
    thread = chat.messages(incident=incident, viewer=citizen)
    assert [(m.sender_kind, m.body) for m in thread] == [("citizen", "他还在楼下"), ("officer", "请锁好门,民警马上到")]
    assert chat.messages(incident=incident, viewer=dispatcher, after_id=thread[0].id)[0].id == reply.id
    with pytest.raises(NotFound):
        chat.add_message(incident=incident, actor=other_citizen, body="我也想看")
    with pytest.raises(NotFound):
        chat.messages(incident=incident, viewer=other_citizen)
    with pytest.raises(InvalidInput):
        chat.add_message(incident=incident, actor=citizen, body="  ")


def test_complaint_is_numbered_timelined_and_only_on_own_incident(citizen, other_citizen, officer):
    incident = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="噪音扰民")
    complaint = complaints.file(citizen=citizen, incident=incident, body="出警太慢", against_officer=officer)
    assert complaint.number.startswith("TS") and complaint.due_at > complaint.filed_at
    assert any(complaint.number in (e.public_note or "") for e in queries.public_timeline(incident))
    assert audit.trail(complaint)[0].action == "complaint.filed"
    with pytest.raises(NotFound):
        complaints.file(citizen=other_citizen, incident=incident, body="冒名投诉")
    with pytest.raises(InvalidInput):
        complaints.file(citizen=citizen, incident=incident, body="")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 1


def test_rating_only_once_and_only_when_finished(citizen, command_centre):
    incident = incidents.report(citizen=citizen, channel=Channel.MINIAPP, description="丢失钱包")
    with pytest.raises(Conflict):
        incidents.rate(incident=incident, citizen=citizen, rating=5)
    for status in ("dispatched", "on_scene", "handled", "closed"):
        incidents.change_status(incident=incident, actor=command_centre, status=IncidentStatus(status))
    with pytest.raises(InvalidInput):
        incidents.rate(incident=incident, citizen=citizen, rating=6)
    incidents.rate(incident=incident, citizen=citizen, rating=4, comment="很及时")
    with pytest.raises(Conflict):
        incidents.rate(incident=incident, citizen=citizen, rating=5)
    assert db.session.get(Incident, incident.id).rating == 4


def test_location_recategorise_and_evidence(app, citizen, command_centre, world, background_fake):
    background_fake.media["MEDIA-1"] = ("image/jpeg", b"\xff\xd8\xff" + b"e" * 64)  # fetched by a job
    incident = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="有人打架")
    incidents.set_location(incident=incident, actor=citizen, latitude=30.2742, longitude=120.1552, address="东湖路口")
    assert incident.address == "东湖路口"
    with pytest.raises(InvalidInput):
        incidents.set_location(incident=incident, actor=citizen, latitude=91, longitude=0)
    incidents.recategorise(
        incident=incident, actor=command_centre, category=world.category("0105"), reason="现场核实为殴打他人"
    )
    with pytest.raises(Forbidden):
        incidents.recategorise(incident=incident, actor=citizen, category=world.category("0101"), reason="x")
    first = incidents.attach_evidence(
        incident=incident, actor=citizen, kind="video", source_ref="wechat:555", wechat_media_id="MEDIA-1"
    )
    again = incidents.attach_evidence(
        incident=incident, actor=citizen, kind="video", source_ref="wechat:555", wechat_media_id="MEDIA-1"
    )
    assert first.id == again.id
    # The fetch runs as a job after the commit (on another thread): only once it has run is the evidence stored.
    db.session.rollback()  # end the read the comparison opened; SQLite's job would wait on it
    app.extensions["wx110.dispatcher"].drain()
    rows = db.session.scalars(select(Attachment).where(Attachment.source_ref == "wechat:555")).all()
    assert [(a.id, a.state) for a in rows] == [(first.id, "stored")]
    actions = [e.action for e in audit.trail(incident)]
    assert "incident.located" in actions and "incident.recategorised" in actions


def test_new_incident_is_routed_to_the_nearest_doorplates_station(app, citizen, world):
    incident = incidents.report(
        citizen=citizen, channel=Channel.WECHAT, description="路边有人晕倒", latitude=30.2692, longitude=120.1423
    )
    app.extensions["wx110.dispatcher"].drain()
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).unit.name == "西湖路派出所"


def test_control_characters_never_reach_the_database(citizen, command_centre):
    incident = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="有人\x00砸门\x07")
    message = chat.add_message(incident=incident, actor=command_centre, body="马上\x00到")
    complaint = complaints.file(citizen=citizen, incident=incident, body="处置\x1b不当")
    assert (incident.description, message.body, complaint.body) == ("有人砸门", "马上到", "处置不当")
    with pytest.raises(InvalidInput):
        chat.add_message(incident=incident, actor=citizen, body="\x00\x00")
    with pytest.raises(InvalidInput):
        complaints.file(citizen=citizen, incident=incident, body=["不是文本"])
