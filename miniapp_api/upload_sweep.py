"""Uploads that never became evidence (the citizen gave up before reporting) are removed after a while."""

import contextlib
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from casework import audit, clock
from casework.db import db
from casework.models import Attachment, System
from casework.unit_of_work import transaction
from media.storage import storage
from miniapp_api.models import SOURCE_PREFIX, Upload

SPOOL_DIR = ".spool"
SPOOL_KEEP_SECONDS = 6 * 3600


def sweep_abandoned_uploads(*, now: datetime | None = None) -> int:
    """Delete uploads older than MEDIA_UPLOAD_KEEP_HOURS (as of `now`) that no incident took; returns how many."""
    now = now or clock.now()
    cutoff = now - timedelta(hours=current_app.config["MEDIA_UPLOAD_KEEP_HOURS"])
    store = storage()
    with transaction():
        candidates = list(
            db.session.scalars(
                select(Upload).where(Upload.attachment_id.is_(None), Upload.created_at < cutoff).limit(500)
            )
        )
        # An attachment may point at the file while the upload row is not marked (a report stored before the
        # report and its links became one commit); such a file is evidence and stays.
        refs = {f"{SOURCE_PREFIX}{u.id}": u for u in candidates}
        taken = (
            set(db.session.scalars(select(Attachment.source_ref).where(Attachment.source_ref.in_(refs))))
            if refs
            else set()
        )
        abandoned = [upload for ref, upload in refs.items() if ref not in taken]
        for upload in abandoned:
            audit.record(
                actor=System("miniapp.sweep"),
                action="miniapp.upload_discarded",
                subject=upload,
                at=now,
                detail={"sha256": upload.sha256, "size": upload.size},
            )
            db.session.delete(upload)
    # Files go only after the rows are gone: a crash in between leaves files without rows, never the reverse.
    for upload in abandoned:
        for key in (upload.storage_key, upload.preview_key):
            if key:
                store.delete(key)
    _clear_spool(Path(store.root) / SPOOL_DIR, older_than=now.timestamp() - SPOOL_KEEP_SECONDS)
    return len(abandoned)


def _clear_spool(spool: Path, *, older_than: float) -> None:
    """Half-received bodies left by a process that died mid-upload (a live upload touches its file constantly)."""
    if not spool.is_dir():
        return
    for leftover in spool.glob(".upload-*"):
        with contextlib.suppress(OSError):
            if leftover.stat().st_mtime < older_than:
                leftover.unlink()
