"""A citizen's incidents: report one (with uploaded evidence), list, read with timeline, chat, rate."""

from flask import Response, g

from casework import audit, chat, incidents, queries
from casework.db import db
from casework.errors import NotFound
from casework.models import Attachment
from casework.status import Channel
from casework.unit_of_work import transaction
from media.storage import storage
from miniapp_api import present, report_input, texts
from miniapp_api.blueprint import BEARER, bp, citizen_required, limit
from miniapp_api.schemas import (
    IncidentIn,
    IncidentOut,
    IncidentPageOut,
    ListQuery,
    MessageIn,
    MessageOut,
    MessagesQuery,
    RatingIn,
)


@bp.post("/incidents")
@citizen_required
@bp.doc(security=BEARER)
@bp.arguments(IncidentIn)
@bp.response(201, IncidentOut)
@bp.alt_response(409, description="附件不存在、已被使用或超出数量,或门牌二维码已停用(fields 逐项说明)")
def create_incident(body):
    """报警:描述、类别提示、位置或门牌令牌,以及已上传的照片和视频。"""
    limit("report", g.citizen.id)
    report, uploads = report_input.resolve(g.citizen, body)
    with transaction():  # the report, its evidence and the uploads' links: one commit, or nothing
        incident = incidents.report(
            citizen=g.citizen, channel=Channel.MINIAPP, evidence=report_input.evidence(uploads), **report
        )
        report_input.link(incident, uploads)
    return present.incident_detail(incident)


@bp.get("/incidents")
@citizen_required
@bp.doc(security=BEARER)
@bp.arguments(ListQuery, location="query")
@bp.response(200, IncidentPageOut)
def list_incidents(query):
    """我的报警记录,最新的在前,分页。"""
    items = queries.incidents_of(g.citizen, limit=query["limit"], before_id=query.get("before_id"))
    more = len(items) == query["limit"]
    return {"items": [present.incident_summary(i) for i in items], "next_before_id": items[-1].id if more else None}


@bp.get("/incidents/<int(max=2147483647):incident_id>")
@citizen_required
@bp.doc(security=BEARER)
@bp.response(200, IncidentOut)
def get_incident(incident_id):
    """一条报警记录:办理进度和证据材料。"""
    return present.incident_detail(queries.incident_of(g.citizen, incident_id=incident_id))


@bp.get("/incidents/<int(max=2147483647):incident_id>/attachments/<int(max=2147483647):attachment_id>/preview")
@citizen_required
@bp.doc(security=BEARER)
@bp.response(200, content_type="image/jpeg", description="不含 EXIF 的预览图(视频为封面帧)")
def attachment_preview(incident_id, attachment_id):
    """证据材料的预览图(去除位置等元数据)。"""
    incident = queries.incident_of(g.citizen, incident_id=incident_id)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.incident_id != incident.id:
        raise NotFound(texts.NOT_FOUND)
    key = present.preview_key(attachment)
    if not key:
        raise NotFound(texts.NOT_FOUND)
    with transaction():
        audit.record(
            actor=g.citizen, action="attachment.previewed", subject=attachment, detail={"incident_id": incident.id}
        )
    with storage().open(key) as stream:
        data = stream.read()  # previews are small JPEGs (at most 1280 px on a side)
    return Response(data, content_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"})


@bp.get("/incidents/<int(max=2147483647):incident_id>/messages")
@citizen_required
@bp.doc(security=BEARER)
@bp.arguments(MessagesQuery, location="query")
@bp.response(200, MessageOut(many=True))
def list_messages(query, incident_id):
    """与接警员的对话,按时间顺序;after_id 用于轮询新消息。"""
    incident = queries.incident_of(g.citizen, incident_id=incident_id)
    return [present.message(m) for m in chat.messages(incident=incident, viewer=g.citizen, after_id=query["after_id"])]


@bp.post("/incidents/<int(max=2147483647):incident_id>/messages")
@citizen_required
@bp.doc(security=BEARER)
@bp.arguments(MessageIn)
@bp.response(201, MessageOut)
def send_message(body, incident_id):
    """给接警员发消息。"""
    limit("chat", g.citizen.id)
    incident = queries.incident_of(g.citizen, incident_id=incident_id)
    client_id = body.get("client_id")
    source = f"miniapp:{g.citizen.id}:chat:{client_id}" if client_id else None
    return present.message(
        chat.add_message(incident=incident, actor=g.citizen, body=body["body"], source_msg_id=source)
    )


@bp.post("/incidents/<int(max=2147483647):incident_id>/rating")
@citizen_required
@bp.doc(security=BEARER)
@bp.arguments(RatingIn)
@bp.response(200, IncidentOut)
def rate_incident(body, incident_id):
    """办结后对处置结果评价(1-5分),只能评价一次。"""
    incident = queries.incident_of(g.citizen, incident_id=incident_id)
    incidents.rate(incident=incident, citizen=g.citizen, rating=body["rating"], comment=body.get("comment"))
    return present.incident_detail(incident)
