"""An incident (警情) and what hangs off it: its timeline, its evidence and its chat."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.db import UTCDateTime, db, utcnow
from casework.models.people import Citizen, Officer, Unit
from casework.models.reference import Category, Doorplate
from casework.status import Channel, IncidentStatus


class Incident(db.Model):
    __tablename__ = "incident"
    # A citizen's reports and a doorplate's history are read newest first a page at a time: (owner, id) serves
    # both the filter and the order, so the cost stays flat however many incidents there are.
    __table_args__ = (
        Index("ix_incident_citizen_recent", "citizen_id", "id"),
        Index("ix_incident_doorplate_recent", "doorplate_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"))
    citizen: Mapped[Citizen] = relationship()
    channel: Mapped[str] = mapped_column(String(16))
    # The channel's own id for the message that created this incident ("wechat:<MsgId>"); a retry finds it.
    source_msg_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    category: Mapped[Category | None] = relationship()
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=IncidentStatus.RECEIVED.value, index=True)
    doorplate_id: Mapped[int | None] = mapped_column(ForeignKey("doorplate.id"))
    doorplate: Mapped[Doorplate | None] = relationship()
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    unit: Mapped[Unit | None] = relationship()
    # The officer the handling unit gave it to (None: the unit as a whole).
    assigned_officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    assigned_officer: Mapped["Officer | None"] = relationship()
    address: Mapped[str | None] = mapped_column(String(256))
    longitude: Mapped[float | None] = mapped_column(Numeric(10, 6, asdecimal=False))
    latitude: Mapped[float | None] = mapped_column(Numeric(10, 6, asdecimal=False))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Each stage's own moment (the deadline clocks and monitoring points read these, not the timeline).
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    on_scene_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # filed or decided not to file
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rating: Mapped[int | None] = mapped_column()
    rating_comment: Mapped[str | None] = mapped_column(Text)

    timeline: Mapped[list["TimelineEntry"]] = relationship(
        back_populates="incident", order_by="TimelineEntry.id", cascade="all, delete-orphan"
    )
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="incident", order_by="Attachment.id", cascade="all, delete-orphan"
    )

    @property
    def state(self) -> IncidentStatus:
        return IncidentStatus(self.status)

    @property
    def channel_enum(self) -> Channel:
        return Channel(self.channel)

    def __repr__(self) -> str:
        return f"<Incident {self.number} {self.status}>"


class TimelineEntry(db.Model):
    """One step of progress: what the citizen is told (`public_note`) and what stays inside (`internal_note`)."""

    __tablename__ = "timeline_entry"
    __table_args__ = (Index("ix_timeline_entry_incident_order", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    incident: Mapped[Incident] = relationship(back_populates="timeline")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))  # reported / status / recategorised / located / evidence
    status: Mapped[str | None] = mapped_column(String(16))
    public_note: Mapped[str | None] = mapped_column(Text)
    internal_note: Mapped[str | None] = mapped_column(Text)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column()


class AttachmentKind(StrEnum):
    VIDEO = "video"
    IMAGE = "image"
    VOICE = "voice"

    @property
    def label(self) -> str:
        return {"video": "视频", "image": "图片", "voice": "语音"}[self.value]


class AttachmentState(StrEnum):
    PENDING = "pending"  # known (e.g. a WeChat media id) but not yet in evidence storage
    STORED = "stored"
    FAILED = "failed"


class Attachment(db.Model):
    """A piece of evidence bound to an incident; its stored bytes are hashed once and never altered."""

    __tablename__ = "attachment"
    __table_args__ = (UniqueConstraint("source_ref", name="uq_attachment_source_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    incident: Mapped[Incident] = relationship(back_populates="attachments")
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=AttachmentState.PENDING.value)
    # Where it came from: "wechat:<MsgId>", "upload:<id>"; unique so a retried message attaches once.
    source_ref: Mapped[str | None] = mapped_column(String(128))
    wechat_media_id: Mapped[str | None] = mapped_column(String(256))
    storage_key: Mapped[str | None] = mapped_column(String(256))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    content_type: Mapped[str | None] = mapped_column(String(64))
    original_name: Mapped[str | None] = mapped_column(String(256))
    meta: Mapped[str | None] = mapped_column(Text)  # JSON from probing (duration, codec, dimensions)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    stored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SenderKind(StrEnum):
    CITIZEN = "citizen"
    OFFICER = "officer"
    SYSTEM = "system"


class Undelivered(StrEnum):
    """Why an officer's chat message could not reach the citizen; the officer then has to reach them otherwise."""

    OUTSIDE_WINDOW = "outside_window"  # official account: past the 48-hour window and no template configured
    NO_CONSENT = "no_consent"  # mini-program: no subscribe-message consent left to spend

    @property
    def label(self) -> str:
        return {
            "outside_window": "未能送达:报警人超过48小时未互动,且未配置模板消息",
            "no_consent": "未能送达:报警人未授权订阅消息,请在小程序内等待查看或电话联系",
        }[self.value]


class ChatMessage(db.Model):
    """One message of the two-way chat between a citizen and the dispatcher about an incident."""

    __tablename__ = "chat_message"
    __table_args__ = (Index("ix_chat_message_incident_at", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    incident: Mapped[Incident] = relationship()
    sender_kind: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[int | None] = mapped_column()
    body: Mapped[str] = mapped_column(Text)
    source_msg_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why an officer's message could not reach the citizen (a value of `Undelivered`); the console shows it.
    undelivered_reason: Mapped[str | None] = mapped_column(String(32))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def delivery_label(self) -> str | None:
        """Whether an officer's message reached the citizen, in the console's words (None for others' messages)."""
        if self.sender_kind != SenderKind.OFFICER.value:
            return None
        if self.incident.channel == "web":  # a web reporter reads the chat on their tracking page; no push exists
            if self.delivered_at is not None:
                return "已在报警人的进度页显示"
            return "待报警人打开进度页查看(网页报警无推送)"
        if self.delivered_at is not None:
            return "已送达"
        if self.undelivered_reason:
            return Undelivered(self.undelivered_reason).label
        return "待送达"
