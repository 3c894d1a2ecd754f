"""The audit chain's head, checkpointed outside the database so that a truncated tail is found.

A MAC chain cannot show that its newest entries were deleted: what is left is still a valid chain. So now and
then (the periodic sweep `audit.checkpoint`, and `flask audit checkpoint`) the head (seq, hash) is written to a
new file under `AUDIT_CHECKPOINT_DIR`, created with O_EXCL and never rewritten, and logged. `flask audit verify`
checks the chain against every checkpoint. Keep the directory where the database's users cannot write (another
host's mount, an append-only or WORM volume); the log line is a second copy.
"""

import json
import logging
import os
import re
from datetime import datetime
from pathlib import Path

from casework import audit, settings
from casework.db import db

log = logging.getLogger(__name__)
_NAME = re.compile(r"^audit-head-(\d{15})\.json$")


def directory() -> Path:
    """Where checkpoints live (`AUDIT_CHECKPOINT_DIR`, declared with the server's settings)."""
    return Path(settings.get_or("AUDIT_CHECKPOINT_DIR", "audit-checkpoints"))


def write(*, now: datetime) -> tuple[int, str] | None:
    """Checkpoint the current head in a new write-once file; returns it, or None when the chain is empty or this
    head is already checkpointed."""
    head = audit.head()
    db.session.rollback()  # read-only: end the snapshot
    if head is None:
        return None
    seq, digest = head
    folder = directory()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"audit-head-{seq:015d}.json"
    body = json.dumps({"seq": seq, "hash": digest, "at": now.isoformat()}, sort_keys=True).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    except FileExistsError:
        return None  # this head is checkpointed already (another process, or nothing was audited since)
    try:
        os.write(fd, body + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    log.info("audit checkpoint: seq=%s hash=%s", seq, digest)
    return seq, digest


def sweep(*, now: datetime) -> None:
    """The periodic job: checkpoint the head."""
    write(now=now)


def read() -> dict[int, str]:
    """Every checkpoint, seq -> hash. A file that cannot be read is itself a sign of tampering: ValueError."""
    folder = directory()
    found: dict[int, str] = {}
    if not folder.is_dir():
        return found
    for path in folder.iterdir():
        match = _NAME.match(path.name)
        if match is None:
            continue
        try:
            body = json.loads(path.read_text())
            seq, digest = int(body["seq"]), str(body["hash"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"unreadable audit checkpoint {path.name}") from exc
        if seq != int(match.group(1)):
            raise ValueError(f"audit checkpoint {path.name} names seq {seq}")
        found[seq] = digest
    return found
