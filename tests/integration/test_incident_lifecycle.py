"""Reporting and moving an incident through its statuses, on a real database."""

import pytest
from sqlalchemy import func, select

from casework import audit, incidents, queries
from casework.db import db
from casework.errors import IllegalTransition, InvalidInput, NotFound
from casework.models import AuditEntry, Incident, OutboxMessage, TimelineEntry
from casework.status import Channel, IncidentStatus


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_report_commits_incident_with_number_timeline_and_audit(citizen, world):
    plate = world.doorplate("DH-0001")
    incident = incidents.report(
        citizen=citizen, channel=Channel.WECHAT, description="  有人砸车  ", doorplate=plate, source_msg_id="wechat:1"
    )
    db.session.expire_all()
    stored = db.session.get(Incident, incident.id)
    assert stored.number.startswith("JQ") and len(stored.number) == 16
    assert stored.description == "有人砸车"
    assert stored.unit_id == plate.unit_id and stored.address == plate.address
    timeline = queries.public_timeline(stored)
    assert [e.status for e in timeline] == ["received"]
    assert stored.number in timeline[0].public_note
    first = audit.trail(stored)[0]
    assert (first.action, first.actor_kind, first.actor_id) == ("incident.reported", "citizen", citizen.id)


def test_retry_with_same_source_returns_first_incident(citizen):
    first = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="救命", source_msg_id="wechat:9")
    again = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="救命", source_msg_id="wechat:9")
    assert again.id == first.id
    assert count(Incident) == 1


@pytest.mark.parametrize("description", ["", "   ", None, 42, "字" * 2001])
def test_bad_report_changes_nothing(citizen, description):
    before = (count(Incident), count(AuditEntry), count(OutboxMessage))
    with pytest.raises(InvalidInput):
        incidents.report(citizen=citizen, channel=Channel.WECHAT, description=description)
    db.session.rollback()
    assert (count(Incident), count(AuditEntry), count(OutboxMessage)) == before


def test_full_path_to_concluded(citizen, command_centre):
    incident = incidents.report(citizen=citizen, channel=Channel.MINIAPP, description="家里被盗")
    for status in ("dispatched", "on_scene", "handled", "accepted", "filed", "concluded"):
        incidents.change_status(
            incident=incident,
            actor=command_centre,
            status=IncidentStatus(status),
            public_note="备注",
            internal_note="内部",
        )
    db.session.expire_all()
    incident = db.session.get(Incident, incident.id)
    assert incident.status == "concluded" and incident.finished_at is not None
    public = queries.public_timeline(incident)
    assert [e.status for e in public] == [
        "received",
        "dispatched",
        "on_scene",
        "handled",
        "accepted",
        "filed",
        "concluded",
    ]
    assert all("内部" not in (e.public_note or "") for e in public)


def test_illegal_transition_raises_and_changes_nothing(app, citizen, command_centre):
    incident = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="打架")
    app.extensions["wx110.dispatcher"].drain()  # let the routing job write its own audit entry first
    before = (count(TimelineEntry), count(AuditEntry), count(OutboxMessage))
    with pytest.raises(IllegalTransition) as raised:
        incidents.change_status(incident=incident, actor=command_centre, status=IncidentStatus.CLOSED)
    db.session.rollback()
    assert "已接报" in raised.value.message
    assert (count(TimelineEntry), count(AuditEntry), count(OutboxMessage)) == before
    assert db.session.get(Incident, incident.id).status == "received"


def test_citizen_cannot_change_status_or_see_others(citizen, other_citizen, officer):
    from casework.errors import Forbidden

    incident = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="有人吵架")
    with pytest.raises(Forbidden):
        incidents.change_status(incident=incident, actor=citizen, status=IncidentStatus.DISPATCHED)
    with pytest.raises(NotFound):
        queries.incident_of(other_citizen, incident_id=incident.id)
    with pytest.raises(NotFound):
        queries.incident_of(other_citizen, number=incident.number)
    assert queries.incidents_of(other_citizen) == []
    assert [i.id for i in queries.incidents_of(citizen)] == [incident.id]
