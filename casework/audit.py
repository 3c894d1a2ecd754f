"""The append-only, MAC-chained audit log, written in the same transaction as the change it records.

Each entry's hash is an HMAC-SHA256, under a key from the environment (`AUDIT_MAC_KEYS`, never stored in the
database), of its own fields, its key id and the previous entry's hash: editing, deleting or inserting a row
anywhere breaks the chain from that row on, and whoever can write the database but does not hold the key cannot
recompute it. The key id is stored with each entry, so keys rotate: the first key of `AUDIT_MAC_KEYS` signs, every
listed key verifies the entries that name it. What a MAC cannot show, a truncated tail, the checkpoints do
(`casework.audit_checkpoints`): the head (seq, hash) written now and then to write-once files outside the database.
On PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE on the table (migration 0011).

A transaction's entries are sealed into the chain when it commits: writers serialise on a transaction-scoped lock
taken then (PostgreSQL advisory lock; SQLite transactions are already exclusive), and `seq` / `prev_hash` are
unique, so a fork is impossible. Entries written before the MAC (no key
id) carry a plain SHA-256; they verify as such only before the first keyed entry.
"""

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Row, event, select, text
from sqlalchemy.orm import Session

from casework import clock, settings
from casework.db import db
from casework.models import Actor, AuditEntry

log = logging.getLogger(__name__)
GENESIS = "0" * 64
_LOCK_KEY = 0x77783131  # "wx11": the advisory lock that orders audit writers
DEVELOPMENT_KEYS = "dev:wx110-development-audit-key-not-secret"


class MissingKey(RuntimeError):
    """Production without `AUDIT_MAC_KEYS`, or an entry signed by a key id that is no longer configured."""


@dataclass(frozen=True)
class KeyRing:
    """The MAC keys by id, in the configured order: the first signs."""

    keys: Mapping[str, bytes]

    @property
    def signing_id(self) -> str:
        return next(iter(self.keys))

    @classmethod
    def parse(cls, spec: str) -> "KeyRing":
        keys: dict[str, bytes] = {}
        for part in spec.split(","):
            if not part.strip():
                continue
            key_id, _, secret = part.strip().partition(":")
            if not (key_id.isalnum() and len(key_id) <= 16 and len(secret) >= 16):
                raise ValueError("AUDIT_MAC_KEYS entries must be '<id: 1-16 letters or digits>:<key: 16+ characters>'")
            keys[key_id] = secret.encode()
        if not keys:
            raise ValueError("AUDIT_MAC_KEYS is empty")
        return cls(keys)


def key_ring() -> KeyRing:
    """The configured keys; in development (not `PRODUCTION`) a well-known key, with a loud warning."""
    spec = settings.get("AUDIT_MAC_KEYS") or ""
    if not spec.strip():
        if settings.get_or("PRODUCTION", False):
            raise MissingKey("AUDIT_MAC_KEYS is not set: production refuses to sign the audit chain with a known key")
        spec = DEVELOPMENT_KEYS
        _warn_development_key()
    return _parsed(spec)


@lru_cache(maxsize=1)
def _warn_development_key() -> None:
    log.warning(
        "AUDIT_MAC_KEYS is not set: the audit chain is signed with the DEVELOPMENT key, which anyone can read in "
        "the source. Never run production like this (set AUDIT_MAC_KEYS and PRODUCTION=yes)."
    )


@lru_cache(maxsize=8)
def _parsed(spec: str) -> KeyRing:
    return KeyRing.parse(spec)


def record(
    *, actor: Actor, action: str, subject=None, detail: dict | None = None, at: datetime | None = None
) -> AuditEntry:
    """Add one entry to the chain in the current transaction; the caller commits.

    The entry is sealed (numbered, linked to its predecessor and signed) when the transaction commits, with every
    other entry the transaction recorded: the chain's lock is held only for that moment, not from the first entry
    of a transaction to its commit, so transactions that record entries run side by side until they commit. An
    entry recorded inside a SAVEPOINT that rolls back goes with it.
    """
    session = db.session
    entry = AuditEntry(
        at=at or clock.now(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        action=action,
        subject_type=type(subject).__tablename__ if subject is not None else None,
        subject_id=getattr(subject, "id", None) if subject is not None else None,
        detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str),
    )
    scope = session().get_nested_transaction()  # None: the transaction itself, whose end forgets every entry
    session.info.setdefault(_PENDING, []).append((scope, entry, subject))
    return entry


def seal() -> int:
    """Seal this transaction's recorded entries now: take the chain's lock (held until the transaction ends), read
    the head, and add the entries in the order they were recorded. Called when the transaction commits, and by
    readers of the chain, which see their own transaction's entries; returns how many were sealed.

    Inside a SAVEPOINT it seals nothing: a rollback of the SAVEPOINT would take with it the rows of entries
    recorded before it began (and release the lock). The entries are sealed at the commit."""
    session = db.session
    if session().get_nested_transaction() is not None:
        return 0
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return 0
    if any(subject is not None and entry.subject_id is None for _scope, entry, subject in pending):
        session.flush()  # the subjects created in this transaction get their ids
    lock_chain()
    seq, prev_hash = _newest() or (0, GENESIS)
    ring = key_ring()
    key_id = ring.signing_id
    for _scope, entry, subject in pending:
        if subject is not None and entry.subject_id is None:
            entry.subject_id = subject.id
        seq += 1
        entry.seq, entry.prev_hash, entry.key_id = seq, prev_hash, key_id
        entry.hash = prev_hash = entry_hash(entry, ring.keys[key_id])
    session.add_all([entry for _scope, entry, _subject in pending])
    return len(pending)


