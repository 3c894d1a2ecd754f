"""A citizen's complaint about how an incident was handled; it goes to the handling unit and to supervision."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.db import UTCDateTime, db, utcnow
from casework.models.incident import Incident
from casework.models.people import Citizen, Officer, Unit


class ComplaintStatus(StrEnum):
    SUBMITTED = "submitted"  # committed; routing jobs pending
    ROUTED = "routed"  # the handling unit and the supervision queue both have it
    ANSWERED = "answered"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {"submitted": "已提交", "routed": "办理中", "answered": "已答复", "closed": "已办结"}[self.value]


class Complaint(db.Model):
    __tablename__ = "complaint"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    incident: Mapped[Incident] = relationship()
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    citizen: Mapped[Citizen] = relationship()
    against_officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    against_officer: Mapped[Officer | None] = relationship(foreign_keys=[against_officer_id])
    handling_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    handling_unit: Mapped[Unit | None] = relationship()
    body: Mapped[str] = mapped_column(Text)
    source_msg_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=ComplaintStatus.SUBMITTED.value, index=True)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    routed_to_unit_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    routed_to_supervision_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    rating: Mapped[int | None] = mapped_column()
    # The handling unit's written explanation of what happened (for supervision; not the answer to the citizen).
    unit_explanation: Mapped[str | None] = mapped_column(Text)
    explained_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    explained_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))

    @property
    def state(self) -> ComplaintStatus:
        return ComplaintStatus(self.status)
