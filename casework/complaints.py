"""Filing a complaint about how an incident was handled, and routing it to the unit and to supervision.

The two routing jobs are subscribers of complaint.filed (registered in `casework.init_app`); each is
idempotent, so a complaint reaches each place exactly once however often the relay or the queue delivers the job.
"""

from datetime import datetime, timedelta

from sqlalchemy import select

from casework import audit, clock, idempotency, notes, numbering, settings
from casework.access import not_found, require_officer, require_owner, require_visible
from casework.db import db
from casework.errors import Conflict, InvalidInput, NotFound
from casework.events import Event, publish
from casework.models import Citizen, Complaint, ComplaintStatus, Incident, Officer, Role, System, TimelineEntry
from casework.text import clean
from casework.unit_of_work import use_case


@use_case
def file(
    *,
    citizen: Citizen,
    incident: Incident,
    body: str,
    against_officer: Officer | None = None,
    source_msg_id: str | None = None,
    now: datetime | None = None,
) -> Complaint:
    """File a complaint against one of the citizen's incidents; committed before this returns (as the outer
    use case)."""
    require_owner(incident, citizen)
    now = now or clock.now()
    return idempotency.once(
        Complaint.source_msg_id,
        source_msg_id,
        lambda: _file(citizen, incident, body, against_officer, source_msg_id, now),
    )


def _file(
    citizen: Citizen,
    incident: Incident,
    body,
    against_officer: Officer | None,
    source_msg_id: str | None,
    now: datetime,
) -> Complaint:
    body = clean(body, missing="请写明投诉内容", limit=settings.get("COMPLAINT_BODY_MAX"), what="投诉内容")
    complaint = Complaint(
        number=numbering.next_number("TS", now),
        incident=incident,
        citizen=citizen,
        against_officer=against_officer,
        handling_unit_id=incident.unit_id,
        body=body,
        source_msg_id=source_msg_id,
        status=ComplaintStatus.SUBMITTED.value,
        filed_at=now,
        due_at=now + timedelta(days=settings.get("COMPLAINT_ANSWER_DAYS")),
    )
    db.session.add(complaint)
    db.session.flush()
    db.session.add(
        TimelineEntry(
            incident=incident,
            at=now,
            kind="complaint",
            actor_kind=citizen.kind,
            actor_id=citizen.id,
            public_note=notes.COMPLAINT_FILED.format(number=complaint.number),
            internal_note=f"投诉 {complaint.number}",
        )
    )
    audit.record(
        actor=citizen,
        action="complaint.filed",
        subject=complaint,
        at=now,
        detail={
            "number": complaint.number,
            "incident_id": incident.id,
            "against_officer_id": against_officer.id if against_officer else None,
        },
    )
    publish(Event.COMPLAINT_FILED, complaint_id=complaint.id)
    return complaint


@use_case
def route_to_unit(complaint_id: int, *, now: datetime | None = None) -> None:
    """Put the complaint in the handling unit's queue (once)."""
    _route(complaint_id, "routed_to_unit_at", "complaint.routed_to_unit", "unit", now or clock.now())


@use_case
def route_to_supervision(complaint_id: int, *, now: datetime | None = None) -> None:
    """Put the complaint in the supervision (督察) queue (once)."""
    _route(
        complaint_id, "routed_to_supervision_at", "complaint.routed_to_supervision", "supervision", now or clock.now()
    )


def _route(complaint_id: int, column: str, action: str, destination: str, now: datetime) -> None:
    complaint = db.session.get(Complaint, complaint_id, with_for_update=True, populate_existing=True)
    if complaint is None or getattr(complaint, column) is not None:
        return
    setattr(complaint, column, now)
    if (
        complaint.routed_to_unit_at
        and complaint.routed_to_supervision_at
        and complaint.status == ComplaintStatus.SUBMITTED.value
    ):
        complaint.status = ComplaintStatus.ROUTED.value
    if complaint.handling_unit_id is None and complaint.incident.unit_id is not None:
        complaint.handling_unit_id = complaint.incident.unit_id
    audit.record(
        actor=System("outbox"),
        action=action,
        subject=complaint,
        at=now,
        detail={"handling_unit_id": complaint.handling_unit_id, "status": complaint.status},
    )
    publish(Event.COMPLAINT_ROUTED, complaint_id=complaint.id, destination=destination)


def of_citizen(citizen: Citizen) -> list[Complaint]:
    """A citizen's complaints, newest first."""
    return list(
        db.session.scalars(select(Complaint).where(Complaint.citizen_id == citizen.id).order_by(Complaint.id.desc()))
    )


def complaint_of(citizen: Citizen, complaint_id: int) -> Complaint:
    """One of the citizen's complaints; anyone else's answers NotFound, exactly as a missing one."""
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None or complaint.citizen_id != citizen.id:
        raise NotFound("未找到该投诉")  # the same answer whether it is missing or someone else's
    return complaint


@use_case
def answer(*, complaint: Complaint, officer: Officer, text: str, now: datetime | None = None) -> Complaint:
    """Record the supervision answer to a complaint (the full supervision workflow builds on this)."""
    require_officer(officer, Role.SUPERVISOR)
    require_visible(officer, complaint)
    text = clean(text, missing="请填写答复内容", limit=settings.get("COMPLAINT_BODY_MAX"), what="答复")
    complaint = db.session.get(Complaint, complaint.id, with_for_update=True, populate_existing=True)
    if complaint.answer is not None:
        raise Conflict("该投诉已答复")
    now = now or clock.now()
    complaint.answer = text
    complaint.answered_at = now
    complaint.answered_by_id = officer.id
    complaint.status = ComplaintStatus.ANSWERED.value
    audit.record(
        actor=officer, action="complaint.answered", subject=complaint, at=now, detail={"length": len(complaint.answer)}
    )
    publish(Event.COMPLAINT_ANSWERED, complaint_id=complaint.id)
    return complaint


@use_case
def rate_answer(*, complaint: Complaint, citizen: Citizen, rating: int, now: datetime | None = None) -> Complaint:
    """The complainant's satisfaction (1-5) with the answer; only once, only after an answer."""
    require_owner(complaint, citizen)
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise InvalidInput("评价须为1到5分")
    complaint = db.session.get(Complaint, complaint.id, with_for_update=True, populate_existing=True)
    if complaint.answered_at is None:
        raise Conflict("投诉尚未答复,暂不能评价")
    if complaint.rating is not None:
        raise Conflict("您已评价过该答复")
    now = now or clock.now()
    complaint.rating = rating
    audit.record(actor=citizen, action="complaint.answer_rated", subject=complaint, at=now, detail={"rating": rating})
    publish(Event.COMPLAINT_RATED, complaint_id=complaint.id)
    return complaint


def complaint_for(officer: Officer, complaint_id: int) -> Complaint:
    """One complaint for an officer; one whose handling unit is outside their scope answers as a missing one."""
    require_officer(officer)
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None:
        raise not_found(Complaint)
    require_visible(officer, complaint)
    return complaint
