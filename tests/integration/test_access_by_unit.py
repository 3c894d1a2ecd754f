"""Access by unit: officers of two stations, a county and the province against every officer-side query and
service. Each sees and acts on exactly its tree; another unit's record answers exactly as a missing one does,
and a refused action writes nothing.

To cover a new officer-side service, add one `Service` to SERVICES.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from casework import access, chat, citizens, complaint_inbox, complaints, incidents, queries, seed
from casework.db import db
from casework.errors import NotFound
from casework.models import (
    Attachment,
    AuditEntry,
    ChatMessage,
    Complaint,
    Incident,
    Officer,
    OutboxMessage,
    Role,
    TimelineEntry,
    Unit,
)
from casework.status import Channel, IncidentStatus
from supervision import complaints as supervision

MISSING_ID = 987654

# Who holds each incident of the test world (unit codes of the demo world; None: not yet routed).
HOLDERS = {
    "dh": "33010201",  # 东湖派出所, in 东湖区
    "xh": "33010202",  # 西湖路派出所, in 东湖区
    "county": "330102",  # 东湖区公安分局 itself
    "jb": "33010301",  # 江滨派出所, in the other county
    "province": "330000",  # sent to the command centre by the router
    "unrouted": None,
}
# The officers: two stations, a county and the province.
POSTS = {"dh": "33010201", "xh": "33010202", "county": "330102", "province": "330000"}

# What each officer sees: their unit and the units below it; only the province sees unrouted incidents.
SCOPE = {
    "dh": {"dh"},
    "xh": {"xh"},
    "county": {"dh", "xh", "county"},
    "province": set(HOLDERS),
}
# Legal officers and supervisors posted at a station work county-wide.
COUNTY_WIDE_SCOPE = {**SCOPE, "dh": SCOPE["county"], "xh": SCOPE["county"]}


@dataclass(frozen=True)
class Service:
    """One officer-side query or service.

    `run(officer, incident, complaint)` calls it for one record. A `refuses` service raises NotFound outside the
    scope (and `missing` calls it for a record that does not exist); a listing (`refuses=False`) returns the
    incidents it shows instead, and one outside the scope must simply not be among them.
    """

    name: str
    roles: tuple[Role, ...]
    run: Callable
    refuses: bool = True
    writes: bool = False
    missing: Callable | None = None

    def __str__(self) -> str:
        return self.name


def _evidence(officer, incident, _complaint):
    return incidents.attach_evidence(
        incident=incident,
        actor=officer,
        kind="image",
        source_ref=f"console:{officer.id}:{incident.id}",
        storage_key=f"test/{officer.id}-{incident.id}.jpg",
        sha256="a" * 64,
        size=3,
        content_type="image/jpeg",
    )


SERVICES = [
    Service(
        "incidents.change_status",
        (Role.OFFICER,),
        writes=True,
        run=lambda officer, incident, _: incidents.change_status(
            incident=incident, actor=officer, status=IncidentStatus.DISPATCHED
        ),
    ),
    Service(
        "incidents.recategorise",
        (Role.OFFICER,),
        writes=True,
        run=lambda officer, incident, _: incidents.recategorise(
            incident=incident, actor=officer, category=seed.category("0105"), reason="现场核实为殴打他人"
        ),
    ),
    Service(
        "incidents.set_location",
        (Role.OFFICER,),
        writes=True,
        run=lambda officer, incident, _: incidents.set_location(
            incident=incident, actor=officer, address="东湖路1号北门"
        ),
    ),
    Service("incidents.attach_evidence", (Role.OFFICER,), writes=True, run=_evidence),
    Service(
        "chat.add_message",
        (Role.DISPATCHER,),
        writes=True,
        run=lambda officer, incident, _: chat.add_message(
            incident=incident, actor=officer, body="请保持电话畅通,民警马上到"
        ),
    ),
    Service(
        "chat.messages",
        (Role.DISPATCHER,),
        run=lambda officer, incident, _: chat.messages(incident=incident, viewer=officer),
    ),
    Service(
        "queries.incident_for",
        (Role.OFFICER,),
        run=lambda officer, incident, _: queries.incident_for(officer, incident_id=incident.id),
        missing=lambda officer: queries.incident_for(officer, incident_id=MISSING_ID),
    ),
    Service(
        "queries.incident_for (number)",
        (Role.OFFICER,),
        run=lambda officer, incident, _: queries.incident_for(officer, number=incident.number),
        missing=lambda officer: queries.incident_for(officer, number="JQ00000000999999"),
    ),
    Service(
        "queries.incidents_at",
        (Role.OFFICER,),
        refuses=False,
        run=lambda officer, incident, _: queries.incidents_at(incident.doorplate, officer=officer),
    ),
    Service(
        "queries.incidents_for",
        (Role.OFFICER,),
        refuses=False,
        run=lambda officer, incident, _: queries.incidents_for(officer, limit=200),
    ),
    Service(
        "complaints.complaint_for",
        (Role.SUPERVISOR,),
        run=lambda officer, _, complaint: complaints.complaint_for(officer, complaint.id),
        missing=lambda officer: complaints.complaint_for(officer, MISSING_ID),
    ),
    Service(
        "supervision.accept",
        (Role.SUPERVISOR,),
        writes=True,
        run=lambda officer, _, complaint: supervision.accept(complaint=complaint, officer=officer),
    ),
    Service(
        "supervision.complaint_for_supervisor",
        (Role.SUPERVISOR,),
        run=lambda officer, _, complaint: supervision.complaint_for_supervisor(officer, complaint.id),
        missing=lambda officer: supervision.complaint_for_supervisor(officer, MISSING_ID),
    ),
    Service(
        "supervision.queue",
        (Role.SUPERVISOR,),
        refuses=False,
        run=lambda officer, incident, _: [c.incident for c in supervision.queue(officer)],
    ),
    Service(
        "complaint_inbox.inbox",
        (Role.OFFICER,),
        refuses=False,
        run=lambda officer, incident, _: [c.incident for c in complaint_inbox.inbox(officer)],
    ),
]


def _unit(code: str | None) -> int | None:
    return None if code is None else db.session.scalar(select(Unit.id).where(Unit.code == code))


def _post(key: str, roles: tuple[Role, ...]) -> Officer:
    officer = Officer(
        badge_no=f"T-{key}-{'-'.join(r.value[:3] for r in roles)}",
        name=f"测试{key}",
        unit_id=_unit(POSTS[key]),
        roles=[r.value for r in roles],
    )
    db.session.add(officer)
    db.session.commit()
    return officer


def _holdings(app, world, tag: str) -> dict[str, tuple[Incident, Complaint]]:
    """One incident (reported at one doorplate, with a complaint on it) held by each holder."""
    citizen = citizens.identify(miniapp_openid=f"mini-access-{tag}")  # no WeChat account: nothing is pushed
    plate = world.doorplate("DH-0001")
    made = {}
    for key in HOLDERS:
        incident = incidents.report(
            citizen=citizen,
            channel=Channel.MINIAPP,
            description=f"{key} 有人打架",
            doorplate=plate,
            source_msg_id=f"access:{tag}:{key}",
        )
        made[key] = incident
    _settle(app)
    # The holder as the router (or a later move) left it; the routing job has already run above.
    for key, code in HOLDERS.items():
        db.session.get(Incident, made[key].id).unit_id = _unit(code)
    db.session.commit()
    held = {}
    for key, incident in made.items():
        complaint = complaints.file(citizen=citizen, incident=incident, body="出警太慢", source_msg_id=f"c:{tag}:{key}")
        held[key] = (incident, complaint)
    _settle(app)
    return held


def _settle(app) -> None:
    """Let the in-process job thread finish (ending our transaction first: SQLite's lock), then re-read."""
    db.session.rollback()
    app.extensions["wx110.dispatcher"].drain()
    db.session.expire_all()


def _written() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (TimelineEntry, AuditEntry, OutboxMessage, ChatMessage, Attachment)
    )


