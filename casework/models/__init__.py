"""Every table of the domain core, importable from one place."""

from casework.complaint_status import Verdict
from casework.models.complaint import Complaint, ComplaintStatus
from casework.models.incident import (
    Attachment,
    AttachmentKind,
    AttachmentState,
    ChatMessage,
    Incident,
    SenderKind,
    TimelineEntry,
    Undelivered,
)
from casework.models.people import LEVEL_ORDER, Actor, Citizen, LoginFailure, Officer, Role, System, Unit, UnitLevel
from casework.models.records import AuditEntry, NumberSequence, OutboxMessage
from casework.models.reference import Category, Doorplate, DoorplateStatus

__all__ = [
    "LEVEL_ORDER",
    "Actor",
    "Attachment",
    "AttachmentKind",
    "AttachmentState",
    "AuditEntry",
    "Category",
    "ChatMessage",
    "Citizen",
    "Complaint",
    "ComplaintStatus",
    "Doorplate",
    "DoorplateStatus",
    "Incident",
    "LoginFailure",
    "NumberSequence",
    "Officer",
    "OutboxMessage",
    "Role",
    "SenderKind",
    "System",
    "TimelineEntry",
    "Undelivered",
    "Unit",
    "UnitLevel",
    "Verdict",
]
