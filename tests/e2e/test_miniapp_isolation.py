"""Citizen A cannot read, list, chat on, rate or complain about citizen B's incident: every attempt answers
exactly what a missing incident answers (404, same body), and nothing changes."""

from sqlalchemy import func, select

from casework import incidents, seed
from casework.db import db
from casework.models import ChatMessage, Complaint, Incident
from casework.status import IncidentStatus
from tests.miniapp_support import png_bytes

MISSING = 987654


def test_another_citizens_incident_looks_missing_for_every_operation(live_server):
    live = live_server
    with live.app.app_context():
        seed.load_categories()
        seed.load_world()
    owner, intruder = live.login("openid-owner"), live.login("openid-intruder")
    upload = owner.post(live.api("/uploads"), files={"file": ("p.png", png_bytes(), "image/png")}).json()
    created = owner.post(live.api("/incidents"), json={"description": "家中被盗", "attachments": [upload["id"]]})
    assert created.status_code == 201
    incident = created.json()
    with live.app.app_context():
        stored = db.session.get(Incident, incident["id"])
        for status in (
            IncidentStatus.DISPATCHED,
            IncidentStatus.ON_SCENE,
            IncidentStatus.HANDLED,
            IncidentStatus.CLOSED,
        ):
            incidents.change_status(incident=stored, actor=seed.officer("100007"), status=status)
    preview = incident["attachments"][0]["preview_url"]
    attachment_id = incident["attachments"][0]["id"]
    assert preview == f"/api/miniapp/v1/incidents/{incident['id']}/attachments/{attachment_id}/preview"

    attempts = {
        "read": lambda i: intruder.get(live.api(f"/incidents/{i}")),
        "chat list": lambda i: intruder.get(live.api(f"/incidents/{i}/messages")),
        "chat send": lambda i: intruder.post(live.api(f"/incidents/{i}/messages"), json={"body": "我来看看"}),
        "rate": lambda i: intruder.post(live.api(f"/incidents/{i}/rating"), json={"rating": 1}),
        "complain": lambda i: intruder.post(live.api("/complaints"), json={"incident_id": i, "body": "投诉"}),
        "consent": lambda i: intruder.post(
            live.api("/subscriptions"), json={"results": {"tmpl-progress": "accept"}, "incident_id": i}
        ),
        "preview": lambda i: intruder.get(live.api(f"/incidents/{i}/attachments/{attachment_id}/preview")),
    }
    for name, attempt in attempts.items():
        theirs, missing = attempt(incident["id"]), attempt(MISSING)
        assert theirs.status_code == 404, (name, theirs.text)
        assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json()), name

    listed = intruder.get(live.api("/incidents")).json()
    assert listed == {"items": [], "next_before_id": None}
    assert intruder.get(live.api("/complaints")).json() == []

    with live.app.app_context():
        assert db.session.scalar(select(func.count(ChatMessage.id))) == 0
        assert db.session.scalar(select(func.count(Complaint.id))) == 0
        assert db.session.get(Incident, incident["id"]).rating is None

    # The owner can do each of these, so the 404s above are about ownership, not broken routes.
    assert owner.get(live.api(f"/incidents/{incident['id']}")).status_code == 200
    assert owner.get(f"{live.url}{preview}").status_code == 200
    assert owner.post(live.api(f"/incidents/{incident['id']}/messages"), json={"body": "补充"}).status_code == 201
    assert owner.post(live.api(f"/incidents/{incident['id']}/rating"), json={"rating": 5}).status_code == 200
    complaint = owner.post(live.api("/complaints"), json={"incident_id": incident["id"], "body": "态度差"})
    assert complaint.status_code == 201
    complaint_id = complaint.json()["id"]
    for attempt in (
        lambda i: intruder.get(live.api(f"/complaints/{i}")),
        lambda i: intruder.post(live.api(f"/complaints/{i}/rating"), json={"rating": 1}),
    ):
        theirs, missing = attempt(complaint_id), attempt(MISSING)
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json() == missing.json()
