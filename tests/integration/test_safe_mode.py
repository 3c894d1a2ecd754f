"""Safe mode means safe mode: with an AES key only encrypted messages with a valid `msg_signature` are accepted,
and the replay guard does not fail open when Redis is down or was flushed (the database decides)."""

import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from bot import nonces
from bot.models import InboundMessage, UsedNonce
from casework import clock
from casework.db import db
from casework.models import Citizen, Incident
from tests.wechat_side import KEYS, Sender, serving, wechat_config
from wechat import simulator

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once
DEAD_DATABASE = "postgresql+psycopg://wx110@127.0.0.1:1/wx110?connect_timeout=2"


def count(model, *where) -> int:
    found = db.session.scalar(select(func.count()).select_from(model).where(*where))
    db.session.rollback()
    return found


def post(url: str, query: dict, body: bytes) -> requests.Response:
    return requests.post(url, params=query, data=body, timeout=30)


def test_the_downgrade_attack_is_refused_and_changes_nothing(make_app, fake, redis, redis_url):
    """A captured safe-mode query string, its encrypted parts dropped, a plaintext body as another citizen, with
    Redis flushed in between: refused before anything is read, written or remembered."""
    app = make_app(**wechat_config(fake, REDIS_URL=redis_url, WECHAT_ALLOW_PLAINTEXT=False))
    with serving(app) as url, app.app_context():
        genuine = simulator.message("text", "o-victim-sender", "楼下有人打架")
        query, body = simulator.signed(genuine, KEYS, mode="safe")
        assert "警情编号" in simulator.read_reply(post(url, query, body).text, KEYS)["Content"]
        redis.flushdb()
        captured = {k: v for k, v in query.items() if k not in ("encrypt_type", "msg_signature")}
        forged = simulator.xml_of(simulator.message("text", "o-someone-else", "冒名报警")).encode()
        refused = post(url, captured, forged)
        assert (refused.status_code, refused.text) == (
            403,
            "safe mode: plaintext refused, send encrypted with msg_signature",
        )
        # Without a plain `signature` at all, or with encrypt_type=raw spelled out: the same.
        assert post(url, {**captured, "encrypt_type": "raw"}, forged).status_code == 403
        assert count(Incident) == 1
        assert count(Citizen, Citizen.oa_openid == "o-someone-else") == 0
        assert count(UsedNonce) == 0  # a refusal writes nothing, not even a nonce


def test_legitimate_encrypted_traffic_passes_on_redis_alone(make_app, fake, redis, redis_url):
    app = make_app(**wechat_config(fake, REDIS_URL=redis_url, WECHAT_ALLOW_PLAINTEXT=False))
    with serving(app) as url, app.app_context():
        sender = Sender(url, "safe")
        for n in range(3):
            assert "警情编号" in sender.reply(simulator.message("text", f"o-safe-{n}", "有人打架"))
        assert count(Incident) == 3
        # msg_signature covers the body: with Redis answering, the database keeps no nonce (fast path).
        assert count(UsedNonce) == 0


@pytest.mark.parametrize("mode", ["safe", "plain"])
def test_a_replay_with_redis_down_is_refused_by_the_database(make_app, fake, mode):
    app = make_app(**wechat_config(fake, REDIS_URL=DEAD_REDIS, WECHAT_ALLOW_PLAINTEXT=mode == "plain"))
    with serving(app) as url, app.app_context():
        timestamp, nonce = int(time.time()), "777001"
        first = simulator.message("text", "o-first", "楼下有人打架")
        query, body = simulator.signed(first, KEYS, mode=mode, timestamp=timestamp, nonce=nonce)
        answers = [post(url, query, body) for _ in range(2)]  # the message, then WeChat's byte-identical retry
        assert [a.status_code for a in answers] == [200, 200]
        assert answers[0].text.count("<xml>") == 1
        assert count(Incident) == 1 and count(UsedNonce) == 1
        other = simulator.message("text", "o-attacker", "另一条消息")
        query, body = simulator.signed(other, KEYS, mode=mode, timestamp=timestamp, nonce=nonce)
        refused = post(url, query, body)
        assert (refused.status_code, refused.text) == (403, "nonce already used for another message")
        assert count(Incident) == 1 and count(Citizen, Citizen.oa_openid == "o-attacker") == 0


