"""Domain objects to the dictionaries the response schemas dump (what a citizen may see, nothing more)."""

import json

from casework import complaints, queries
from casework.models import Attachment, AttachmentState, ChatMessage, Complaint, ComplaintStatus, Doorplate, Incident
from casework.status import FINISHED, IncidentStatus
from miniapp_api.blueprint import PREFIX


def incident_summary(incident: Incident) -> dict:
    return {
        "id": incident.id,
        "number": incident.number,
        "status": incident.status,
        "status_label": incident.state.label,
        "description": incident.description,
        "category": incident.category.name if incident.category else None,
        "reported_at": incident.reported_at,
        "updated_at": incident.updated_at,
        "rating": incident.rating,
    }


def incident_detail(incident: Incident) -> dict:
    return {
        **incident_summary(incident),
        "address": incident.address,
        "latitude": incident.latitude,
        "longitude": incident.longitude,
        "rating_comment": incident.rating_comment,
        "can_rate": incident.state in FINISHED and incident.rating is None,
        "timeline": [
            {
                "id": entry.id,
                "at": entry.at,
                "kind": entry.kind,
                "status": entry.status,
                "status_label": IncidentStatus(entry.status).label if entry.status else None,
                "note": entry.public_note,
            }
            for entry in queries.public_timeline(incident)
        ],
        "attachments": [attachment(incident, item) for item in incident.attachments],
    }


def preview_key(item: Attachment) -> str | None:
    """The storage key of the clean preview a citizen may see, if there is one."""
    if item.state != AttachmentState.STORED.value:
        return None
    return _meta(item).get("preview_key") or None


def attachment(incident: Incident, item: Attachment) -> dict:
    meta = _meta(item)
    has_preview = preview_key(item) is not None
    return {
        "id": item.id,
        "kind": item.kind,
        "content_type": item.content_type,
        "size": item.size,
        "sha256": item.sha256,
        "state": item.state,
        "duration": meta.get("duration"),
        "preview_url": f"{PREFIX}/incidents/{incident.id}/attachments/{item.id}/preview" if has_preview else None,
    }


def message(item: ChatMessage) -> dict:
    return {"id": item.id, "sender": item.sender_kind, "body": item.body, "at": item.at}


def complaint(item: Complaint) -> dict:
    return {
        "id": item.id,
        "number": item.number,
        "incident_id": item.incident_id,
        "incident_number": item.incident.number,
        "status": item.status,
        "status_label": ComplaintStatus(item.status).label,
        "body": item.body,
        "filed_at": item.filed_at,
        "answer": item.answer,
        "answered_at": item.answered_at,
        "rating": item.rating,
        "can_rate": item.state is ComplaintStatus.ANSWERED,
        "review": item.review,
        "first_answer": item.first_answer,
        "first_rating": item.first_rating,
        "due_at": item.due_at,
        "due_provisional": bool((due := complaints.answer_due(item)) and due.provisional),
    }


def _meta(item: Attachment) -> dict:
    try:
        value = json.loads(item.meta or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def doorplate(plate: Doorplate, token: str) -> dict:
    """The public view of a doorplate: where it is and whose jurisdiction."""
    unit = plate.unit
    return {
        "token": token,
        "code": plate.code,
        "address": plate.address,
        "longitude": plate.longitude,
        "latitude": plate.latitude,
        "station": {"code": unit.code, "name": unit.name},
    }
