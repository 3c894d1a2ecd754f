"""What the citizen is told is true, and every answer reaches them (real HTTP server, real database, the fake
WeChat API recording what is pushed): evidence not yet stored is never called attached, a report without a place
is taken and then placed, 取消 never cuts the follow-up link, a doorplate revoked after the scan never blocks a
report, and a complaint answer is pushed and readable in chat."""

from sqlalchemy import select

from casework import doorplates, incidents, seed
from casework.complaint_status import ComplaintStatus
from casework.db import db
from casework.models import Attachment, AttachmentState, AuditEntry, ChatMessage, Complaint, Incident, Officer, Unit
from casework.status import IncidentStatus
from tests.complaint_steps import walk
from tests.wechat_side import Sender, serving, wechat_config
from wechat import simulator

EAST_LAKE_ROAD = "30.2742,120.1552"  # a few metres from doorplate DH-0001 (东湖派出所)


def settle(app) -> None:
    db.session.rollback()
    app.extensions["wx110.dispatcher"].drain()


def pushed_texts(fake, openid: str) -> list[str]:
    return [c.body["text"]["content"] for c in fake.sent("/cgi-bin/message/custom/send") if c.body["touser"] == openid]


def only_incident() -> Incident:
    found = db.session.scalars(select(Incident)).all()
    assert len(found) == 1, found
    return found[0]


def unit_code(incident: Incident) -> str | None:
    return db.session.get(Unit, incident.unit_id).code if incident.unit_id else None


def test_a_video_whose_media_id_is_unknown_is_never_called_attached(make_app, fake):
    app = make_app(**wechat_config(fake))
    openid = "o-video-gone"
    with serving(app) as url:
        send = Sender(url).reply
        assert "警情编号" in send(simulator.message("text", openid, "有人在小区里砸车"))
        reply = send(simulator.message("video", openid, media_id="MEDIA_EXPIRED"))
        with app.app_context():
            settle(app)
            number = only_incident().number
    assert "正在接收" in reply and number in reply
    assert "已附到" not in reply and "已收到您补充" not in reply
    with app.app_context():
        attachment = db.session.scalar(select(Attachment))
        assert attachment.state == AttachmentState.FAILED.value and "40007" in attachment.error
        public = [e.public_note for e in attachment.incident.timeline if e.public_note]
        assert "正在接收您提交的视频材料。" in public and "您提交的视频材料未能接收,请重新发送。" in public
        assert not any("已收到您提交的视频" in note or "已接收并附到" in note for note in public)
    asked = [text for text in pushed_texts(fake, openid) if "重新发送" in text]
    assert len(asked) == 1 and number in asked[0] and "视频未能接收" in asked[0]


def test_a_video_that_arrives_is_attached_only_once_stored(make_app, fake):
    app = make_app(**wechat_config(fake))
    fake.media["MEDIA_OK"] = ("video/mp4", b"\x00" * 2048)
    with serving(app) as url:
        reply = Sender(url).reply(simulator.message("video", "o-video-ok", media_id="MEDIA_OK"))
        assert "正在接收" in reply
        with app.app_context():
            settle(app)
            attachment = db.session.scalar(select(Attachment))
            assert attachment.state == AttachmentState.STORED.value
            notes = [e.public_note for e in attachment.incident.timeline if e.public_note]
            assert notes[-1] == "您提交的视频材料已接收并附到警情。"
    assert not [t for t in pushed_texts(fake, "o-video-ok") if "重新发送" in t]


def test_a_report_without_a_place_is_numbered_then_placed_and_rerouted(make_app, fake):
    app = make_app(**wechat_config(fake))
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        db.session.commit()
    openid = "o-no-place"
    with serving(app) as url:
        send = Sender(url).reply
        first = send(simulator.message("text", openid, "有人在打架"))
        with app.app_context():
            settle(app)
            incident = only_incident()
            assert incident.number in first and "警情编号" in first
            assert first.rstrip().endswith("请告诉我们事发地点:发送位置、扫描门牌二维码或直接输入地址。")
            assert first.count("事发地点") == 1
            assert unit_code(incident) == "330000"  # the dispatch centre (the root unit by default) has it for now
        moved = send(simulator.message("location", openid, EAST_LAKE_ROAD, label="东湖路口"))
        assert "东湖路口" in moved
        with app.app_context():
            settle(app)
            incident = only_incident()
            assert unit_code(incident) == "33010201"
            assert incident.timeline[-1].public_note == "已按报警位置转交东湖派出所处理。"
            rerouted = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "incident.rerouted")).all()
            assert [(a.actor_kind, a.subject_id) for a in rerouted] == [("system", incident.id)]
        # The next text is more of the story: no second question, no second incident.
        assert "已转给" in send(simulator.message("text", openid, "两个人,都穿黑衣服"))
        with app.app_context():
            assert only_incident().number == incident.number


