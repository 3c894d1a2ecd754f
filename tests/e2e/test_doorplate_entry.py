"""A doorplate's entry paths over real HTTP: the landing page, its web form, the mini-program JSON; and every
kind of bad code answering 404 with a clear page while creating nothing."""

import re
import time

import pytest
import requests
from sqlalchemy import func, select

from casework import doorplates, seed
from casework.db import db
from casework.doorplate_codes import KeyRing, sign
from casework.models import AuditEntry, Citizen, Incident, System
from casework.status import Channel
from tests.live_server import serving

OLD_KEYS = "a:old-doorplate-key-0123456789"
NEW_KEYS = "b:new-doorplate-key-0123456789," + OLD_KEYS


@pytest.fixture
def live(make_app):
    app = make_app(QR_KEYS=NEW_KEYS, MINIAPP_APPID="wx-mini-test", MINIAPP_DOORPLATE_PAGE="pages/report/index")
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        with serving(app, public=True) as base_url:
            yield base_url
        db.session.remove()


def get(url: str, **kwargs) -> requests.Response:
    # End the test's own transaction first: on SQLite it holds the write lock the server needs.
    db.session.rollback()
    return requests.get(url, timeout=10, **kwargs)


def post(url: str, **kwargs) -> requests.Response:
    db.session.rollback()
    return requests.post(url, timeout=10, **kwargs)


def counts():
    db.session.rollback()  # see what the server committed
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Incident, Citizen, AuditEntry))


def settled_counts():
    """The counts once the report's follow-up jobs (routing, supervision clocks: audited in the background) are done."""
    now = counts()
    for _ in range(50):
        time.sleep(0.2)
        now, previous = counts(), now
        if now == previous:
            return now
    return now


def token_of(code: str) -> str:
    return doorplates.token_for(doorplates.by_code(code))


def form_fields(html: str) -> dict:
    return {"form_token": re.search(r'name="form_token" value="([^"]+)"', html).group(1)}


def one_char_changed(token: str) -> str:
    index = 10
    return token[:index] + ("B" if token[index] != "B" else "C") + token[index + 1 :]


def bad_tokens() -> dict[str, str]:
    plate_id = doorplates.by_code("DH-0001").id
    good = token_of("DH-0001")
    return {
        "forged": sign(KeyRing.parse("b:guessed-secret-0123456789"), plate_id),
        "one char changed": one_char_changed(good),
        "unknown key id": sign(KeyRing.parse("z:some-other-key-0123456789"), plate_id),
        "truncated": good[:-1],
        "garbage": "not-a-token<script>",
        "with a slash": good[:10] + "/" + good[11:],
        "very long": good * 200,
    }


def assert_refused(base_url: str, token: str) -> None:
    page = get(f"{base_url}/d/{token}")
    assert page.status_code == 404
    assert "二维码无效" in page.text and "已停用" in page.text and "110" in page.text
    assert "form_token" not in page.text
    posted = post(f"{base_url}/d/{token}", data={"description": "有人打架", "phone": "13800138000"})
    assert posted.status_code == 404 and "二维码无效" in posted.text
    api = get(f"{base_url}/api/miniapp/v1/doorplates/{token}")
    assert api.status_code == 404 and api.json()["error"] == "invalid_doorplate_code"


def test_bad_codes_answer_404_with_a_clear_page_and_create_nothing(live):
    base_url = live
    before = counts()
    for kind, token in bad_tokens().items():
        try:
            assert_refused(base_url, token)
        except AssertionError as failure:
            raise AssertionError(f"{kind}: {failure}") from failure
    assert counts() == before


def test_revoked_and_moved_doorplates_answer_404_and_create_nothing(live):
    base_url = live
    revoked, moved = token_of("DH-0001"), token_of("DH-0003")
    assert get(f"{base_url}/d/{revoked}").status_code == 200
    doorplates.revoke(doorplate=doorplates.by_code("DH-0001"), actor=System("test"), reason="门牌被涂改")
    doorplates.move(doorplate=doorplates.by_code("DH-0003"), to=doorplates.by_code("DH-0002"), actor=System("test"))
    before = counts()
    assert_refused(base_url, revoked)
    assert_refused(base_url, moved)
    assert counts() == before


def test_previous_key_works_until_retired(make_app):
    app = make_app(QR_KEYS=OLD_KEYS)
    with app.app_context():
        seed.load_world()
        old_token = token_of("DH-0001")
        db.session.remove()
    rotated = make_app(QR_KEYS=NEW_KEYS)
    with rotated.app_context(), serving(rotated) as base_url:
        assert old_token[0] == "a" and token_of("DH-0001")[0] == "b"
        assert get(f"{base_url}/d/{old_token}").status_code == 200
        assert get(f"{base_url}/api/miniapp/v1/doorplates/{old_token}").status_code == 200
        db.session.remove()
    retired = make_app(QR_KEYS="b:new-doorplate-key-0123456789")
    with retired.app_context(), serving(retired) as base_url:
        before = counts()
        assert_refused(base_url, old_token)
        assert counts() == before
        db.session.remove()


