"""The citizen-visible sentences the domain writes into an incident's public timeline."""

from casework.status import IncidentStatus

REPORTED = "您的报警已收到,警情编号 {number}。民警将尽快处理,紧急情况请直接拨打110。"
STATUS = {
    IncidentStatus.DISPATCHED: "已指派民警前往处置。",
    IncidentStatus.ON_SCENE: "民警已到达现场。",
    IncidentStatus.HANDLED: "现场处置完毕。",
    IncidentStatus.CLOSED: "警情已处理完毕,结束出警。",
    IncidentStatus.ACCEPTED: "已受理为案件。",
    IncidentStatus.FILED: "已立案侦查(调查)。",
    IncidentStatus.NOT_FILED: "经审查决定不予立案。",
    IncidentStatus.CONCLUDED: "案件已办结。",
}
# A case's own stages (the ones the incident status does not already tell).
CASE_STAGE = {
    "investigating": "案件已进入侦查(调查)阶段。",
    "transferred": "案件已移送检察机关审查起诉。",
    "decided": "公安机关已依法作出处理决定。",
}
LOCATED = "已记录报警位置:{address}"
REROUTED = "已按报警位置转交{unit}处理。"
EVIDENCE = "已收到您提交的{kind}材料。"  # bytes already stored (an upload)
EVIDENCE_RECEIVING = "正在接收您提交的{kind}材料。"  # fetched later (a WeChat media id): not yet attached
EVIDENCE_STORED = "您提交的{kind}材料已接收并附到警情。"
EVIDENCE_FAILED = "您提交的{kind}材料未能接收,请重新发送。"
COMPLAINT_FILED = "您的投诉(编号 {number})已提交,将同时转交办案单位和督察部门,请留意答复。"


def status_note(status: IncidentStatus, extra: str | None) -> str:
    """The public note for a status change: the officer's words after the status's name when there are any (they
    usually say the standard sentence again in their own way, so it is left out), else the standard sentence."""
    if extra and extra.strip():
        return f"{status.label}:{extra.strip()}"
    return STATUS[status]
