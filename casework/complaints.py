"""Filing a complaint about how an incident was handled, routing it to the unit and to supervision, and the
complainant's rating of the answer; the steps between (accepting, the verdict, the answer) are supervision's
(`supervision.complaints`), the unit's explanation the unit's (`casework.complaint_inbox`).

The two routing jobs are subscribers of complaint.filed (registered in `casework.init_app`); each is
idempotent, so a complaint reaches each place exactly once however often the relay or the queue delivers the job.
Every step moves the complaint through `move` (the status machine of `casework.complaint_status`), stamps the
step's own column and sets the deadline of the next one (`step_due_at`).
"""

from datetime import datetime

from sqlalchemy import select

from casework import audit, clock, idempotency, notes, numbering, settings
from casework.access import not_found, require_officer, require_owner, require_visible
from casework.complaint_status import ComplaintStatus, after_rating, check_transition
from casework.db import db
from casework.errors import Conflict, InvalidInput, NotFound
from casework.events import Event, publish
from casework.models import Citizen, Complaint, Incident, Officer, System, TimelineEntry, Unit
from casework.text import clean
from casework.unit_of_work import use_case
from supervision import provisional
from supervision.calendar import Due, due


def deadline(start: datetime, setting: str) -> Due:
    """`start` plus the days the named setting gives a step, counted as `COMPLAINT_DAYS_COUNTED` says (provisional
    when a working-day count goes through a year without official holiday data)."""
    working = settings.get("COMPLAINT_DAYS_COUNTED") == "working"
    return due(start, settings.get(setting), working=working)


def answer_window_days() -> tuple[int, bool]:
    """The days a complaint's answer is due in, and whether they are working days (the 督察 clock counts the same)."""
    return int(settings.get("COMPLAINT_ANSWER_DAYS")), settings.get("COMPLAINT_DAYS_COUNTED") == "working"


def answer_due(complaint: Complaint) -> Due | None:
    """The complaint's answer deadline as it was counted: `provisional` when it rests on a year whose holiday
    notice is not loaded yet (the citizen is told it may move)."""
    return provisional.basis(complaint, "due_at")


def move(complaint: Complaint, target: ComplaintStatus, *, step_due: Due | None) -> ComplaintStatus:
    """Move a (locked) complaint to `target`, or raise IllegalTransition; returns the status it left."""
    current = complaint.state
    check_transition(current, target, review=complaint.review)
    complaint.status = target.value
    provisional.assign(complaint, "step_due_at", step_due)
    return current


def locked(complaint: Complaint) -> Complaint:
    """The complaint's row, locked and fresh, for a step that changes it."""
    return db.session.get(Complaint, complaint.id, with_for_update=True, populate_existing=True)


def investigating_unit_for(handling_unit_id: int | None, against_officer: Officer | None) -> int | None:
    """Whose supervision investigates: the handling unit's; for a complaint about an officer, the unit above the
    officer's, so that the officer's own unit never investigates alone (it only explains)."""
    if against_officer is None:
        return handling_unit_id
    unit = db.session.get(Unit, against_officer.unit_id)
    return unit.parent_id if unit is not None and unit.parent_id is not None else against_officer.unit_id


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
        investigating_unit_id=investigating_unit_for(incident.unit_id, against_officer),
        body=body,
        source_msg_id=source_msg_id,
        status=ComplaintStatus.FILED.value,
        review=1,
        filed_at=now,
    )
    db.session.add(complaint)
    db.session.flush()
    provisional.assign(complaint, "due_at", deadline(now, "COMPLAINT_ANSWER_DAYS"))
    provisional.assign(complaint, "step_due_at", deadline(now, "COMPLAINT_ACCEPT_DAYS"))
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
            "investigating_unit_id": complaint.investigating_unit_id,
            "step_due_at": complaint.step_due_at.isoformat(),
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
    if complaint.handling_unit_id is None and complaint.incident.unit_id is not None:
        complaint.handling_unit_id = complaint.incident.unit_id
    if complaint.investigating_unit_id is None:
        complaint.investigating_unit_id = investigating_unit_for(complaint.handling_unit_id, complaint.against_officer)
    if complaint.routed_to_unit_at and complaint.routed_to_supervision_at and complaint.state is ComplaintStatus.FILED:
        # the acceptance clock runs on
        move(complaint, ComplaintStatus.ROUTED, step_due=provisional.basis(complaint, "step_due_at"))
    audit.record(
        actor=System("outbox"),
        action=action,
        subject=complaint,
        at=now,
        detail={
            "handling_unit_id": complaint.handling_unit_id,
            "investigating_unit_id": complaint.investigating_unit_id,
            "status": complaint.status,
        },
    )
    publish(Event.COMPLAINT_ROUTED, complaint_id=complaint.id, destination=destination)


def of_citizen(citizen: Citizen) -> list[Complaint]:
    """A citizen's complaints, newest first."""
    return list(
        db.session.scalars(select(Complaint).where(Complaint.citizen_id == citizen.id).order_by(Complaint.id.desc()))
    )


def of_incident(incident: Incident) -> list[Complaint]:
    """The complaints about one incident (for the officer already allowed to see it), oldest first."""
    return list(
        db.session.scalars(select(Complaint).where(Complaint.incident_id == incident.id).order_by(Complaint.id))
    )


