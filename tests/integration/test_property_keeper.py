"""The property room's keeper (保管员) against a real database and through the console: storing and returning are
received by a keeper of the case's unit or of a unit above, an item in storage leaves only from a keeper's hands,
a refused movement changes nothing, the custody chain marks the keepers, and a keeper reads the property pages
(not the rest of the case). The admin gives the role on the officers page."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from casework import case_property, officers, seed
from casework.db import db
from casework.errors import Conflict, Forbidden
from casework.models import AuditEntry, Officer, PropertyItem, PropertyMovement, Role, Unit
from tests.integration.test_case_file import accepted, bj, drain
from tests.integration.test_console import Browser, csrf_of, log_in

PASSWORD = "keeper-password-1"


@pytest.fixture
def app(make_app):
    app = make_app(CONSOLE_SECURE_COOKIES=False)
    app.test_client_class = Browser
    return app


@pytest.fixture
def keeper(world):
    return world.officer("100003")  # 东湖派出所: an officer who also keeps the station's property room


def make_officer(world, badge: str, unit_code: str, roles: list[str]) -> Officer:
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    made = officers.create_officer(
        actor=world.officer("100000"), badge_no=badge, name=f"民警{badge}", unit=unit, roles=roles, password=PASSWORD
    )
    db.session.commit()
    return made


def movements() -> int:
    return db.session.scalar(select(func.count()).select_from(PropertyMovement))


def test_the_demo_station_has_its_keeper(world, keeper):
    assert Role.PROPERTY_KEEPER.value in keeper.roles and Role.PROPERTY_KEEPER.label == "保管员"


def test_storing_is_received_by_a_keeper_of_the_unit_or_above_and_a_non_keeper_is_refused(
    app, world, citizen, officer, keeper
):
    case = accepted(app, citizen, officer, bj(2025, 11, 3, 9))
    at = bj(2025, 11, 3, 12)
    item = case_property.seize(case=case, actor=officer, description="手机", quantity=1, quantity_unit="部", now=at)
    db.session.commit()
    drain(app)  # the seizure's supervision clock is started by a job: counted before, not while, the refusal runs
    legal = world.officer("100004")  # the county's legal officer: sees the case, keeps no property room
    before_audit = db.session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(Conflict) as refused:
        case_property.move(item=item, actor=officer, kind="stored", receiver=legal, now=at + timedelta(hours=1))
    assert refused.value.message == "入库须由本单位或上级单位涉案财物管理室的保管员接收,吴法不是保管员"
    db.session.rollback()
    assert movements() == 0 and db.session.get(PropertyItem, item.id).state == "seized"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before_audit

    # The county's property room takes it: its keeper is in a unit above the case's station.
    county_keeper = make_officer(world, "200301", "330102", [Role.PROPERTY_KEEPER.value])
    case_property.move(item=item, actor=officer, kind="stored", receiver=county_keeper, now=at + timedelta(hours=2))
    db.session.commit()
    # In storage: a hand-over inside the room goes to a keeper only, and from a keeper's hands.
    with pytest.raises(Conflict) as refused:
        case_property.move(item=item, actor=county_keeper, kind="handed_over", receiver=officer)
    assert "在库财物只能交接给保管员" in refused.value.message
    db.session.rollback()
    case_property.move(item=item, actor=county_keeper, kind="handed_over", receiver=keeper, now=at + timedelta(hours=3))
    case_property.move(
        item=item,
        actor=keeper,
        kind="taken_out",
        receiver=officer,
        return_due_at=at + timedelta(days=2),
        note="送鉴定",
        now=at + timedelta(hours=4),
    )
    with pytest.raises(Conflict):  # back into the room: received by a keeper, not by another officer
        case_property.move(item=item, actor=officer, kind="returned", receiver=legal, now=at + timedelta(days=1))
    db.session.rollback()
    case_property.move(item=item, actor=officer, kind="returned", receiver=keeper, now=at + timedelta(days=1))
    db.session.commit()

    item = db.session.get(PropertyItem, item.id)
    hands = case_property.custody_hands(item)
    assert [(h.officer.badge_no, h.as_keeper) for h in hands] == [
        ("100002", False),
        ("200301", True),
        ("100003", True),
        ("100002", False),
        ("100003", True),
    ]


def test_an_item_in_storage_held_by_a_non_keeper_cannot_be_given_out_by_them(app, world, citizen, officer, keeper):
    """An item stored before keepers existed may sit with an ordinary officer: it leaves only through a keeper."""
    case = accepted(app, citizen, officer, bj(2025, 11, 3, 9))
    item = case_property.seize(case=case, actor=officer, description="现金", quantity=100, quantity_unit="元")
    case_property.move(item=item, actor=officer, kind="stored", receiver=keeper)
    db.session.commit()
    item.holder_id = officer.id  # as an older installation left it
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        case_property.move(item=item, actor=officer, kind="returned_to_owner", recipient="失主")
    assert refused.value.message == "财物在库,须由涉案财物管理室的保管员办理出库或交接"
    db.session.rollback()


def test_a_keeper_only_records_movements_and_does_not_seize(app, world, citizen, officer):
    keeper_only = make_officer(world, "200302", "33010201", [Role.PROPERTY_KEEPER.value])
    case = accepted(app, citizen, officer, bj(2025, 11, 3, 9))
    with pytest.raises(Forbidden):
        case_property.seize(case=case, actor=keeper_only, description="刀", quantity=1, quantity_unit="把")
    db.session.rollback()
    item = case_property.seize(case=case, actor=officer, description="刀", quantity=1, quantity_unit="把")
    case_property.move(item=item, actor=officer, kind="stored", receiver=keeper_only)
    db.session.commit()
    case_property.move(item=item, actor=keeper_only, kind="disposed", recipient="依法销毁")
    db.session.commit()
    assert db.session.get(PropertyItem, item.id).state == "disposed"


def test_a_keeper_reads_the_property_pages_and_the_chain_names_the_keeper(app, world, citizen, officer, keeper):
    keeper_only = make_officer(world, "200303", "33010201", [Role.PROPERTY_KEEPER.value])
    case = accepted(app, citizen, officer, bj(2025, 11, 3, 9))
    item = case_property.seize(case=case, actor=officer, description="黑色手机", quantity=1, quantity_unit="部")
    db.session.commit()
    drain(app)

    station = app.test_client()
    log_in(station, "100002")
    page = station.get(f"/console/cases/{case.id}/property").get_data(as_text=True)
    assert f"{keeper_only.name}(200303 · 保管员 · 东湖派出所)" in page  # keepers are marked in the receiver list
    token = csrf_of(page)
    refused = station.post(
        f"/console/cases/{case.id}/property/{item.id}/move",
        data={"kind": "stored", "receiver": str(world.officer("100004").id), "csrf_token": token},
        follow_redirects=True,
    )
    assert "不是保管员" in refused.get_data(as_text=True) and movements() == 0
    station.post(
        f"/console/cases/{case.id}/property/{item.id}/move",
        data={"kind": "stored", "receiver": str(keeper_only.id), "csrf_token": token},
    )
    db.session.expire_all()
    assert db.session.get(PropertyItem, item.id).holder_id == keeper_only.id

    room = app.test_client()
    assert log_in(room, "200303", PASSWORD).status_code == 302
    listing = room.get("/console/cases").get_data(as_text=True)
    assert f'href="/console/cases/{case.id}/property"' in listing
    assert room.get(f"/console/cases/{case.id}").status_code == 403  # the keeper reads the property, not the case
    assert room.get(f"/console/cases/{case.id}/measures").status_code == 403
    page = room.get(f"/console/cases/{case.id}/property").get_data(as_text=True)
    assert "民警200303(保管员)" in page and 'id="tab-measures"' not in page and 'id="seize-form"' not in page
    printed = room.get(f"/console/cases/{case.id}/property/print").get_data(as_text=True)
    assert "林晓 → 民警200303(保管员)" in printed
    stranger = make_officer(world, "200304", "33010202", [Role.PROPERTY_KEEPER.value])  # 西湖路's keeper
    other = app.test_client()
    log_in(other, stranger.badge_no, PASSWORD)
    assert other.get(f"/console/cases/{case.id}/property").status_code == 404


def test_the_admin_gives_the_keeper_role_on_the_officers_page(app, world):
    admin = app.test_client()
    log_in(admin, "100000")
    page = admin.get("/console/admin/officers").get_data(as_text=True)
    assert 'value="property_keeper"' in page and "保管员" in page
    target = seed.officer("100006")
    admin.post(
        f"/console/admin/officers/{target.id}/roles",
        data={"roles": ["officer", "property_keeper"], "csrf_token": csrf_of(page)},
    )
    db.session.expire_all()
    assert sorted(db.session.get(Officer, target.id).roles) == ["officer", "property_keeper"]
