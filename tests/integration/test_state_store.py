"""The fail-soft state store and its rate limiter, in memory and on a real Redis, and with Redis unreachable."""

import time

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

import store
from casework.db import db
from casework.models import Incident
from server.extensions import make_redis
from store import limits
from tests.wechat_side import KEYS, Sender, serving, wechat_config
from wechat import simulator

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every call fails at once


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fast_redis(url: str):
    """A client as the app builds one for the request path: short timeouts, no retries."""
    return make_redis(url, connect_timeout=0.3, socket_timeout=0.5)


@pytest.fixture(params=["memory", "redis"])
def kept(request):
    """A store of each kind (Redis flushed before and after)."""
    if request.param == "memory":
        return store.MemoryStore()
    request.getfixturevalue("redis")
    return store.RedisStore(fast_redis(request.getfixturevalue("redis_url")))


def test_values_are_kept_replaced_and_deleted(kept):
    assert kept.get("a") is None
    kept.set("a", "一", 60)
    assert kept.get("a") == "一"
    kept.set("a", "二", 60)
    assert kept.get("a") == "二"
    kept.delete("a")
    assert kept.get("a") is None
    kept.set("b", "x", 60)
    kept.set("b", "y", 0)  # a zero window forgets
    assert kept.get("b") is None


def test_several_values_are_read_in_one_call_in_order(kept):
    kept.set("step:o1", "doorplate", 60)
    kept.set("where:o1", "[26.0, 119.3]", 60)
    kept.set("gone:o1", "x", 0)  # a zero window forgets
    assert kept.get_many(["step:o1", "follow:o1", "where:o1", "gone:o1"]) == ["doorplate", None, "[26.0, 119.3]", None]
    assert kept.get_many([]) == []
    namespaced = store.state_of(_app_with(kept), "bot")
    namespaced.set("step:o2", "where", 60)
    assert namespaced.get_many(["step:o2", "follow:o2"]) == ["where", None]
    assert kept.get_many(["bot:step:o2"]) == ["where"]


def _app_with(kept) -> Flask:
    app = Flask(__name__)
    app.extensions[store.scope.EXTENSION] = kept
    return app


def test_add_keeps_the_first_value_and_answers_it(kept):
    assert kept.add("nonce", "digest-1", 60) is None
    assert kept.add("nonce", "digest-2", 60) == "digest-1"
    assert kept.get("nonce") == "digest-1"


def test_count_counts_within_one_window(kept):
    assert [kept.count("tries", 60)[0] for _ in range(3)] == [1, 2, 3]
    used, seconds_left = kept.count("tries", 60)
    assert used == 4 and 0 < seconds_left <= 60
    assert kept.count("other", 60)[0] == 1


def test_redis_keys_live_under_the_apps_prefix_with_their_expiry(redis, redis_url):
    kept = store.RedisStore(fast_redis(redis_url))
    kept.set("bot:step:o1", "{}", 900)
    kept.count("rate:x", 600)
    assert 0 < redis.ttl("wx110:bot:step:o1") <= 900
    assert redis.get("wx110:rate:x") == b"1" and 0 < redis.ttl("wx110:rate:x") <= 600


def test_redis_values_and_counters_expire(redis, redis_url):
    kept = store.RedisStore(fast_redis(redis_url))
    kept.set("short", "v", 1)
    kept.add("nonce", "d", 1)
    assert kept.count("tries", 1)[0] == 1 and kept.count("tries", 1)[0] == 2
    time.sleep(1.2)
    assert kept.get("short") is None and kept.get("nonce") is None
    assert kept.count("tries", 1)[0] == 1  # a new window


def test_memory_values_and_counters_expire():
    clock = Clock()
    kept = store.MemoryStore(clock=clock)
    kept.set("short", "v", 10)
    kept.add("nonce", "d", 10)
    assert kept.count("tries", 10) == (1, 10)
    clock.now += 4
    assert kept.count("tries", 10) == (2, 6)  # the window started at the first count
    assert kept.get("short") == "v"
    clock.now += 6
    assert kept.get("short") is None and kept.add("nonce", "e", 10) is None
    assert kept.count("tries", 10) == (1, 10)


def test_memory_drops_expired_entries_nobody_reads_again():
    clock = Clock()
    kept = store.MemoryStore(clock=clock)
    for n in range(100):
        kept.add(f"nonce:{n}", "d", 5)
    clock.now += 120
    kept.set("later", "v", 5)
    assert list(kept.entries) == ["later"]


def test_unreachable_redis_never_raises_keeps_values_in_memory_and_cannot_count():
    kept = store.RedisStore(fast_redis(DEAD_REDIS))
    started = time.monotonic()
    kept.set("step:o1", "doorplate", 60)
    assert kept.get("step:o1") == "doorplate"  # this process still remembers the conversation
    assert kept.get_many(["step:o1", "follow:o1"]) == ["doorplate", None]  # one read, from memory as well
    kept.delete("step:o1")
    assert kept.get("step:o1") is None
    assert kept.add("nonce", "d1", 60) is None
    assert kept.add("nonce", "d2", 60) == "d1"  # a replay is still caught within this process
    assert kept.count("tries", 60) is None  # "cannot tell": the limiter lets the attempt through
    assert time.monotonic() - started < 1


