"""A case (案件) opened when an incident is accepted, and what hangs off it: the history of its cause (案由),
compulsory measures (强制措施) with their steps, case property (涉案财物) with its chain of custody, and materials."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.db import UTCDateTime, db, utcnow
from casework.models.incident import Incident
from casework.models.people import Officer, Unit


class CaseType(StrEnum):
    CRIMINAL = "criminal"
    PUBLIC_ORDER = "public_order"

    @property
    def label(self) -> str:
        return {"criminal": "刑事案件", "public_order": "治安案件"}[self.value]


class CaseStage(StrEnum):
    ACCEPTED = "accepted"
    FILED = "filed"
    NOT_FILED = "not_filed"
    INVESTIGATING = "investigating"
    TRANSFERRED = "transferred"  # criminal: transferred for prosecution (移送审查起诉)
    DECIDED = "decided"  # public order: an administrative decision (作出行政处理决定)
    CONCLUDED = "concluded"

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


STAGE_LABELS = {
    CaseStage.ACCEPTED: "受案",
    CaseStage.FILED: "立案",
    CaseStage.NOT_FILED: "不予立案",
    CaseStage.INVESTIGATING: "侦查(调查)",
    CaseStage.TRANSFERRED: "移送审查起诉",
    CaseStage.DECIDED: "作出行政处理决定",
    CaseStage.CONCLUDED: "办结",
}


class Case(db.Model):
    """The case behind an accepted incident; it shares the incident's id (one case per incident), so a clock or a
    warning on the case names the same id the incident has."""

    __tablename__ = "case_file"

    id: Mapped[int] = mapped_column(ForeignKey("incident.id"), primary_key=True, autoincrement=False)
    incident: Mapped[Incident] = relationship()
    number: Mapped[str] = mapped_column(String(32), unique=True)
    case_type: Mapped[str] = mapped_column(String(16))
    cause_code: Mapped[str | None] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16), default=CaseStage.ACCEPTED.value, index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    unit: Mapped[Unit | None] = relationship()
    lead_officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    lead_officer: Mapped[Officer | None] = relationship(foreign_keys=[lead_officer_id])
    second_officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    second_officer: Mapped[Officer | None] = relationship(foreign_keys=[second_officer_id])
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    not_filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    not_filed_reason: Mapped[str | None] = mapped_column(Text)
    investigating_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    transferred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def type_enum(self) -> CaseType:
        return CaseType(self.case_type)

    @property
    def stage_enum(self) -> CaseStage:
        return CaseStage(self.stage)

    @property
    def incident_id(self) -> int:
        return self.id

    def __repr__(self) -> str:
        return f"<Case {self.number} {self.stage}>"


class CaseCause(db.Model):
    """One entry of the maintained list of case causes (案由), of one case type. Admins add, rename and deactivate
    them; a cause a case names (now or in its history) is never deleted, so old cases still read their cause."""

    __tablename__ = "case_cause"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    case_type: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)  # the list's order (the seed file's, then as added)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def type_enum(self) -> CaseType:
        return CaseType(self.case_type)

    def __repr__(self) -> str:
        return f"<CaseCause {self.code} {self.name}>"


class CauseChange(db.Model):
    """One change of a case's cause (案由), with its reason: the history 反复修改案由 is counted on."""

    __tablename__ = "case_cause_change"
    __table_args__ = (Index("ix_case_cause_change_case_order", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    from_code: Mapped[str | None] = mapped_column(String(16))
    # None: the cause was cleared (the case's type changed and its cause no longer fits; one must be chosen again).
    to_code: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id"))
    officer: Mapped[Officer] = relationship()


class MeasureState(StrEnum):
    ACTIVE = "active"
    CHANGED = "changed"  # replaced by another measure (e.g. detention -> arrest request)
    ENDED = "ended"

    @property
    def label(self) -> str:
        return {"active": "执行中", "changed": "已变更", "ended": "已解除"}[self.value]


class Measure(db.Model):
    """One compulsory measure (强制措施) on one person in a case, with its term as started and as extended."""

    __tablename__ = "case_measure"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    case: Mapped[Case] = relationship()
    kind: Mapped[str] = mapped_column(String(32))
    person_name: Mapped[str] = mapped_column(String(64))
    # Roving, repeated or gang crime (流窜作案、多次作案、结伙作案): a detention may then run up to 30 days.
    serious: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(16), default=MeasureState.ACTIVE.value)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    term_end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    legal_end_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the furthest the law allows
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id"))
    officer: Mapped[Officer] = relationship(foreign_keys=[officer_id])
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    approved_by: Mapped[Officer | None] = relationship(foreign_keys=[approved_by_id])
    document_ref: Mapped[str] = mapped_column(String(64))
    before_filing: Mapped[bool] = mapped_column(default=False)  # started while the case was not yet filed
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("case_measure.id"))
    steps: Mapped[list["MeasureStep"]] = relationship(back_populates="measure", order_by="MeasureStep.id")

    @property
    def active(self) -> bool:
        return self.state == MeasureState.ACTIVE.value

    @property
    def state_enum(self) -> MeasureState:
        return MeasureState(self.state)


