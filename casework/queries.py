"""Read-side questions the channels ask: a citizen's incidents, one incident's public progress, a doorplate's
history."""

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from casework.access import not_found, require_officer, require_owner, require_visible, visible_units_clause
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


def incidents_at(
    doorplate: Doorplate, *, officer: Officer, limit: int = 50, before_id: int | None = None
) -> list[Incident]:
    """The reports at one doorplate held in the officer's scope, newest first, a page at a time (any role)."""
    require_officer(officer)
    query = select(Incident).where(
        Incident.doorplate_id == doorplate.id, visible_units_clause(officer, Incident.unit_id)
    )
    if before_id is not None:
        query = query.where(Incident.id < before_id)
    return list(db.session.scalars(query.order_by(Incident.id.desc()).limit(min(max(limit, 1), 200))))


def incident_for(officer: Officer, *, incident_id: int | None = None, number: str | None = None) -> Incident:
    """One incident by id or public number for an officer; one outside their scope answers as a missing one."""
    require_officer(officer)
    if incident_id is not None:
        incident = db.session.get(Incident, incident_id)
    elif number:
        incident = db.session.scalar(select(Incident).where(Incident.number == number.strip().upper()))
    else:
        incident = None
    if incident is None:
        raise not_found(Incident)
    require_visible(officer, incident)
    return incident


def incidents_for(
    officer: Officer, *, status: str | None = None, limit: int = 50, before_id: int | None = None
) -> list[Incident]:
    """The incidents held in the officer's scope, newest first, a page at a time (the console's queue)."""
    require_officer(officer)
    query = select(Incident).where(visible_units_clause(officer, Incident.unit_id))
    if status is not None:
        query = query.where(Incident.status == status)
    if before_id is not None:
        query = query.where(Incident.id < before_id)
    return list(db.session.scalars(query.order_by(Incident.id.desc()).limit(min(max(limit, 1), 200))))


FULL_NUMBER = re.compile(r"JQ\d{14}")


def queue(
    officer: Officer,
    *,
    status: str | None = None,
    category_id: int | None = None,
    channel: str | None = None,
    unit_id: int | None = None,
    search: str | None = None,
    among=None,
    limit: int = 50,
) -> list[Incident]:
    """The console's live queue: incidents in the officer's scope, newest first, filtered; `search` is an incident
    number (or its beginning) or a reporter's phone number; `among`, a subquery of incident ids (e.g. those with an
    open warning), narrows it further. One indexed query, cheap enough to poll."""
    require_officer(officer)
    query = select(Incident).where(visible_units_clause(officer, Incident.unit_id))
    if among is not None:
        query = query.where(Incident.id.in_(among))
    if status:
        query = query.where(Incident.status == status)
    if category_id:
        query = query.where(Incident.category_id == category_id)
    if channel:
        query = query.where(Incident.channel == channel)
    if unit_id:
        query = query.where(Incident.unit_id == unit_id)
    search = (search or "").strip()
    if search:
        if FULL_NUMBER.fullmatch(search.upper()):  # the unique index answers it at any size
            query = query.where(Incident.number == search.upper())
        elif search.upper().startswith("JQ"):
            query = query.where(Incident.number.startswith(search.upper(), autoescape=True))
        else:
            phone_holders = select(Citizen.id).where(Citizen.phone == search)
            query = query.where(Incident.citizen_id.in_(phone_holders))
    query = query.options(selectinload(Incident.category), selectinload(Incident.unit))
    return list(db.session.scalars(query.order_by(Incident.id.desc()).limit(min(max(limit, 1), 200))))


@dataclass(frozen=True)
class Intelligence:
    """What the console shows beside a case: earlier incidents at the same doorplate and from the same citizen,
    in the officer's scope only, with their counts."""

    at_doorplate: list[Incident]
    at_doorplate_count: int
    from_citizen: list[Incident]
    from_citizen_count: int


def intelligence(incident: Incident, *, officer: Officer, limit: int = 10) -> Intelligence:
    """Earlier incidents at the incident's doorplate and from its reporter that `officer` may see."""
    require_visible(officer, incident)
    visible = visible_units_clause(officer, Incident.unit_id)

    def earlier(condition) -> tuple[list[Incident], int]:
        where = (condition, Incident.id < incident.id, visible)
        rows = db.session.scalars(select(Incident).where(*where).order_by(Incident.id.desc()).limit(limit)).all()
        return list(rows), db.session.scalar(select(func.count()).select_from(Incident).where(*where))

    at_doorplate, doorplate_count = (
        earlier(Incident.doorplate_id == incident.doorplate_id) if incident.doorplate_id else ([], 0)
    )
    from_citizen, citizen_count = earlier(Incident.citizen_id == incident.citizen_id)
    return Intelligence(at_doorplate, doorplate_count, from_citizen, citizen_count)
