"""A web reporter (doorplate page, outside WeChat) follows the report: the confirmation page and an SMS through
the configured sender carry a signed tracking link that shows the public timeline and takes a message; a forged,
altered or expired link is a 404 that reveals nothing."""

import html
import re
from datetime import timedelta

import pytest
import requests
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

from casework import clock, doorplates, incidents, seed
from casework.db import db
from casework.models import ChatMessage, Incident, Officer
from casework.status import IncidentStatus
from tests.live_server import serving


@pytest.fixture
def live(make_app):
    app = make_app()
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        db.session.commit()
        with serving(app, public=True) as base_url:
            yield app, base_url
        db.session.remove()


def web_report(base_url: str, code: str, description: str, phone: str) -> requests.Response:
    token = doorplates.token_for(doorplates.by_code(code))
    db.session.rollback()
    page = requests.get(f"{base_url}/d/{token}", timeout=10).text
    form_token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    fields = {"form_token": form_token, "description": description, "phone": phone}
    answer = requests.post(f"{base_url}/d/{token}", data=fields, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer


def tracking_link(page: str) -> str:
    return html.unescape(re.search(r'id="tracking-link" href="([^"]+)"', page).group(1))


def test_the_tracking_link_shows_the_timeline_and_takes_a_message(live):
    app, base_url = live
    received = web_report(base_url, "DH-0001", "楼下有人打架", "13800138000")
    link = tracking_link(received.text)
    number = re.search(r'id="incident-number">([^<]+)<', received.text).group(1)
    assert link.startswith(f"{base_url}/t/")
    texted = app.extensions["wx110.sms"].sent  # the default sender logs; it also keeps what it "sent"
    assert texted == [("13800138000", f"【110报警】已收到您的报警，警情编号 {number}。查询进度、补充情况：{link}")]

    db.session.rollback()
    incident = db.session.scalar(select(Incident).where(Incident.number == number))
    officer = db.session.scalar(select(Officer).where(Officer.badge_no == "100002"))  # 东湖派出所, DH-0001's
    incidents.change_status(
        incident=incident, actor=officer, status=IncidentStatus.DISPATCHED, public_note="民警已出发"
    )
    db.session.rollback()

    page = requests.get(link, timeout=10)
    assert page.status_code == 200
    assert number in page.text and "已派警" in page.text and "已派警:民警已出发" in page.text
    form_token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
    sent = requests.post(link, data={"form_token": form_token, "body": "打人的穿红衣服"}, timeout=10)
    assert sent.status_code == 200 and "留言已发送" in sent.text and "打人的穿红衣服" in sent.text
    again = requests.post(link, data={"form_token": form_token, "body": "打人的穿红衣服"}, timeout=10)  # resent
    assert again.status_code == 200
    db.session.rollback()
    bodies = db.session.scalars(select(ChatMessage).where(ChatMessage.incident_id == incident.id)).all()
    assert [(m.body, m.sender_kind, m.sender_id) for m in bodies] == [
        ("打人的穿红衣服", "citizen", incident.citizen_id)
    ]


def test_a_forged_or_expired_link_is_a_404_that_reveals_nothing(live):
    app, base_url = live
    mine = tracking_link(web_report(base_url, "DH-0001", "有人砸车", "13800138001").text)
    other = web_report(base_url, "XH-0001", "有人偷电动车", "13800138002")
    other_number = re.search(r'id="incident-number">([^<]+)<', other.text).group(1)
    db.session.rollback()
    other_id = db.session.scalar(select(Incident.id).where(Incident.number == other_number))
    signed = mine.rsplit("/", 1)[1]
    rest = signed.partition(".")[2]
    forged = {
        "another id signed with a wrong key": URLSafeTimedSerializer("not-the-key", salt="wx110.qr.tracking").dumps(
            {"i": other_id}
        ),
        "another id under the real signature": URLSafeTimedSerializer("x").dumps({"i": other_id}).split(".")[0]
        + "."
        + rest,
        "one character changed": signed[:-2] + ("A" if signed[-2] != "A" else "B") + signed[-1],
        "garbage": "not-a-link",
        "the form token's salt": URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wx110.qr.tracking-form").dumps(
            {"i": other_id}
        ),
    }
    before = db.session.scalar(select(func.count()).select_from(ChatMessage))
    db.session.rollback()  # on SQLite our read transaction would hold up the server
    for kind, value in forged.items():
        for answer in (
            requests.get(f"{base_url}/t/{value}", timeout=10),
            requests.post(f"{base_url}/t/{value}", data={"body": "hi"}, timeout=10),
        ):
            assert answer.status_code == 404, kind
            assert "链接无效" in answer.text and other_number not in answer.text and "偷电动车" not in answer.text, kind
    assert requests.get(mine, timeout=10).status_code == 200  # the real link still works
    clock.freeze(clock.now() + timedelta(days=app.config["WEB_TRACKING_DAYS"], minutes=1))
    expired = requests.get(mine, timeout=10)
    clock.freeze(None)
    assert expired.status_code == 404 and "链接无效" in expired.text
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ChatMessage)) == before


def test_an_officer_s_reply_to_a_web_reporter_says_what_is_true_for_that_channel(live):
    """A web reporter has no push: the reply waits for them on the tracking page, and the console says so until
    they open it; then it says they saw it there (audited as delivered through the page)."""
    from casework import chat
    from casework.models import AuditEntry

    app, base_url = live
    received = web_report(base_url, "DH-0002", "门口有人吵架", "13800138003")
    link = tracking_link(received.text)
    number = re.search(r'id="incident-number">([^<]+)<', received.text).group(1)
    db.session.rollback()
    incident = db.session.scalar(select(Incident).where(Incident.number == number))
    officer = db.session.scalar(select(Officer).where(Officer.badge_no == "100002"))
    reply = chat.add_message(incident=incident, actor=officer, body="民警马上到,请在门口等候")
    reply_id = reply.id
    db.session.rollback()  # SQLite: no read transaction held here while the reply's jobs write
    app.extensions["wx110.dispatcher"].drain()
    waiting = db.session.get(ChatMessage, reply_id)
    assert waiting.delivery_label == "待报警人打开进度页查看(网页报警无推送)" and waiting.delivered_at is None
    db.session.rollback()  # SQLite: the page marks the reply delivered; no read transaction may hold it back

    page = requests.get(link, timeout=10)
    assert "民警马上到,请在门口等候" in page.text
    db.session.rollback()
    seen = db.session.get(ChatMessage, reply_id)
    assert seen.delivery_label == "已在报警人的进度页显示" and seen.delivered_at is not None
    delivered = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "chat.message_delivered", AuditEntry.subject_id == reply_id)
    ).all()
    assert len(delivered) == 1 and '"via": "tracking_page"' in delivered[0].detail
    db.session.rollback()
    requests.get(link, timeout=10)  # opened again: delivered once
    db.session.rollback()
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "chat.message_delivered")
        )
        == 1
    )
