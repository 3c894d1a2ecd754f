"""Errors answer in the channel's own language, over real HTTP: a Chinese HTML page on browser routes, JSON on
/api/, and on /wechat what the official-account callback itself answers (plain text, never JSON or a page)."""

import pytest
import requests

from casework.errors import Conflict, InvalidInput
from tests.live_server import serving
from tests.wechat_side import wechat_config

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _conflict():
    raise Conflict("该警情已由其他民警处理")


def _invalid():
    raise InvalidInput("请描述发生了什么", field="description")


def _crash():
    raise RuntimeError("a bug, not a domain error")


@pytest.fixture
def live(make_app, fake):
    # Unhandled exceptions become 500 answers here, as in production, instead of reaching the test.
    app = make_app(PROPAGATE_EXCEPTIONS=False, **wechat_config(fake))
    for prefix in ("", "/api/miniapp/v1", "/wechat"):
        app.add_url_rule(f"{prefix}/test-errors/conflict", f"conflict{prefix}", _conflict)
        app.add_url_rule(f"{prefix}/test-errors/invalid", f"invalid{prefix}", _invalid)
        app.add_url_rule(f"{prefix}/test-errors/crash", f"crash{prefix}", _crash)
    with serving(app) as base_url:
        yield base_url


def get(url: str, **options) -> requests.Response:
    return requests.get(url, timeout=10, headers=options.pop("headers", BROWSER), **options)


def assert_chinese_page(answer: requests.Response, status: int, *phrases: str) -> None:
    assert answer.status_code == status
    assert answer.headers["Content-Type"].startswith("text/html")
    assert answer.text.lstrip().lower().startswith("<!doctype html>")
    assert '<html lang="zh-CN">' in answer.text and "110" in answer.text
    assert "<script" not in answer.text and "http" not in answer.text.split("</head>")[0]  # no JS, no CDN
    for phrase in phrases:
        assert phrase in answer.text
    assert "Not Found" not in answer.text and "Internal Server Error" not in answer.text


def assert_wechat_answer(answer: requests.Response, status: int) -> None:
    assert answer.status_code == status
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert not answer.text.lstrip().startswith(("<", "{"))  # neither XML/HTML nor JSON
    assert answer.text and "\n" not in answer.text.strip()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_browser_routes_answer_a_chinese_page(live):
    assert_chinese_page(get(f"{live}/no-such-page"), 404, "页面不存在", "未找到")
    assert_chinese_page(get(f"{live}/no/such/page"), 404, "页面不存在")
    assert_chinese_page(get(f"{live}/test-errors/conflict"), 409, "该警情已由其他民警处理")
    assert_chinese_page(get(f"{live}/test-errors/invalid"), 400, "请描述发生了什么")
    assert_chinese_page(get(f"{live}/test-errors/crash"), 500, "系统繁忙")
    not_allowed = requests.post(f"{live}/test-errors/conflict", timeout=10, headers=BROWSER)
    assert_chinese_page(not_allowed, 405, "不支持该请求方法")
    assert "GET" in not_allowed.headers["Allow"]
    assert '<a class="back" href="/">返回首页</a>' in get(f"{live}/no-such-page").text


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_console_page_that_is_missing_speaks_to_the_officer_and_leads_back(live):
    missing = get(f"{live}/console/no-such-page")
    assert missing.status_code == 404 and "页面不存在" in missing.text
    assert "110" not in missing.text  # a citizen's message has no place on an officer's page
    assert "系统管理员" in missing.text and '<a class="back" href="/console/">返回接警处警台</a>' in missing.text


@pytest.mark.parametrize("backend", ["sqlite"])
def test_api_routes_answer_json(live):
    api = f"{live}/api/miniapp/v1"
    missing = get(f"{api}/no-such-endpoint")
    assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/json"
    assert missing.json() == {"error": "not_found", "message": "未找到"}
    conflict = get(f"{api}/test-errors/conflict")
    assert conflict.status_code == 409
    assert conflict.json() == {"error": "conflict", "message": "该警情已由其他民警处理", "detail": {}}
    invalid = get(f"{api}/test-errors/invalid")
    assert invalid.status_code == 400 and invalid.json()["detail"] == {"field": "description"}
    crash = get(f"{api}/test-errors/crash")
    assert crash.status_code == 500 and crash.json()["message"] == "系统繁忙,请稍后再试"
    # A browser route asked for JSON by a script gets JSON too.
    scripted = get(f"{live}/test-errors/conflict", headers={"Accept": "application/json"})
    assert scripted.status_code == 409 and scripted.json()["error"] == "conflict"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_wechat_answers_as_its_callback_does(live):
    # The callback's own answer to a request it refuses: the contract the error handlers keep.
    refused = get(f"{live}/wechat", headers={})
    assert_wechat_answer(refused, 400)
    not_allowed = requests.put(f"{live}/wechat", data=b"<xml/>", timeout=10, headers=BROWSER)
    assert_wechat_answer(not_allowed, 405)
    assert not_allowed.text == "method not allowed"
    assert_wechat_answer(get(f"{live}/wechat/no-such-path"), 404)
    conflict = get(f"{live}/wechat/test-errors/conflict", headers={"Accept": "application/json"})
    assert_wechat_answer(conflict, 409)
    assert conflict.text == "conflict"
    assert_wechat_answer(get(f"{live}/wechat/test-errors/invalid"), 400)
    assert_wechat_answer(get(f"{live}/wechat/test-errors/crash"), 500)
