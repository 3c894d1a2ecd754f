"""Officers looking at evidence: every view is audited, and another unit's evidence answers as a missing one."""

from datetime import datetime

from casework import audit, clock
from casework.access import not_found, require_officer, require_visible
from casework.db import db
from casework.models import Attachment, AttachmentState, Officer
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