def _state(incident: Incident, complaint: Complaint) -> tuple:
    incident, complaint = db.session.get(Incident, incident.id), db.session.get(Complaint, complaint.id)
    return (
        incident.status,
        incident.category_id,
        incident.address,
        incident.unit_id,
        incident.updated_at,
        complaint.answer,
        complaint.status,
    )


@pytest.mark.parametrize("service", SERVICES, ids=str)
def test_each_officer_sees_and_acts_on_exactly_its_tree(app, world, service):
    county_wide = any(role in access.COUNTY_WIDE_ROLES for role in service.roles)
    expected_scope = COUNTY_WIDE_SCOPE if county_wide else SCOPE
    for post in POSTS:
        officer = _post(post, service.roles)
        held = _holdings(app, world, f"{service.name}-{post}")
        seen = set()
        for key, (incident, complaint) in held.items():
            _settle(app)
            before, state = _written(), _state(incident, complaint)
            incident, complaint = db.session.get(Incident, incident.id), db.session.get(Complaint, complaint.id)
            if not service.refuses:
                if incident.id in {i.id for i in service.run(officer, incident, complaint)}:
                    seen.add(key)
                continue
            try:
                result = service.run(officer, incident, complaint)
            except NotFound as refused:
                db.session.rollback()
                assert refused.message == _missing_message(service, officer), (service.name, post, key)
                assert _written() == before, f"{service.name} refused for {post} on {key} but wrote"
                assert _state(incident, complaint) == state
                continue
            seen.add(key)
            assert result is not None
            if service.writes:
                _settle(app)
                assert _written() != before or _state(incident, complaint) != state
        assert seen == expected_scope[post], (service.name, post, seen)


