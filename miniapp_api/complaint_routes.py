"""A citizen's complaints: file one about one of their incidents, list, read with the answer, rate the answer."""

from flask import g

from casework import complaints, queries
from miniapp_api import present
from miniapp_api.blueprint import BEARER, bp, citizen_required, limit
from miniapp_api.schemas import ComplaintIn, ComplaintOut, ComplaintRatingIn


@bp.post("/complaints")
@citizen_required
@bp.doc(security=BEARER)
@bp.arguments(ComplaintIn)
@bp.response(201, ComplaintOut)
def file_complaint(body):
    """对自己的一条报警的处理情况投诉;同时转交办案单位和督察部门。"""
    limit("complaint", g.citizen.id)
    incident = queries.incident_of(g.citizen, incident_id=body["incident_id"])
    client_id = body.get("client_id")
    source = f"miniapp:{g.citizen.id}:complaint:{client_id}" if client_id else None
    return present.complaint(
        complaints.file(citizen=g.citizen, incident=incident, body=body["body"], source_msg_id=source)
    )


@bp.get("/complaints")
@citizen_required
@bp.doc(security=BEARER)
@bp.response(200, ComplaintOut(many=True))
def list_complaints():
    """我的投诉,最新的在前。"""
    return [present.complaint(c) for c in complaints.of_citizen(g.citizen)]


@bp.get("/complaints/<int(max=2147483647):complaint_id>")
@citizen_required
@bp.doc(security=BEARER)
@bp.response(200, ComplaintOut)
def get_complaint(complaint_id):
    """一条投诉及督察部门的答复。"""
    return present.complaint(complaints.complaint_of(g.citizen, complaint_id))


@bp.post("/complaints/<int(max=2147483647):complaint_id>/rating")
@citizen_required
@bp.doc(security=BEARER)
@bp.arguments(ComplaintRatingIn)
@bp.response(200, ComplaintOut)
def rate_complaint_answer(body, complaint_id):
    """对投诉答复评价(1-5分),只能评价一次。"""
    complaint = complaints.complaint_of(g.citizen, complaint_id)
    return present.complaint(complaints.rate_answer(complaint=complaint, citizen=g.citizen, rating=body["rating"]))
