"""What the served OpenAPI document adds to the one built from the routes: the constraints marshmallow cannot
state (the category codes the taxonomy holds right now, coordinates given as a pair) and the links from what a
create operation made to the operations that read or use it, so that a client generator and a stateful fuzzer
can follow them."""

import copy

from sqlalchemy import select

from casework.db import db
from casework.models import Category

PREFIX = "/api/miniapp/v1"


def _op(path: str, method: str) -> str:
    return "#/paths/" + (PREFIX + path).replace("~", "~0").replace("/", "~1") + "/" + method


def _link(path: str, method: str, description: str, *, parameters=None, body=None) -> dict:
    link = {"operationRef": _op(path, method), "description": description}
    if parameters:
        link["parameters"] = parameters
    if body is not None:
        link["requestBody"] = body
    return link


_INCIDENT = {"incident_id": "$response.body#/id"}
_INCIDENT_LINKS = {
    "IncidentDetail": _link("/incidents/{incident_id}", "get", "刚报的警情:办理进度和证据材料", parameters=_INCIDENT),
    "IncidentMessages": _link("/incidents/{incident_id}/messages", "get", "与接警员的对话", parameters=_INCIDENT),
    "SendMessage": _link("/incidents/{incident_id}/messages", "post", "给接警员发消息", parameters=_INCIDENT),
    "RateIncident": _link("/incidents/{incident_id}/rating", "post", "办结后评价", parameters=_INCIDENT),
    "AttachmentPreview": _link(
        "/incidents/{incident_id}/attachments/{attachment_id}/preview",
        "get",
        "第一件证据材料的预览图",
        parameters={**_INCIDENT, "attachment_id": "$response.body#/attachments/0/id"},
    ),
    "FileComplaint": _link(
        "/complaints", "post", "对这条报警的处理投诉", body={"incident_id": "$response.body#/id", "body": "处理太慢"}
    ),
}
_COMPLAINT = {"complaint_id": "$response.body#/id"}
_COMPLAINT_LINKS = {
    "ComplaintDetail": _link("/complaints/{complaint_id}", "get", "刚提交的投诉及其答复", parameters=_COMPLAINT),
    "RateComplaintAnswer": _link("/complaints/{complaint_id}/rating", "post", "答复后评价", parameters=_COMPLAINT),
}
LINKS = {
    ("/incidents", "post", "201"): _INCIDENT_LINKS,
    ("/incidents/{incident_id}", "get", "200"): {
        k: v for k, v in _INCIDENT_LINKS.items() if k in ("IncidentMessages", "AttachmentPreview")
    },
    ("/incidents", "get", "200"): {
        "IncidentDetail": _link(
            "/incidents/{incident_id}",
            "get",
            "列表中的第一条报警",
            parameters={"incident_id": "$response.body#/items/0/id"},
        )
    },
    ("/uploads", "post", "201"): {
        "ReportWithUpload": _link(
            "/incidents",
            "post",
            "带着这件证据材料报警",
            body={"description": "有人打架", "attachments": ["$response.body#/id"]},
        )
    },
    ("/complaints", "post", "201"): _COMPLAINT_LINKS,
    ("/complaints/{complaint_id}", "get", "200"): {"RateComplaintAnswer": _COMPLAINT_LINKS["RateComplaintAnswer"]},
    ("/categories", "get", "200"): {
        "ReportInCategory": _link(
            "/incidents",
            "post",
            "按第一个大类的第一个小类报警",
            body={"description": "有人打架", "category": "$response.body#/categories/0/children/0/code"},
        )
    },
}

# Coordinates come as a pair or not at all (OpenAPI 3.0 has no dependentRequired).
_COORDINATES_PAIRED = {
    "anyOf": [
        {"required": ["latitude", "longitude"]},
        {"not": {"anyOf": [{"required": ["latitude"]}, {"required": ["longitude"]}]}},
    ]
}


def category_codes() -> list[str]:
    """The codes a report's `category` accepts now: every active category, major or minor."""
    return list(db.session.scalars(select(Category.code).where(Category.active.is_(True)).order_by(Category.code)))


def _subscribe_link(template_id: str) -> dict:
    return _link(
        "/subscriptions",
        "post",
        "订阅这条报警的进度通知",
        body={"incident_id": "$response.body#/id", "results": {template_id: "accept"}},
    )


def served(built: dict, *, progress_template_id: str = "") -> dict:
    """The document as served: the built one with the taxonomy's codes, the coordinate pairing and the links
    (to the subscription of a new report's progress when a template is configured)."""
    document = copy.deepcopy(built)
    report = document["components"]["schemas"]["IncidentIn"]
    codes = category_codes()
    if codes:
        report["properties"]["category"]["enum"] = codes
    report.update(_COORDINATES_PAIRED)
    for (path, method, status), links in LINKS.items():
        response = document["paths"][PREFIX + path][method]["responses"].get(status)
        if response is not None:
            response["links"] = copy.deepcopy(links)
    if progress_template_id:
        created = document["paths"][PREFIX + "/incidents"]["post"]["responses"]["201"]
        created["links"]["Subscribe"] = _subscribe_link(progress_template_id)
    return document
