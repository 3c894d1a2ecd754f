"""The doorplate registry on a real database: all-or-nothing import, idempotent re-import, revoke, move,
and the officer's history of reports at one doorplate."""

import pytest
from sqlalchemy import func, select

from casework import audit, citizens, doorplate_import, doorplates, incidents, queries
from casework.db import db
from casework.errors import Conflict, Forbidden, InvalidInput
from casework.models import AuditEntry, Doorplate, DoorplateStatus, OutboxMessage, System
from casework.status import Channel
from casework.unit_of_work import transaction

SYSTEM = System("test")
HEADER = "code,address,longitude,latitude,unit\n"


def csv(*lines: str) -> bytes:
    return (HEADER + "\n".join(lines) + "\n").encode()


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_import_then_same_file_again_changes_nothing(world):
    data = csv("NEW-1,示范市东湖区新村路1号,120.1,30.2,33010201", "NEW-2,示范市江滨区新村路2号,120.2,30.21,33010301")
    ticks = []
    result = doorplate_import.import_csv(data, actor=SYSTEM, progress=ticks.append)
    assert result.created == ["NEW-1", "NEW-2"] and result.updated == [] and sum(ticks) == 4
    plate = db.session.scalar(select(Doorplate).where(Doorplate.code == "NEW-2"))
    assert plate.unit.code == "33010301" and plate.latitude == pytest.approx(30.21) and plate.is_active
    entries = count(AuditEntry)
    again = doorplate_import.import_csv(data, actor=SYSTEM)
    assert again.created == [] and again.updated == [] and again.unchanged == 2
    assert count(AuditEntry) == entries  # nothing changed, nothing audited


def test_changed_line_updates_and_is_audited_with_before(world):
    doorplate_import.import_csv(csv("NEW-1,示范市东湖区新村路1号,120.1,30.2,33010201"), actor=SYSTEM)
    result = doorplate_import.import_csv(
        csv("NEW-1,示范市东湖区新村路1号之一,120.1,30.2,33010202", "NEW-3,示范市东湖区新村路3号,120.1,30.2,33010201"),
        actor=SYSTEM,
    )
    assert result.updated == ["NEW-1"] and result.created == ["NEW-3"]
    plate = doorplates.by_code("NEW-1")
    assert plate.address == "示范市东湖区新村路1号之一" and plate.unit.code == "33010202"
    trail = audit.trail(plate)
    assert trail[-1].action == "doorplate.updated"
    assert "新村路1号" in trail[-1].detail and '"line": 2' in trail[-1].detail
    assert audit.verify()[1] is None


def test_one_bad_line_refuses_the_whole_file(world):
    before = count(Doorplate)
    data = csv(
        "NEW-1,示范市东湖区新村路1号,120.1,30.2,33010201",
        "NEW-2,示范市东湖区新村路2号,120.1,30.2,NOPE",
        "NEW-3,示范市东湖区新村路3号,120.1,30.2,330102",
        "DH-0001,示范市东湖区东湖路1号改,abc,30.2,33010201",
    )
    with pytest.raises(doorplate_import.ImportRefused) as refused:
        doorplate_import.import_csv(data, actor=SYSTEM)
    lines = [str(e) for e in refused.value.errors]
    assert lines[0].startswith("第3行") and "NOPE" in lines[0]
    assert lines[1].startswith("第4行") and "不是派出所" in lines[1]
    assert lines[2].startswith("第5行") and "经度" in lines[2]
    assert count(Doorplate) == before
    assert doorplates.by_code("DH-0001").address == "示范市东湖区东湖路1号"


def test_extra_checks_refuse_lines_too(world):
    with pytest.raises(doorplate_import.ImportRefused) as refused:
        doorplate_import.import_csv(
            csv("NEW-1,示范市东湖区新村路1号,120.1,30.2,33010201"),
            actor=SYSTEM,
            check=[lambda row: "不行" if row.code == "NEW-1" else None],
        )
    assert str(refused.value.errors[0]) == "第2行：不行"


def test_large_import_in_batches(world):
    lines = [f"BULK-{i:05d},示范市东湖区批量路{i}号,120.{i:04d},30.2,33010201" for i in range(1200)]
    ticks = []
    result = doorplate_import.import_csv(csv(*lines), actor=SYSTEM, progress=ticks.append)
    assert len(result.created) == 1200 and sum(ticks) == 2400 and max(ticks) <= 500
    assert doorplate_import.import_csv(csv(*lines), actor=SYSTEM).unchanged == 1200


def test_revoke_and_move_are_audited_and_refuse_twice(world, officer):
    plate, successor = doorplates.by_code("DH-0001"), doorplates.by_code("DH-0002")
    with pytest.raises(InvalidInput):
        doorplates.revoke(doorplate=plate, actor=SYSTEM, reason=" ")
    with pytest.raises(Forbidden):
        doorplates.revoke(doorplate=plate, actor=officer, reason="丢失")  # only an administrator
    admin = world.officer("100000")
    doorplates.revoke(doorplate=plate, actor=admin, reason="门牌被涂改")
    assert plate.status == DoorplateStatus.REVOKED.value
    assert audit.trail(plate)[-1].action == "doorplate.revoked"
    with pytest.raises(Conflict):
        doorplates.revoke(doorplate=plate, actor=admin, reason="again")

    old = doorplates.by_code("DH-0003")
    with pytest.raises(InvalidInput):
        doorplates.move(doorplate=old, to=plate, actor=SYSTEM)  # the successor must be active
    doorplates.move(doorplate=old, to=successor, actor=SYSTEM, reason="门牌重新编号")
    assert old.status == DoorplateStatus.MOVED.value and old.moved_to.code == "DH-0002"
    assert '"to": "DH-0002"' in audit.trail(old)[-1].detail
    with pytest.raises(InvalidInput):
        incidents.report(
            citizen=citizens.identify(oa_openid="o-1"), channel=Channel.WECHAT, description="有人打架", doorplate=old
        )


