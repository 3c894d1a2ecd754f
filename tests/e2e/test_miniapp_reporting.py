"""Reporting details over HTTP: doorplate tokens, field-level Chinese errors, paging newest first, expiry."""

import http.client
import json
from datetime import timedelta

import pytest
import requests

from casework import clock, doorplates, seed
from casework.db import db
from casework.models import Incident

QR = {"QR_KEYS": "a:0123456789abcdef0123"}


@pytest.mark.parametrize("live_server", [QR], indirect=True)
def test_report_by_doorplate_token_takes_its_address_and_unit(live_server):
    live = live_server
    with live.app.app_context():
        seed.load_categories()
        seed.load_world()
        plate = seed.doorplate("DH-0001")
        token, address = doorplates.token_for(plate), plate.address
    citizen = live.login("openid-door")
    answer = citizen.post(live.api("/incidents"), json={"description": "门口有可疑人员", "doorplate_token": token})
    assert answer.status_code == 201, answer.text
    assert answer.json()["address"] == address
    forged = citizen.post(live.api("/incidents"), json={"description": "伪造", "doorplate_token": token[:-2] + "xx"})
    assert forged.status_code == 409  # well formed, but names no doorplate in use: refused for what it names
    assert forged.json()["fields"] == {"doorplate_token": ["门牌二维码无效或已停用"]}


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"description": ["此项为必填项"]}),
        ({"description": ""}, {"description": ["长度须在1到2000个字符之间"]}),
        ({"description": "x", "latitude": 91, "longitude": 0}, {"latitude": ["须在-90到90之间"]}),
        ({"description": "x", "latitude": 30.1}, {"latitude": ["经纬度须同时提供"], "longitude": ["经纬度须同时提供"]}),
        ({"description": "x", "category": "9999"}, {"category": ["警情类别不存在"]}),
        ({"description": "x", "attachments": "1"}, {"attachments": ["须为列表"]}),
        ({"description": "x", "phone": "1"}, {"phone": ["不支持的字段"]}),
        ({"description": 5}, {"description": ["须为文本"]}),
    ],
)
def test_bad_reports_get_field_level_chinese_errors_and_change_nothing(live_server, body, fields):
    live = live_server
    with live.app.app_context():
        seed.load_categories()
    citizen = live.login("openid-typo")
    answer = citizen.post(live.api("/incidents"), json=body)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_input" and answer.json()["message"] == "提交的内容有误,请检查后重试"
    assert answer.json()["fields"] == fields
    assert citizen.get(live.api("/incidents")).json()["items"] == []


def test_list_pages_newest_first(live_server):
    live = live_server
    citizen = live.login("openid-pager")
    live.app.config["MINIAPP_RATE_LIMITS"] = {}
    numbers = [
        citizen.post(live.api("/incidents"), json={"description": f"第{n}起"}).json()["number"] for n in range(5)
    ]
    first = citizen.get(live.api("/incidents"), params={"limit": 2}).json()
    assert first["next_before_id"], first
    second = citizen.get(live.api("/incidents"), params={"limit": 2, "before_id": first["next_before_id"]}).json()
    assert "items" in second, second
    third = citizen.get(live.api("/incidents"), params={"limit": 2, "before_id": second["next_before_id"]}).json()
    seen = [i["number"] for page in (first, second, third) for i in page["items"]]
    assert seen == list(reversed(numbers))
    assert third["next_before_id"] is None
    assert citizen.get(live.api("/incidents"), params={"limit": 0}).json()["fields"] == {"limit": ["须在1到50之间"]}


def test_a_token_expires_after_its_ttl(live_server):
    live = live_server
    citizen = live.login("openid-ttl")
    assert citizen.get(live.api("/incidents")).status_code == 200
    clock.freeze(clock.now() + timedelta(seconds=live.app.config["MINIAPP_SESSION_TTL"] + 1))
    expired = citizen.get(live.api("/incidents"))
    assert expired.status_code == 401 and expired.json()["message"] == "登录已过期,请重新登录"
    forged = requests.get(live.api("/incidents"), headers={"Authorization": "Bearer forged"}, timeout=10)
    assert forged.status_code == 401


def test_consent_results_are_validated_and_counted(live_server):
    live = live_server
    citizen = live.login("openid-consent")
    recorded = citizen.post(live.api("/subscriptions"), json={"results": {"tmpl-progress": "accept", "t2": "reject"}})
    assert recorded.status_code == 201 and recorded.json() == {"recorded": 1, "available": 1}
    bad = citizen.post(live.api("/subscriptions"), json={"results": {"tmpl-progress": "maybe"}})
    assert bad.status_code == 422 and bad.json()["fields"] == {"results": {"tmpl-progress": {"value": ["取值无效"]}}}
    many = citizen.post(live.api("/subscriptions"), json={"results": {f"t{n}": "accept" for n in range(11)}})
    assert many.status_code == 422 and many.json()["fields"] == {"results": ["须有1到10项"]}


def post_raw(live, token: str, path: str, body: bytes, *, chunked: bool) -> tuple[int, dict]:
    host, port = live.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", f"/api/miniapp/v1{path}")
    connection.putheader("Authorization", f"Bearer {token}")
    connection.putheader("Content-Type", "application/json")
    connection.putheader(*(("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(len(body)))))
    connection.endheaders()
    try:
        if chunked:
            for start in range(0, len(body), 8192):
                piece = body[start : start + 8192]
                connection.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            connection.send(b"0\r\n\r\n")
        else:
            connection.send(body)
    except (BrokenPipeError, ConnectionResetError):
        pass
    response = connection.getresponse()
    status, payload = response.status, json.loads(response.read() or b"{}")
    connection.close()
    return status, payload


@pytest.mark.parametrize("chunked", [False, True])
def test_json_bodies_over_the_limit_are_refused_not_truncated(live_server, chunked):
    live = live_server
    token = live.login("openid-json").headers["Authorization"].split()[1]
    # Valid JSON whatever prefix a truncation would keep: only trailing spaces make it large.
    padded = json.dumps({"description": "正常报警"}).encode() + b" " * (live.app.config["MINIAPP_MAX_JSON_BYTES"] + 10)
    status, payload = post_raw(live, token, "/incidents", padded, chunked=chunked)
    assert status == 413 and payload["error"] == "too_large"
    small = json.dumps({"description": "分块发送的报警"}).encode()
    status, payload = post_raw(live, token, "/incidents", small, chunked=chunked)
    assert status == 201 and payload["description"] == "分块发送的报警"
    with live.app.app_context():
        assert db.session.query(Incident).count() == 1
