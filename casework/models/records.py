"""Records the system keeps about itself: the audit chain, the job outbox and number sequences."""

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from casework.db import UTCDateTime, db, utcnow

# A hex digest, compared byte by byte on PostgreSQL (collation "C"): no language applies to it, and an index on it is
# built and checked without the locale's rules (migration 0018). SQLite compares text that way already.
HEX_DIGEST = String(64).with_variant(String(64, collation="C"), "postgresql")


class AuditEntry(db.Model):
    """One link of the append-only audit chain; `hash` is a MAC (key `key_id`) of this row's fields and the
    previous hash."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column()
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column()
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(HEX_DIGEST, unique=True)
    hash: Mapped[str] = mapped_column(HEX_DIGEST, unique=True)
    key_id: Mapped[str | None] = mapped_column(String(16))  # the MAC key that signed it (None: before the MAC)

    __table_args__ = (Index("ix_audit_entry_subject", "subject_type", "subject_id"),)


class OutboxMessage(db.Model):
    """A job written in the business transaction; relayed to the queue after commit or by the periodic relay."""

    __tablename__ = "outbox_message"
    # Only what is not done is indexed (by id, the relay's order): the index stays the size of the backlog while
    # the table grows with every message ever sent.
    __table_args__ = (
        Index(
            "ix_outbox_message_undone",
            "id",
            postgresql_where=text("done_at IS NULL"),
            sqlite_where=text("done_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class NumberSequence(db.Model):
    """The last number handed out in a scope (e.g. incidents of one day)."""

    __tablename__ = "number_sequence"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger, default=0)


class NumberReservation(db.Model):
    """A public number drawn outside the transaction that uses it, for the message (`holder`) that will use it:
    a worker handling captured WeChat messages draws numbers this way, so that it holds no day counter while it
    works. The transaction that uses the number deletes its row; a row that stays names the message behind a
    number no record carries (a gap in the day's numbers)."""

    __tablename__ = "number_reservation"

    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200), unique=True)
    reserved_at: Mapped[datetime] = mapped_column(UTCDateTime())
