"""The one place that turns the domain's internal codes into the words an officer reads: incident statuses,
timeline steps, measure kinds and states, routing reasons, evidence kinds and states, case material kinds, and a
monitoring point's parameters and colours.

Pages use it through the console's `word` filter and the domain's own notes through `word()`, so that no code
(`reported`, `nearest_doorplate`, `video`, `active`) reaches an officer's page. A code a table does not know comes
back as it is, and the test of this module fails on it: every code the domain can produce has its words here.
"""

from casework import case_materials, measures
from casework.models import AttachmentKind, MeasureState
from casework.status import IncidentStatus

TIMELINE = {
    "reported": "群众报警",
    "located": "报告位置",
    "evidence": "提交证据",
    "status": "状态变更",
    "recategorised": "调整类别",
    "assigned": "指派民警",
    "note": "内部备注",
    "rerouted": "按位置改派",
    "complaint": "群众投诉",
    "evidence_stored": "证据已保存",
    "evidence_failed": "证据获取失败",
    "case_type": "案件类型变更",
    "case_cause": "案由变更",
    "case_stage": "案件阶段变更",
}

ROUTING = {
    "doorplate": "按门牌所在辖区",
    "nearest_doorplate": "按最近门牌所在辖区",
    "dispatch_centre": "无法确定辖区,转指挥中心",
}

ATTACHMENT_STATE = {"pending": "待获取", "stored": "已保存", "failed": "获取失败"}

# A monitoring point's parameters and colours, as the points page names them.
POINT_PARAMETER = {
    "days": "期限(天)",
    "hours": "期限(小时)",
    "minutes": "期限(分钟)",
    "rectify_days": "整改期限(天)",
    "rectify_hours": "整改期限(小时)",
    "rectify_minutes": "整改期限(分钟)",
    "blue_share": "蓝色提醒时点(期限的比例)",
    "max_changes": "允许修改次数",
    "working": "按工作日",
}
COLOUR = {"blue": "蓝", "yellow": "黄", "red": "红"}

TABLES: dict[str, dict[str, str]] = {
    "status": {s.value: s.label for s in IncidentStatus},
    "timeline": TIMELINE,
    "routing": ROUTING,
    "attachment_kind": {k.value: k.label for k in AttachmentKind},
    "attachment_state": ATTACHMENT_STATE,
    "measure_kind": {code: kind.label for code, kind in measures.KINDS.items()},
    "measure_state": {s.value: s.label for s in MeasureState},
    "material_kind": dict(case_materials.KINDS),
    "point_parameter": POINT_PARAMETER,
    "colour": COLOUR,
}


def colour_path(path: str) -> str:
    """A point's colour path ("blue,yellow,red") as the officer reads it ("蓝 → 黄 → 红")."""
    return " → ".join(word("colour", colour.strip()) for colour in path.split(",") if colour.strip())


def word(table: str, code: str | None) -> str:
    """The words for `code` in one of the tables (the code itself if the table lacks it; the test forbids that)."""
    if code is None:
        return ""
    return TABLES[table].get(code, code)
