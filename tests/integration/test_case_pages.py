"""The console's case pages through HTTP (Flask's test client on the real database): the case page beside the
incident page, the cause form with CSRF, measures, property with its printable list, materials uploaded into
evidence storage and downloaded; every view audited; another station's officer gets 404 on every page, form and
download of the case."""

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from casework import case_materials, case_property, clock, incidents, measures, seed
from casework.db import db
from casework.models import AuditEntry, Case, Category, CauseChange, Material, Officer, Unit
from casework.status import Channel, IncidentStatus
from supervision import sweep
from supervision.models import DeadlineClock
from tests.integration.test_console import Browser, csrf_of, log_in

S = IncidentStatus
STATION_A = "100002"
STATION_B = "100006"


@pytest.fixture
def app(make_app):
    app = make_app(CONSOLE_SECURE_COOKIES=False)
    app.test_client_class = Browser
    return app


@pytest.fixture
def case(app, world, citizen, officer):
    incident = incidents.report(
        citizen=citizen,
        channel=Channel.WECHAT,
        description="手机被偷了",
        doorplate=seed.doorplate("DH-0001"),
        category=db.session.scalar(select(Category).where(Category.code == "0101")),
    )
    for status in (S.DISPATCHED, S.ON_SCENE, S.HANDLED, S.ACCEPTED):
        incidents.change_status(incident=incident, actor=officer, status=status)
    return db.session.get(Case, incident.id)


def views(what: str) -> int:
    return sum(
        1
        for e in db.session.scalars(select(AuditEntry).where(AuditEntry.action == "case.viewed"))
        if f'"what": "{what}"' in e.detail
    )


def test_the_officer_works_the_case_from_the_console(client, case, officer):
    log_in(client, STATION_A)
    incident_page = client.get(f"/console/incidents/{case.id}").get_data(as_text=True)
    assert f'href="/console/cases/{case.id}"' in incident_page and case.number in incident_page
    page = client.get(f"/console/cases/{case.id}")
    assert page.status_code == 200 and "刑事案件" in page.get_data(as_text=True)
    token = csrf_of(page.get_data(as_text=True))

    refused = client.post(f"/console/cases/{case.id}/cause", data={"cause": "X0101", "reason": "盗窃"})
    assert refused.status_code == 400  # no CSRF token: nothing changes
    assert db.session.scalar(select(CauseChange).limit(1)) is None
    client.post(f"/console/cases/{case.id}/cause", data={"cause": "X0101", "reason": "盗窃手机", "csrf_token": token})
    client.post(f"/console/cases/{case.id}/stage", data={"stage": "filed", "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Case, case.id).cause_code == "X0101" and db.session.get(Case, case.id).stage == "filed"
    page = client.get(f"/console/cases/{case.id}").get_data(as_text=True)
    assert "盗窃案" in page and "盗窃手机" in page and "立案决定书" in page  # the missing material is shown

    client.post(
        f"/console/cases/{case.id}/measures",
        data={
            "kind": "detention",
            "person_name": "张某",
            "approved_by": str(seed.officer("100004").id),
            "document_ref": "拘字1号",
            "csrf_token": token,
        },
    )
    assert "张某" in client.get(f"/console/cases/{case.id}/measures").get_data(as_text=True)

    photo = io.BytesIO(b"\xff\xd8\xff\xe0" + b"0" * 64)
    client.post(
        f"/console/cases/{case.id}/property",
        data={
            "description": "银色手机",
            "quantity": "1",
            "quantity_unit": "部",
            "photo": (photo, "p.jpg"),
            "csrf_token": token,
        },
        content_type="multipart/form-data",
    )
    item = case_property.items_of(case)[0]
    client.post(
        f"/console/cases/{case.id}/property/{item.id}/move",
        data={"kind": "stored", "receiver": str(seed.officer("100003").id), "csrf_token": token},
    )
    printed = client.get(f"/console/cases/{case.id}/property/print").get_data(as_text=True)
    assert "银色手机" in printed and "林晓 → 黄敏" in printed
    assert client.get(f"/console/cases/{case.id}/property/{item.id}/photo").status_code == 200

    client.post(
        f"/console/cases/{case.id}/materials",
        data={
            "kind": "filing_decision",
            "title": "立案决定书",
            "file": (io.BytesIO(b"%PDF-1.4 decision"), "d.pdf"),
            "csrf_token": token,
        },
        content_type="multipart/form-data",
    )
    material = db.session.scalar(select(Material))
    download = client.get(f"/console/cases/{case.id}/materials/{material.id}")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 decision"
    assert case_materials.missing(db.session.get(Case, case.id)) == {}
    assert views("case") == 2 and views("measures") == 1 and views("property_list") == 1
    assert len(list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "material.viewed")))) == 1


def test_another_station_gets_404_on_every_page_form_and_download(client, case, officer):
    legal = seed.officer("100004")
    measure = measures.start(
        case=case, actor=officer, kind="summons", person_name="李某", approved_by=legal, document_ref="传字1号"
    )
    item = case_property.seize(case=case, actor=officer, description="刀具", quantity=1, quantity_unit="把")
    material = case_materials.add(
        case=case, actor=officer, kind="questioning", title="询问笔录", storage_key="k", sha256="0" * 64, size=1
    )
    log_in(client, STATION_B)
    token = csrf_of(client.get("/console/").get_data(as_text=True))
    base = f"/console/cases/{case.id}"
    for path in (
        base,
        f"{base}/measures",
        f"{base}/property",
        f"{base}/property/print",
        f"{base}/property/{item.id}/photo",
        f"{base}/materials",
        f"{base}/materials/{material.id}",
        f"/console/incidents/{case.id}",
    ):
        assert client.get(path).status_code == 404, path
    for path, data in (
        (f"{base}/cause", {"cause": "X0102", "reason": "x"}),
        (f"{base}/stage", {"stage": "filed"}),
        (f"{base}/measures", {"kind": "summons", "person_name": "x"}),
        (f"{base}/measures/{measure.id}/end", {"reason": "x"}),
        (f"{base}/property", {"description": "x", "quantity": "1", "quantity_unit": "个"}),
        (f"{base}/property/{item.id}/move", {"kind": "stored"}),
    ):
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 404, path
    assert case.number not in client.get("/console/cases").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case.id).cause_code is None and views("case") == 0


