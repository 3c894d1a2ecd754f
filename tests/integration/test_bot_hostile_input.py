"""Hostile or broken callbacks get their exact 4xx and reason, never a 500 or `success`, and nothing is stored."""

import socket
import time
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from bot.envelope import sign
from bot.models import InboundMessage
from casework.db import db
from casework.models import Attachment, AuditEntry, Citizen, Complaint, Incident, OutboxMessage
from tests.wechat_side import KEYS, TOKEN, Sender, serving, wechat_config
from wechat import simulator

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o-evil</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&lol2;</Content><MsgId>1</MsgId></xml>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    "<xml><FromUserName>o-evil</FromUserName><MsgType>text</MsgType><Content>&e;</Content></xml>"
)


@pytest.fixture
def live(make_app, fake):
    app = make_app(**wechat_config(fake))
    with serving(app) as url, app.app_context():
        yield url
    app.extensions["wx110.dispatcher"].drain()


def nothing_stored():
    models = (Incident, InboundMessage, Citizen, AuditEntry, OutboxMessage, Attachment, Complaint)
    counts = [db.session.scalar(select(func.count()).select_from(m)) for m in models]
    db.session.rollback()
    return counts == [0] * len(models)


def text_message(**overrides):
    return {**simulator.message("text", "o-evil", "有人打架"), **overrides}