def test_after_a_failure_redis_rests_a_moment_then_answers_again(redis, redis_url):
    clock = Clock()
    kept = store.RedisStore(fast_redis(DEAD_REDIS), pause=1.0, clock=clock)
    kept.set("step:o1", "doorplate", 60)  # fails: kept in memory, and Redis rests
    kept.redis = fast_redis(redis_url)  # Redis is back...
    assert kept.get("step:o1") == "doorplate" and kept.count("tries", 60) is None  # ...but not tried yet
    assert redis.keys("*") == []
    clock.now += 1.0
    assert kept.get("step:o1") is None  # Redis answers again (it never had the value)
    kept.set("step:o1", "text", 60)
    assert redis.get("wx110:step:o1") == b"text" and kept.count("tries", 60) == (1, 60)


def test_the_bot_with_redis_down_still_answers_and_refuses_a_reused_nonce(make_app, fake):
    app = make_app(**wechat_config(fake, REDIS_URL=DEAD_REDIS))
    with serving(app) as url, app.app_context():
        timestamp, nonce = int(time.time()), "4242"
        message = simulator.message("text", "o-no-redis", "楼下有人打架")
        query, body = simulator.signed(message, KEYS, mode="safe", timestamp=timestamp, nonce=nonce)
        answers = [
            simulator.read_reply(requests.post(url, params=query, data=body, timeout=30).text, KEYS) for _ in range(2)
        ]  # the message, then WeChat's byte-identical retry
        assert "警情编号" in answers[0]["Content"] and answers[1]["Content"] == answers[0]["Content"]
        other = {**message, "Content": "另一条消息", "MsgId": "987654321"}
        assert Sender(url, "safe").post(other, timestamp=timestamp, nonce=nonce).status_code == 403
        assert db.session.scalar(select(func.count()).select_from(Incident)) == 1
        db.session.rollback()


# -- the rate limiter, through an app's store -----------------------------------------------------------------


def app_with(redis=None) -> Flask:
    app = Flask("store-test")
    store.init_app(app, redis)
    return app


@pytest.fixture(params=["memory", "redis"])
def limited_app(request):
    if request.param == "memory":
        return app_with()
    request.getfixturevalue("redis")
    return app_with(fast_redis(request.getfixturevalue("redis_url")))


def test_limit_allows_the_rule_then_refuses_with_the_time_left(limited_app):
    with limited_app.app_context():
        for _ in range(3):
            limits.hit("miniapp:report:7", "3/600")
        with pytest.raises(limits.Limited) as refused:
            limits.hit("miniapp:report:7", "3/600")
        assert 0 < refused.value.retry_after <= 600
        assert limits.allows("miniapp:report:8", "3/600")  # another subject has its own window
        assert not limits.allows("miniapp:report:7", limits.Rule(3, 600))


def test_no_rule_is_no_limit(limited_app):
    with limited_app.app_context():
        for _ in range(20):
            limits.hit("anything", None)
            limits.hit("anything", "")


def test_limit_counts_in_redis_under_the_rate_namespace(redis, redis_url):
    with app_with(fast_redis(redis_url)).app_context():
        limits.hit("qr:web-report:1:127.0.0.1", "2/600")
    assert redis.get("wx110:rate:qr:web-report:1:127.0.0.1") == b"1"


def test_limit_fails_open_when_redis_is_unreachable():
    with app_with(fast_redis(DEAD_REDIS)).app_context():
        started = time.monotonic()
        assert all(limits.allows("miniapp:report:7", "1/600") for _ in range(5))
        assert time.monotonic() - started < 1


def test_the_store_follows_the_apps_redis_when_not_given_one(redis, redis_url):
    with_redis, without = Flask("with"), Flask("without")
    with_redis.extensions["wx110.redis"] = fast_redis(redis_url)
    without.extensions["wx110.redis"] = None
    with with_redis.app_context():
        assert isinstance(store.state("bot").inner, store.RedisStore)
    with without.app_context():
        assert isinstance(store.state("bot").inner, store.MemoryStore)
        store.state("bot").set("k", "v", 60)
        assert store.state("bot").get("k") == "v" and store.state("other").get("k") is None


def test_rules_are_written_count_per_seconds():
    assert limits.Rule.parse("10/600") == limits.Rule(10, 600)
    assert limits.Rule.parse(" 5 / 60 ") == limits.Rule(5, 60)
    for bad in ("10", "ten/600", "10/0", "10/60/2", ""):
        with pytest.raises(ValueError):
            limits.Rule.parse(bad)
