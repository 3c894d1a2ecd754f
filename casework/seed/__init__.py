"""Reference data every installation needs (categories) and the demo world (units, officers, doorplates,
citizens and incidents in every status), created through the same services a real user would go through."""

import json
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from casework import audit, categories, chat, citizens, complaints, incidents, routing
from casework.db import db
from casework.models import Category, Citizen, Complaint, Doorplate, Incident, Officer, Role, System, Unit, UnitLevel
from casework.status import Channel, IncidentStatus
from casework.unit_of_work import use_case

CATEGORIES_FILE = Path(__file__).with_name("categories.json")


@use_case
def load_categories(path: Path = CATEGORIES_FILE, *, now: datetime | None = None) -> int:
    """Bring the taxonomy in line with the categories file (idempotent); returns how many categories changed."""
    return categories.load(json.loads(path.read_text(encoding="utf-8")), now=now)


UNITS = [
    ("330000", "示范省公安厅", UnitLevel.PROVINCE, None),
    ("330100", "示范市公安局", UnitLevel.CITY, "330000"),
    ("330102", "东湖区公安分局", UnitLevel.COUNTY, "330100"),
    ("330103", "江滨区公安分局", UnitLevel.COUNTY, "330100"),
    ("33010201", "东湖派出所", UnitLevel.STATION, "330102"),
    ("33010202", "西湖路派出所", UnitLevel.STATION, "330102"),
    ("33010301", "江滨派出所", UnitLevel.STATION, "330103"),
]

OFFICERS = [
    ("100001", "陈立", "330100", [Role.DISPATCHER]),
    ("100002", "林晓", "33010201", [Role.OFFICER]),
    ("100003", "黄敏", "33010201", [Role.OFFICER]),
    ("100004", "吴法", "330102", [Role.LEGAL_OFFICER]),
    ("100005", "郑督", "330100", [Role.SUPERVISOR]),
    ("100000", "管理员", "330000", [Role.ADMIN]),
    ("100006", "周航", "33010202", [Role.OFFICER]),
    ("100007", "孙指", "330000", [Role.DISPATCHER]),  # the command centre: sees incidents not yet routed
]

DOORPLATES = [
    ("DH-0001", "示范市东湖区东湖路1号", 120.1551, 30.2741, "33010201"),
    ("DH-0002", "示范市东湖区东湖路3号", 120.1558, 30.2745, "33010201"),
    ("DH-0003", "示范市东湖区湖滨街12号", 120.1602, 30.2712, "33010201"),
    ("XH-0001", "示范市东湖区西湖路88号", 120.1420, 30.2690, "33010202"),
    ("XH-0002", "示范市东湖区西湖路90号", 120.1425, 30.2693, "33010202"),
    ("JB-0001", "示范市江滨区滨江大道100号", 120.2100, 30.2100, "33010301"),
    ("JB-0002", "示范市江滨区滨江大道102号", 120.2105, 30.2103, "33010301"),
]

DEMO_PASSWORD = "wx110-demo"


@use_case
def load_demo() -> dict:
    """Create the demo world once, in one transaction (a second run changes nothing); returns what exists."""
    load_categories()
    if load_world():
        _demo_incidents()
    return _summary()


@use_case
def load_world() -> bool:
    """Create the demo units, officers and doorplates unless units exist; return whether it created them."""
    if db.session.scalar(select(Unit).limit(1)) is not None:
        return False
    units = {}
    for code, name, level, parent in UNITS:
        units[code] = Unit(code=code, name=name, level=level.value, parent=units.get(parent))
        db.session.add(units[code])
    db.session.flush()
    password_hash = generate_password_hash(DEMO_PASSWORD)  # one slow hash for the whole demo roster
    for badge, name, unit, roles in OFFICERS:
        db.session.add(
            Officer(
                badge_no=badge, name=name, unit=units[unit], roles=[r.value for r in roles], password_hash=password_hash
            )
        )
    for code, address, lon, lat, unit in DOORPLATES:
        db.session.add(Doorplate(code=code, address=address, longitude=lon, latitude=lat, unit=units[unit]))
    db.session.flush()
    audit.record(
        actor=System("seed"),
        action="demo.seeded",
        detail={"units": len(UNITS), "officers": len(OFFICERS), "doorplates": len(DOORPLATES)},
    )
    return True


def officer(badge_no: str) -> Officer:
    return db.session.scalar(select(Officer).where(Officer.badge_no == badge_no))


def doorplate(code: str) -> Doorplate:
    return db.session.scalar(select(Doorplate).where(Doorplate.code == code))


def category(code: str) -> Category:
    return db.session.scalar(select(Category).where(Category.code == code))


def _demo_incidents() -> None:
    handler, dispatcher = officer("100002"), officer("100001")
    plate, theft, dispute = doorplate("DH-0001"), category("0101"), category("0301")
    alice = citizens.identify(oa_openid="demo-openid-alice", unionid="demo-union-alice")
    bob = citizens.identify(miniapp_openid="demo-mini-bob")

    first = incidents.report(
        citizen=alice,
        channel=Channel.WECHAT,
        description="楼下电动车被偷了,车是蓝色的",
        doorplate=plate,
        category=theft,
        source_msg_id="demo:1",
    )
    for status, note in (
        (IncidentStatus.DISPATCHED, None),
        (IncidentStatus.ON_SCENE, None),
        (IncidentStatus.HANDLED, "已调取监控"),
        (IncidentStatus.ACCEPTED, None),
    ):
        incidents.change_status(
            incident=first, actor=handler, status=status, public_note=note, internal_note="演示数据"
        )
    chat.add_message(incident=first, actor=dispatcher, body="您好,民警已调取监控,请保留购车凭证。")
    chat.add_message(incident=first, actor=alice, body="好的,谢谢。")

    second = incidents.report(
        citizen=alice,
        channel=Channel.WECHAT,
        description="邻居家装修噪音很大,劝说无效",
        latitude=30.2690,
        longitude=120.1421,
        address="西湖路附近",
        category=dispute,
        source_msg_id="demo:2",
    )
    routing.route_new_incident(second.id)  # now rather than from the outbox: only its station may act on it
    for status in (IncidentStatus.DISPATCHED, IncidentStatus.ON_SCENE, IncidentStatus.HANDLED, IncidentStatus.CLOSED):
        incidents.change_status(incident=second, actor=officer("100006"), status=status, public_note=None)
    complaints.file(citizen=alice, incident=second, body="民警到场后没有调解就走了,问题没有解决。")

    incidents.report(
        citizen=bob,
        channel=Channel.MINIAPP,
        description="路口有人打架,大概四五个人",
        latitude=30.2102,
        longitude=120.2101,
        source_msg_id="demo:3",
    )


def _summary() -> dict:
    counts = {}
    for name, model in (
        ("units", Unit),
        ("officers", Officer),
        ("categories", Category),
        ("doorplates", Doorplate),
        ("citizens", Citizen),
        ("incidents", Incident),
        ("complaints", Complaint),
    ):
        counts[name] = db.session.scalar(select(func.count()).select_from(model))
    return counts
