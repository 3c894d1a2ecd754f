"""Deciding which unit handles an incident: the doorplate's station, else the station of the nearest registered
doorplate, else the configured dispatch centre (DISPATCH_CENTRE_UNIT; the root of the tree when unset).

A place that arrives after the report (a location message, a doorplate scan) moves the incident to the station
of that place, as long as no officer has taken it yet (its status is still "received")."""

import math
from datetime import datetime

from sqlalchemy import select

from casework import audit, clock, notes, per_transaction, settings, words
from casework.db import db
from casework.events import Event, publish
from casework.models import Doorplate, DoorplateStatus, Incident, System, TimelineEntry, Unit
from casework.status import IncidentStatus
from casework.unit_of_work import use_case

NEAREST_DOORPLATE_KM = 3.0
_DEGREE_WINDOW = 0.05  # ~5 km: only doorplates in this box are compared
DISPATCH_CENTRE = "dispatch_centre"
ROUTER = System("router")


@use_case
def route_new_incident(incident_id: int, *, now: datetime | None = None) -> None:
    """Assign the handling unit of an incident that has none yet, or move one not yet taken by an officer to the
    station of the place it now has (the job behind incident.reported / located; idempotent)."""
    if per_transaction.ours("incident", incident_id):  # reported in this transaction: nobody else sees it yet
        incident = db.session.get(Incident, incident_id)
    else:
        incident = db.session.get(Incident, incident_id, with_for_update=True, populate_existing=True)
    if incident is None:
        return
    per_transaction.keep(incident)  # locked until the commit: the follow-ups after this one read it from the map
    if incident.unit_id is not None and incident.status != IncidentStatus.RECEIVED.value:
        return  # an officer has taken it: the place is recorded, the unit stays
    unit, how = jurisdiction(incident)
    if unit is None or unit.id == incident.unit_id:
        return
    if incident.unit_id is not None and how == DISPATCH_CENTRE:
        return  # the place is known but matches no station: keep whoever has it
    now = now or clock.now()
    before = incident.unit_id
    incident.unit_id = unit.id
    if before is not None:
        previous = db.session.get(Unit, before)
        db.session.add(
            TimelineEntry(
                incident=incident,
                at=now,
                kind="rerouted",
                actor_kind=ROUTER.kind,
                actor_id=None,
                public_note=notes.REROUTED.format(unit=unit.name),
                internal_note=f"按新位置由{previous.name}改派{unit.name}({words.word('routing', how)})",
            )
        )
    audit.record(
        actor=ROUTER,
        action="incident.routed" if before is None else "incident.rerouted",
        subject=incident,
        at=now,
        detail={"unit_id": unit.id, "unit": unit.name, "by": how, "from_unit_id": before},
    )
    publish(Event.INCIDENT_ASSIGNED, incident_id=incident.id, unit_id=unit.id)


def jurisdiction(incident: Incident) -> tuple[Unit | None, str]:
    """The unit that should handle `incident`, and how it was chosen."""
    if incident.doorplate is not None:
        return incident.doorplate.unit, "doorplate"
    if incident.latitude is not None:
        nearest = nearest_doorplate(incident.latitude, incident.longitude)
        if nearest is not None:
            return nearest.unit, "nearest_doorplate"
    return dispatch_centre(), DISPATCH_CENTRE


def dispatch_centre() -> Unit | None:
    """The unit whose queue takes what cannot be routed: DISPATCH_CENTRE_UNIT, else the root of the tree (read
    once per transaction: a batch of reports routes them all there)."""
    code = settings.get("DISPATCH_CENTRE_UNIT")
    if code:
        unit = per_transaction.lookup(
            Unit, ("unit", "code", code), lambda: db.session.scalar(select(Unit).where(Unit.code == code))
        )
        if unit is None:
            raise LookupError(f"DISPATCH_CENTRE_UNIT {code!r} names no unit")
        return unit
    return per_transaction.lookup(
        Unit,
        ("unit", "root"),
        lambda: db.session.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1)),
    )


def nearest_doorplate(latitude: float, longitude: float) -> Doorplate | None:
    """The closest active doorplate within NEAREST_DOORPLATE_KM, if any."""
    candidates = db.session.scalars(
        select(Doorplate).where(
            Doorplate.status == DoorplateStatus.ACTIVE.value,
            Doorplate.latitude.between(latitude - _DEGREE_WINDOW, latitude + _DEGREE_WINDOW),
            Doorplate.longitude.between(longitude - _DEGREE_WINDOW, longitude + _DEGREE_WINDOW),
        )
    )
    best, best_km = None, NEAREST_DOORPLATE_KM
    for plate in candidates:
        km = distance_km(latitude, longitude, plate.latitude, plate.longitude)
        if km <= best_km:
            best, best_km = plate, km
    return best


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))