_PENDING = "wx110.audit.pending"  # session.info: [(transaction, entry, subject)] recorded, not yet sealed
_LOCKED = "wx110.audit.locked"  # session.info: this transaction holds the chain lock


@event.listens_for(Session, "before_commit")
def _seal_before_commit(session: Session) -> None:
    # Also dispatched when a SAVEPOINT is released: `seal` leaves the entries to the outermost commit.
    if session.info.get(_PENDING):
        seal()


@event.listens_for(Session, "after_commit")
def _none_left_unsealed(session: Session) -> None:
    if session.get_nested_transaction() is None and session.info.get(_PENDING):
        # Recorded by a hook while the commit flushed, after the seal: never written. A bug, loudly.
        log.error("audit: %d entries recorded during a commit were not sealed", len(session.info[_PENDING]))


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, previous_transaction) -> None:
    # A SAVEPOINT's rollback takes away the entries recorded inside it (and inside SAVEPOINTs within it). The
    # chain's lock is never taken inside one (entries are sealed only outside SAVEPOINTs), so it stays held.
    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [item for item in pending if not _within(item[0], previous_transaction)]


def _within(scope, transaction) -> bool:
    while scope is not None:
        if scope is transaction:
            return True
        scope = scope.parent
    return False


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction) -> None:
    if transaction.parent is None:  # the whole transaction ended: its lock is gone, its entries sealed or not kept
        session.info.pop(_PENDING, None)
        session.info.pop(_LOCKED, None)


def lock_chain() -> None:
    """Take the chain's lock for the rest of this transaction (once: a no-op when it holds it already).

    A transaction that draws a public number takes that counter's lock first (`casework.numbering`).
    """
    session = db.session
    if session.info.get(_LOCKED) or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    session.info[_LOCKED] = True


def entry_hash(entry, key: bytes | None) -> str:
    """The hash an entry must carry: the HMAC-SHA256 under `key` of its fields, key id and predecessor's hash
    (a plain SHA-256 of the fields for an entry from before the MAC, `key` None)."""
    fields = [
        entry.seq,
        entry.at.isoformat(timespec="microseconds"),
        entry.actor_kind,
        entry.actor_id,
        entry.action,
        entry.subject_type,
        entry.subject_id,
        entry.detail,
        entry.prev_hash,
    ]
    if key is None:
        return hashlib.sha256(_canonical(fields)).hexdigest()
    return hmac.new(key, _canonical([*fields, entry.key_id]), hashlib.sha256).hexdigest()


def _canonical(fields: list) -> bytes:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Break:
    """Where the chain first fails, and why."""

    seq: int
    entry_id: int | None
    reason: str

    def __str__(self) -> str:
        return f"审计记录 seq={self.seq} (id={self.entry_id}) 校验失败:{self.reason}"


def verify(
    batch: int = 1000,
    *,
    progress: Callable[[int], None] | None = None,
    checkpoints: Mapping[int, str] | None = None,
) -> tuple[int, Break | None]:
    """Walk the whole chain in order; return how many entries were checked and the first break, if any.

    Each entry's MAC is checked with the key its key id names; `checkpoints` (seq -> hash, written outside the
    database) must each match the entry at that seq, and the chain must reach the newest of them (else its tail
    was cut off). Memory stays one batch whatever the length of the chain; `progress(walked)` is called after
    each batch.
    """
    ring = key_ring()
    checkpoints = checkpoints or {}
    checked, expected_seq, prev, keyed = 0, 1, GENESIS, False
    for entry in _walk(batch, progress):
        if entry.seq != expected_seq:
            return checked, Break(expected_seq, None, f"缺少记录(下一条是 seq={entry.seq}, id={entry.id})")
        if entry.prev_hash != prev:
            return checked, Break(entry.seq, entry.id, "前序哈希与上一条记录不一致")
        if entry.key_id is None:
            if keyed:
                return checked, Break(entry.seq, entry.id, "签名密钥缺失(密钥签名的记录之后出现无密钥记录)")
            key = None
        else:
            keyed, key = True, ring.keys.get(entry.key_id)
            if key is None:
                return checked, Break(entry.seq, entry.id, f"未配置的签名密钥 {entry.key_id}")
        if not hmac.compare_digest(entry_hash(entry, key), entry.hash):
            return checked, Break(entry.seq, entry.id, "内容与签名不符,记录被修改")
        if entry.seq in checkpoints and checkpoints[entry.seq] != entry.hash:
            return checked, Break(entry.seq, entry.id, "与链外检查点记录的哈希不一致")
        checked += 1
        expected_seq, prev = entry.seq + 1, entry.hash
    newest = max(checkpoints, default=0)
    if newest >= expected_seq:
        reason = f"链尾被截断:检查点记录到 seq={newest},数据库只到 seq={expected_seq - 1}"
        return checked, Break(expected_seq, None, reason)
    return checked, None


def head() -> tuple[int, str] | None:
    """The newest entry's (seq, hash), or None for an empty chain (this transaction's own entries included)."""
    seal()
    return _newest()


def _newest() -> tuple[int, str] | None:
    last = db.session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    return (last.seq, last.hash) if last else None


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
    """Every audit entry about one subject, oldest first (this transaction's own entries included)."""
    seal()
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.subject_type == type(subject).__tablename__, AuditEntry.subject_id == subject.id)
            .order_by(AuditEntry.seq)
        )
    )