def _missing_message(service: Service, officer: Officer) -> str:
    """What the same officer is told about a record that does not exist at all."""
    kind = Complaint if service.name.startswith(("complaints.", "supervision.")) else Incident
    if service.missing is not None:
        with pytest.raises(NotFound) as missing:
            service.missing(officer)
        return missing.value.message
    with pytest.raises(NotFound) as missing:  # services handed a record: the lookup the channel does first
        if kind is Complaint:
            complaints.complaint_for(officer, MISSING_ID)
        else:
            queries.incident_for(officer, incident_id=MISSING_ID)
    return missing.value.message


def test_scope_follows_the_unit_tree(world):
    units = {code: _unit(code) for code, *_ in world.UNITS}
    everyone = set(units.values())

    def scope(badge_or_officer):
        officer = world.officer(badge_or_officer) if isinstance(badge_or_officer, str) else badge_or_officer
        return access.scope_of(officer)

    province = scope("100007")
    assert province.everything and province.covers(None) and set(province.unit_ids) == everyone
    city = scope("100001")  # the city's dispatcher: the city and everything below it, but nothing unrouted
    assert not city.everything and not city.covers(None)
    assert set(city.unit_ids) == everyone - {units["330000"]}
    assert set(scope("100002").unit_ids) == {units["33010201"]}
    # A legal officer of a county sees the county; one posted at a station sees the whole county too.
    county = {units["330102"], units["33010201"], units["33010202"]}
    assert set(scope("100004").unit_ids) == county
    station_legal = Officer(
        badge_no="T-legal", name="测试法制员", unit_id=units["33010202"], roles=[Role.LEGAL_OFFICER.value]
    )
    station_admin = Officer(badge_no="T-admin", name="测试管理员", unit_id=units["33010202"], roles=[Role.ADMIN.value])
    db.session.add_all([station_legal, station_admin])
    db.session.commit()
    assert set(scope(station_legal).unit_ids) == county
    assert set(scope(station_admin).unit_ids) == {units["33010202"]}  # an administrator's roles do not widen it
    station_legal.active = False
    db.session.commit()
    assert scope(station_legal) == access.Scope(frozenset())  # an inactive officer sees nothing


def test_sql_filter_and_predicate_agree(app, world):
    held = _holdings(app, world, "agree")
    for badge in ("100000", "100001", "100002", "100004", "100005", "100006", "100007"):
        officer = world.officer(badge)
        listed = set(
            db.session.scalars(select(Incident.id).where(access.visible_units_clause(officer, Incident.unit_id)))
        )
        predicate = {incident.id for incident, _ in held.values() if access.can_see(officer, incident)}
        assert listed == predicate, badge
        assert {c.id for _, c in held.values() if access.can_see(officer, c)} == {
            c.id for i, c in held.values() if i.id in predicate
        }
