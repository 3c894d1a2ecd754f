"""The official-account callback over a real HTTP server: every message and event type in every mode."""

import pytest
from sqlalchemy import func, select

from bot import replies
from bot.models import InboundMessage
from casework.db import db
from casework.doorplates import token_for
from casework.models import Attachment, ChatMessage, Citizen, Complaint, Incident
from qr.links import url_for_doorplate
from tests.wechat_side import Sender, serving, wechat_config
from wechat import simulator


@pytest.fixture
def bot_app(make_app, fake):
    app = make_app(**wechat_config(fake))
    yield app
    app.extensions["wx110.dispatcher"].drain()


def count(model) -> int:
    value = db.session.scalar(select(func.count()).select_from(model))
    db.session.rollback()
    return value


def msg(kind, openid, value="", **options):
    return simulator.message(kind, openid, value, **options)


def evt(name, openid, value="", **options):
    return simulator.event(name, openid, value, **options)


@pytest.mark.parametrize("mode", simulator.MODES)
def test_every_message_and_event_type_gets_an_answer(bot_app, fake, world, mode):
    openid = f"o-{mode}-citizen"
    plate = world.doorplate("DH-0001")
    plate_id, address, unit_id = plate.id, plate.address, plate.unit_id
    scene, plate_url = f"dp:{token_for(plate)}", url_for_doorplate(plate)
    fake.media.update(
        {
            "IMG1": ("image/jpeg", b"\xff\xd8\xff" + b"i" * 64),
            "VID1": ("video/mp4", b"\x00" * 64),
            "VOICE1": ("audio/amr", b"#!AMR\n" + b"v" * 64),
            "SVID1": ("video/mp4", b"\x00" * 32),
        }
    )
    db.session.rollback()  # on SQLite an open transaction would hold the write lock the server needs
    with serving(bot_app) as url:
        send = Sender(url, mode).reply
        assert "110" in send(evt("subscribe", openid))

        first = send(msg("text", openid, "有人在小区门口打架"))
        assert "警情编号" in first
        incident = db.session.scalar(select(Incident).where(Incident.citizen.has(oa_openid=openid)))
        assert incident.description == "有人在小区门口打架" and incident.number in first
        number, incident_id = incident.number, incident.id
        db.session.rollback()

        assert number in send(msg("text", openid, "其中一人拿着棍子"))
        assert number in send(msg("image", openid, media_id="IMG1"))
        assert number in send(msg("voice", openid, media_id="VOICE1", recognition="他们往东跑了"))
        assert number in send(msg("video", openid, media_id="VID1"))
        assert number in send(msg("shortvideo", openid, media_id="SVID1"))
        assert number in send(msg("location", openid, "26.08,119.30", label="福州市鼓楼区某小区"))
        assert send(evt("location", openid, latitude=26.08, longitude=119.3)) == "success"
        assert number in send(msg("link", openid, "http://example.com/clip", title="现场视频"))

        listing = send(evt("click", openid, "MY_REPORTS"))
        assert number in listing and "已接报" in listing
        assert "办理进度" in send(msg("text", openid, "1"))
        assert "办理进度" in send(evt("click", openid, "PROGRESS"))
        assert number in send(evt("click", openid, "COMPLAIN"))
        assert "投诉编号" in send(msg("text", openid, "民警态度恶劣"))
        assert "文字描述" in send(evt("click", openid, "REPORT"))

        assert address in send(evt("scan", openid, scene))
        at_plate = send(msg("text", openid, "楼道里有煤气味"))
        assert "警情编号" in at_plate and address in at_plate

        other = f"o-{mode}-newcomer"
        welcome = send(evt("subscribe", other, scene))
        assert "110" in welcome and address in welcome
        assert address in send(evt("scancode_waitmsg", openid, plate_url))
        assert send(evt("scancode_waitmsg", openid, "https://elsewhere.example/x")) == replies.NOT_OUR_CODE
        assert send(evt("scan", openid, "dp:dAAAAAAAAAAAAAAAAAAAAAA")) == replies.DOORPLATE_INVALID

        unknown = {**simulator.message("text", openid, "x"), "MsgType": "miniprogrampage"}
        unknown.pop("Content")
        assert send(unknown) == replies.UNKNOWN
        assert send(evt("VIEW", openid, "http://example.com")) == "success"
        assert send(evt("subscribe_msg_popup_event", openid)) == "success"
        assert send(evt("unsubscribe", openid)) == "success"

    assert count(Attachment) == 4  # image, voice, video, shortvideo
    assert count(ChatMessage) == 3  # the follow-up text, the recognised voice and the link
    assert count(Complaint) == 1
    with_plate = db.session.scalar(select(Incident).where(Incident.doorplate_id == plate_id))
    assert with_plate.description == "楼道里有煤气味" and with_plate.unit_id == unit_id
    located = db.session.get(Incident, incident_id)
    assert located.latitude == pytest.approx(26.08) and located.address == "福州市鼓楼区某小区"
    citizen = db.session.scalar(select(Citizen).where(Citizen.oa_openid == openid))
    assert citizen.subscribed is False


