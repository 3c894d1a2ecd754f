"""What starts and stops the clocks: one small handler per domain event, wired by the table `HANDLERS`.

Each handler is an outbox job (idempotent: a clock is started once per subject and moment, and stopping a stopped
clock does nothing), runs as its own use case, and reads the moment from the record the event names, never from
the wall clock, so a replayed job starts the same clock.
"""

from sqlalchemy import func, select

from casework import case_file, complaints
from casework.db import db
from casework.events import Event
from casework.models import (
    Attachment,
    AttachmentKind,
    AttachmentState,
    ChatMessage,
    Complaint,
    Incident,
    SenderKind,
    TimelineEntry,
)
from casework.status import IncidentStatus
from casework.unit_of_work import use_case
from supervision import clocks, points
from supervision.models import SubjectType

S = IncidentStatus


def _public_order(incident: Incident) -> bool:
    return incident.category is not None and incident.category.case_type == "public_order"


def _incident_clock(
    kind: str,
    incident: Incident,
    at,
    *,
    subject_type: str = SubjectType.INCIDENT.value,
    number: str | None = None,
    **extra,
):
    return clocks.start(
        kind=kind,
        subject_type=subject_type,
        subject_id=incident.id,
        number=number or incident.number,
        incident_id=incident.id,
        unit_id=incident.unit_id,
        officer_id=incident.assigned_officer_id,
        started_at=at,
        category=incident.category,
        **extra,
    )


@use_case
def incident_reported(incident_id: int) -> None:
    """A new incident must be routed and dispatched within the point's minutes."""
    incident = db.session.get(Incident, incident_id)
    if incident is not None and incident.state is S.RECEIVED:
        _incident_clock(points.INCIDENT_UNASSIGNED, incident, incident.reported_at)


@use_case
def incident_status_changed(incident_id: int, timeline_entry_id: int) -> None:
    """Dispatch stops the unassigned clock; acceptance starts the filing (criminal) or case (治安) clock; the
    filing decision and the conclusion stop them; a quick closure after dispatch is a finding."""
    incident = db.session.get(Incident, incident_id)
    entry = db.session.get(TimelineEntry, timeline_entry_id)
    if incident is None or entry is None or entry.status is None:
        return
    status, at = IncidentStatus(entry.status), entry.at
    incident_clock = (SubjectType.INCIDENT.value, incident.id)
    case_clock = (SubjectType.CASE.value, incident.id)
    if status is S.DISPATCHED:
        clocks.stop(clocks.running(*incident_clock, points.INCIDENT_UNASSIGNED), at=at, reason="dispatched")
    elif status is S.ACCEPTED:
        case = case_file.of(incident)  # opened in the same transaction as the acceptance
        public_order = case.case_type == "public_order" if case is not None else _public_order(incident)
        kind = points.CASE_OVERDUE if public_order else points.FILING_OVERDUE
        # A case's clock names the case (its number on the board and in warnings), an incident's the incident.
        number = case.number if case is not None else incident.number
        _incident_clock(kind, incident, at, subject_type=SubjectType.CASE.value, number=number)
    elif status in (S.FILED, S.NOT_FILED):
        clocks.stop(clocks.running(*case_clock, points.FILING_OVERDUE), at=at, reason=status.value)
    elif status is S.CONCLUDED:
        for kind in (points.FILING_OVERDUE, points.CASE_OVERDUE):
            clocks.stop(clocks.running(*case_clock, kind), at=at, reason="concluded")
    elif status is S.CLOSED:
        point = points.point(points.CLOSED_WITHOUT_SCENE)
        limit = int(point.parameters.get("minutes", 5))
        if incident.dispatched_at is not None and (at - incident.dispatched_at).total_seconds() < limit * 60:
            minutes = round((at - incident.dispatched_at).total_seconds() / 60, 1)
            _incident_clock(points.CLOSED_WITHOUT_SCENE, incident, at, detail={"minutes_after_dispatch": minutes})


@use_case
def incident_recategorised(incident_id: int, timeline_entry_id: int) -> None:
    """Reclassified after it was handled (警情不当归类); changed more than N times (反复修改案由)."""
    incident = db.session.get(Incident, incident_id)
    entry = db.session.get(TimelineEntry, timeline_entry_id)
    if incident is None or entry is None:
        return
    if incident.handled_at is not None and entry.at >= incident.handled_at:
        if clocks.running(SubjectType.INCIDENT.value, incident.id, points.RECLASSIFIED_AFTER_HANDLED) is None:
            _incident_clock(points.RECLASSIFIED_AFTER_HANDLED, incident, entry.at, detail={"entry_id": entry.id})
    changes = db.session.scalar(
        select(func.count())
        .select_from(TimelineEntry)
        .where(
            TimelineEntry.incident_id == incident.id,
            TimelineEntry.kind == "recategorised",
            TimelineEntry.id <= entry.id,
        )
    )
    limit = int(points.point(points.CATEGORY_CHANGED_OFTEN).parameters.get("max_changes", 2))
    if (
        changes > limit
        and clocks.running(SubjectType.INCIDENT.value, incident.id, points.CATEGORY_CHANGED_OFTEN) is None
    ):
        _incident_clock(points.CATEGORY_CHANGED_OFTEN, incident, entry.at, detail={"changes": changes})


@use_case
def chat_message_added(chat_message_id: int) -> None:
    """A citizen's message starts the reply clock (if none runs); an officer's reply stops it."""
    message = db.session.get(ChatMessage, chat_message_id)
    if message is None:
        return
    incident = message.incident
    running = clocks.running(SubjectType.INCIDENT.value, incident.id, points.CHAT_UNANSWERED)
    if message.sender_kind == SenderKind.CITIZEN.value:
        if running is None:
            _incident_clock(points.CHAT_UNANSWERED, incident, message.at, detail={"chat_message_id": message.id})
    elif message.sender_kind == SenderKind.OFFICER.value and running is not None and message.at >= running.started_at:
        clocks.stop(running, at=message.at, reason="answered")


