"""Officers looking at evidence and at a reporter's personal data: every view is audited, and another unit's record
answers as a missing one."""

from dataclasses import dataclass
from datetime import datetime

from casework import audit, clock, text
from casework.access import not_found, require_officer, require_visible
from casework.db import db
from casework.models import Attachment, AttachmentState, Incident, Officer
from casework.unit_of_work import use_case


@use_case
def view_evidence(*, officer: Officer, attachment_id: int, now: datetime | None = None) -> Attachment:
    """The stored attachment `officer` opens, with an `attachment.viewed` audit entry."""
    attachment = evidence_for(officer=officer, attachment_id=attachment_id)
    audit.record(
        actor=officer,
        action="attachment.viewed",
        subject=attachment,
        at=now or clock.now(),
        detail={"incident_id": attachment.incident_id, "sha256": attachment.sha256},
    )
    return attachment


def evidence_for(*, officer: Officer, attachment_id: int) -> Attachment:
    """The stored attachment `officer` may open (a further range of a view already audited)."""
    require_officer(officer)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise not_found(Attachment)
    require_visible(officer, attachment)
    if attachment.state != AttachmentState.STORED.value or not attachment.storage_key:
        raise not_found(Attachment)
    return attachment


@dataclass(frozen=True)
class Reporter:
    """A reporter's personal data in full, as revealed to one officer for one reason."""

    phone: str | None
    real_name: str | None
    id_number: str | None


@use_case
def reveal_reporter(*, officer: Officer, incident: Incident, reason: str, now: datetime | None = None) -> Reporter:
    """The reporter's phone, name and ID number unmasked, with a `citizen.revealed` audit entry naming the officer
    and the reason (a refusal reveals and records nothing)."""
    require_officer(officer)
    require_visible(officer, incident)
    reason = text.clean(reason, missing="请说明查看原因", limit=200, what="原因")
    citizen = incident.citizen
    audit.record(
        actor=officer,
        action="citizen.revealed",
        subject=citizen,
        at=now or clock.now(),
        detail={"incident_id": incident.id, "reason": reason},
    )
    return Reporter(phone=citizen.phone, real_name=citizen.real_name, id_number=citizen.id_number)
