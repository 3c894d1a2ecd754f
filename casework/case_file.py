"""A case follows its incident: opened, exactly once, inside the use case that accepts the incident (受案), and
moved to filed / not filed / concluded inside the use case that moves the incident there.

Kept apart from `casework.cases` (the case's own use cases, which call `incidents.change_status`) so that
`incidents` can call it without the two importing each other.
"""

from datetime import datetime

from casework import audit, numbering
from casework.db import db
from casework.events import Event, publish
from casework.models import Case, CaseStage, CaseType, Incident, Officer
from casework.status import IncidentStatus

STAGE_COLUMNS = {
    CaseStage.FILED: "filed_at",
    CaseStage.NOT_FILED: "not_filed_at",
    CaseStage.INVESTIGATING: "investigating_at",
    CaseStage.TRANSFERRED: "transferred_at",
    CaseStage.DECIDED: "decided_at",
    CaseStage.CONCLUDED: "concluded_at",
}
FOLLOWED = {
    IncidentStatus.FILED: CaseStage.FILED,
    IncidentStatus.NOT_FILED: CaseStage.NOT_FILED,
    IncidentStatus.CONCLUDED: CaseStage.CONCLUDED,
}


def of(incident: Incident) -> Case | None:
    """The case of an incident, if it was accepted."""
    return db.session.get(Case, incident.id)


def follow(incident: Incident, status: IncidentStatus, *, actor: Officer, at: datetime, note: str | None) -> None:
    """Open the case when the incident is accepted; move it along when the incident is filed, not filed or
    concluded (in the caller's transaction; the caller holds the incident's row lock)."""
    if status is IncidentStatus.ACCEPTED:
        _open(incident, actor=actor, at=at)
        return
    stage = FOLLOWED.get(status)
    case = of(incident)
    if stage is None or case is None:
        return
    before = case.stage
    enter(case, stage, at=at)
    if stage is CaseStage.NOT_FILED:
        case.not_filed_reason = (note or "").strip() or case.not_filed_reason
    audit.record(
        actor=actor,
        action="case.stage_changed",
        subject=case,
        at=at,
        detail={
            "from": before,
            "to": stage.value,
            "reason": case.not_filed_reason if stage is CaseStage.NOT_FILED else None,
        },
    )
    publish(Event.CASE_STAGE_CHANGED, case_id=case.id, stage=stage.value)


def enter(case: Case, stage: CaseStage, *, at: datetime) -> None:
    """Set a case's stage and the moment it reached it."""
    case.stage = stage.value
    case.updated_at = at
    setattr(case, STAGE_COLUMNS[stage], at)


def _open(incident: Incident, *, actor: Officer, at: datetime) -> Case:
    existing = of(incident)
    if existing is not None:
        return existing
    public_order = incident.category is not None and incident.category.case_type == CaseType.PUBLIC_ORDER.value
    case = Case(
        id=incident.id,
        number=numbering.next_number("AJ", at),
        case_type=(CaseType.PUBLIC_ORDER if public_order else CaseType.CRIMINAL).value,
        stage=CaseStage.ACCEPTED.value,
        unit_id=incident.unit_id,
        lead_officer_id=incident.assigned_officer_id or actor.id,
        accepted_at=at,
        updated_at=at,
    )
    db.session.add(case)
    db.session.flush()
    audit.record(
        actor=actor,
        action="case.opened",
        subject=case,
        at=at,
        detail={"number": case.number, "incident": incident.number, "type": case.case_type},
    )
    publish(Event.CASE_OPENED, case_id=case.id)
    return case