@use_case
def evidence_added(attachment_id: int) -> None:
    """A video not yet in evidence storage starts the storage clock of its incident."""
    attachment = db.session.get(Attachment, attachment_id)
    if (
        attachment is not None
        and attachment.kind == AttachmentKind.VIDEO.value
        and attachment.state == AttachmentState.PENDING.value
    ):
        _incident_clock(points.VIDEO_NOT_STORED, attachment.incident, attachment.created_at)


@use_case
def evidence_stored(attachment_id: int) -> None:
    """The storage clock stops once no video of the incident is still waiting."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        return
    waiting = db.session.scalar(
        select(func.count())
        .select_from(Attachment)
        .where(
            Attachment.incident_id == attachment.incident_id,
            Attachment.kind == AttachmentKind.VIDEO.value,
            Attachment.state == AttachmentState.PENDING.value,
        )
    )
    if not waiting:
        running = clocks.running(SubjectType.INCIDENT.value, attachment.incident_id, points.VIDEO_NOT_STORED)
        clocks.stop(running, at=attachment.stored_at or attachment.created_at, reason="stored")


def _complaint_clock(kind: str, complaint: Complaint, at):
    days, working = _window(kind)
    return clocks.start(
        kind=kind,
        subject_type=SubjectType.COMPLAINT.value,
        subject_id=complaint.id,
        number=complaint.number,
        incident_id=complaint.incident_id,
        unit_id=complaint.handling_unit_id or complaint.incident.unit_id,
        started_at=at,
        days=days,
        working=working,
    )


def _window(kind: str) -> tuple[int | None, bool | None]:
    """The complaint's own answer window (COMPLAINT_ANSWER_DAYS, counted as COMPLAINT_DAYS_COUNTED says), so that
    the 督察 clock and the complaint's page name one moment; other points keep their own window."""
    if kind != points.COMPLAINT_UNANSWERED:
        return None, None
    return complaints.answer_window_days()


@use_case
def complaint_filed(complaint_id: int) -> None:
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is not None:
        _complaint_clock(points.COMPLAINT_UNANSWERED, complaint, complaint.filed_at)


@use_case
def complaint_explanation_requested(complaint_id: int, unit_id: int | None = None, due_at: str | None = None) -> None:
    """Supervision's request starts the clock on the handling unit's written explanation (each review asks anew)."""
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is not None and complaint.explanation_requested_at is not None and complaint.explained_at is None:
        _complaint_clock(points.EXPLANATION_OVERDUE, complaint, complaint.explanation_requested_at)


@use_case
def complaint_reopened(complaint_id: int, review: int) -> None:
    """An unsatisfied rating opens the second review: the answer clock runs again from the reopening."""
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is not None and complaint.reopened_at is not None:
        _complaint_clock(points.COMPLAINT_UNANSWERED, complaint, complaint.reopened_at)


@use_case
def complaint_closed(complaint_id: int, review: int) -> None:
    """A closed complaint waits for nothing more: whatever still runs on it stops."""
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None:
        return
    at = complaint.closed_at or complaint.answered_at
    for kind in (points.COMPLAINT_UNANSWERED, points.EXPLANATION_OVERDUE):
        running = clocks.running(SubjectType.COMPLAINT.value, complaint.id, kind)
        if running is not None:
            clocks.stop(running, at=at, reason="closed")


@use_case
def complaint_answered(complaint_id: int) -> None:
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is not None and complaint.answered_at is not None:
        running = clocks.running(SubjectType.COMPLAINT.value, complaint.id, points.COMPLAINT_UNANSWERED)
        clocks.stop(running, at=complaint.answered_at, reason="answered")


@use_case
def complaint_explained(complaint_id: int) -> None:
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is not None and complaint.explained_at is not None:
        running = clocks.running(SubjectType.COMPLAINT.value, complaint.id, points.EXPLANATION_OVERDUE)
        clocks.stop(running, at=complaint.explained_at, reason="explained")


# Event -> (job name, handler). Another event is one more line (part of the complaint workflow adds its own).
HANDLERS: dict[Event, tuple[str, object]] = {
    Event.INCIDENT_REPORTED: ("supervision.incident_reported", incident_reported),
    Event.INCIDENT_STATUS_CHANGED: ("supervision.incident_status_changed", incident_status_changed),
    Event.INCIDENT_RECATEGORISED: ("supervision.incident_recategorised", incident_recategorised),
    Event.CHAT_MESSAGE_ADDED: ("supervision.chat_message_added", chat_message_added),
    Event.EVIDENCE_ADDED: ("supervision.evidence_added", evidence_added),
    Event.EVIDENCE_STORED: ("supervision.evidence_stored", evidence_stored),
    Event.COMPLAINT_FILED: ("supervision.complaint_filed", complaint_filed),
    Event.COMPLAINT_EXPLANATION_REQUESTED: (
        "supervision.complaint_explanation_requested",
        complaint_explanation_requested,
    ),
    Event.COMPLAINT_REOPENED: ("supervision.complaint_reopened", complaint_reopened),
    Event.COMPLAINT_CLOSED: ("supervision.complaint_closed", complaint_closed),
    Event.COMPLAINT_ANSWERED: ("supervision.complaint_answered", complaint_answered),
    Event.COMPLAINT_EXPLAINED: ("supervision.complaint_explained", complaint_explained),
}
