"""What the console does with an incident besides moving its status: assigning it to a unit or an officer,
internal notes, and reports a dispatcher types in from a phone call (channel console).

Each is one use case: it validates, changes state, writes the timeline and the audit entry and publishes its
event in one transaction. A unit or officer outside the acting officer's scope answers as a missing one.
"""

from datetime import datetime

from casework import audit, clock, incidents, text
from casework.access import not_found, require_officer, require_visible, scope_of
from casework.citizens import identify_by_phone
from casework.db import db
from casework.errors import Conflict, InvalidInput
from casework.events import Event, publish
from casework.models import Category, Incident, Officer, Role, TimelineEntry, Unit
from casework.status import Channel
from casework.unit_of_work import use_case

ASSIGNING_ROLES = (Role.DISPATCHER, Role.OFFICER, Role.LEGAL_OFFICER)


@use_case
def assign(
    *,
    incident: Incident,
    actor: Officer,
    unit: Unit | None = None,
    officer: Officer | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> TimelineEntry:
    """Give the incident to a unit (its handling unit from now on) and/or to one officer of that unit."""
    require_officer(actor, *ASSIGNING_ROLES)
    incident = db.session.get(Incident, incident.id, with_for_update=True, populate_existing=True)
    require_visible(actor, incident)
    scope = scope_of(actor)
    if unit is None and officer is None:
        raise InvalidInput("请选择指派的单位或民警")
    if unit is not None and not scope.covers(unit.id):
        raise not_found(Unit)
    target_unit = unit or (officer.unit if officer else None)
    if officer is not None:
        if not officer.active or not scope.covers(officer.unit_id):
            raise not_found(Officer)
        if unit is not None and officer.unit_id != unit.id:
            raise InvalidInput("该民警不属于所选单位")
    if incident.unit_id == target_unit.id and incident.assigned_officer_id == (officer.id if officer else None):
        raise Conflict("警情已指派给该单位或民警")
    now = now or clock.now()
    before = {"unit_id": incident.unit_id, "officer_id": incident.assigned_officer_id}
    incident.unit_id = target_unit.id
    incident.assigned_officer_id = officer.id if officer else None
    incident.updated_at = now
    reason = (reason or "").strip()[:500] or None
    who = f"{target_unit.name}" + (f" {officer.name}({officer.badge_no})" if officer else "")
    entry = _internal(incident, actor, "assigned", now, f"指派给 {who}" + (f":{reason}" if reason else ""))
    db.session.flush()
    audit.record(
        actor=actor,
        action="incident.assigned",
        subject=incident,
        at=now,
        detail={
            "before": before,
            "unit_id": target_unit.id,
            "officer_id": incident.assigned_officer_id,
            "reason": reason,
        },
    )
    publish(Event.INCIDENT_ASSIGNED, incident_id=incident.id, unit_id=target_unit.id)
    return entry


@use_case
def add_internal_note(*, incident: Incident, actor: Officer, note: str, now: datetime | None = None) -> TimelineEntry:
    """An internal note on the incident's timeline; the citizen never sees it."""
    require_officer(actor, *ASSIGNING_ROLES)
    require_visible(actor, incident)
    note = text.clean(note, missing="请填写备注内容", limit=1000, what="备注")
    now = now or clock.now()
    entry = _internal(incident, actor, "note", now, note)
    db.session.flush()
    audit.record(
        actor=actor,
        action="incident.noted",
        subject=incident,
        at=now,
        detail={"timeline_entry_id": entry.id, "length": len(note)},
    )
    return entry


@use_case
def report_by_phone(
    *,
    dispatcher: Officer,
    phone: str,
    description: str,
    address: str | None = None,
    category: Category | None = None,
    unit: Unit | None = None,
    now: datetime | None = None,
) -> Incident:
    """A report a dispatcher took on the telephone and types in (channel console), for the caller's number; held
    by `unit`, or by the dispatcher's own unit."""
    require_officer(dispatcher, Role.DISPATCHER)
    unit = unit or dispatcher.unit  # the dispatcher's own unit holds it until they assign it further
    if not scope_of(dispatcher).covers(unit.id):
        raise not_found(Unit)
    now = now or clock.now()
    caller = identify_by_phone(phone, now=now)
    incident = incidents.report(
        citizen=caller, channel=Channel.CONSOLE, description=description, category=category, address=address, now=now
    )
    incident.unit_id = unit.id  # the dispatcher knows whose it is: the router leaves a placed incident alone
    audit.record(
        actor=dispatcher,
        action="incident.taken_by_phone",
        subject=incident,
        at=now,
        detail={"number": incident.number, "unit_id": incident.unit_id},
    )
    publish(Event.INCIDENT_ASSIGNED, incident_id=incident.id, unit_id=unit.id)
    return incident


def _internal(incident: Incident, actor: Officer, kind: str, at: datetime, note: str) -> TimelineEntry:
    """A timeline step only officers see (no public note: the citizen's progress view skips it)."""
    entry = TimelineEntry(
        incident=incident, at=at, kind=kind, internal_note=note, actor_kind=actor.kind, actor_id=actor.id
    )
    db.session.add(entry)
    return entry
