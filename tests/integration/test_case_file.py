"""The case file against a real database and the real supervision sweep, on a controlled clock: a case opened once
when its incident is accepted; a detention without an arrest request raising red on day 4 and an approved extension
re-arming it; bail at 11 months raising blue; property not stored within 24 hours raising yellow until it is
stored, its chain of custody, a movement by a non-holder refused; the cause changed three times raising
反复修改案由 once; another station seeing none of it."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from casework import case_file, case_materials, case_property, cases, incidents, measures, queries, seed
from casework.clock import CHINA
from casework.db import db
from casework.errors import Conflict, Forbidden, IllegalTransition, InvalidInput, NotFound
from casework.models import AuditEntry, Case, CaseStage, Category, Citizen, Incident, PropertyState
from casework.status import Channel, IncidentStatus
from supervision import points, sweep
from supervision.models import DeadlineClock, Warning

S = IncidentStatus


def bj(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=CHINA)


def drain(app):
    db.session.commit()
    app.extensions["wx110.dispatcher"].drain()
    db.session.expire_all()


def accepted(app, citizen, officer, at: datetime, code: str = "0102") -> Case:
    category = db.session.scalar(select(Category).where(Category.code == code))
    incident = incidents.report(
        citizen=citizen,
        channel=Channel.WECHAT,
        description="被骗了",
        doorplate=seed.doorplate("DH-0001"),
        category=category,
        now=at,
    )
    for minutes, status in ((1, S.DISPATCHED), (5, S.ON_SCENE), (30, S.HANDLED), (60, S.ACCEPTED)):
        incidents.change_status(incident=incident, actor=officer, status=status, now=at + timedelta(minutes=minutes))
    drain(app)
    return db.session.get(Case, incident.id)


def open_warnings(code: str) -> list[Warning]:
    return list(
        db.session.scalars(
            select(Warning)
            .join(Warning.point)
            .where(Warning.point.has(code=code), Warning.resolved_at.is_(None))
            .order_by(Warning.id)
        )
    )


def all_warnings(code: str) -> list[Warning]:
    return list(db.session.scalars(select(Warning).where(Warning.point.has(code=code)).order_by(Warning.id)))


@pytest.fixture
def legal(world):
    return world.officer("100004")


@pytest.fixture
def keeper(world):
    return world.officer("100003")  # the station's property room keeper


def test_a_case_is_opened_once_when_its_incident_is_accepted_and_the_citizen_sees_its_public_stages(
    app, world, citizen, officer
):
    case = accepted(app, citizen, officer, bj(2025, 11, 3, 9))
    assert case is not None and case.number.startswith("AJ20251103") and case.case_type == "criminal"
    assert case.stage == "accepted" and case.unit_id == officer.unit_id
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1
    cases.decide_filing(case=case, actor=officer, filed=True, now=bj(2025, 11, 4, 9))
    cases.advance(
        case=case,
        actor=officer,
        stage=CaseStage.INVESTIGATING,
        internal_note="嫌疑人身份已查明,内部线索",
        now=bj(2025, 11, 5, 9),
    )
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert [s.value for s, _ in cases.stages(case)] == ["accepted", "filed", "investigating"]
    assert case.incident.status == "filed"
    public = [e.public_note for e in queries.public_timeline(case.incident)]
    assert "案件已进入侦查(调查)阶段。" in public and "已立案侦查(调查)。" in public
    assert not any("嫌疑人" in (note or "") for note in public)  # the internal note stays inside
    with pytest.raises(IllegalTransition):  # concluding straight from the investigation is not a legal step
        cases.conclude(case=case, actor=officer, now=bj(2025, 11, 6, 9))


def test_not_filed_keeps_its_reason_and_refuses_without_one(app, world, citizen, officer):
    case = accepted(app, citizen, officer, bj(2025, 11, 3, 9))
    with pytest.raises(InvalidInput):
        cases.decide_filing(case=case, actor=officer, filed=False, reason=" ", now=bj(2025, 11, 4, 9))
    db.session.rollback()
    cases.decide_filing(case=case, actor=officer, filed=False, reason="没有犯罪事实", now=bj(2025, 11, 4, 9))
    case = db.session.get(Case, case.id)
    assert case.stage == "not_filed" and case.not_filed_reason == "没有犯罪事实" and case.not_filed_at is not None


def test_detention_without_an_arrest_request_turns_red_on_day_4_and_an_approved_extension_rearms_it(
    app, world, citizen, officer, legal
):
    case = accepted(app, citizen, officer, bj(2025, 11, 3, 9))
    cases.decide_filing(case=case, actor=officer, filed=True, now=bj(2025, 11, 3, 11))
    start = bj(2025, 11, 3, 12)
    detention = measures.start(
        case=case,
        actor=officer,
        kind="detention",
        person_name="张某",
        approved_by=legal,
        document_ref="东公(刑)拘字〔2025〕101号",
        now=start,
    )
    drain(app)
    assert detention.term_end_at == start + timedelta(days=3)
    sweep.sweep(now=start + timedelta(days=2, hours=1))
    assert [w.colour for w in open_warnings(points.MEASURE_DETENTION_TERM)] == ["blue"]
    sweep.sweep(now=start + timedelta(days=4))
    reds = open_warnings(points.MEASURE_DETENTION_TERM)
    assert [w.colour for w in reds] == ["red"] and reds[0].subject_type == "measure"

    with pytest.raises(InvalidInput):  # at most 4 days at a time for an ordinary detention
        measures.extend(measure=detention, actor=officer, days=5, approved_by=legal, document_ref="x", reason="r")
    db.session.rollback()
    with pytest.raises(Forbidden):  # the officer cannot approve their own extension
        measures.extend(measure=detention, actor=officer, days=4, approved_by=officer, document_ref="x", reason="r")
    db.session.rollback()
    measures.extend(
        measure=detention,
        actor=officer,
        days=4,
        approved_by=legal,
        document_ref="东公(刑)延拘字〔2025〕7号",
        reason="案情复杂,需进一步核查",
        now=start + timedelta(days=4, hours=1),
    )
    drain(app)
    sweep.sweep(now=start + timedelta(days=4, hours=1, minutes=1))
    assert open_warnings(points.MEASURE_DETENTION_TERM) == []  # resolved by itself
    assert all_warnings(points.MEASURE_DETENTION_TERM)[-1].resolution == "extended"
    running = db.session.scalar(
        select(DeadlineClock).where(
            DeadlineClock.kind == points.MEASURE_DETENTION_TERM, DeadlineClock.stopped_at.is_(None)
        )
    )
    assert running.due_at == start + timedelta(days=7)
    assert open_warnings(points.MEASURE_UNAPPROVED) == []
    with pytest.raises(InvalidInput):  # 3 + 4 days is the ordinary maximum
        measures.extend(measure=detention, actor=officer, days=1, approved_by=legal, document_ref="x", reason="r")
    db.session.rollback()
    actions = [a.action for a in db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("measure.%")))]
    assert actions == ["measure.started", "measure.extended"]


def test_an_extension_without_approval_is_flagged_until_approved(app, world, citizen, officer, legal):
    case = accepted(app, citizen, officer, bj(2025, 11, 3, 9))
    start = bj(2025, 11, 3, 12)
    summons = measures.start(
        case=case,
        actor=officer,
        kind="summons",
        person_name="李某",
        approved_by=legal,
        document_ref="传字1号",
        now=start,
    )
    step = measures.extend(measure=summons, actor=officer, hours=12, reason="案情复杂", now=start + timedelta(hours=11))
    drain(app)
    sweep.sweep(now=start + timedelta(hours=11, minutes=1))
    assert [w.colour for w in open_warnings(points.MEASURE_UNAPPROVED)] == ["yellow"]
    measures.approve(step=step, approver=legal, document_ref="传延字1号", now=start + timedelta(hours=12))
    drain(app)
    sweep.sweep(now=start + timedelta(hours=12, minutes=1))
    assert open_warnings(points.MEASURE_UNAPPROVED) == []


def test_bail_reaching_11_months_raises_blue_and_renewal_past_the_limit_is_flagged(app, world, citizen, officer, legal):
    case = accepted(app, citizen, officer, bj(2025, 1, 6, 9))
    start = bj(2025, 1, 6, 12)
    # Bail before the case is filed: recorded, and a finding until it is filed.
    bail = measures.start(
        case=case,
        actor=officer,
        kind="bail",
        person_name="王某",
        approved_by=legal,
        document_ref="取保字1号",
        now=start,
    )
    drain(app)
    sweep.sweep(now=start + timedelta(hours=1))
    assert [w.colour for w in open_warnings(points.MEASURE_BEFORE_FILING)] == ["yellow"]
    cases.decide_filing(case=case, actor=officer, filed=True, now=start + timedelta(hours=2))
    drain(app)
    sweep.sweep(now=start + timedelta(hours=3))
    assert open_warnings(points.MEASURE_BEFORE_FILING) == []

    sweep.sweep(now=measures.add_months(start, 10))
    assert open_warnings(points.MEASURE_BAIL_TERM) == []
    sweep.sweep(now=measures.add_months(start, 11))
    assert [w.colour for w in open_warnings(points.MEASURE_BAIL_TERM)] == ["blue"]

    measures.extend(
        measure=bail,
        actor=officer,
        days=60,
        approved_by=legal,
        document_ref="续保字1号",
        reason="继续取保",
        now=measures.add_months(start, 11) + timedelta(days=1),
    )
    drain(app)
    sweep.sweep(now=measures.add_months(start, 11) + timedelta(days=1, minutes=1))
    assert [w.colour for w in open_warnings(points.MEASURE_BEYOND_LIMIT)] == ["yellow"]


def test_property_not_stored_in_24_hours_raises_yellow_until_stored_and_the_chain_lists_every_hand(
    app, world, citizen, officer, keeper
):
    case = accepted(app, citizen, officer, bj(2025, 11, 3, 9))
    seized = bj(2025, 11, 3, 12)
    item = case_property.seize(
        case=case, actor=officer, description="黑色苹果手机一部", quantity=1, quantity_unit="部", now=seized
    )
    drain(app)
    sweep.sweep(now=seized + timedelta(hours=23))
    assert open_warnings(points.PROPERTY_NOT_STORED) == []
    sweep.sweep(now=seized + timedelta(hours=25))
    assert [w.colour for w in open_warnings(points.PROPERTY_NOT_STORED)] == ["yellow"]

    case_property.move(item=item, actor=officer, kind="stored", receiver=keeper, now=seized + timedelta(hours=26))
    drain(app)
    sweep.sweep(now=seized + timedelta(hours=26, minutes=1))
    assert open_warnings(points.PROPERTY_NOT_STORED) == []

    with pytest.raises(Conflict):  # the seizing officer no longer holds it
        case_property.move(
            item=item,
            actor=officer,
            kind="taken_out",
            receiver=keeper,
            return_due_at=seized + timedelta(days=3),
            now=seized + timedelta(days=1),
        )
    db.session.rollback()
    case_property.move(
        item=item,
        actor=keeper,
        kind="taken_out",
        receiver=officer,
        return_due_at=seized + timedelta(days=3),
        note="送鉴定",
        now=seized + timedelta(days=1),
    )
    drain(app)
    sweep.sweep(now=seized + timedelta(days=3, hours=1))
    assert [w.colour for w in open_warnings(points.PROPERTY_OUT_OVERDUE)] == ["yellow"]
    case_property.move(item=item, actor=officer, kind="returned", receiver=keeper, now=seized + timedelta(days=4))
    drain(app)
    sweep.sweep(now=seized + timedelta(days=4, minutes=1))
    assert open_warnings(points.PROPERTY_OUT_OVERDUE) == []

    item = db.session.get(type(item), item.id)
    assert item.state == PropertyState.STORED.value and item.holder_id == keeper.id
    assert [o.badge_no for o in case_property.custody_chain(item)] == ["100002", "100003", "100002", "100003"]
    assert [(m.from_officer.badge_no, m.to_officer.badge_no) for m in item.movements] == [
        ("100002", "100003"),
        ("100003", "100002"),
        ("100002", "100003"),
    ]


def test_a_concluded_case_with_property_still_held_is_a_finding_until_it_is_settled(
    app, world, citizen, officer, keeper
):
    case = accepted(app, citizen, officer, bj(2025, 11, 3, 9))
    at = bj(2025, 11, 3, 12)
    item = case_property.seize(case=case, actor=officer, description="现金", quantity=500, quantity_unit="元", now=at)
    case_property.move(item=item, actor=officer, kind="stored", receiver=keeper, now=at + timedelta(hours=1))
    cases.decide_filing(case=case, actor=officer, filed=False, reason="情节显著轻微", now=at + timedelta(hours=2))
    cases.conclude(case=case, actor=officer, now=at + timedelta(hours=3))
    drain(app)
    sweep.sweep(now=at + timedelta(hours=4))
    assert [w.colour for w in open_warnings(points.PROPERTY_UNDISPOSED)] == ["yellow"]
    case_property.move(
        item=item, actor=keeper, kind="returned_to_owner", recipient="失主 赵某", now=at + timedelta(hours=5)
    )
    drain(app)
    sweep.sweep(now=at + timedelta(hours=6))
    assert open_warnings(points.PROPERTY_UNDISPOSED) == []


def test_a_stage_reached_without_its_materials_is_flagged_until_they_are_filed(app, world, citizen, officer):
    case = accepted(app, citizen, officer, bj(2025, 11, 3, 9))
    cases.decide_filing(case=case, actor=officer, filed=True, now=bj(2025, 11, 3, 12))
    drain(app)
    assert case_materials.missing(db.session.get(Case, case.id)) == {"filed": ["filing_decision"]}
    sweep.sweep(now=bj(2025, 11, 7, 12))  # three working days later
    assert [w.colour for w in open_warnings(points.MATERIALS_MISSING)] == ["yellow"]
    case_materials.add(
        case=case,
        actor=officer,
        kind="filing_decision",
        title="立案决定书",
        storage_key="ab/cd",
        sha256="0" * 64,
        size=10,
        now=bj(2025, 11, 7, 13),
    )
    drain(app)
    sweep.sweep(now=bj(2025, 11, 7, 14))
    assert open_warnings(points.MATERIALS_MISSING) == []


def test_the_cause_changed_three_times_raises_the_point_once(app, world, citizen, officer):
    case = accepted(app, citizen, officer, bj(2025, 11, 3, 9))
    at = bj(2025, 11, 3, 12)
    for hours, code in enumerate(("X0102", "X0103", "X0101", "X0102")):  # set once, then changed three times
        cases.change_cause(
            case=case, actor=officer, cause_code=code, reason="根据调查情况", now=at + timedelta(hours=hours)
        )
        drain(app)
        sweep.sweep(now=at + timedelta(hours=hours, minutes=30))
        if hours == 2:  # set, then changed twice: within the point's limit
            assert all_warnings(points.CATEGORY_CHANGED_OFTEN) == []
    sweep.sweep(now=at + timedelta(hours=6))
    raised = [w for w in all_warnings(points.CATEGORY_CHANGED_OFTEN) if w.subject_type == "case"]
    assert [w.colour for w in raised] == ["yellow"]
    assert len(cases.history(db.session.get(Case, case.id))) == 4
    with pytest.raises(InvalidInput):  # only causes of the list, of the case's type
        cases.change_cause(case=case, actor=officer, cause_code="Z0201", reason="治安案由")


def test_another_station_sees_no_case_measure_property_or_material(app, world, citizen, officer, legal):
    case = accepted(app, citizen, officer, bj(2025, 11, 3, 9))
    measure = measures.start(
        case=case, actor=officer, kind="summons", person_name="李某", approved_by=legal, document_ref="传字2号"
    )
    item = case_property.seize(case=case, actor=officer, description="刀具", quantity=1, quantity_unit="把")
    material = case_materials.add(
        case=case, actor=officer, kind="questioning", title="询问笔录", storage_key="k", sha256="0" * 64, size=1
    )
    stranger = world.officer("100006")
    for call in (
        lambda: cases.case_for(stranger, case.id),
        lambda: cases.view(officer=stranger, case_id=case.id),
        lambda: measures.measure_for(stranger, measure.id),
        lambda: case_property.item_for(stranger, item.id),
        lambda: case_materials.view(officer=stranger, material_id=material.id),
    ):
        with pytest.raises(NotFound):
            call()
        db.session.rollback()
    assert cases.cases_for(stranger) == []
    assert [c.id for c in cases.cases_for(officer)] == [case.id]
    assert [c.id for c in cases.cases_for(legal)] == [case.id]  # the county's legal officer


def test_an_incident_accepted_twice_is_impossible_and_the_case_exists_once(app, world, citizen, officer):
    case = accepted(app, citizen, officer, bj(2025, 11, 3, 9))
    assert case_file.of(db.session.get(Incident, case.id)) is case
    with pytest.raises(IllegalTransition):
        incidents.change_status(incident=case.incident, actor=officer, status=S.ACCEPTED)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "case.opened")) == 1
    )


@pytest.fixture
def miniapp_app(make_app):
    app = make_app(MINIAPP_APPID="wx-case-mini", MINIAPP_SECRET="s")
    with app.app_context():
        seed.load_categories()
        seed.load_world()
        yield app
        db.session.remove()


def test_the_citizen_reads_the_case_stages_in_the_mini_program_and_never_the_internal_notes(miniapp_app):
    app = miniapp_app
    client = app.test_client()
    token = client.post("/api/miniapp/v1/session", json={"code": "code-o-case"}).json["token"]
    reporter = db.session.scalar(select(Citizen).where(Citizen.miniapp_openid.is_not(None)))
    officer = seed.officer("100002")
    case = accepted(app, reporter, officer, bj(2025, 11, 3, 9))
    cases.change_cause(case=case, actor=officer, cause_code="X0102", reason="内部研判:系团伙作案")
    cases.decide_filing(case=case, actor=officer, filed=True, reason="内部:证据充分")
    cases.advance(case=case, actor=officer, stage=CaseStage.INVESTIGATING, internal_note="内部:嫌疑人在逃")
    db.session.commit()
    answer = client.get(f"/api/miniapp/v1/incidents/{case.id}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    notes = [entry["note"] for entry in answer.json["timeline"]]
    assert "已受理为案件。" in notes and "已立案侦查(调查)。" in notes and "案件已进入侦查(调查)阶段。" in notes
    assert "内部" not in answer.get_data(as_text=True)
