"""Per-citizen rate limits counted in real Redis, and failing open: with Redis down a citizen still reports."""

import pytest

from casework.db import db
from casework.models import Incident
from tests import services
from tests.fail_fast import assert_fails_fast

LIMITS = {"report": "2/600", "chat": "30/60"}


@pytest.mark.parametrize(
    "live_server", [{"REDIS_URL": services.REDIS_URL, "MINIAPP_RATE_LIMITS": LIMITS}], indirect=True
)
def test_reports_are_limited_per_citizen_in_redis(redis, live_server):
    live = live_server
    first, second = live.login("openid-rl-1"), live.login("openid-rl-2")
    for n in range(2):
        assert first.post(live.api("/incidents"), json={"description": f"第{n}次"}).status_code == 201
    third = first.post(live.api("/incidents"), json={"description": "第三次"})
    assert third.status_code == 429
    assert third.json()["message"] == "操作过于频繁,请稍后再试"
    assert 0 < int(third.headers["Retry-After"]) <= 600
    assert any(key.startswith(b"wx110:rate:miniapp:report:") for key in redis.keys("*"))
    # The limit is per citizen: someone else is not affected.
    assert second.post(live.api("/incidents"), json={"description": "我也报警"}).status_code == 201


@pytest.mark.parametrize(
    "live_server", [{"REDIS_URL": "redis://127.0.0.1:1/0", "MINIAPP_RATE_LIMITS": LIMITS}], indirect=True
)
def test_with_redis_down_the_limit_fails_open_and_reports_are_kept(live_server):
    live = live_server
    citizen = live.login("openid-no-redis")
    assert_fails_fast(live.app)  # a dead Redis stalls nothing (timed in benchmarks/dead_redis.py)
    for n in range(4):  # over the limit of 2: nothing counts while Redis is unreachable
        answer = citizen.post(live.api("/incidents"), json={"description": f"Redis 挂了也要能报警 {n}"})
        assert answer.status_code == 201, answer.text
    with live.app.app_context():
        assert db.session.query(Incident).count() == 4
