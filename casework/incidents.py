"""Use cases on an incident: report it (with the evidence that came with it), locate it, attach evidence, move it
along, recategorise, rate it.

Each function validates first, changes state, writes the timeline and the audit entry and publishes its event,
all in one transaction (`@use_case`): called from a channel it commits before it returns, so the caller may tell
the citizen "received"; called inside another use case it joins that one's transaction.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from casework import audit, case_file, clock, idempotency, notes, numbering, per_transaction, settings, text
from casework.access import require_officer, require_owner, require_visible
from casework.db import db
from casework.errors import Conflict, InvalidInput
from casework.events import Event, publish
from casework.models import (
    Actor,
    Attachment,
    AttachmentKind,
    AttachmentState,
    Category,
    Citizen,
    Doorplate,
    Incident,
    Officer,
    Role,
    TimelineEntry,
)
from casework.status import FINISHED, Channel, IncidentStatus, check_transition
from casework.unit_of_work import use_case

HANDLING_ROLES = (Role.DISPATCHER, Role.OFFICER, Role.LEGAL_OFFICER)

# The incident column that keeps the moment each status was reached.
STAGE_COLUMNS = {
    IncidentStatus.DISPATCHED: "dispatched_at",
    IncidentStatus.ON_SCENE: "on_scene_at",
    IncidentStatus.HANDLED: "handled_at",
    IncidentStatus.CLOSED: "closed_at",
    IncidentStatus.ACCEPTED: "accepted_at",
    IncidentStatus.FILED: "filed_at",
    IncidentStatus.NOT_FILED: "filed_at",
    IncidentStatus.CONCLUDED: "concluded_at",
}


@dataclass(frozen=True)
class EvidenceSpec:
    """One piece of evidence that came with a report: already stored (an upload: storage key, hash, size...) or
    to be fetched (a WeChat media id). `source_ref` identifies it, so it attaches once however often it is sent."""

    kind: AttachmentKind
    source_ref: str
    wechat_media_id: str | None = None
    storage_key: str | None = None
    sha256: str | None = None
    size: int | None = None
    content_type: str | None = None
    original_name: str | None = None
    meta: str | None = None


@use_case
def report(
    *,
    citizen: Citizen,
    channel: Channel,
    description: str,
    source_msg_id: str | None = None,
    category: Category | None = None,
    doorplate: Doorplate | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    address: str | None = None,
    evidence: Sequence[EvidenceSpec] = (),
    now: datetime | None = None,
) -> Incident:
    """Record a citizen's report and the evidence sent with it, stored together or not at all; once this returns
    (as the outer use case) the caller may tell the citizen it was received.

    A repeated `source_msg_id` (a channel's retry) returns the incident it first created and changes nothing.
    """
    now = now or clock.now()
    incident = idempotency.once(
        Incident.source_msg_id,
        source_msg_id,
        lambda: _open(
            citizen=citizen,
            channel=channel,
            description=description,
            source_msg_id=source_msg_id,
            category=category,
            doorplate=doorplate,
            latitude=latitude,
            longitude=longitude,
            address=address,
            now=now,
        ),
    )
    for spec in evidence:
        attach_evidence(
            incident=incident,
            actor=citizen,
            kind=spec.kind,
            source_ref=spec.source_ref,
            wechat_media_id=spec.wechat_media_id,
            storage_key=spec.storage_key,
            sha256=spec.sha256,
            size=spec.size,
            content_type=spec.content_type,
            original_name=spec.original_name,
            meta=spec.meta,
            now=now,
        )
    return incident


def _open(
    *, citizen, channel, description, source_msg_id, category, doorplate, latitude, longitude, address, now: datetime
) -> Incident:
    description = text.clean(description, missing="请描述发生了什么", limit=settings.get("INCIDENT_DESCRIPTION_MAX"))
    _check_coordinates(latitude, longitude)
    if doorplate is not None and not doorplate.is_active:
        raise InvalidInput("该门牌二维码已停用,请描述您的位置")
    if category is not None and not category.active:
        raise InvalidInput("警情类别无效")
    incident = Incident(
        number=numbering.next_number("JQ", now),
        citizen=citizen,
        channel=Channel(channel).value,
        source_msg_id=source_msg_id,
        category=category,
        description=description,
        status=IncidentStatus.RECEIVED.value,
        doorplate=doorplate,
        unit_id=doorplate.unit_id if doorplate else None,
        address=(doorplate.address if doorplate else address),
        latitude=(doorplate.latitude if doorplate else latitude),
        longitude=(doorplate.longitude if doorplate else longitude),
        reported_at=now,
        updated_at=now,
    )
    db.session.add(incident)
    db.session.flush()
    per_transaction.created(incident)  # its routing and clock, in this transaction, need not lock or look it up
    _timeline(
        incident,
        citizen,
        "reported",
        now,
        status=IncidentStatus.RECEIVED,
        public=notes.REPORTED.format(number=incident.number),
    )
    audit.record(
        actor=citizen,
        action="incident.reported",
        subject=incident,
        at=now,
        detail={
            "number": incident.number,
            "channel": incident.channel,
            "doorplate_id": incident.doorplate_id,
            "source_msg_id": source_msg_id,
        },
    )
    publish(Event.INCIDENT_REPORTED, incident_id=incident.id)
    return incident


@use_case
def set_location(
    *,
    incident: Incident,
    actor: Actor,
    latitude: float | None = None,
    longitude: float | None = None,
    address: str | None = None,
    doorplate: Doorplate | None = None,
    now: datetime | None = None,
) -> Incident:
    """Set where the incident is: a doorplate (which also fixes the jurisdiction) or coordinates and an address."""
    _require_actor(incident, actor)
    if doorplate is None and (latitude is None or longitude is None) and not address:
        raise InvalidInput("请提供位置")
    _check_coordinates(latitude, longitude)
    if doorplate is not None and not doorplate.is_active:
        raise InvalidInput("该门牌二维码已停用")
    now = now or clock.now()
    before = {
        "address": incident.address,
        "latitude": incident.latitude,
        "longitude": incident.longitude,
        "doorplate_id": incident.doorplate_id,
        "unit_id": incident.unit_id,
    }
    if doorplate is not None:
        incident.doorplate = doorplate
        incident.unit_id = doorplate.unit_id
        incident.address = doorplate.address
        incident.latitude, incident.longitude = doorplate.latitude, doorplate.longitude
    else:
        if latitude is not None:
            incident.latitude, incident.longitude = latitude, longitude
        if address:
            incident.address = address.strip()[:256]
    incident.updated_at = now
    shown = incident.address or f"{incident.latitude:.5f}, {incident.longitude:.5f}"
    _timeline(incident, actor, "located", now, public=notes.LOCATED.format(address=shown))
    audit.record(
        actor=actor,
        action="incident.located",
        subject=incident,
        at=now,
        detail={
            "before": before,
            "doorplate_id": incident.doorplate_id,
            "address": incident.address,
            "latitude": incident.latitude,
            "longitude": incident.longitude,
        },
    )
    publish(Event.INCIDENT_LOCATED, incident_id=incident.id)  # the router assigns a unit if there is none yet
    return incident


@use_case
def attach_evidence(
    *,
    incident: Incident,
    actor: Actor,
    kind: AttachmentKind,
    source_ref: str,
    wechat_media_id: str | None = None,
    storage_key: str | None = None,
    sha256: str | None = None,
    size: int | None = None,
    content_type: str | None = None,
    original_name: str | None = None,
    meta: str | None = None,
    now: datetime | None = None,
) -> Attachment:
    """Bind a piece of evidence to an incident: already stored (an upload) or to be fetched (a WeChat media id).

    The same `source_ref` attaches once; a retry returns the first attachment.
    """
    _require_actor(incident, actor)
    kind = AttachmentKind(kind)
    now = now or clock.now()
    return idempotency.once(
        Attachment.source_ref,
        source_ref,
        lambda: _attach(
            incident=incident,
            actor=actor,
            kind=kind,
            source_ref=source_ref,
            wechat_media_id=wechat_media_id,
            storage_key=storage_key,
            sha256=sha256,
            size=size,
            content_type=content_type,
            original_name=original_name,
            meta=meta,
            now=now,
        ),
    )


def _attach(
    *,
    incident,
    actor,
    kind,
    source_ref,
    wechat_media_id,
    storage_key,
    sha256,
    size,
    content_type,
    original_name,
    meta,
    now: datetime,
) -> Attachment:
    if storage_key is None and wechat_media_id is None:
        raise InvalidInput("证据材料缺少文件")
    attachment = Attachment(
        incident=incident,
        kind=kind.value,
        source_ref=source_ref,
        wechat_media_id=wechat_media_id,
        storage_key=storage_key,
        sha256=sha256,
        size=size,
        content_type=content_type,
        original_name=original_name,
        meta=meta,
        created_at=now,
        state=(AttachmentState.STORED if storage_key else AttachmentState.PENDING).value,
        stored_at=now if storage_key else None,
    )
    db.session.add(attachment)
    db.session.flush()
    incident.updated_at = now
    _timeline(
        incident,
        actor,
        "evidence",
        now,
        public=(notes.EVIDENCE if storage_key else notes.EVIDENCE_RECEIVING).format(kind=kind.label),
        internal=f"{kind.label}证据 {'已保存,sha256 ' + sha256[:12] if sha256 else '待从微信获取'}",
    )
    audit.record(
        actor=actor,
        action="attachment.added",
        subject=attachment,
        at=now,
        detail={
            "incident_id": incident.id,
            "kind": kind.value,
            "sha256": sha256,
            "size": size,
            "source_ref": source_ref,
        },
    )
    publish(Event.EVIDENCE_ADDED, attachment_id=attachment.id)
    return attachment


@use_case
def change_status(
    *,
    incident: Incident,
    actor: Officer,
    status: IncidentStatus,
    public_note: str | None = None,
    internal_note: str | None = None,
    now: datetime | None = None,
) -> TimelineEntry:
    """Move an incident one legal step along; the citizen sees the status and the public note."""
    require_officer(actor, *HANDLING_ROLES)
    target = IncidentStatus(status)
    incident = _locked(incident, actor)
    check_transition(incident.state, target)
    now = now or clock.now()
    before = incident.status
    incident.status = target.value
    incident.updated_at = now
    if target in FINISHED:
        incident.finished_at = now
    setattr(incident, STAGE_COLUMNS[target], now)
    entry = _timeline(
        incident,
        actor,
        "status",
        now,
        status=target,
        public=notes.status_note(target, public_note),
        internal=(internal_note or "").strip() or None,
    )
    db.session.flush()  # the entry's id goes into the audit detail and the event
    audit.record(
        actor=actor,
        action="incident.status_changed",
        subject=incident,
        at=now,
        detail={"from": before, "to": target.value, "timeline_entry_id": entry.id},
    )
    publish(Event.INCIDENT_STATUS_CHANGED, incident_id=incident.id, timeline_entry_id=entry.id)
    case_file.follow(incident, target, actor=actor, at=now, note=internal_note or public_note)
    return entry


@use_case
def recategorise(
    *, incident: Incident, actor: Officer, category: Category, reason: str, now: datetime | None = None
) -> TimelineEntry:
    """Change an incident's category; the reason is kept for the supervision rules that watch reclassification. The
    case of an accepted incident takes the new category's type (criminal / public order) if it may still change."""
    require_officer(actor, *HANDLING_ROLES)
    incident = _locked(incident, actor)
    reason = text.clean(reason, missing="请说明调整类别的原因", limit=500, what="原因")
    if not category.active:
        raise InvalidInput("警情类别无效")
    if category.parent_id is None:  # a type heading has no handling guide of its own
        raise InvalidInput(f"「{category.name}」是警情大类,请选择其下的具体类别")
    if incident.category_id == category.id:
        raise Conflict("类别未变化")
    now = now or clock.now()
    before = incident.category.code if incident.category else None
    before_name = incident.category.name if incident.category else "未分类"
    incident.category = category
    incident.updated_at = now
    # An accepted incident's case follows the new category's type while it still may (else this is refused).
    case_file.follow_category(incident, category, actor=actor, at=now, reason=reason)
    entry = _timeline(
        incident, actor, "recategorised", now, internal=f"类别由「{before_name}」调整为「{category.name}」:{reason}"
    )
    audit.record(
        actor=actor,
        action="incident.recategorised",
        subject=incident,
        at=now,
        detail={"from": before, "to": category.code, "reason": reason, "status": incident.status},
    )
    db.session.flush()  # the entry's id goes into the event
    publish(Event.INCIDENT_RECATEGORISED, incident_id=incident.id, timeline_entry_id=entry.id)
    return entry


@use_case
def rate(
    *, incident: Incident, citizen: Citizen, rating: int, comment: str | None = None, now: datetime | None = None
) -> Incident:
    """Record the reporter's satisfaction (1-5) once the incident is finished; only once."""
    require_owner(incident, citizen)
    if incident.state not in FINISHED:
        raise Conflict("警情办结后才能评价")
    if incident.rating is not None:
        raise Conflict("您已评价过该警情")
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidInput("评价须为1到5分")
    now = now or clock.now()
    incident.rating = rating
    incident.rating_comment = (comment or "").strip()[:500] or None
    audit.record(
        actor=citizen,
        action="incident.rated",
        subject=incident,
        at=now,
        detail={"rating": rating, "comment": incident.rating_comment},
    )
    publish(Event.INCIDENT_RATED, incident_id=incident.id)
    return incident


def _locked(incident: Incident, officer: Officer) -> Incident:
    """Re-read the incident under a row lock so two officers cannot both move it from the same status, and check
    the officer's unit against the row as locked (the router may have moved it since the caller read it)."""
    locked = db.session.get(Incident, incident.id, with_for_update=True, populate_existing=True)
    require_visible(officer, locked)
    return locked


def _require_actor(incident: Incident, actor: Actor) -> None:
    if isinstance(actor, Citizen):
        require_owner(incident, actor)
    else:
        require_officer(actor, *HANDLING_ROLES)
        require_visible(actor, incident)


def _timeline(
    incident: Incident,
    actor: Actor,
    kind: str,
    at,
    *,
    status: IncidentStatus | None = None,
    public: str | None = None,
    internal: str | None = None,
) -> TimelineEntry:
    entry = TimelineEntry(
        incident=incident,
        at=at,
        kind=kind,
        status=status.value if status else None,
        public_note=public,
        internal_note=internal,
        actor_kind=actor.kind,
        actor_id=actor.id,
    )
    db.session.add(entry)
    return entry


def _check_coordinates(latitude, longitude) -> None:
    if (latitude is None) != (longitude is None):
        raise InvalidInput("经纬度须同时提供")
    if latitude is not None and not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InvalidInput("经纬度超出范围")
