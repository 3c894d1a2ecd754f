"""Fetching evidence into storage: recording that a pending attachment's bytes are stored, or that fetching failed.

Channels that learn of a file by reference (a WeChat media id) attach it as pending; a job fetches the bytes and
calls one of these. Both are idempotent: a stored attachment is never changed again.
"""

from datetime import datetime

from casework import audit, clock, notes
from casework.db import db
from casework.events import Event, publish
from casework.models import Attachment, AttachmentKind, AttachmentState, System, TimelineEntry
from casework.unit_of_work import use_case

FETCHER = System("media")


def _locked(attachment_id: int) -> Attachment | None:
    return db.session.get(Attachment, attachment_id, with_for_update=True, populate_existing=True)


@use_case
def mark_stored(
    *,
    attachment_id: int,
    storage_key: str,
    sha256: str,
    size: int,
    content_type: str | None = None,
    now: datetime | None = None,
) -> Attachment | None:
    """Bind stored bytes to a pending attachment; returns None when it was already stored (nothing changes)."""
    attachment = _locked(attachment_id)
    if attachment is None or attachment.state == AttachmentState.STORED.value:
        return None
    now = now or clock.now()
    attachment.storage_key, attachment.sha256, attachment.size = storage_key, sha256, size
    attachment.content_type = content_type or attachment.content_type
    attachment.state = AttachmentState.STORED.value
    attachment.stored_at = now
    attachment.attempts = (attachment.attempts or 0) + 1
    attachment.error = None
    if attachment.wechat_media_id:  # the citizen was told it was being received: now say it is attached
        db.session.add(
            TimelineEntry(
                incident_id=attachment.incident_id,
                at=now,
                kind="evidence_stored",
                actor_kind=FETCHER.kind,
                actor_id=None,
                public_note=notes.EVIDENCE_STORED.format(kind=AttachmentKind(attachment.kind).label),
                internal_note=f"{AttachmentKind(attachment.kind).label}证据已保存,sha256 {sha256[:12]}",
            )
        )
    audit.record(
        actor=FETCHER,
        action="attachment.stored",
        subject=attachment,
        at=now,
        detail={
            "incident_id": attachment.incident_id,
            "sha256": sha256,
            "size": size,
            "storage_key": storage_key,
            "attempts": attachment.attempts,
        },
    )
    publish(Event.EVIDENCE_STORED, attachment_id=attachment.id)
    return attachment


@use_case
def record_fetch_failure(
    *, attachment_id: int, error: str, give_up_after: int, final: bool = False, now: datetime | None = None
) -> Attachment | None:
    """Count a failed fetch and keep the reason for officers; after `give_up_after` attempts, or at once when the
    failure is `final` (WeChat no longer holds the file), it is marked failed and the citizen is asked again."""
    attachment = _locked(attachment_id)
    if attachment is None or attachment.state == AttachmentState.STORED.value:
        return None
    now = now or clock.now()
    attachment.attempts = (attachment.attempts or 0) + 1
    attachment.error = error[:2000]
    gave_up = (final or attachment.attempts >= give_up_after) and attachment.state != AttachmentState.FAILED.value
    if gave_up:
        attachment.state = AttachmentState.FAILED.value
        # On the case page, so the officer knows to ask the citizen to send the file again.
        db.session.add(
            TimelineEntry(
                incident_id=attachment.incident_id,
                at=now,
                kind="evidence_failed",
                actor_kind=FETCHER.kind,
                actor_id=None,
                public_note=notes.EVIDENCE_FAILED.format(kind=AttachmentKind(attachment.kind).label),
                internal_note=f"{AttachmentKind(attachment.kind).label}证据下载失败(已尝试{attachment.attempts}次)",
            )
        )
    audit.record(
        actor=FETCHER,
        action="attachment.fetch_failed",
        subject=attachment,
        at=now,
        detail={
            "incident_id": attachment.incident_id,
            "attempts": attachment.attempts,
            "error": attachment.error,
            "state": attachment.state,
        },
    )
    if gave_up:
        publish(Event.EVIDENCE_FAILED, attachment_id=attachment.id)
    return attachment
