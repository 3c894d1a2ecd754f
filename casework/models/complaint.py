"""A citizen's complaint about how an incident was handled; it goes to the handling unit and to supervision."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.complaint_status import ComplaintStatus, Verdict
from casework.db import UTCDateTime, db, utcnow
from casework.models.incident import Incident
from casework.models.people import Citizen, Officer, Unit


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
    handling_unit: Mapped[Unit | None] = relationship(foreign_keys=[handling_unit_id])
    # Whose supervisors investigate: the handling unit's, or for a complaint about an officer the unit above the
    # officer's (never the officer's own unit alone).
    investigating_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    investigating_unit: Mapped[Unit | None] = relationship(foreign_keys=[investigating_unit_id])
    body: Mapped[str] = mapped_column(Text)
    source_msg_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=ComplaintStatus.FILED.value, index=True)
    review: Mapped[int] = mapped_column(default=1, server_default="1")  # 2 once an unsatisfied rating reopened it
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the answer to the complainant is due
    # The deadline of the step the complaint now waits for (None once closed); the queue sorts by it.
    step_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    routed_to_unit_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    routed_to_supervision_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    explanation_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    explanation_requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    explanation_request: Mapped[str | None] = mapped_column(Text)  # what supervision asks the unit to explain
    explanation_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verdict: Mapped[str | None] = mapped_column(String(32))
    verdict_action: Mapped[str | None] = mapped_column(Text)  # the action taken against the handling
    verdict_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verdict_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    rating: Mapped[int | None] = mapped_column()
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The first review as it ended, kept when a second review starts.
    first_explanation: Mapped[str | None] = mapped_column(Text)
    first_verdict: Mapped[str | None] = mapped_column(String(32))
    first_verdict_action: Mapped[str | None] = mapped_column(Text)
    first_answer: Mapped[str | None] = mapped_column(Text)
    first_rating: Mapped[int | None] = mapped_column()
    # The handling unit's written explanation of what happened (for supervision; not the answer to the citizen).
    unit_explanation: Mapped[str | None] = mapped_column(Text)
    explained_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    explained_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))

    __table_args__ = (Index("ix_complaint_queue", "investigating_unit_id", "step_due_at"),)

    @property
    def state(self) -> ComplaintStatus:
        return ComplaintStatus(self.status)

    @property
    def verdict_label(self) -> str | None:
        return Verdict(self.verdict).label if self.verdict else None

    @property
    def first_verdict_label(self) -> str | None:
        return Verdict(self.first_verdict).label if self.first_verdict else None
