"""Uploads that never became evidence (the citizen gave up before reporting) are removed after a while."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from casework import audit, clock, outbox
from casework.db import db
from casework.models import Attachment, System
from media.storage import storage
from miniapp_api.models import SOURCE_PREFIX, Upload


@outbox.periodic("miniapp.sweep_uploads", every=3600)
def sweep_abandoned_uploads() -> int:
    """Delete uploads older than MEDIA_UPLOAD_KEEP_HOURS that no incident took; returns how many."""
    cutoff = clock.now() - timedelta(hours=current_app.config["MEDIA_UPLOAD_KEEP_HOURS"])
    candidates = list(db.session.scalars(
        select(Upload).where(Upload.attachment_id.is_(None), Upload.created_at < cutoff).limit(500)))
    # An attachment may already point at the file even though the upload row was not yet marked (a crash
    # between the two commits); such a file is evidence and stays.
    refs = {f"{SOURCE_PREFIX}{u.id}": u for u in candidates}
    taken = set(db.session.scalars(select(Attachment.source_ref).where(Attachment.source_ref.in_(refs)))) \
        if refs else set()
    abandoned = [upload for ref, upload in refs.items() if ref not in taken]
    store = storage()
    for upload in abandoned:
        audit.record(actor=System("miniapp.sweep"), action="miniapp.upload_discarded", subject=upload,
                     detail={"sha256": upload.sha256, "size": upload.size})
        db.session.delete(upload)
    db.session.commit()
    # Files go only after the rows are gone: a crash in between leaves files without rows, never the reverse.
    for upload in abandoned:
        for key in (upload.storage_key, upload.preview_key):
            if key:
                store.delete(key)
    return len(abandoned)
