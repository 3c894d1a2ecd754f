"""An accepted incident recategorised into the other case type, against a real database and the real sweep: the case
follows (type, cleared cause in its history, an internal timeline note, an audit entry, the stage clock switched and
its warnings resolved) while it is only accepted; a filed case, or a measure the new type does not allow, refuses
the recategorisation with a clear message and changes nothing."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from casework import cases, incidents, measures, queries, seed
from casework.db import db
from casework.errors import Conflict, InvalidInput
from casework.models import AuditEntry, Case, Incident, TimelineEntry
from supervision import points, sweep
from supervision.models import DeadlineClock
from tests.integration.test_case_file import accepted, all_warnings, bj, drain, open_warnings
from tests.integration.test_console import Browser, csrf_of, log_in


@pytest.fixture
def app(make_app):
    app = make_app(CONSOLE_SECURE_COOKIES=False)
    app.test_client_class = Browser
    return app


def running(kind: str, case: Case) -> DeadlineClock | None:
    return db.session.scalar(
        select(DeadlineClock).where(
            DeadlineClock.kind == kind, DeadlineClock.subject_id == case.id, DeadlineClock.stopped_at.is_(None)
        )
    )


def audits(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def test_a_criminal_case_recategorised_as_public_order_changes_type_clears_its_cause_and_switches_its_clock(
    app, world, citizen, officer
):
    case = accepted(app, citizen, officer, bj(2025, 3, 3, 9))  # 0102 电信网络诈骗: criminal
    cases.change_cause(case=case, actor=officer, cause_code="X0103", reason="刷单诈骗", now=bj(2025, 3, 3, 11))
    drain(app)
    filing = running(points.FILING_OVERDUE, case)
    assert filing is not None and filing.subject_number == case.number
    sweep.sweep(now=bj(2025, 3, 10, 9))  # three working days later: the filing review is overdue
    assert [w.colour for w in open_warnings(points.FILING_OVERDUE)] == ["red"]

    changed_at = bj(2025, 3, 10, 10)
    incidents.recategorise(
        incident=case.incident,
        actor=officer,
        category=seed.category("0105"),  # 殴打他人: public order
        reason="经核实系殴打他人,未达刑事立案标准",
        now=changed_at,
    )
    drain(app)
    case = db.session.get(Case, case.id)
    assert case.case_type == "public_order" and case.cause_code is None and case.stage == "accepted"
    last = cases.history(case)[-1]
    assert (last.from_code, last.to_code) == ("X0103", None) and "案件类型改为治安案件" in last.reason
    note = db.session.scalar(select(TimelineEntry).where(TimelineEntry.kind == "case_type"))
    assert (
        "案件类型由刑事案件改为治安案件" in note.internal_note
        and "原案由「电信网络诈骗案」已清除" in note.internal_note
    )
    assert note.public_note is None
    assert all("治安" not in (e.public_note or "") for e in queries.public_timeline(case.incident))
    [entry] = audits("case.type_changed")
    assert '"from": "criminal"' in entry.detail and '"to": "public_order"' in entry.detail
    assert '"cause_cleared": "X0103"' in entry.detail

    # The filing review stops (its red resolves on the next sweep); the 30 days run from the change.
    assert running(points.FILING_OVERDUE, case) is None
    thirty = running(points.CASE_OVERDUE, case)
    assert thirty.started_at == changed_at and thirty.due_at == changed_at + timedelta(days=30)
    assert thirty.subject_number == case.number
    sweep.sweep(now=changed_at + timedelta(minutes=1))
    assert open_warnings(points.FILING_OVERDUE) == []
    assert all_warnings(points.FILING_OVERDUE)[-1].resolution == "type_changed"

    # The officer chooses a cause of the new type; a criminal one is refused. Setting it again is not a change.
    with pytest.raises(InvalidInput):
        cases.change_cause(case=case, actor=officer, cause_code="X0106", reason="伤害")
    db.session.rollback()
    cases.change_cause(
        case=case, actor=officer, cause_code="Z0203", reason="殴打他人", now=changed_at + timedelta(hours=1)
    )
    drain(app)
    sweep.sweep(now=changed_at + timedelta(hours=2))
    assert all_warnings(points.CATEGORY_CHANGED_OFTEN) == []

    # And back: a public-order case turned criminal again gets a new filing review from that moment.
    back_at = changed_at + timedelta(days=1)
    incidents.recategorise(
        incident=case.incident, actor=officer, category=seed.category("0104"), reason="伤情鉴定为轻伤", now=back_at
    )
    drain(app)
    case = db.session.get(Case, case.id)
    assert case.case_type == "criminal" and case.cause_code is None
    assert running(points.CASE_OVERDUE, case) is None
    assert running(points.FILING_OVERDUE, case).started_at == back_at


def test_a_category_of_the_same_type_or_of_no_type_leaves_the_case_alone(app, world, citizen, officer):
    case = accepted(app, citizen, officer, bj(2025, 3, 3, 9))
    cases.change_cause(case=case, actor=officer, cause_code="X0103", reason="刷单诈骗")
    for code in ("0107", "0301"):  # 接触型诈骗 (criminal), 邻里纠纷 (no case type)
        incidents.recategorise(incident=case.incident, actor=officer, category=seed.category(code), reason="调整")
    db.session.commit()
    case = db.session.get(Case, case.id)
    assert case.case_type == "criminal" and case.cause_code == "X0103"
    assert audits("case.type_changed") == []


def test_a_filed_case_refuses_a_category_of_the_other_type_and_nothing_changes(app, world, citizen, officer):
    case = accepted(app, citizen, officer, bj(2025, 3, 3, 9))
    cases.change_cause(case=case, actor=officer, cause_code="X0103", reason="刷单诈骗")
    cases.decide_filing(case=case, actor=officer, filed=True, now=bj(2025, 3, 4, 9))
    drain(app)
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(Conflict) as refused:
        incidents.recategorise(incident=case.incident, actor=officer, category=seed.category("0105"), reason="改为治安")
    assert refused.value.message == "案件已立案,不能再由刑事案件改为治安案件;请选择属于刑事案件的警情类别"
    db.session.rollback()
    incident = db.session.get(Incident, case.id)
    assert incident.category.code == "0102" and db.session.get(Case, case.id).case_type == "criminal"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before
    # A category of the same type is still fine after filing.
    incidents.recategorise(incident=incident, actor=officer, category=seed.category("0107"), reason="接触型诈骗")
    db.session.commit()
    assert db.session.get(Incident, case.id).category.code == "0107"


def test_a_measure_the_new_type_does_not_allow_refuses_the_change(app, world, citizen, officer):
    legal = world.officer("100004")
    case = accepted(app, citizen, officer, bj(2025, 3, 3, 9))
    measures.start(  # an emergency detention before filing (先行拘留)
        case=case,
        actor=officer,
        kind="detention",
        person_name="张某",
        approved_by=legal,
        document_ref="拘字9号",
        now=bj(2025, 3, 3, 12),
    )
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        incidents.recategorise(incident=case.incident, actor=officer, category=seed.category("0105"), reason="改为治安")
    assert "刑事拘留" in refused.value.message and "请先解除或变更强制措施" in refused.value.message
    db.session.rollback()
    assert db.session.get(Case, case.id).case_type == "criminal"


def test_the_console_tells_the_officer_what_changed_and_what_was_refused(app, world, citizen, officer):
    case = accepted(app, citizen, officer, bj(2025, 3, 3, 9))
    cases.change_cause(case=case, actor=officer, cause_code="X0103", reason="刷单诈骗")
    db.session.commit()
    client = app.test_client()
    log_in(client, "100002")
    token = csrf_of(client.get(f"/console/incidents/{case.id}").get_data(as_text=True))
    public_order = seed.category("0105")
    answer = client.post(
        f"/console/incidents/{case.id}/category",
        data={"category": str(public_order.id), "reason": "殴打他人", "csrf_token": token},
        follow_redirects=True,
    )
    assert "已调整类别" in answer.get_data(as_text=True)
    page = client.get(f"/console/cases/{case.id}").get_data(as_text=True)
    assert "治安案件" in page and 'id="cause">未定案由<' in page
    choices = page.split('id="cause-form"')[1].split("</form>")[0]
    assert 'value="Z0203"' in choices and 'value="X0103"' not in choices

    cases.decide_filing(case=db.session.get(Case, case.id), actor=officer, filed=True)
    db.session.commit()
    refused = client.post(
        f"/console/incidents/{case.id}/category",
        data={"category": str(seed.category("0102").id), "reason": "改回刑事", "csrf_token": token},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "案件已立案,不能再由治安案件改为刑事案件" in refused
    db.session.expire_all()
    assert db.session.get(Incident, case.id).category.code == "0105"