def test_landing_page_and_web_report_bound_to_the_doorplate(live):
    base_url = live
    plate = doorplates.by_code("DH-0002")
    token = token_of("DH-0002")
    page = get(f"{base_url}/d/{token}")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert plate.address in page.text and plate.unit.name in page.text and "紧急情况请直接拨打110" in page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    scheme = re.search(r'href="(weixin://dl/business/[^"]+)"', page.text).group(1)
    assert scheme == (
        "weixin://dl/business/?appid=wx-mini-test&amp;path=pages/report/index"
        f"&amp;query=scene%3D{token}&amp;env_version=release"
    )
    fields = form_fields(page.text) | {"description": "楼道里有人打架,两个人", "phone": "138 0013 8000", "website": ""}
    received = post(f"{base_url}/d/{token}", data=fields)
    assert received.status_code == 200 and "已收到" in received.text
    number = re.search(r'id="incident-number">([^<]+)<', received.text).group(1)
    db.session.rollback()
    incident = db.session.scalar(select(Incident).where(Incident.number == number))
    assert incident.doorplate_id == plate.id and incident.unit_id == plate.unit_id
    assert incident.address == plate.address and incident.channel == Channel.WEB.value
    assert incident.citizen.phone == "13800138000" and incident.citizen.oa_openid is None
    before = settled_counts()
    again = post(f"{base_url}/d/{token}", data=fields)  # a double tap or a resend
    assert number in again.text and settled_counts() == before
    hostile = form_fields(get(f"{base_url}/d/{token}").text) | {
        "description": "有人\x00砸车\x1b",
        "phone": "13800138000",
    }
    answer = post(f"{base_url}/d/{token}", data=hostile)
    assert answer.status_code == 200
    stored = db.session.scalar(
        select(Incident).where(Incident.number == re.search(r'id="incident-number">([^<]+)<', answer.text).group(1))
    )
    assert stored.description == "有人砸车"


def test_web_form_refuses_forged_form_token_honeypot_and_bad_phone(live):
    base_url = live
    token = token_of("DH-0001")
    fields = form_fields(get(f"{base_url}/d/{token}").text)
    before = counts()
    other = form_fields(get(f"{base_url}/d/{token_of('DH-0002')}").text)
    cases = [
        ({"form_token": "forged", "description": "打架", "phone": "13800138000"}, 400, "页面已过期"),
        (other | {"description": "打架", "phone": "13800138000"}, 400, "页面已过期"),  # issued for another plate
        (fields | {"description": "打架", "phone": "13800138000", "website": "http://spam"}, 400, "页面已过期"),
        (fields | {"description": "打架", "phone": "12345"}, 400, "手机号码"),
        (fields | {"description": "   ", "phone": "13800138000"}, 400, "请描述"),
    ]
    for data, status, message in cases:
        answer = post(f"{base_url}/d/{token}", data=data)
        assert answer.status_code == status and message in answer.text, data
        assert "门牌扫码报警" in answer.text  # the form comes back, with what was typed
    assert "12345" in post(f"{base_url}/d/{token}", data=fields | {"description": "打架", "phone": "12345"}).text
    assert counts()[0] == before[0]


def test_web_form_is_rate_limited_per_address_in_redis(make_app, redis_url, redis):
    app = make_app(REDIS_URL=redis_url, QR_WEB_REPORT_LIMIT="2/600")
    with app.app_context():
        seed.load_world()
        token = token_of("DH-0001")
        with serving(app, public=True) as base_url:
            statuses = []
            for attempt in range(3):
                fields = form_fields(get(f"{base_url}/d/{token}").text)
                statuses.append(
                    post(
                        f"{base_url}/d/{token}", data=fields | {"description": f"第{attempt}次", "phone": "13800138000"}
                    ).status_code
                )
            assert statuses == [200, 200, 429]
            plate_id = doorplates.by_code("DH-0001").id
            assert redis.ttl(f"wx110:rate:qr:web-report:{plate_id}:127.0.0.1") > 0
            other = token_of("DH-0002")  # another doorplate has its own allowance
            fields = form_fields(get(f"{base_url}/d/{other}").text)
            assert (
                post(f"{base_url}/d/{other}", data=fields | {"description": "别处", "phone": "13800138000"}).status_code
                == 200
            )
        db.session.remove()


def test_miniapp_doorplate_json(live):
    base_url = live
    plate = doorplates.by_code("JB-0001")
    token = token_of("JB-0001")
    answer = get(f"{base_url}/api/miniapp/v1/doorplates/{token}")
    assert answer.status_code == 200
    assert answer.json() == {
        "doorplate": {
            "token": token,
            "code": "JB-0001",
            "address": plate.address,
            "longitude": pytest.approx(120.21),
            "latitude": pytest.approx(30.21),
            "station": {"code": "33010301", "name": "江滨派出所"},
        }
    }


def test_vendored_font_is_served_for_browsers_without_chinese_fonts(live):
    base_url = live
    answer = get(f"{base_url}/d/-/font.otf")
    assert answer.status_code == 200 and answer.content[:4] == b"OTTO"
    assert "immutable" in answer.headers["Cache-Control"]