def complaint_of(citizen: Citizen, complaint_id: int) -> Complaint:
    """One of the citizen's complaints; anyone else's answers NotFound, exactly as a missing one."""
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None or complaint.citizen_id != citizen.id:
        raise NotFound("未找到该投诉")  # the same answer whether it is missing or someone else's
    return complaint


@use_case
def rate_answer(*, complaint: Complaint, citizen: Citizen, rating: int, now: datetime | None = None) -> Complaint:
    """The complainant's satisfaction (1-5) with the answer, once per answer: an unsatisfied first rating reopens
    the complaint for a second review (once); any other rating closes it."""
    require_owner(complaint, citizen)
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise InvalidInput("评价须为1到5分")
    complaint = locked(complaint)
    if complaint.rating is not None:
        raise Conflict("您已评价过该答复")
    if complaint.state is ComplaintStatus.CLOSED:
        raise Conflict("评价期限已过,该投诉已办结")
    if complaint.state is not ComplaintStatus.ANSWERED:
        raise Conflict("投诉尚未答复,暂不能评价")
    now = now or clock.now()
    complaint.rating = rating
    complaint.rated_at = now
    audit.record(
        actor=citizen,
        action="complaint.answer_rated",
        subject=complaint,
        at=now,
        detail={"rating": rating, "review": complaint.review},
    )
    publish(Event.COMPLAINT_RATED, complaint_id=complaint.id)
    if after_rating(rating, review=complaint.review) is ComplaintStatus.ACCEPTED:
        _reopen(complaint, now)
    else:
        _close(complaint, citizen, now)
    return complaint


def _reopen(complaint: Complaint, now: datetime) -> None:
    """Back to accepted for the second review, keeping the first one as it ended."""
    move(complaint, ComplaintStatus.ACCEPTED, step_due=deadline(now, "COMPLAINT_ACCEPT_DAYS"))
    complaint.first_explanation = complaint.unit_explanation
    complaint.first_verdict = complaint.verdict
    complaint.first_verdict_action = complaint.verdict_action
    complaint.first_answer = complaint.answer
    complaint.first_rating = complaint.rating
    for column in (
        "unit_explanation",
        "explained_at",
        "explained_by_id",
        "explanation_request",
        "explanation_requested_at",
        "explanation_requested_by_id",
        "explanation_due_at",
        "verdict",
        "verdict_action",
        "verdict_at",
        "verdict_by_id",
        "answer",
        "answered_at",
        "answered_by_id",
        "rating",
        "rated_at",
    ):
        setattr(complaint, column, None)
    provisional.assign(complaint, "explanation_due_at", None)
    complaint.review += 1
    complaint.reopened_at = now
    complaint.accepted_at = now
    provisional.assign(complaint, "due_at", deadline(now, "COMPLAINT_ANSWER_DAYS"))
    audit.record(
        actor=System("supervision"),
        action="complaint.reopened",
        subject=complaint,
        at=now,
        detail={"review": complaint.review, "step_due_at": complaint.step_due_at.isoformat()},
    )
    publish(Event.COMPLAINT_REOPENED, complaint_id=complaint.id, review=complaint.review)


def _close(complaint: Complaint, actor, now: datetime, **detail) -> None:
    move(complaint, ComplaintStatus.CLOSED, step_due=None)
    complaint.closed_at = now
    audit.record(
        actor=actor, action="complaint.closed", subject=complaint, at=now, detail={"review": complaint.review, **detail}
    )
    publish(Event.COMPLAINT_CLOSED, complaint_id=complaint.id, review=complaint.review)


def complaint_for(officer: Officer, complaint_id: int) -> Complaint:
    """One complaint for an officer; one whose handling unit is outside their scope answers as a missing one."""
    require_officer(officer)
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None:
        raise not_found(Complaint)
    require_visible(officer, complaint)
    return complaint


CLOSE_UNRATED_BATCH = 200  # complaints closed by one run of the sweep at most; the next run takes the rest


def close_unrated(now: datetime | None = None) -> int:
    """Close every answered complaint whose rating window (COMPLAINT_RATING_DAYS) has passed without a rating:
    the complainant had their answer and the time to object to it, so it is done (已办结), never left open for
    ever. A sweep (registered in `casework.init_app`); each complaint closes in its own transaction. Returns how
    many were closed."""
    now = now or clock.now()
    due = db.session.scalars(
        select(Complaint.id)
        .where(Complaint.status == ComplaintStatus.ANSWERED.value, Complaint.step_due_at <= now)
        .order_by(Complaint.step_due_at)
        .limit(CLOSE_UNRATED_BATCH)
    ).all()
    db.session.rollback()
    return sum(_close_unrated(complaint_id, now) for complaint_id in due)


@use_case
def _close_unrated(complaint_id: int, now: datetime) -> int:
    complaint = locked(db.session.get(Complaint, complaint_id))
    if complaint.state is not ComplaintStatus.ANSWERED or complaint.rating is not None:
        return 0  # rated (or reopened) since the sweep read it
    if complaint.step_due_at is None or complaint.step_due_at > now:
        return 0
    _close(complaint, System("supervision"), now, unrated=True, rating_due_at=complaint.step_due_at.isoformat())
    return 1
