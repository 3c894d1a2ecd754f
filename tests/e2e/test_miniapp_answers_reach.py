"""Every answer reaches a mini-program citizen (real HTTP server, real database, the fake WeChat API recording what
is pushed): a progress step, an officer's chat message and a complaint answer each spend one subscribe-message
consent the citizen granted through the API; with none left, the officer's console says the message reached no
one, while the citizen still reads everything in the mini-program."""

from sqlalchemy import select

from casework import chat, incidents, seed
from casework.complaint_status import ComplaintStatus
from casework.db import db
from casework.models import ChatMessage, Complaint, Incident
from casework.status import IncidentStatus
from tests.complaint_steps import walk

SEND = "/cgi-bin/message/subscribe/send"


def settle(live) -> None:
    live.app.extensions["wx110.dispatcher"].drain()


def pushed(live) -> list[dict]:
    return [call.body for call in live.fake.sent(SEND) if call.body]


def test_progress_chat_and_complaint_answer_each_spend_one_granted_consent(live_server):
    live = live_server
    with live.app.app_context():
        seed.load_categories()
        seed.load_world()
    citizen = live.login("openid-listener")
    report = citizen.post(
        live.api("/incidents"),
        json={"description": "楼道里有人撬门", "latitude": 30.2741, "longitude": 120.1551},
    ).json()
    granted = citizen.post(
        live.api("/subscriptions"),
        json={"results": {"tmpl-progress": "accept"}, "incident_id": report["id"]},
    )
    assert granted.status_code == 201 and granted.json()["available"] == 1
    settle(live)  # routed to 东湖派出所

    with live.app.app_context():
        incident = db.session.get(Incident, report["id"])
        chat.add_message(incident=incident, actor=seed.officer("100001"), body="请锁好门,民警五分钟到")
    settle(live)
    [message] = pushed(live)
    assert message["touser"] == "openid-listener" and message["page"] == f"pages/incident/chat?id={report['id']}"
    assert message["data"]["thing3"]["value"].startswith("请锁好门")
    assert citizen.post(live.api("/subscriptions"), json={"results": {"tmpl-progress": "accept"}}).ok

    filed = citizen.post(live.api("/complaints"), json={"incident_id": report["id"], "body": "接警员态度不好"}).json()
    settle(live)
    with live.app.app_context():
        complaint = db.session.get(Complaint, filed["id"])
        walk(
            complaint,
            ComplaintStatus.ANSWERED,
            supervisor=seed.officer("100005"),
            explainer=seed.officer("100002"),
            answer="已约谈接警员并致歉。",
        )
    settle(live)
    answer = pushed(live)[-1]
    assert answer["data"]["character_string1"]["value"] == filed["number"]
    assert answer["data"]["thing3"]["value"] == "已约谈接警员并致歉。"
    read = citizen.get(live.api(f"/complaints/{filed['id']}")).json()
    assert (read["status"], read["answer"]) == ("answered", "已约谈接警员并致歉。")

    # No consent left: the progress step and the next chat message are not pushed; the officer is told.
    with live.app.app_context():
        incident = db.session.get(Incident, report["id"])
        incidents.change_status(
            incident=incident, actor=seed.officer("100001"), status=IncidentStatus.DISPATCHED, public_note="已出警"
        )
        late = chat.add_message(incident=incident, actor=seed.officer("100001"), body="到门口了,请开门")
        late_id = late.id
    settle(live)
    assert len(pushed(live)) == 2
    with live.app.app_context():
        assert db.session.get(ChatMessage, late_id).undelivered_reason == "no_consent"
        assert db.session.scalars(select(ChatMessage.body).where(ChatMessage.delivered_at.is_not(None))).all() == [
            "请锁好门,民警五分钟到"
        ]
    # ... and the mini-program still shows it all.
    messages = citizen.get(live.api(f"/incidents/{report['id']}/messages")).json()
    assert [m["body"] for m in messages] == ["请锁好门,民警五分钟到", "到门口了,请开门"]
    assert citizen.get(live.api(f"/incidents/{report['id']}")).json()["status"] == "dispatched"