def test_a_measure_of_another_case_answers_404_under_this_case(client, case, officer, citizen):
    other = incidents.report(
        citizen=citizen, channel=Channel.WECHAT, description="又被偷了", doorplate=seed.doorplate("DH-0002")
    )
    for status in (S.DISPATCHED, S.ON_SCENE, S.HANDLED, S.ACCEPTED):
        incidents.change_status(incident=other, actor=officer, status=status)
    measure = measures.start(
        case=db.session.get(Case, other.id),
        actor=officer,
        kind="summons",
        person_name="甲",
        approved_by=seed.officer("100004"),
        document_ref="传字9号",
        now=clock.now() - timedelta(hours=1),
    )
    log_in(client, STATION_A)
    token = csrf_of(client.get("/console/").get_data(as_text=True))
    answer = client.post(
        f"/console/cases/{case.id}/measures/{measure.id}/end", data={"reason": "x", "csrf_token": token}
    )
    assert answer.status_code == 404
    assert re.search("未找到", answer.get_data(as_text=True))


def test_the_warnings_export_of_another_county_leaves_the_case_out(app, client, case, officer):
    item = case_property.seize(
        case=case,
        actor=officer,
        description="刀具",
        quantity=1,
        quantity_unit="把",
        now=clock.now() - timedelta(days=2),
    )
    db.session.commit()
    app.extensions["wx110.dispatcher"].drain()
    sweep.sweep(now=clock.now())
    jiangbin = db.session.scalar(select(Unit).where(Unit.code == "33010301"))
    outsider = Officer(badge_no="200001", name="江法", unit=jiangbin, roles=["legal_officer"])
    outsider.set_password(seed.DEMO_PASSWORD)
    db.session.add(outsider)
    db.session.commit()
    log_in(client, "100004")  # the case's own county: its legal officer's export lists it
    own = client.get("/console/supervision/board.csv").get_data(as_text=True)
    assert case.number in own and item.id
    outside = app.test_client()
    log_in(outside, "200001")
    other = outside.get("/console/supervision/board.csv")
    assert other.status_code == 200 and case.number not in other.get_data(as_text=True)


def test_the_legal_officer_extends_the_filing_review_from_the_case_page(app, client, case):
    db.session.commit()
    app.extensions["wx110.dispatcher"].drain()  # the filing clock starts from the outbox
    deadline = db.session.scalar(
        select(DeadlineClock).where(DeadlineClock.subject_id == case.id, DeadlineClock.kind == "FILING_OVERDUE")
    )
    due = deadline.due_at
    log_in(client, STATION_A)
    page = client.get(f"/console/cases/{case.id}").get_data(as_text=True)
    assert "受案立案超期" in page and "批准延长" not in page  # an officer cannot extend their own deadline
    token = csrf_of(page)
    refused = client.post(
        f"/console/cases/{case.id}/deadlines/{deadline.id}/extend",
        data={"days": "4", "reason": "x", "csrf_token": token},
    )
    assert refused.status_code == 403
    legal = app.test_client()
    log_in(legal, "100004")
    page = legal.get(f"/console/cases/{case.id}").get_data(as_text=True)
    legal.post(
        f"/console/cases/{case.id}/deadlines/{deadline.id}/extend",
        data={"days": "4", "reason": "线索需核查", "csrf_token": csrf_of(page)},
    )
    db.session.expire_all()
    extended = db.session.get(DeadlineClock, deadline.id)
    assert extended.extended_count == 1 and extended.due_at > due


def test_a_disguised_material_is_refused_and_nothing_is_filed(client, case):
    log_in(client, STATION_A)
    token = csrf_of(client.get(f"/console/cases/{case.id}/materials").get_data(as_text=True))
    answer = client.post(
        f"/console/cases/{case.id}/materials",
        data={
            "kind": "questioning",
            "file": (io.BytesIO(b"<html><script>x</script>"), "record.pdf"),
            "csrf_token": token,
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "材料仅支持PDF、JPEG、PNG格式" in answer.get_data(as_text=True)
    assert db.session.scalar(select(Material).limit(1)) is None


def test_the_measures_page_shows_the_warning_of_an_overdue_detention(app, client, case, officer):
    """Every page that shows a watched thing shows its warning: a detention past its term is red on the measures
    page too, not only on the supervision board."""
    legal = seed.officer("100004")
    started = clock.now() - timedelta(days=4)
    detention = measures.start(
        case=case,
        actor=officer,
        kind="detention",
        person_name="张某",
        approved_by=legal,
        document_ref="拘字1号",
        now=started,
    )
    db.session.commit()
    app.extensions["wx110.dispatcher"].drain()  # the measure's clock
    sweep.sweep(now=clock.now())
    db.session.commit()
    log_in(client, STATION_A)
    page = client.get(f"/console/cases/{case.id}/measures").get_data(as_text=True)
    row = re.search(rf'<tr id="measure-{detention.id}">.*?</tr>', page, re.DOTALL).group(0)
    assert 'data-colour="red"' in row and "红色预警" in row
