"""The append-only, hash-chained audit log, written in the same transaction as the change it records.

Each entry's hash covers its own fields and the previous entry's hash, so editing, deleting or inserting a row
anywhere breaks the chain from that row on. Writers serialise on a transaction-scoped lock (PostgreSQL advisory
lock; SQLite transactions are already exclusive), and `seq` / `prev_hash` are unique, so a fork is impossible.
"""

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, select, text

from casework import clock
from casework.db import db
from casework.models import Actor, AuditEntry

GENESIS = "0" * 64
_LOCK_KEY = 0x77783131  # "wx11": the advisory lock that orders audit writers


def record(
    *, actor: Actor, action: str, subject=None, detail: dict | None = None, at: datetime | None = None
) -> AuditEntry:
    """Append one entry to the chain in the current transaction; the caller commits."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    last = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS)
    if subject is not None and getattr(subject, "id", None) is None:
        session.flush()
    entry = AuditEntry(
        seq=seq,
        at=at or clock.now(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        action=action,
        subject_type=type(subject).__tablename__ if subject is not None else None,
        subject_id=subject.id if subject is not None else None,
        detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str),
        prev_hash=prev_hash,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)  # flushed with the rest of the transaction; the next record() autoflushes it first
    return entry


def entry_hash(entry: AuditEntry) -> str:
    """The hash an entry must carry, from its fields and its predecessor's hash."""
    body = json.dumps(
        [
            entry.seq,
            entry.at.isoformat(timespec="microseconds"),
            entry.actor_kind,
            entry.actor_id,
            entry.action,
            entry.subject_type,
            entry.subject_id,
            entry.detail,
            entry.prev_hash,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Break:
    """Where the chain first fails, and why."""

    seq: int
    entry_id: int | None
    reason: str

    def __str__(self) -> str:
        return f"审计记录 seq={self.seq} (id={self.entry_id}) 校验失败:{self.reason}"


def verify(batch: int = 1000, *, progress: Callable[[int], None] | None = None) -> tuple[int, Break | None]:
    """Walk the whole chain in order; return how many entries were checked and the first break, if any.

    Memory stays one batch whatever the length of the chain; `progress(walked)` is called after each batch.
    """
    checked, expected_seq, prev = 0, 1, GENESIS
    for entry in _walk(batch, progress):
        if entry.seq != expected_seq:
            return checked, Break(expected_seq, None, f"缺少记录(下一条是 seq={entry.seq}, id={entry.id})")
        if entry.prev_hash != prev:
            return checked, Break(entry.seq, entry.id, "前序哈希与上一条记录不一致")
        if entry_hash(entry) != entry.hash:
            return checked, Break(entry.seq, entry.id, "内容与哈希不符,记录被修改")
        checked += 1
        expected_seq, prev = entry.seq + 1, entry.hash
    return checked, None


def _walk(batch: int, progress: Callable[[int], None] | None = None) -> Iterator[Row]:
    """Every entry in chain order, as plain rows (no ORM identity map to grow), one keyset page at a time."""
    table, after, walked = AuditEntry.__table__, 0, 0
    while True:
        rows = db.session.execute(select(table).where(table.c.seq > after).order_by(table.c.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        after, walked = rows[-1].seq, walked + len(rows)
        if progress is not None:
            progress(walked)


def trail(subject) -> list[AuditEntry]:
    """Every audit entry about one subject, oldest first."""
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.subject_type == type(subject).__tablename__, AuditEntry.subject_id == subject.id)
            .order_by(AuditEntry.seq)
        )
    )
