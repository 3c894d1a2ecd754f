"""Deciding which unit handles a new incident: the doorplate's station, else the station of the nearest
registered doorplate, else the command centre at the top of the tree."""

import math
from datetime import datetime

from sqlalchemy import select

from casework import audit, clock
from casework.db import db
from casework.events import Event, publish
from casework.models import Doorplate, DoorplateStatus, Incident, System, Unit
from casework.unit_of_work import use_case

NEAREST_DOORPLATE_KM = 3.0
_DEGREE_WINDOW = 0.05  # ~5 km: only doorplates in this box are compared


@use_case
def route_new_incident(incident_id: int, *, now: datetime | None = None) -> None:
    """Assign the handling unit of an incident that has none yet (the job behind incident.reported / located;
    idempotent)."""
    incident = db.session.get(Incident, incident_id, with_for_update=True, populate_existing=True)
    if incident is None or incident.unit_id is not None:
        return
    unit, how = jurisdiction(incident)
    if unit is None:
        return
    incident.unit_id = unit.id
    audit.record(
        actor=System("router"),
        action="incident.routed",
        subject=incident,
        at=now or clock.now(),
        detail={"unit_id": unit.id, "unit": unit.name, "by": how},
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
    root = db.session.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1))
    return root, "command_centre"


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
