"""Migration 0015 (run after its own downgrade): the cause list becomes a table holding the seed file's causes in
the file's order, the investigation point is seeded once, and the clocks and warnings a case got at acceptance,
named then by the incident number, are renamed to the case number (an incident's own keep theirs)."""

import json

from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from casework import causes
from casework.db import db
from casework.models import Case
from supervision import points, sweep
from supervision.models import DeadlineClock, MonitoringPoint, Warning
from tests.integration.test_case_file import accepted, bj


def test_the_migration_loads_the_causes_and_names_case_clocks_by_the_case_number(app, ctx, world, citizen, officer):
    case = accepted(app, citizen, officer, bj(2025, 3, 3, 9))
    sweep.sweep(now=bj(2025, 3, 10, 9))  # the filing review is overdue: a red warning on the case
    db.session.commit()
    app.extensions["wx110.dispatcher"].drain()
    case_id, case_number, incident_number = case.id, case.number, case.incident.number
    db.session.remove()
    try:
        downgrade(revision="0014")
        with db.engine.begin() as connection:  # as release 0014 named them
            for table in ("deadline_clock", "supervision_warning"):
                connection.execute(
                    text(f"UPDATE {table} SET subject_number = :n WHERE subject_type = 'case' AND subject_id = :id"),
                    {"n": incident_number, "id": case_id},
                )
    finally:
        upgrade()

    assert db.session.get(Case, case_id).number == case_number
    for model in (DeadlineClock, Warning):
        named = db.session.scalars(select(model.subject_number).where(model.subject_type == "case")).all()
        assert named and set(named) == {case_number}, model
    incident_clocks = db.session.scalars(
        select(DeadlineClock.subject_number).where(DeadlineClock.subject_type == "incident")
    ).all()
    assert set(incident_clocks) <= {incident_number}

    rows = json.loads(causes.CAUSES_FILE.read_text(encoding="utf-8"))["causes"]
    # Filled by the migration itself (read before anything could fill an empty list from the file).
    assert db.session.scalar(text("SELECT count(*) FROM case_cause")) == len(rows)
    listed = causes.listing()
    assert [(c.code, c.name, c.case_type, c.position) for c in listed] == [
        (row["code"], row["name"], row["type"], position) for position, row in enumerate(rows, start=1)
    ]
    seeded = db.session.scalars(
        select(MonitoringPoint).where(MonitoringPoint.code == points.INVESTIGATION_OVERDUE)
    ).all()
    assert len(seeded) == 1 and seeded[0].parameters["days"] == 60 and seeded[0].colour_path == "blue,red"