def test_a_later_place_does_not_move_an_incident_an_officer_has_taken(make_app, fake):
    app = make_app(**wechat_config(fake))
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        db.session.commit()
    openid = "o-taken"
    with serving(app) as url:
        send = Sender(url).reply
        send(simulator.message("text", openid, "楼下有人吵架"))
        with app.app_context():
            settle(app)
            dispatcher = db.session.scalar(select(Officer).where(Officer.badge_no == "100007"))
            incidents.change_status(incident=only_incident(), actor=dispatcher, status=IncidentStatus.DISPATCHED)
            settle(app)
        send(simulator.message("location", openid, EAST_LAKE_ROAD, label="东湖路口"))
        with app.app_context():
            settle(app)
            incident = only_incident()
            assert unit_code(incident) == "330000" and incident.address == "东湖路口"
            assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "incident.rerouted")) is None


def test_a_typed_address_answers_the_question(make_app, fake):
    app = make_app(**wechat_config(fake))
    with serving(app) as url:
        send = Sender(url).reply
        send(simulator.message("text", "o-typed", "有人在撬电动车"))
        assert "湖滨街12号" in send(simulator.message("text", "o-typed", "湖滨街12号楼下"))
        with app.app_context():
            settle(app)
            assert only_incident().address == "湖滨街12号楼下"


def test_cancel_after_a_report_keeps_the_report_and_the_follow_up_link(make_app, fake):
    app = make_app(**wechat_config(fake))
    openid = "o-cancel"
    with serving(app) as url:
        send = Sender(url).reply
        send(simulator.message("text", openid, "家门口有可疑人员"))
        with app.app_context():
            number = only_incident().number
        cancelled = send(simulator.message("text", openid, "取消"))
        assert "已取消补充位置" in cancelled and number in cancelled and "仍然有效" in cancelled
        assert "已转给" in send(simulator.message("text", openid, "他往东边走了"))
        with app.app_context():
            incident = only_incident()
            assert incident.status == IncidentStatus.RECEIVED.value
            assert db.session.scalars(select(ChatMessage.body)).all() == ["他往东边走了"]


def test_a_doorplate_revoked_after_the_scan_never_blocks_a_report(make_app, fake):
    app = make_app(**wechat_config(fake))
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        token = doorplates.token_for(doorplates.by_code("DH-0001"))
        db.session.commit()
    openid = "o-revoked"
    with serving(app) as url:
        send = Sender(url).reply
        assert "东湖路1号" in send(simulator.event("scan", openid, f"dp:{token}"))
        with app.app_context():
            admin = db.session.scalar(select(Officer).where(Officer.badge_no == "100000"))
            doorplates.revoke(doorplate=doorplates.by_code("DH-0001"), actor=admin, reason="门牌损坏")
            settle(app)
        reply = send(simulator.message("text", openid, "门口有人打架"))
        assert reply.startswith("您之前扫描的门牌二维码已停用或已更换,本次报警未使用该门牌地址。")
        assert "警情编号" in reply
        with app.app_context():
            incident = only_incident()
            assert incident.doorplate_id is None and incident.number in reply
        # One line, once: the next text joins the same incident.
        again = send(simulator.message("text", openid, "打架的人跑了"))
        assert "已转给" in again and "门牌" not in again


def test_a_complaint_answer_is_pushed_and_shows_in_progress_and_my_complaints(make_app, fake):
    app = make_app(**wechat_config(fake))
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        db.session.commit()
    openid = "o-complainer"
    with serving(app) as url:
        send = Sender(url).reply
        send(simulator.message("location", openid, EAST_LAKE_ROAD, label="东湖路口"))  # routed to 东湖派出所
        assert "投诉警情" in send(simulator.message("text", openid, "投诉"))
        assert "投诉已提交" in send(simulator.message("text", openid, "民警到场太慢"))
        with app.app_context():
            settle(app)
            complaint = db.session.scalar(select(Complaint))
            supervisor = db.session.scalar(select(Officer).where(Officer.badge_no == "100005"))
            walk(
                complaint,
                ComplaintStatus.ANSWERED,
                supervisor=supervisor,
                explainer=db.session.scalar(select(Officer).where(Officer.badge_no == "100002")),
                answer="已核实,对出警民警批评教育。",
            )
            settle(app)
            number = db.session.scalar(select(Complaint)).number
        pushed = [t for t in pushed_texts(fake, openid) if number in t]
        assert len(pushed) == 1 and "已核实,对出警民警批评教育。" in pushed[0]
        progress = send(simulator.message("text", openid, "进度"))
        assert number in progress and "已答复" in progress and "对出警民警批评教育" in progress
        mine = send(simulator.message("text", openid, "我的投诉"))
        assert number in mine and "已答复" in mine and "对出警民警批评教育" in mine
        assert mine == send(simulator.event("click", openid, "MY_COMPLAINTS"))