def test_compatible_mode_with_redis_flushed_still_refuses_another_body_under_a_used_nonce(
    make_app, fake, redis, redis_url
):
    """Plaintext is accepted only when allowed (migrating an account); its body is not signed, so its nonce is
    always kept in the database: a flushed Redis forgets it, the database does not."""
    app = make_app(**wechat_config(fake, REDIS_URL=redis_url, WECHAT_ALLOW_PLAINTEXT=True))
    with serving(app) as url, app.app_context():
        timestamp, nonce = int(time.time()), "777002"
        query, body = simulator.signed(
            simulator.message("text", "o-plain", "有人打架"), KEYS, timestamp=timestamp, nonce=nonce
        )
        assert post(url, query, body).status_code == 200
        redis.flushdb()
        forged = simulator.xml_of(simulator.message("text", "o-someone-else", "冒名报警")).encode()
        refused = post(url, query, forged)
        assert (refused.status_code, refused.text) == (403, "nonce already used for another message")
        assert count(Incident) == 1 and count(Citizen, Citizen.oa_openid == "o-someone-else") == 0


def test_compatible_mode_remembers_an_encrypted_message_s_nonce_durably_too(make_app, fake, redis, redis_url):
    """While plaintext is accepted, a captured safe-mode query string could carry a plaintext body: so the
    encrypted message's nonce is kept in the database as well, and a flushed Redis does not open the door."""
    app = make_app(**wechat_config(fake, REDIS_URL=redis_url, WECHAT_ALLOW_PLAINTEXT=True))
    with serving(app) as url, app.app_context():
        query, body = simulator.signed(simulator.message("text", "o-enc", "有人打架"), KEYS, mode="safe")
        assert post(url, query, body).status_code == 200
        redis.flushdb()
        captured = {k: v for k, v in query.items() if k not in ("encrypt_type", "msg_signature")}
        forged = simulator.xml_of(simulator.message("text", "o-someone-else", "冒名报警")).encode()
        assert post(url, captured, forged).status_code == 403
        assert count(Incident) == 1 and count(Citizen, Citizen.oa_openid == "o-someone-else") == 0


def test_when_neither_redis_nor_the_database_can_answer_the_message_is_refused_for_a_retry(make_app, fake):
    """Not a 200 of any kind: WeChat counts any answer as delivered, so the guard says 503 and nothing else ran."""
    app = make_app(**wechat_config(fake))
    down = make_app(**wechat_config(fake, REDIS_URL=DEAD_REDIS, SQLALCHEMY_DATABASE_URI=DEAD_DATABASE))
    with serving(down) as url:
        query, body = simulator.signed(simulator.message("text", "o-x", "有人打架"), KEYS, mode="safe")
        refused = post(url, query, body)
        assert (refused.status_code, refused.text) == (503, "replay guard unavailable, retry later")
    with app.app_context():
        assert count(Incident) == 0 and count(InboundMessage) == 0


def test_the_sweep_deletes_expired_nonces_only(ctx):
    now = clock.now()
    assert nonces.remember("1:a", "d" * 64, ttl=10, now=now) is None
    assert nonces.remember("2:b", "e" * 64, ttl=1000, now=now) is None
    assert nonces.remember("2:b", "f" * 64, ttl=1000, now=now) == "e" * 64
    assert nonces.sweep_expired(now=now + timedelta(seconds=60)) == 1
    assert db.session.scalars(select(UsedNonce.key)).all() == ["2:b"]
