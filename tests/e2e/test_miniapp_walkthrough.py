"""A real HTTP client walks the mini-program API against a running server: login, upload a real MP4 and a
photo, report with them, list, read the timeline, chat, complain, and rate once things are finished."""

import hashlib
import io

import requests
from PIL import Image

from casework import citizens, incidents, seed
from casework.complaint_status import ComplaintStatus
from casework.db import db
from casework.models import Attachment, Incident
from casework.status import IncidentStatus
from miniapp_api.models import MiniappSession
from tests.complaint_steps import walk
from tests.miniapp_support import jpeg_with_gps, make_mp4


def test_citizen_walks_login_upload_report_list_detail_chat_complaint(live_server, tmp_path):
    live = live_server
    with live.app.app_context():
        seed.load_categories()
        seed.load_world()
    citizen = live.login("openid-walker")

    video = make_mp4(tmp_path / "clip.mp4", seconds=2)
    photo = jpeg_with_gps()
    # The names and declared types lie on purpose: the server decides by content.
    up_video = citizen.post(live.api("/uploads"), files={"file": ("clip.bin", video.read_bytes(), "text/plain")})
    assert up_video.status_code == 201, up_video.text
    assert up_video.json()["kind"] == "video"
    assert up_video.json()["meta"]["codec"] == "h264" and up_video.json()["meta"]["duration"] == 2.0
    assert up_video.json()["sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()
    up_photo = citizen.post(live.api("/uploads"), files={"file": ("photo.png", photo, "application/octet-stream")})
    assert up_photo.status_code == 201, up_photo.text
    assert (up_photo.json()["kind"], up_photo.json()["content_type"]) == ("image", "image/jpeg")

    report = {
        "description": "小区门口有人打架,已有人受伤",
        "category": "0104",
        "latitude": 30.2741,
        "longitude": 120.1551,
        "address": "东湖路1号门口",
        "client_id": "client-0001-abcdef",
        "attachments": [up_video.json()["id"], up_photo.json()["id"]],
    }
    created = citizen.post(live.api("/incidents"), json=report)
    assert created.status_code == 201, created.text
    incident = created.json()
    assert incident["status"] == "received" and incident["status_label"] == "已接报"
    assert [a["kind"] for a in incident["attachments"]] == ["video", "image"]
    # A retried request (same client_id) returns the same incident and attaches nothing twice.
    again = citizen.post(live.api("/incidents"), json=report)
    assert again.status_code == 201 and again.json()["id"] == incident["id"]
    assert len(again.json()["attachments"]) == 2

    listed = citizen.get(live.api("/incidents"))
    assert listed.status_code == 200
    assert [i["number"] for i in listed.json()["items"]] == [incident["number"]]

    live.app.extensions["wx110.dispatcher"].drain()  # routed to 东湖派出所: only its units may act on it
    with live.app.app_context():
        dispatcher = seed.officer("100001")
        stored = db.session.get(Incident, incident["id"])
        incidents.change_status(
            incident=stored, actor=dispatcher, status=IncidentStatus.DISPATCHED, public_note="东湖派出所民警已出发。"
        )
        originals = {a.kind: a for a in db.session.query(Attachment).filter_by(incident_id=incident["id"])}
        original_photo = live.media_root / originals["image"].storage_key
        assert original_photo.read_bytes() == photo  # the evidence is kept exactly as received

    detail = citizen.get(live.api(f"/incidents/{incident['id']}"))
    assert detail.status_code == 200
    timeline = detail.json()["timeline"]
    assert [t["status"] for t in timeline if t["status"]] == ["received", "dispatched"]
    assert "东湖派出所民警已出发。" in timeline[-1]["note"]
    assert all("附件 #" not in t["note"] for t in timeline)  # internal notes never reach the citizen

    for item in detail.json()["attachments"]:
        preview = citizen.get(f"{live.url}{item['preview_url']}")
        assert preview.status_code == 200 and preview.headers["Content-Type"] == "image/jpeg"
        image = Image.open(io.BytesIO(preview.content))
        assert not image.getexif() and b"Exif" not in preview.content and b"GPS" not in preview.content

    sent = citizen.post(live.api(f"/incidents/{incident['id']}/messages"), json={"body": "嫌疑人往北跑了"})
    assert sent.status_code == 201 and sent.json()["sender"] == "citizen"
    messages = citizen.get(live.api(f"/incidents/{incident['id']}/messages"))
    assert [m["body"] for m in messages.json()] == ["嫌疑人往北跑了"]
    newer = citizen.get(live.api(f"/incidents/{incident['id']}/messages"), params={"after_id": sent.json()["id"]})
    assert newer.status_code == 200 and newer.json() == []

    filed = citizen.post(live.api("/complaints"), json={"incident_id": incident["id"], "body": "出警太慢"})
    assert filed.status_code == 201, filed.text
    complaint = filed.json()
    assert complaint["incident_number"] == incident["number"] and complaint["answer"] is None
    assert [c["id"] for c in citizen.get(live.api("/complaints")).json()] == [complaint["id"]]
    early = citizen.post(live.api(f"/complaints/{complaint['id']}/rating"), json={"rating": 4})
    assert early.status_code == 409

    with live.app.app_context():
        walk(
            complaint["id"],
            ComplaintStatus.ANSWERED,
            supervisor=seed.officer("100005"),
            explainer=seed.officer("100007"),
            answer="经核查,出警时间符合规定,已向您说明。",
        )
        stored = db.session.get(Incident, incident["id"])
        for status in (IncidentStatus.ON_SCENE, IncidentStatus.HANDLED, IncidentStatus.CLOSED):
            incidents.change_status(incident=stored, actor=seed.officer("100002"), status=status)

    answered = citizen.get(live.api(f"/complaints/{complaint['id']}")).json()
    assert answered["answer"].startswith("经核查") and answered["status"] == "answered"
    rated = citizen.post(live.api(f"/complaints/{complaint['id']}/rating"), json={"rating": 4})
    assert rated.status_code == 200 and rated.json()["rating"] == 4 and rated.json()["status_label"] == "已办结"
    assert citizen.post(live.api(f"/complaints/{complaint['id']}/rating"), json={"rating": 5}).status_code == 409

    rating = citizen.post(live.api(f"/incidents/{incident['id']}/rating"), json={"rating": 5, "comment": "谢谢"})
    assert rating.status_code == 200 and rating.json()["rating"] == 5 and rating.json()["can_rate"] is False
    assert citizen.post(live.api(f"/incidents/{incident['id']}/rating"), json={"rating": 1}).status_code == 409


def test_login_joins_the_official_account_citizen_and_never_reveals_session_key(live_server, fake_wechat, caplog):
    live = live_server
    live.fake.unionids["openid-mini-1"] = "union-shared"
    with live.app.app_context():
        official = citizens.identify(oa_openid="openid-oa-1", unionid="union-shared").id
    caplog.set_level("DEBUG")
    answer = requests.post(live.api("/session"), json={"code": "code-openid-mini-1"}, timeout=10)
    assert answer.status_code == 201
    assert answer.json()["citizen_id"] == official
    assert "session_key" not in answer.text
    assert "session_key" not in caplog.text
    token = answer.json()["token"]
    with live.app.app_context():
        stored = db.session.query(MiniappSession).one()
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in (stored.token_hash,)

    fake_wechat.refused_codes.add("not-a-code")  # the fake takes any code unless told otherwise
    bad = requests.post(live.api("/session"), json={"code": "not-a-code"}, timeout=10)
    assert bad.status_code == 401 and bad.json()["message"] == "微信登录失败,请重试"
    missing = requests.post(live.api("/session"), json={}, timeout=10)
    assert missing.status_code == 422 and missing.json()["fields"] == {"code": ["此项为必填项"]}

    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(live.api("/incidents"), headers=headers, timeout=10).status_code == 200
    assert requests.delete(live.api("/session"), headers=headers, timeout=10).status_code == 204
    after = requests.get(live.api("/incidents"), headers=headers, timeout=10)
    assert after.status_code == 401 and after.json()["message"] == "登录已过期,请重新登录"
    assert requests.get(live.api("/incidents"), timeout=10).status_code == 401


def test_openapi_document_is_served_and_describes_the_contract(live_server):
    document = requests.get(live_server.api("/openapi.json"), timeout=10)
    assert document.status_code == 200
    spec = document.json()
    assert spec["openapi"].startswith("3.") and spec["info"]["version"] == "v1"
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "登录接口返回的 token",
    }
    create = spec["paths"]["/api/miniapp/v1/incidents"]["post"]
    assert create["security"] == [{"bearerAuth": []}]
    body = spec["components"]["schemas"][
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    ]
    assert body["required"] == ["description"] and body["additionalProperties"] is False
    upload = spec["paths"]["/api/miniapp/v1/uploads"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload["schema"]["properties"]["file"]["format"] == "binary"
    assert spec["paths"]["/api/miniapp/v1/session"]["post"]["summary"] == "用 wx.login 的 code 登录,换取接口令牌。"
    doorplate = spec["paths"]["/api/miniapp/v1/doorplates/{token}"]["get"]
    assert "security" not in doorplate and set(doorplate["responses"]) >= {"200", "404"}
    answer = doorplate["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert spec["components"]["schemas"][answer]["required"] == ["doorplate"]