def test_registry_services_join_the_callers_transaction(world):
    """Import, revoke and move commit nothing of their own: inside a larger use case that fails, nothing stays."""
    plates, entries = count(Doorplate), count(AuditEntry)
    with pytest.raises(RuntimeError), transaction():
        doorplate_import.import_csv(csv("NEW-1,示范市东湖区新村路1号,120.1,30.2,33010201"), actor=SYSTEM)
        doorplates.revoke(doorplate=doorplates.by_code("DH-0001"), actor=SYSTEM, reason="门牌被涂改")
        doorplates.move(doorplate=doorplates.by_code("DH-0003"), to=doorplates.by_code("DH-0002"), actor=SYSTEM)
        raise RuntimeError("the outer use case fails after them")
    db.session.expire_all()
    assert count(Doorplate) == plates and count(AuditEntry) == entries
    assert doorplates.by_code("DH-0001").is_active and doorplates.by_code("DH-0003").is_active
    assert count(OutboxMessage, OutboxMessage.job == "doorplates.fetch_wxacodes") == 0

    # On their own, each is one transaction that is committed when it returns.
    doorplates.revoke(doorplate=doorplates.by_code("DH-0001"), actor=SYSTEM, reason="门牌被涂改")
    db.session.rollback()
    assert not doorplates.by_code("DH-0001").is_active
    assert count(AuditEntry) == entries + 1


def test_reports_at_one_doorplate_newest_first_for_officers_only(world, officer, citizen, other_citizen):
    plate, elsewhere = doorplates.by_code("DH-0001"), doorplates.by_code("DH-0002")
    first = incidents.report(citizen=citizen, channel=Channel.WECHAT, description="电动车被偷", doorplate=plate)
    incidents.report(citizen=citizen, channel=Channel.WECHAT, description="别处的事", doorplate=elsewhere)
    second = incidents.report(citizen=other_citizen, channel=Channel.MINIAPP, description="楼道起火", doorplate=plate)
    history = queries.incidents_at(plate, officer=officer)
    assert [i.id for i in history] == [second.id, first.id]
    assert [i.id for i in queries.incidents_at(plate, officer=officer, before_id=second.id)] == [first.id]
    with pytest.raises(Forbidden):
        queries.incidents_at(plate, officer=citizen)


def test_web_citizen_is_keyed_by_phone_and_never_joined_to_wechat(ctx):
    first = citizens.identify_by_phone("+86 138-0013-8000")
    assert first.phone == "13800138000" and first.oa_openid is None
    assert citizens.identify_by_phone("13800138000").id == first.id
    wechat_user = citizens.identify(oa_openid="o-2")
    wechat_user.phone = "13900139000"
    db.session.commit()
    assert citizens.identify_by_phone("13900139000").id != wechat_user.id
    registered = audit.trail(first)[0]
    assert registered.action == "citizen.registered" and "138****8000" in registered.detail
    assert "13800138000" not in registered.detail
    for bad in ("12345", "23800138000", "1380013800a", None, 13800138000):
        with pytest.raises(InvalidInput):
            citizens.identify_by_phone(bad)


def test_a_county_administrator_manages_only_the_county_s_doorplates(world):
    """Access by unit applies to the registry: another county's doorplate answers as a missing one, and an import
    naming another county's station or re-assigning its doorplate is refused whole."""
    from casework.errors import NotFound
    from casework.models import Officer, Role, Unit

    county = db.session.scalar(select(Unit).where(Unit.code == "330102"))
    admin = Officer(badge_no="190001", name="区管理员", unit=county, roles=[Role.ADMIN.value])
    db.session.add(admin)
    db.session.commit()
    theirs, ours = doorplates.by_code("JB-0001"), doorplates.by_code("DH-0001")
    before = count(AuditEntry)
    with pytest.raises(NotFound):
        doorplates.revoke(doorplate=theirs, actor=admin, reason="丢失")
    with pytest.raises(NotFound):
        doorplates.move(doorplate=ours, to=theirs, actor=admin)
    with pytest.raises(doorplate_import.ImportRefused) as refused:
        doorplate_import.import_csv(
            csv("NEW-1,示范市江滨区新路1号,120.2,30.2,33010301", "JB-0001,示范市东湖区东湖路9号,120.1,30.2,33010201"),
            actor=admin,
        )
    assert [e.line for e in refused.value.errors] == [2, 3]
    assert count(AuditEntry) == before and count(Doorplate, Doorplate.code == "NEW-1") == 0
    assert theirs.status == DoorplateStatus.ACTIVE.value and theirs.unit.code == "33010301"

    doorplates.revoke(doorplate=ours, actor=admin, reason="门牌被涂改")
    assert doorplate_import.import_csv(csv("NEW-2,示范市东湖区新村路2号,120.1,30.2,33010202"), actor=admin).created == [
        "NEW-2"
    ]
