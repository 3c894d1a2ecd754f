"""Evidence upload: one file per request (as wx.uploadFile sends it), streamed, checked, stored."""

import json
from pathlib import Path

from flask import current_app, g, request
from sqlalchemy import func, select

from casework import audit, clock
from casework.db import db
from casework.unit_of_work import transaction
from media import uploads
from media.storage import storage
from miniapp_api import texts
from miniapp_api.blueprint import BEARER, Unusable, bp, citizen_required, limit
from miniapp_api.models import Upload
from miniapp_api.schemas import UploadOut
from miniapp_api.upload_sweep import SPOOL_DIR

UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "additionalProperties": False,
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "minLength": 1,
                        "description": "JPEG/PNG 照片或 MP4 视频(不能为空);类型按文件内容判断",
                    }
                },
            }
        }
    },
}


def limits() -> uploads.Limits:
    config = current_app.config
    return uploads.Limits(
        request_bytes=config["MEDIA_MAX_REQUEST_BYTES"],
        image_bytes=config["MEDIA_MAX_IMAGE_BYTES"],
        video_bytes=config["MEDIA_MAX_VIDEO_BYTES"],
        video_seconds=config["MEDIA_MAX_VIDEO_SECONDS"],
        image_pixels=config["MEDIA_MAX_IMAGE_PIXELS"],
        image_decodes=config["MEDIA_MAX_CONCURRENT_DECODES"],
    )


@bp.post("/uploads")
@citizen_required
@bp.doc(security=BEARER, requestBody=UPLOAD_BODY)
@bp.response(201, UploadOut)
@bp.alt_response(413, description="文件或请求体超过大小限制")
@bp.alt_response(409, description="待提交的附件过多,请先提交报警")
@bp.alt_response(415, description="不支持的文件类型(按内容判断)")
def upload():
    """上传一张照片或一段视频,返回的 id 在报警时放入 attachments。"""
    citizen = g.citizen
    limit("upload", citizen.id)
    pending = db.session.scalar(
        select(func.count(Upload.id)).where(Upload.citizen_id == citizen.id, Upload.attachment_id.is_(None))
    )
    if pending >= current_app.config["MEDIA_MAX_PENDING_UPLOADS"]:
        raise Unusable({"file": [texts.TOO_MANY_PENDING]})
    db.session.commit()  # do not hold a transaction open while a large body streams in
    store = storage()
    received = uploads.receive(request, limits=limits(), spool_dir=Path(store.root) / SPOOL_DIR)
    evidence = uploads.accept(received, field_name="file", limits=limits(), store=store)
    try:
        with transaction():
            now = clock.now()
            row = Upload(
                citizen_id=citizen.id,
                kind=evidence.sniffed.kind,
                content_type=evidence.sniffed.content_type,
                storage_key=evidence.original.key,
                preview_key=evidence.preview.key if evidence.preview else None,
                sha256=evidence.original.sha256,
                size=evidence.original.size,
                original_name=evidence.original_name,
                meta=json.dumps(evidence.meta, sort_keys=True),
                created_at=now,
            )
            db.session.add(row)
            db.session.flush()
            audit.record(
                actor=citizen,
                action="miniapp.uploaded",
                subject=row,
                at=now,
                detail={"sha256": row.sha256, "size": row.size, "content_type": row.content_type},
            )
    except BaseException:
        for key in evidence.keys:
            store.delete(key)
        raise
    return {
        "id": row.id,
        "kind": row.kind,
        "content_type": row.content_type,
        "size": row.size,
        "sha256": row.sha256,
        "meta": _public_meta(evidence.meta),
    }


def _public_meta(meta: dict) -> dict:
    return {k: v for k, v in meta.items() if k not in ("preview_key", "preview_sha256")}
