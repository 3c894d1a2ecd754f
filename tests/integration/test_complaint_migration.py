"""Migration 0010 (run after its own downgrade) maps complaints of the old four statuses onto the workflow's
machine: submitted -> filed, routed stays (explained once the unit's explanation is in), answered stays, or
closed when the answer was already rated; the investigating unit is the handling unit, or the unit above the
officer complained about."""

from datetime import UTC, datetime, timedelta

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from casework import incidents
from casework.db import db
from casework.models import Complaint
from casework.status import Channel

FILED = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
OLD = [  # number, status, against the officer, explanation, answered, rating
    ("TS-OLD-1", "submitted", False, None, False, None),
    ("TS-OLD-2", "routed", False, None, False, None),
    ("TS-OLD-3", "routed", True, "当晚警力不足", False, None),
    ("TS-OLD-4", "answered", False, None, True, None),
    ("TS-OLD-5", "answered", False, None, True, 4),
]


def test_old_complaints_map_onto_the_workflow(app, ctx, world, citizen):
    officer = world.officer("100002")  # 东湖派出所
    incident = incidents.report(
        citizen=citizen, channel=Channel.WECHAT, description="旧投诉", doorplate=world.doorplate("DH-0001")
    )
    ids = (citizen.id, incident.id, officer.id, officer.unit_id, officer.unit.parent_id)
    db.session.commit()
    app.extensions["wx110.dispatcher"].drain()  # the report's jobs run on today's schema, not the downgraded one
    citizen_id, incident_id, officer_id, station_id, county_id = ids
    db.session.remove()
    try:
        downgrade(revision="0009")
        with db.engine.begin() as connection:
            for number, status, against, explanation, answered, rating in OLD:
                connection.execute(
                    text(
                        "INSERT INTO complaint (number, incident_id, citizen_id, against_officer_id, handling_unit_id,"
                        " body, status, filed_at, due_at, answer, answered_at, rating, unit_explanation, explained_at)"
                        " VALUES (:number, :incident, :citizen, :against, :unit, '旧', :status, :filed, :due,"
                        " :answer, :answered_at, :rating, :explanation, :explained_at)"
                    ),
                    {
                        "number": number,
                        "incident": incident_id,
                        "citizen": citizen_id,
                        "against": officer_id if against else None,
                        "unit": station_id,
                        "status": status,
                        "filed": FILED,
                        "due": FILED + timedelta(days=7),
                        "answer": "已答复" if answered else None,
                        "answered_at": FILED + timedelta(days=2) if answered else None,
                        "rating": rating,
                        "explanation": explanation,
                        "explained_at": FILED + timedelta(days=1) if explanation else None,
                    },
                )
    finally:
        upgrade()

    got = {c.number: c for c in db.session.query(Complaint).filter(Complaint.number.like("TS-OLD-%"))}
    assert {n: c.status for n, c in got.items()} == {
        "TS-OLD-1": "filed",
        "TS-OLD-2": "routed",
        "TS-OLD-3": "explained",
        "TS-OLD-4": "answered",
        "TS-OLD-5": "closed",
    }
    assert got["TS-OLD-1"].step_due_at == FILED + timedelta(days=1)
    assert got["TS-OLD-3"].step_due_at == FILED + timedelta(days=4)  # the verdict is due 3 days after explaining
    assert got["TS-OLD-4"].step_due_at == FILED + timedelta(days=9)  # the rating, 7 days after the answer
    assert got["TS-OLD-5"].closed_at == FILED + timedelta(days=2) and got["TS-OLD-5"].step_due_at is None
    assert all(c.review == 1 for c in got.values())
    assert got["TS-OLD-3"].investigating_unit_id == county_id  # about 林晓: the unit above 东湖派出所
    assert {c.investigating_unit_id for n, c in got.items() if n != "TS-OLD-3"} == {station_id}
