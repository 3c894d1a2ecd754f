"""Reference data every installation needs (categories) and the demo world (units, officers, doorplates,
citizens and incidents in every status), created through the same services a real user would go through."""

import functools
import json
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from casework import (
    audit,
    case_property,
    cases,
    categories,
    causes,
    chat,
    citizens,
    clock,
    complaints,
    incidents,
    measures,
    passwords,
    routing,
)
from casework.db import db
from casework.models import (
    Case,
    CaseStage,
    Category,
    Citizen,
    Complaint,
    Doorplate,
    Incident,
    Officer,
    Role,
    System,
    Unit,
    UnitLevel,
)
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
    ("100003", "黄敏", "33010201", [Role.OFFICER, Role.PROPERTY_KEEPER]),  # also keeps the station's property room
    ("100004", "吴法", "330102", [Role.LEGAL_OFFICER]),
    ("100005", "郑督", "330100", [Role.SUPERVISOR]),
    ("100000", "管理员", "330000", [Role.ADMIN]),
    ("100006", "周航", "33010202", [Role.OFFICER]),
    ("100007", "孙指", "330000", [Role.DISPATCHER]),  # the command centre: sees incidents not yet routed
    ("100008", "江法", "33010301", [Role.LEGAL_OFFICER]),  # 江滨派出所's legal officer: evaluates other units' cases
    ("100009", "钱考", "330100", [Role.LEGAL_OFFICER]),  # the city's legal officer: organises evaluation plans
]

# What each demo officer is there to show, beside their unit and roles (the roster printed by `flask demo` and
# listed in the README's "Try it", both from `roster()`).
ROSTER_NOTES = {
    "100007": "指挥中心:看得到尚未分派到派出所的警情",
    "100003": "兼管东湖派出所涉案财物管理室",
    "100008": "执法考评的评查人",
    "100009": "组织演示中的执法考评方案",
}


def roster() -> list[str]:
    """Every demo officer: badge, name, unit and roles (and what they show), one line each, in badge order."""
    units = {code: name for code, name, _level, _parent in UNITS}
    lines = []
    for badge, name, unit, roles in sorted(OFFICERS):
        note = f"({ROSTER_NOTES[badge]})" if badge in ROSTER_NOTES else ""
        lines.append(f"{badge} {name} · {units[unit]} · {'、'.join(r.label for r in roles)}{note}")
    return lines


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
def load_causes(path: Path = causes.CAUSES_FILE, *, now: datetime | None = None) -> int:
    """Add the causes file's new causes (案由) to the list (idempotent; an admin's changes stay); returns how many."""
    return causes.load_seed(path, now=now)


@use_case
def load_demo() -> dict:
    """Create the demo world once, in one transaction (a second run changes nothing); returns what exists."""
    load_categories()
    load_causes()
    if load_world():
        _demo_incidents()
    return _summary()


@functools.cache
def _roster_hash() -> str:
    """One argon2 hash of the demo password for the whole roster, made once per process: a hash costs about a fifth
    of a second, and the demo world is loaded again for every test."""
    return passwords.hash_password(DEMO_PASSWORD)


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
    password_hash = _roster_hash()
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
    _demo_cases(alice, first)


def _accepted_case(citizen, *, description: str, code: str, plate: str, at: datetime, source: str) -> Case:
    handler = officer("100002")
    incident = incidents.report(
        citizen=citizen,
        channel=Channel.WECHAT,
        description=description,
        doorplate=doorplate(plate),
        category=category(code),
        source_msg_id=source,
        now=at,
    )
    for minutes, status in (
        (2, IncidentStatus.DISPATCHED),
        (12, IncidentStatus.ON_SCENE),
        (60, IncidentStatus.HANDLED),
        (90, IncidentStatus.ACCEPTED),
    ):
        incidents.change_status(
            incident=incident,
            actor=handler,
            status=status,
            internal_note="演示数据",
            now=at + timedelta(minutes=minutes),
        )
    return db.session.get(Case, incident.id)


def _demo_cases(alice: Citizen, first: Incident) -> None:
    """Cases in several stages with their measures and property, dated so that the supervision has something to
    show on the first sweep: a detention past its 3 days (red), bail in its 11th month (blue), property not
    stored within 24 hours (yellow)."""
    handler, keeper, legal = officer("100002"), officer("100003"), officer("100004")
    now = clock.now()
    accepted = db.session.get(Case, first.id)
    cases.change_cause(case=accepted, actor=handler, cause_code="X0101", reason="电动车被盗,初步认定为盗窃")

    robbed = _accepted_case(
        alice,
        description="在湖滨街被人抢走手机和钱包",
        code="0103",
        plate="DH-0003",
        at=now - timedelta(days=5),
        source="demo:4",
    )
    cases.change_cause(
        case=robbed, actor=handler, cause_code="X0104", reason="持械抢走财物", now=now - timedelta(days=5)
    )
    cases.decide_filing(case=robbed, actor=handler, filed=True, now=now - timedelta(days=4, hours=20))
    cases.advance(
        case=robbed,
        actor=handler,
        stage=CaseStage.INVESTIGATING,
        internal_note="嫌疑人已到案",
        now=now - timedelta(days=4, hours=12),
    )
    measures.start(
        case=robbed,
        actor=handler,
        kind="detention",
        person_name="刘某",
        approved_by=legal,
        document_ref="东公(刑)拘字〔演示〕1号",
        now=now - timedelta(days=4, hours=10),
    )
    case_property.seize(  # still with the officer two days later: late for the property room
        case=robbed,
        actor=handler,
        description="被抢黑色手机一部",
        quantity=1,
        quantity_unit="部",
        now=now - timedelta(days=2),
    )
    cash = case_property.seize(
        case=robbed, actor=handler, description="现金", quantity=860, quantity_unit="元", now=now - timedelta(days=4)
    )
    case_property.move(item=cash, actor=handler, kind="stored", receiver=keeper, now=now - timedelta(days=3, hours=20))

    cheated = _accepted_case(
        alice,
        description="网上刷单被骗了三万元",
        code="0102",
        plate="DH-0002",
        at=now - timedelta(days=340),
        source="demo:5",
    )
    cases.change_cause(
        case=cheated, actor=handler, cause_code="X0103", reason="刷单返利诈骗", now=now - timedelta(days=340)
    )
    cases.decide_filing(case=cheated, actor=handler, filed=True, now=now - timedelta(days=339))
    measures.start(
        case=cheated,
        actor=handler,
        kind="bail",
        person_name="陈某",
        approved_by=legal,
        document_ref="东公(刑)取保字〔演示〕1号",
        now=now - timedelta(days=335),
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
        ("cases", Case),
    ):
        counts[name] = db.session.scalar(select(func.count()).select_from(model))
    return counts
