"""The case's stage clocks against a real database and the real sweep, on a controlled clock: the investigation
clock of a criminal case (blue at its share, red at its deadline, extended on approval, stopped when the case moves
on), no such clock on a public-order case; every case-side clock and warning named by the case number, with the
case page one click away, while an incident's own clocks keep the incident number."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from casework import case_property, cases, incidents, seed
from casework.db import db
from casework.errors import InvalidInput
from casework.models import Case, CaseStage
from supervision import clocks, points, sweep
from supervision.models import DeadlineClock, Warning
from tests.integration.test_case_file import accepted, all_warnings, bj, drain, open_warnings
from tests.integration.test_console import Browser, log_in


@pytest.fixture
def app(make_app):
    app = make_app(CONSOLE_SECURE_COOKIES=False)
    app.test_client_class = Browser
    return app


@pytest.fixture
def legal(world):
    return world.officer("100004")


def clock_of(kind: str, case: Case) -> DeadlineClock | None:
    return db.session.scalar(
        select(DeadlineClock).where(DeadlineClock.kind == kind, DeadlineClock.subject_id == case.id)
    )


def test_a_filed_criminal_case_runs_its_investigation_clock_blue_then_red_and_it_stops_when_transferred(
    app, world, citizen, officer, legal
):
    case = accepted(app, citizen, officer, bj(2025, 3, 3, 9))
    filed = bj(2025, 3, 4, 10)
    cases.decide_filing(case=case, actor=officer, filed=True, now=filed)
    drain(app)
    running = clock_of(points.INVESTIGATION_OVERDUE, case)
    assert running is not None and running.started_at == filed and running.stopped_at is None
    assert running.due_at == filed + timedelta(days=60)  # the configured default: 60 calendar days
    assert running.blue_at == filed + timedelta(days=48)  # at the configured share (0.8)
    assert running.subject_number == case.number
    client = app.test_client()
    log_in(client, "100004")  # the county's legal officer sees the running deadline and may extend it
    page = client.get(f"/console/cases/{case.id}").get_data(as_text=True)
    deadlines = page.split('id="deadlines"')[1].split("</ul>")[0]
    assert "立案侦查超期" in deadlines and f"/deadlines/{running.id}/extend" in deadlines

    # Entering the investigation stage keeps the one clock running from filing (no second clock, no restart).
    cases.advance(case=case, actor=officer, stage=CaseStage.INVESTIGATING, now=filed + timedelta(days=1))
    drain(app)
    assert (
        len(db.session.scalars(select(DeadlineClock).where(DeadlineClock.kind == points.INVESTIGATION_OVERDUE)).all())
        == 1
    )

    sweep.sweep(now=filed + timedelta(days=47))
    assert open_warnings(points.INVESTIGATION_OVERDUE) == []
    sweep.sweep(now=filed + timedelta(days=48, minutes=1))
    assert [w.colour for w in open_warnings(points.INVESTIGATION_OVERDUE)] == ["blue"]
    sweep.sweep(now=filed + timedelta(days=60, minutes=1))
    reds = open_warnings(points.INVESTIGATION_OVERDUE)
    assert [w.colour for w in reds] == ["red"] and reds[0].subject_number == case.number

    # The documented review: an approved extension moves the deadline and resolves the red.
    clocks.extend(
        clock_=clock_of(points.INVESTIGATION_OVERDUE, case),
        days=30,
        approved_by=legal,
        reason="案情复杂,经法制审核延长侦查",
        now=filed + timedelta(days=61),
    )
    db.session.commit()
    assert open_warnings(points.INVESTIGATION_OVERDUE) == []
    assert clock_of(points.INVESTIGATION_OVERDUE, case).due_at == filed + timedelta(days=90)

    cases.advance(case=case, actor=officer, stage=CaseStage.TRANSFERRED, now=filed + timedelta(days=70))
    drain(app)
    stopped = clock_of(points.INVESTIGATION_OVERDUE, case)
    assert stopped.stopped_at == filed + timedelta(days=70) and stopped.stop_reason == "transferred"
    sweep.sweep(now=filed + timedelta(days=120))
    assert open_warnings(points.INVESTIGATION_OVERDUE) == []
    assert all(w.resolved_at is not None for w in all_warnings(points.INVESTIGATION_OVERDUE))


def test_the_investigation_window_is_configurable_and_per_category(app, world, citizen, officer):
    admin = world.officer("100000")
    points.update(actor=admin, code=points.INVESTIGATION_OVERDUE, parameters={"days": "30"})
    db.session.commit()
    case = accepted(app, citizen, officer, bj(2025, 3, 3, 9))
    cases.decide_filing(case=case, actor=officer, filed=True, now=bj(2025, 3, 4, 10))
    drain(app)
    assert clock_of(points.INVESTIGATION_OVERDUE, case).due_at == bj(2025, 4, 3, 10)
    with pytest.raises(InvalidInput):
        points.update(actor=admin, code=points.INVESTIGATION_OVERDUE, parameters={"days": "0"})


def test_a_public_order_case_has_no_investigation_clock_and_its_30_day_clock_names_the_case(
    app, world, citizen, officer
):
    case = accepted(app, citizen, officer, bj(2025, 3, 3, 9), code="0105")  # 殴打他人: public order
    assert case.case_type == "public_order"
    cases.decide_filing(case=case, actor=officer, filed=True, now=bj(2025, 3, 4, 10))
    cases.advance(case=case, actor=officer, stage=CaseStage.INVESTIGATING, now=bj(2025, 3, 5, 10))
    drain(app)
    assert clock_of(points.INVESTIGATION_OVERDUE, case) is None
    thirty = clock_of(points.CASE_OVERDUE, case)
    assert thirty is not None and thirty.subject_number == case.number != case.incident.number


def test_case_clocks_and_warnings_name_the_case_while_incident_clocks_keep_the_incident_number(
    app, world, citizen, officer
):
    case = accepted(app, citizen, officer, bj(2025, 3, 3, 9))
    item = case_property.seize(
        case=case, actor=officer, description="手机", quantity=1, quantity_unit="部", now=bj(2025, 3, 3, 12)
    )
    drain(app)
    sweep.sweep(now=bj(2025, 3, 10, 12))  # filing review and property storage both overdue
    filing = open_warnings(points.FILING_OVERDUE)
    stored = open_warnings(points.PROPERTY_NOT_STORED)
    assert [w.subject_number for w in filing] == [case.number]
    assert [w.subject_number for w in stored] == [case.number]
    assert item.case_id == case.id
    incidents.recategorise(  # same case type: only the incident's reclassification finding, on the incident
        incident=case.incident,
        actor=officer,
        category=seed.category("0107"),
        reason="核实后调整",
        now=bj(2025, 3, 10, 13),
    )
    drain(app)
    reclassified = db.session.scalar(
        select(DeadlineClock).where(DeadlineClock.kind == points.RECLASSIFIED_AFTER_HANDLED)
    )
    assert reclassified.subject_type == "incident" and reclassified.subject_number == case.incident.number
    assert case.number != case.incident.number

    client = app.test_client()
    log_in(client, "100005")  # the city's supervisor
    listing = client.get("/console/supervision/warnings?open=1").get_data(as_text=True)
    row = listing.split(f'data-warning="{filing[0].id}"')[1].split("</tr>")[0]
    assert case.number in row and case.incident.number not in row
    assert f'href="/console/cases/{case.id}"' in row
    page = client.get(f"/console/supervision/warnings/{filing[0].id}").get_data(as_text=True)
    assert case.number in page and f'href="/console/cases/{case.id}"' in page
    assert db.session.scalar(select(Warning).where(Warning.subject_number == case.incident.number)) is None
