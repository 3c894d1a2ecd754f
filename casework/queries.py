"""Read-side questions the channels ask: a citizen's incidents, one incident's public progress, a doorplate's
history."""

from sqlalchemy import select

from casework.access import require_officer, require_owner
from casework.db import db
from casework.errors import NotFound
from casework.models import Citizen, Doorplate, Incident, Officer, TimelineEntry


def incidents_of(citizen: Citizen, *, limit: int = 20, before_id: int | None = None) -> list[Incident]:
    """A citizen's incidents, newest first, a page at a time (`before_id` is the last id of the previous page)."""
    query = select(Incident).where(Incident.citizen_id == citizen.id)
    if before_id is not None:
        query = query.where(Incident.id < before_id)
    return list(db.session.scalars(query.order_by(Incident.id.desc()).limit(min(max(limit, 1), 100))))


def incident_of(citizen: Citizen, *, incident_id: int | None = None, number: str | None = None) -> Incident:
    """One of the citizen's incidents by id or public number; anyone else's answers NotFound, as a missing one."""
    if incident_id is not None:
        incident = db.session.get(Incident, incident_id)
    elif number:
        incident = db.session.scalar(select(Incident).where(Incident.number == number.strip().upper()))
    else:
        incident = None
    try:
        if incident is None:
            raise NotFound("未找到该记录")
        require_owner(incident, citizen)
    except NotFound:
        # One message for both cases: a different one for "not yours" would reveal that the id exists.
        raise NotFound("未找到该警情") from None
    return incident


def public_timeline(incident: Incident) -> list[TimelineEntry]:
    """The steps a citizen may see, oldest first (internal notes are never part of them)."""
    return list(
        db.session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident.id, TimelineEntry.public_note.is_not(None))
            .order_by(TimelineEntry.id)
        )
    )



def incidents_at(doorplate: Doorplate, *, officer: Officer, limit: int = 50,
                 before_id: int | None = None) -> list[Incident]:
    """Every report made at one doorplate, newest first, a page at a time; for officers (any role)."""
    require_officer(officer)
    query = select(Incident).where(Incident.doorplate_id == doorplate.id)
    if before_id is not None:
        query = query.where(Incident.id < before_id)
    return list(db.session.scalars(query.order_by(Incident.id.desc()).limit(min(max(limit, 1), 200))))