def test_wechat_published_safe_mode_sample(make_app, fake):
    """WeChat's own sample (token spamtest, 2014): decrypts, is handled, and the reply seals with its keys."""
    app = make_app(
        **wechat_config(
            fake,
            WECHAT_TOKEN="spamtest",
            WECHAT_APPID="wx2c2769f8efd9abc2",
            WECHAT_AES_KEY="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            WECHAT_REPLAY_WINDOW=10**10,
        )
    )
    cipher = (
        "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2Ld"
        "JF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6u"
        "x5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnif"
        "JpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQL"
        "Czpu9GhglF2PE="
    )
    query = {
        "timestamp": "1409735669",
        "nonce": "1320562132",
        "encrypt_type": "aes",
        "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
    }
    body = f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[{cipher}]]></Encrypt></xml>"
    keys = simulator.Keys("spamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx2c2769f8efd9abc2")
    with serving(app) as url, app.app_context():
        response = Sender(url).http.post(url, params=query, data=body.encode(), timeout=30)
        assert response.status_code == 200, response.text
        answer = simulator.read_reply(response.text, keys)
        assert answer["ToUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs" and "警情编号" in answer["Content"]
        incident = db.session.scalar(select(Incident))
        assert incident.description == "abcdteT"
        assert incident.source_msg_id == "wechat:6054768590064713728"
        assert incident.citizen.oa_openid == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
        db.session.rollback()

        again = Sender(url).http.post(url, params=query, data=body.encode(), timeout=30)  # identical replay
        assert simulator.read_reply(again.text, keys)["Content"] == answer["Content"]
        forged = body.replace("gh_10f6c3c3ac5a", "gh_another")  # same nonce, another body
        assert Sender(url).http.post(url, params=query, data=forged.encode(), timeout=30).status_code == 403
        assert count(Incident) == 1
    app.extensions["wx110.dispatcher"].drain()


def test_retries_get_the_same_answer_and_act_once(bot_app, world):
    openid = "o-retry"
    with serving(bot_app) as url, bot_app.app_context():
        sender = Sender(url, "safe")
        message = msg("text", openid, "我的电动车被偷了", msg_id=900000000000000001)
        first = sender.reply(message)
        assert sender.reply(message) == first  # WeChat's retry: new nonce and timestamp, same MsgId
        assert sender.reply(message) == first
        subscribe = evt("subscribe", openid, create_time=1_800_000_000)
        assert sender.reply(subscribe) == sender.reply(subscribe)
        assert count(Incident) == 1
        assert count(InboundMessage) == 2


def test_queries_only_show_the_citizens_own_reports(bot_app, world):
    with serving(bot_app) as url, bot_app.app_context():
        send = Sender(url).reply
        mine = send(msg("text", "o-alice", "门口停的车被划了"))
        number = next(word for word in mine.replace("。", " ").split() if word.startswith("JQ"))
        assert number in send(msg("text", "o-alice", number))
        assert send(msg("text", "o-bob", number)) == replies.NOT_FOUND
        assert send(msg("text", "o-bob", "我的报警")) == replies.NO_INCIDENTS
        assert send(evt("click", "o-bob", "COMPLAIN")) == replies.NO_INCIDENTS


def test_url_verification(bot_app):
    import time

    from bot.envelope import sign
    from tests.wechat_side import TOKEN

    client = bot_app.test_client()
    now = str(int(time.time()))
    good = {"signature": sign(TOKEN, now, "42"), "timestamp": now, "nonce": "42", "echostr": "hello-wechat"}
    assert client.get("/wechat", query_string=good).get_data(as_text=True) == "hello-wechat"
    assert client.get("/wechat", query_string={**good, "signature": "0" * 40}).status_code == 403
    stale = str(int(time.time()) - 3600)
    old = {**good, "timestamp": stale, "signature": sign(TOKEN, stale, "42")}
    assert client.get("/wechat", query_string=old).status_code == 403
