"""Tables the mini-program channel keeps: login sessions, uploaded files awaiting their incident, and the
subscribe-message consents a citizen granted."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.db import UTCDateTime, db, utcnow
from casework.models import Citizen


class MiniappSession(db.Model):
    """An opaque bearer token we issued after code2session; only its SHA-256 is kept."""

    __tablename__ = "miniapp_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    citizen: Mapped[Citizen] = relationship()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


SOURCE_PREFIX = "miniapp-upload:"  # an attachment's source_ref for the upload it came from


class Upload(db.Model):
    """A checked file in evidence storage, owned by a citizen, waiting to be bound to one of their incidents."""

    __tablename__ = "miniapp_upload"
    # The sweep looks for old uploads no incident took; only those are indexed, so it stays cheap as uploads pile up.
    __table_args__ = (
        Index(
            "ix_miniapp_upload_unbound",
            "created_at",
            postgresql_where=text("attachment_id IS NULL"),
            sqlite_where=text("attachment_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(256))
    preview_key: Mapped[str | None] = mapped_column(String(256))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    original_name: Mapped[str | None] = mapped_column(String(256))
    meta: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))


class ConsentState(StrEnum):
    AVAILABLE = "available"
    SENDING = "sending"  # claimed for one timeline entry; a crash here never sends twice
    SENT = "sent"
    REFUSED = "refused"  # WeChat said no consent was left (43101)


class SubscribeConsent(db.Model):
    """One "accept" from wx.requestSubscribeMessage: WeChat allows exactly one message for it."""

    __tablename__ = "subscribe_consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    template_id: Mapped[str] = mapped_column(String(128))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    state: Mapped[str] = mapped_column(String(16), default=ConsentState.AVAILABLE.value, index=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The progress step this consent was spent on; unique, so one step never spends two consents.
    timeline_entry_id: Mapped[int | None] = mapped_column(ForeignKey("timeline_entry.id"), unique=True)
    # What else this consent was spent on (an officer's chat message, a complaint answer); unique for the same reason.
    spent_on: Mapped[str | None] = mapped_column(String(96), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
