"""Every refusal of the mini-program API answers its exact status and changes nothing: a digest of every row of
every table is the same before and after (incidents, attachments, complaints, ratings, outbox, audit entries...)."""

import hashlib

import pytest
import requests
from sqlalchemy import select

from casework import citizens, complaints, doorplates, incidents, seed
from casework.db import db
from casework.models import Incident, Officer
from casework.status import IncidentStatus
from tests import services
from tests.miniapp_support import ELF_HEADER

LIMITS = {"chat": "1/600"}
FINISH = (IncidentStatus.DISPATCHED, IncidentStatus.ON_SCENE, IncidentStatus.HANDLED, IncidentStatus.CLOSED)


def snapshot() -> str:
    digest = hashlib.sha256()
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table).order_by(*table.primary_key.columns)):
            digest.update(repr(tuple(row)).encode())
    db.session.rollback()
    return digest.hexdigest()


# name -> (who asks, method, path with {incident} / {complaint}, keyword arguments, exact status)
REFUSALS = {
    "a second rating": ("owner", "post", "/incidents/{incident}/rating", {"json": {"rating": 1}}, 409),
    "rating a complaint not yet answered": (
        "owner",
        "post",
        "/complaints/{complaint}/rating",
        {"json": {"rating": 5}},
        409,
    ),
    "chat on another citizen's incident": (
        "stranger",
        "post",
        "/incidents/{incident}/messages",
        {"json": {"body": "你好"}},
        404,
    ),
    "rating another citizen's incident": (
        "stranger",
        "post",
        "/incidents/{incident}/rating",
        {"json": {"rating": 1}},
        404,
    ),
    "complaint on another citizen's incident": (
        "stranger",
        "post",
        "/complaints",
        {"json": {"incident_id": "{incident}", "body": "投诉"}},
        404,
    ),
    "an empty report": ("owner", "post", "/incidents", {"json": {"description": ""}}, 422),
    "a forged doorplate code": (
        "owner",
        "post",
        "/incidents",
        {"json": {"description": "伪造", "doorplate_token": "forged-token-0000"}},
        409,
    ),
    "a revoked doorplate code": (
        "owner",
        "post",
        "/incidents",
        {"json": {"description": "停用的门牌", "doorplate_token": "{revoked}"}},
        409,
    ),
    "over the chat limit": ("owner", "post", "/incidents/{incident}/messages", {"json": {"body": "还在吗"}}, 429),
    "a program disguised as a photo": (
        "owner",
        "post",
        "/uploads",
        {"files": {"file": ("photo.png", ELF_HEADER, "image/png")}},
        415,
    ),
    "no token": ("nobody", "post", "/incidents", {"json": {"description": "没有登录"}}, 401),
}


def fill(value, names: dict):
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in names:
            return names[value[1:-1]]
        return value.format(**names) if "{" in value else value
    if isinstance(value, dict):
        return {k: fill(v, names) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    "live_server", [{"REDIS_URL": services.REDIS_URL, "MINIAPP_RATE_LIMITS": LIMITS}], indirect=True
)
@pytest.mark.parametrize("name", REFUSALS)
def test_each_refusal_answers_its_status_and_changes_nothing(redis, live_server, name):
    live = live_server
    with live.app.app_context():
        seed.load_categories()
        seed.load_world()
        officer_id = seed.officer("100007").id  # the command centre: sees incidents not yet routed
        revoked_token = doorplates.token_for(seed.doorplate("DH-0002"))
        db.session.commit()
    owner, stranger = live.login("openid-owner"), live.login("openid-stranger")
    made = owner.post(live.api("/incidents"), json={"description": "楼下有人吵架"})
    assert made.status_code == 201, made.text
    incident_id = made.json()["id"]
    assert owner.post(live.api(f"/incidents/{incident_id}/messages"), json={"body": "人还在"}).status_code == 201
    with live.app.app_context():
        incident = db.session.get(Incident, incident_id)
        for status in FINISH:
            incidents.change_status(
                incident=incident, actor=db.session.get(Officer, officer_id), status=status, public_note="进度"
            )
        citizen = citizens.identify(miniapp_openid="openid-owner")
        complaint_id = complaints.file(citizen=citizen, incident=incident, body="太慢").id
        db.session.commit()
    assert owner.post(live.api(f"/incidents/{incident_id}/rating"), json={"rating": 5}).status_code == 200
    revoked_now = live.app.test_cli_runner().invoke(args=["doorplates", "revoke", "DH-0002", "--reason", "门牌丢失"])
    assert revoked_now.exit_code == 0, revoked_now.output

    who, method, path, kwargs, status = REFUSALS[name]
    names = {"incident": incident_id, "complaint": complaint_id, "revoked": revoked_token}
    session = {"owner": owner, "stranger": stranger, "nobody": requests.Session()}[who]
    with live.app.app_context():
        before = snapshot()
        answer = getattr(session, method)(live.api(fill(path, names)), timeout=30, **fill(kwargs, names))
        assert answer.status_code == status, answer.text
        assert answer.json()["message"], "every refusal says why, in Chinese"
        assert snapshot() == before, f"{name} was refused but changed the database"
        assert db.session.get(Incident, incident_id).rating == 5
        db.session.remove()
