"""Every table of the domain core, importable from one place."""

from casework.complaint_status import Verdict
from casework.models.case import (
    Case,
    CaseCause,
    CaseStage,
    CaseType,
    CauseChange,
    Material,
    Measure,
    MeasureState,
    MeasureStep,
    PropertyItem,
    PropertyMovement,
    PropertyState,
)
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
from casework.models.records import AuditEntry, NumberReservation, NumberSequence, OutboxMessage
from casework.models.reference import Category, Doorplate, DoorplateStatus

__all__ = [
    "LEVEL_ORDER",
    "Actor",
    "Attachment",
    "AttachmentKind",
    "AttachmentState",
    "AuditEntry",
    "Case",
    "CaseCause",
    "CaseStage",
    "CaseType",
    "Category",
    "CauseChange",
    "ChatMessage",
    "Citizen",
    "Complaint",
    "ComplaintStatus",
    "Doorplate",
    "DoorplateStatus",
    "Incident",
    "LoginFailure",
    "Material",
    "Measure",
    "MeasureState",
    "MeasureStep",
    "NumberReservation",
    "NumberSequence",
    "Officer",
    "OutboxMessage",
    "PropertyItem",
    "PropertyMovement",
    "PropertyState",
    "Role",
    "SenderKind",
    "System",
    "TimelineEntry",
    "Undelivered",
    "Unit",
    "UnitLevel",
    "Verdict",
]
