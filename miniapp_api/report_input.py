"""From the mini-program's report form to the arguments of casework's report, and its staged uploads to
evidence: resolve the category code and doorplate token, check the uploads are the citizen's own and within
the per-report counts, and turn them into the evidence the report carries (stored in the report's own commit)."""

from flask import current_app
from sqlalchemy import select

from casework import incidents
from casework.db import db
from casework.doorplates import doorplate_from_token
from casework.errors import DomainError
from casework.models import AttachmentKind, Category, Citizen, Incident
from miniapp_api import texts
from miniapp_api.blueprint import FieldErrors, Unusable
from miniapp_api.models import SOURCE_PREFIX, Upload


def resolve(citizen: Citizen, body: dict) -> tuple[dict, list[Upload]]:
    """The keyword arguments for incidents.report, and the uploads to attach; FieldErrors when one is wrong."""
    if (body.get("latitude") is None) != (body.get("longitude") is None):
        raise FieldErrors({"latitude": [texts.NEED_LOCATION], "longitude": [texts.NEED_LOCATION]})
    client_id = body.get("client_id")
    source = f"miniapp:{citizen.id}:{client_id}" if client_id else None
    report = {
        "description": body["description"],
        "source_msg_id": source,
        "category": _category(body.get("category")),
        "doorplate": _doorplate(body.get("doorplate_token")),
        "latitude": body.get("latitude"),
        "longitude": body.get("longitude"),
        "address": body.get("address"),
    }
    return report, _uploads(citizen, body["attachments"], source)


def evidence(uploads: list[Upload]) -> list[incidents.EvidenceSpec]:
    """The uploads as the evidence of a report; each is identified by its upload id, so a retried request
    attaches each file once."""
    return [
        incidents.EvidenceSpec(
            kind=AttachmentKind(upload.kind),
            source_ref=f"{SOURCE_PREFIX}{upload.id}",
            storage_key=upload.storage_key,
            sha256=upload.sha256,
            size=upload.size,
            content_type=upload.content_type,
            original_name=upload.original_name,
            meta=upload.meta,
        )
        for upload in uploads
    ]


def link(incident: Incident, uploads: list[Upload]) -> None:
    """Mark each upload as taken by the attachment made from it (in the caller's transaction)."""
    attachments = {a.source_ref: a.id for a in incident.attachments}
    for upload in uploads:
        if upload.attachment_id is None:
            upload.attachment_id = attachments[f"{SOURCE_PREFIX}{upload.id}"]


def _category(code: str | None) -> Category | None:
    if not code:
        return None
    category = db.session.scalar(select(Category).where(Category.code == code.strip(), Category.active.is_(True)))
    if category is None:
        raise FieldErrors({"category": [texts.UNKNOWN_CATEGORY]})
    return category


def _doorplate(token: str | None):
    if not token:
        return None
    try:
        doorplate = doorplate_from_token(token.strip())
    except DomainError as exc:
        raise Unusable({"doorplate_token": [texts.DOORPLATE_INVALID]}) from exc
    if doorplate is None or not doorplate.is_active:
        raise Unusable({"doorplate_token": [texts.DOORPLATE_INVALID]})
    return doorplate


def _uploads(citizen: Citizen, ids: list[int], source: str | None) -> list[Upload]:
    """The citizen's own, unused uploads (or ones a retry of this same report already attached)."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    found = {
        u.id: u for u in db.session.scalars(select(Upload).where(Upload.id.in_(ids), Upload.citizen_id == citizen.id))
    }
    retried = _attached_to_same_report(source)
    errors = {
        str(index): [texts.UPLOAD_NOT_FOUND]
        for index, upload_id in enumerate(ids)
        if upload_id not in found
        or (found[upload_id].attachment_id is not None and found[upload_id].attachment_id not in retried)
    }
    if errors:
        raise Unusable({"attachments": errors})
    chosen = [found[i] for i in ids]
    config = current_app.config
    if sum(u.kind == "image" for u in chosen) > config["MEDIA_MAX_PHOTOS"]:
        raise Unusable({"attachments": [texts.TOO_MANY_PHOTOS.format(limit=config["MEDIA_MAX_PHOTOS"])]})
    if sum(u.kind == "video" for u in chosen) > config["MEDIA_MAX_VIDEOS"]:
        raise Unusable({"attachments": [texts.TOO_MANY_VIDEOS.format(limit=config["MEDIA_MAX_VIDEOS"])]})
    return chosen


def _attached_to_same_report(source: str | None) -> set[int]:
    if not source:
        return set()
    incident = db.session.scalar(select(Incident).where(Incident.source_msg_id == source))
    return {a.id for a in incident.attachments} if incident else set()
