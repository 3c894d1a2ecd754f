"""The handling unit's complaint inbox: complaints about the incidents it holds, each with supervision's request
for the unit's written explanation (and its deadline) and the explanation, which supervision reads beside the
complaint."""

from datetime import datetime

from sqlalchemy import func, select

from casework import audit, clock, settings, text
from casework.access import require_officer, visible_units_clause
from casework.complaint_status import ComplaintStatus
from casework.complaints import complaint_for, deadline, locked, move
from casework.db import db
from casework.errors import Conflict
from casework.events import Event, publish
from casework.models import Complaint, Incident, Officer, Role
from casework.unit_of_work import use_case

EXPLAINING_ROLES = (Role.OFFICER, Role.DISPATCHER, Role.LEGAL_OFFICER, Role.SUPERVISOR)


def inbox(officer: Officer, *, limit: int = 100) -> list[Complaint]:
    """Complaints routed to a unit in the officer's scope (the complaint's handling unit, else its incident's),
    those waiting for the unit's explanation first (the nearest deadline first), then the newest."""
    require_officer(officer)
    held_by = func.coalesce(Complaint.handling_unit_id, Incident.unit_id)
    query = (
        select(Complaint)
        .join(Incident, Complaint.incident_id == Incident.id)
        .where(visible_units_clause(officer, held_by), Complaint.routed_to_unit_at.is_not(None))
        .order_by(Complaint.explanation_due_at.is_(None), Complaint.explanation_due_at, Complaint.id.desc())
        .limit(min(max(limit, 1), 500))
    )
    return list(db.session.scalars(query))


@use_case
def explain(*, complaint: Complaint, officer: Officer, explanation: str, now: datetime | None = None) -> Complaint:
    """Record the handling unit's written explanation of a complaint, once supervision asked for it."""
    require_officer(officer, *EXPLAINING_ROLES)
    complaint = complaint_for(officer, complaint.id)
    explanation = text.clean(
        explanation, missing="请填写情况说明", limit=settings.get("COMPLAINT_BODY_MAX"), what="情况说明"
    )
    complaint = locked(complaint)
    if complaint.unit_explanation is not None:
        raise Conflict("该投诉已有单位情况说明")
    if complaint.state is not ComplaintStatus.INVESTIGATING:
        raise Conflict("督察部门尚未要求本单位作出情况说明")
    now = now or clock.now()
    move(complaint, ComplaintStatus.EXPLAINED, step_due=deadline(now, "COMPLAINT_VERDICT_DAYS"))
    complaint.unit_explanation = explanation
    complaint.explained_at = now
    complaint.explained_by_id = officer.id
    audit.record(
        actor=officer,
        action="complaint.explained",
        subject=complaint,
        at=now,
        detail={
            "length": len(explanation),
            "due_at": complaint.explanation_due_at.isoformat() if complaint.explanation_due_at else None,
            "late": bool(complaint.explanation_due_at and now > complaint.explanation_due_at),
        },
    )
    publish(Event.COMPLAINT_EXPLAINED, complaint_id=complaint.id)
    return complaint