class MeasureStep(db.Model):
    """Start, extension, change or end of a measure, with who approved it and the document that says so."""

    __tablename__ = "case_measure_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("case_measure.id"), index=True)
    measure: Mapped[Measure] = relationship(back_populates="steps")
    kind: Mapped[str] = mapped_column(String(16))  # start / extend / change / end
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id"))
    officer: Mapped[Officer] = relationship(foreign_keys=[officer_id])
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    approved_by: Mapped[Officer | None] = relationship(foreign_keys=[approved_by_id])
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    document_ref: Mapped[str | None] = mapped_column(String(64))
    minutes: Mapped[int | None] = mapped_column()  # an extension's length
    term_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the term after this step
    note: Mapped[str | None] = mapped_column(Text)


class PropertyState(StrEnum):
    SEIZED = "seized"  # with the seizing officer, not yet in the property room
    STORED = "stored"
    OUT = "out"  # taken out of the property room (for examination, ...)
    TRANSFERRED = "transferred"  # handed to another authority
    DISPOSED = "disposed"
    RETURNED_TO_OWNER = "returned_to_owner"

    @property
    def label(self) -> str:
        return {
            "seized": "已扣押未入库",
            "stored": "在库",
            "out": "已调出",
            "transferred": "已移交",
            "disposed": "已处置",
            "returned_to_owner": "已发还",
        }[self.value]


class PropertyItem(db.Model):
    """One item seized in a case (涉案财物) and who holds it now."""

    __tablename__ = "case_property_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    case: Mapped[Case] = relationship()
    description: Mapped[str] = mapped_column(String(256))
    quantity: Mapped[float] = mapped_column(Numeric(12, 2, asdecimal=False))
    quantity_unit: Mapped[str] = mapped_column(String(16))
    photo_key: Mapped[str | None] = mapped_column(String(256))  # in evidence storage
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    seized_by_id: Mapped[int] = mapped_column(ForeignKey("officer.id"))
    seized_by: Mapped[Officer] = relationship(foreign_keys=[seized_by_id])
    seized_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(24), default=PropertyState.SEIZED.value)
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))  # None once it left the police
    holder: Mapped[Officer | None] = relationship(foreign_keys=[holder_id])
    stored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    return_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    movements: Mapped[list["PropertyMovement"]] = relationship(back_populates="item", order_by="PropertyMovement.id")

    @property
    def state_enum(self) -> PropertyState:
        return PropertyState(self.state)


class PropertyMovement(db.Model):
    """One hand-over of an item, signed for by the officer giving it and the one receiving it."""

    __tablename__ = "case_property_movement"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("case_property_item.id"), index=True)
    item: Mapped[PropertyItem] = relationship(back_populates="movements")
    kind: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    from_officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id"))
    from_officer: Mapped[Officer] = relationship(foreign_keys=[from_officer_id])
    to_officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    to_officer: Mapped[Officer | None] = relationship(foreign_keys=[to_officer_id])
    recipient: Mapped[str | None] = mapped_column(String(128))  # outside the police: the owner, an authority
    return_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)


class Material(db.Model):
    """One document of a case (笔录, 决定书, 通知书), stored in evidence storage."""

    __tablename__ = "case_material"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    case: Mapped[Case] = relationship()
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(128))
    storage_key: Mapped[str] = mapped_column(String(256))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str | None] = mapped_column(String(64))
    original_name: Mapped[str | None] = mapped_column(String(256))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("officer.id"))
    uploaded_by: Mapped[Officer] = relationship()
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