def plain_query(body: bytes | None = None, *, timestamp=None, nonce="777"):
    timestamp = str(timestamp or int(time.time()))
    return {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


CASES = {
    "malformed xml": lambda: (plain_query(), b"<xml><FromUserName>o</FromUserName"),
    "not xml": lambda: (plain_query(), b"hello"),
    "empty body": lambda: (plain_query(), b""),
    "entity declarations": lambda: (plain_query(), BILLION_LAUGHS.encode()),
    "external entity": lambda: (plain_query(), EXTERNAL_ENTITY.encode()),
    "doctype in safe mode ciphertext": lambda: simulator.signed(BILLION_LAUGHS, KEYS, mode="safe"),
    "repeated content": lambda: (
        plain_query(),
        simulator.xml_of(text_message()).replace("</xml>", "<Content><![CDATA[again]]></Content></xml>").encode(),
    ),
    "missing sender": lambda: (
        plain_query(),
        simulator.xml_of({k: v for k, v in text_message().items() if k != "FromUserName"}).encode(),
    ),
    "non-utf8": lambda: (plain_query(), b"<xml><Content>\xff\xfe</Content></xml>"),
    "wrong signature": lambda: ({**plain_query(), "signature": "0" * 40}, simulator.xml_of(text_message()).encode()),
    "no signature": lambda: (
        {k: v for k, v in plain_query().items() if k != "signature"},
        simulator.xml_of(text_message()).encode(),
    ),
    "stale timestamp": lambda: simulator.signed(text_message(), KEYS, timestamp=int(time.time()) - 3600),
    "future timestamp": lambda: simulator.signed(text_message(), KEYS, timestamp=int(time.time()) + 3600),
    "bad timestamp": lambda: ({**plain_query(), "timestamp": "yesterday"}, simulator.xml_of(text_message()).encode()),
    "wrong msg_signature": lambda: _tamper(simulator.signed(text_message(), KEYS, mode="safe"), "msg_signature"),
    "wrong appid": lambda: simulator.signed(
        text_message(), simulator.Keys(TOKEN, KEYS.aes_key, "wx-someone-else"), mode="safe"
    ),
    "wrong aes key": lambda: simulator.signed(text_message(), simulator.Keys(TOKEN, "A" * 43, KEYS.appid), mode="safe"),
    "garbage ciphertext": lambda: _garbage_ciphertext(),
    "oversized body": lambda: (plain_query(), simulator.xml_of(text_message(Content="很" * 30000)).encode()),
    "deeply nested menu click": lambda: simulator.signed(_nested(simulator.xml_of(_click())), KEYS),
    "deeply nested text": lambda: simulator.signed(_nested(simulator.xml_of(text_message())), KEYS),
}


def _click() -> dict:
    return simulator.event("click", "o-evil", "MENU_PROGRESS")


def _nested(xml: str, depth: int = 5000) -> str:
    """The message with 5,000 levels of elements in its last field (a signed body: it reaches the parser)."""
    return xml.replace("</xml>", "<Deep>" + "<a>" * depth + "x" + "</a>" * depth + "</Deep></xml>")


BAD_XML = (400, "malformed message")
DTD = (400, "DTDs and entity declarations are not accepted")
REFUSED = {  # the exact answer to each: status and reason (never a 500, never "success")
    "malformed xml": BAD_XML,
    "not xml": BAD_XML,
    "non-utf8": BAD_XML,
    "empty body": (400, "empty body"),
    "entity declarations": DTD,
    "external entity": DTD,
    "doctype in safe mode ciphertext": DTD,
    "repeated content": (400, "repeated element Content"),
    "missing sender": (400, "missing or malformed FromUserName"),
    "wrong signature": (403, "bad signature"),
    "no signature": (403, "bad signature"),
    "stale timestamp": (403, "stale timestamp"),
    "future timestamp": (403, "stale timestamp"),
    "bad timestamp": (400, "missing or malformed timestamp/nonce"),
    "wrong msg_signature": (403, "bad msg_signature"),
    "wrong appid": (403, "wrong AppID"),
    "wrong aes key": (400, "undecryptable body"),
    "garbage ciphertext": (400, "undecryptable body"),
    "oversized body": (413, "body too large"),
    "deeply nested menu click": (400, "message nested too deeply"),
    "deeply nested text": (400, "message nested too deeply"),
}


def _tamper(signed, field):
    query, body = signed
    return {**query, field: "f" * 40}, body


def _garbage_ciphertext():
    timestamp, nonce, cipher = str(int(time.time())), "99", "bm90IGEgcmVhbCBjaXBoZXJ0ZXh0"
    query = {
        "timestamp": timestamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": sign(TOKEN, timestamp, nonce, cipher),
    }
    return query, f"<xml><Encrypt><![CDATA[{cipher}]]></Encrypt></xml>".encode()


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_callbacks_are_refused_and_change_nothing(live, case):
    query, body = CASES[case]()
    response = requests.post(live, params=query, data=body, timeout=30)
    assert (response.status_code, response.text) == REFUSED[case]
    assert nothing_stored()


def test_chunked_oversized_body_is_refused(live):
    """No Content-Length: the limit is enforced on the bytes actually read."""
    query, body = CASES["oversized body"]()

    def chunks():
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    response = requests.post(live, params=query, data=chunks(), timeout=30)
    assert response.status_code == 413
    assert nothing_stored()


def test_lying_content_length_is_refused(live):
    query, body = CASES["oversized body"]()
    parts = urlsplit(live)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(
            (
                f"POST {parts.path}?{urlencode(query)} HTTP/1.1\r\nHost: x\r\n"
                f"Content-Length: {10**9}\r\nConnection: close\r\n\r\n"
            ).encode()
            + body[:1000]
        )
        status = connection.recv(64).split()[1]
    assert status == b"413"
    assert nothing_stored()


def test_nonce_reuse_with_another_body_is_refused(live):
    sender = Sender(live, "safe")
    timestamp, nonce = int(time.time()), "5150"
    query, body = simulator.signed(text_message(), KEYS, mode="safe", timestamp=timestamp, nonce=nonce)
    answers = [
        simulator.read_reply(requests.post(live, params=query, data=body, timeout=30).text, KEYS)["Content"]
        for _ in range(2)
    ]  # the request, then a byte-identical replay
    assert "警情编号" in answers[0] and answers[1] == answers[0]
    other = text_message(Content="另一条消息", MsgId=123456789)
    assert sender.post(other, timestamp=timestamp, nonce=nonce).status_code == 403
    count = db.session.scalar(select(func.count()).select_from(Incident))
    db.session.rollback()
    assert count == 1


def test_get_with_bad_input_gets_its_exact_400(live):
    bare = requests.get(live, timeout=10)
    assert (bare.status_code, bare.text) == (400, "missing or malformed timestamp/nonce")
    bad = requests.get(live, params={"timestamp": "x", "nonce": "1", "signature": "s"}, timeout=10)
    assert (bad.status_code, bad.text) == (400, "missing or malformed timestamp/nonce")
    assert nothing_stored()
