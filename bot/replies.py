"""Every sentence the official account says to a citizen, in one place."""

from casework import clock, complaints
from casework.complaint_status import MAX_REVIEWS
from casework.models import Complaint, Incident, TimelineEntry
from casework.status import IncidentStatus

EMERGENCY = "如遇紧急情况,请立即拨打110。"

WELCOME = (
    "您好,欢迎关注110微信报警服务。\n"
    "· 直接发送文字、图片、语音、视频或位置即可报警;\n"
    "· 扫描门牌二维码可按门牌地址报警;\n"
    "· 回复「我的报警」查看报警记录,「进度」查看办理进度,「投诉」投诉举报,「我的投诉」查看投诉及答复,"
    "「评价投诉」对投诉答复评分,「取消」取消待回答的问题。\n" + EMERGENCY
)
HELP = WELCOME
GOODBYE = ""  # nothing can be sent to someone who unfollowed
UNKNOWN = "抱歉,暂不支持这类消息。请发送文字、图片、语音、视频或位置报警。" + EMERGENCY
BUSY = "系统繁忙,请稍后再发送一次。" + EMERGENCY
CANCELLED = "已取消{what}。"
NOTHING_TO_CANCEL = "当前没有待完成的操作。"
REPORT_STANDS = "您的报警(警情编号 {number})仍然有效,民警会继续处理;继续发送的文字、图片、视频会补充到该警情。"
CANCELLABLE = {  # the pending steps 取消 ends, by what the citizen was in the middle of
    "doorplate": "按扫描门牌地址报警",
    "pick_progress": "查看进度的选择",
    "complain_pick": "投诉(选择警情)",
    "complain_body": "投诉(填写内容)",
    "rate_pick": "投诉答复评价(选择投诉)",
    "rate_score": "投诉答复评价",
    "where": "补充位置",
}
MENU_REPORT = "请直接发送文字描述发生了什么,也可以发送图片、语音、视频或位置。" + EMERGENCY

DOORPLATE_SCANNED = "您扫描的门牌地址:{address}\n请发送文字描述发生了什么,我们将按该地址受理。" + EMERGENCY
DOORPLATE_INVALID = "该门牌二维码无效或已停用,请直接描述您的位置和发生了什么。"
DOORPLATE_DROPPED = "您之前扫描的门牌二维码已停用或已更换,本次报警未使用该门牌地址。"
ASK_PLACE = "请告诉我们事发地点:发送位置、扫描门牌二维码或直接输入地址。"
DOORPLATE_PLACED = "已按门牌地址为警情 {number} 记录位置:{address}"
NOT_OUR_CODE = "这不是本平台的门牌二维码。您可以直接发送文字报警。"

LOCATION_REMEMBERED = "已记录您的位置。"
FOLLOW_UP = "已收到,已转给处理警情 {number} 的民警。"
MEDIA_KINDS = {"video": "视频", "shortvideo": "视频", "image": "图片", "voice": "语音"}
MEDIA_REPORT = "{kind}报警"  # the description of a report made by media alone
LOCATION_REPORT = "位置报警:{label}"
LINK_TEXT = "分享链接:{title}\n{description}\n{url}"

NO_INCIDENTS = "您还没有报警记录。"
LIST_HEADER = "您的报警记录(最近{count}条):"
LIST_LINE = "{index}. {number} {status} {time}"
LIST_FOOTER = "回复序号查看办理进度。"
TIMELINE_HEADER = "警情 {number}(当前状态:{status})办理进度:"
TIMELINE_LINE = "{time} {note}"
NOT_FOUND = "未找到该警情,请检查编号。"
PICK_AGAIN = "请回复列表中的序号,或回复「取消」。"

COMPLAIN_PICK = "请选择要投诉的警情,回复序号:\n{lines}"
COMPLAIN_ASK_BODY = "您要投诉警情 {number}。请写明投诉的事实和诉求(回复「取消」放弃)。"
COMPLAINT_FILED = (
    "您的投诉已提交,投诉编号 {number}。将同时转交办案单位和督察部门,答复期限 {due}{tentative},请留意答复。"
)
DUE_TENTATIVE = "(暂定:{years}年节假日安排尚未公布,公布后可能调整)"

PUSH_OFFICER_MESSAGE = "【警情 {number}】民警回复:{body}\n(直接回复本消息即可与民警对话)"
PUSH_COMPLAINT_ANSWER = "【投诉 {number}】答复:{answer}\n(回复「评价投诉」对答复评分,回复「我的投诉」查看全部投诉)"
COMPLAINTS_OF_INCIDENT = "该警情的投诉:"
NO_COMPLAINTS = "您还没有投诉记录。"
COMPLAINTS_HEADER = "您的投诉(最近{count}条):"
COMPLAINT_LINE = "{number}(警情 {incident}){status} {time}"
COMPLAINT_ANSWER_LINE = "  答复:{answer}"
COMPLAINT_FIRST_ANSWER_REVIEWING = "  首次答复:{answer}(您评价不满意,督察部门正在复查)"
COMPLAINT_FIRST_ANSWER_REVIEWED = "  首次答复:{answer}(您评价不满意,已复查,复查答复见下)"
NOTHING_TO_RATE = "您没有待评价的投诉答复。"
RATE_PICK = "请选择要评价答复的投诉,回复序号:\n{lines}"
RATE_ASK_SCORE = "请对投诉 {number} 的答复评分:回复1到5的数字(5为非常满意,1、2为不满意)。"
RATE_REVIEW_NOTE = "如不满意,督察部门将重新复查一次。"
RATE_AGAIN = "请回复1到5之间的数字,或回复「取消」。"
RATED_CLOSED = "感谢您的评价,投诉 {number} 已办结。"
RATED_REOPENED = "感谢您的评价。您对答复不满意,督察部门将重新复查投诉 {number} 并再次答复您。"
COMPLAINT_NOT_FOUND = "未找到该投诉。"
PUSH_PROGRESS = "【警情 {number}】办理进度:{status}\n{note}"


def received(incident: Incident) -> str:
    address = f"\n地址:{incident.address}" if incident.address else ""
    return (
        f"您的报警已收到,警情编号 {incident.number}。{address}\n"
        f"民警将尽快处理,您可继续发送文字、图片、视频补充情况。" + EMERGENCY
    )


def _time(value) -> str:
    return f"{clock.local(value):%m-%d %H:%M}"


def _day(value) -> str:
    local = clock.local(value)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def incident_list(incidents: list[Incident]) -> str:
    if not incidents:
        return NO_INCIDENTS
    lines = [LIST_HEADER.format(count=len(incidents))]
    lines += [
        LIST_LINE.format(index=i, number=x.number, status=x.state.label, time=_time(x.reported_at))
        for i, x in enumerate(incidents, 1)
    ]
    lines.append(LIST_FOOTER)
    return "\n".join(lines)


def pick_lines(incidents: list[Incident]) -> str:
    return "\n".join(
        LIST_LINE.format(index=i, number=x.number, status=x.state.label, time=_time(x.reported_at))
        for i, x in enumerate(incidents, 1)
    )


def timeline(incident: Incident, entries: list[TimelineEntry], complaints: list[Complaint] = ()) -> str:
    lines = [TIMELINE_HEADER.format(number=incident.number, status=incident.state.label)]
    lines += [TIMELINE_LINE.format(time=_time(e.at), note=e.public_note) for e in entries]
    if complaints:
        lines.append(COMPLAINTS_OF_INCIDENT)
        lines += complaint_lines(list(complaints))
    return "\n".join(lines)


def complaint_lines(complaints: list[Complaint]) -> list[str]:
    lines = []
    for c in complaints:
        lines.append(
            COMPLAINT_LINE.format(
                number=c.number, incident=c.incident.number, status=c.state.label, time=_time(c.filed_at)
            )
        )
        if c.first_answer:  # "reviewed" only once the review's own answer exists
            template = COMPLAINT_FIRST_ANSWER_REVIEWED if c.answer else COMPLAINT_FIRST_ANSWER_REVIEWING
            lines.append(template.format(answer=c.first_answer))
        if c.answer:
            lines.append(COMPLAINT_ANSWER_LINE.format(answer=c.answer))
    return lines


def complaint_pick_lines(complaints: list[Complaint]) -> str:
    return "\n".join(f"{i}. {c.number}(警情 {c.incident.number})" for i, c in enumerate(complaints, 1))


def ask_score(complaint: Complaint) -> str:
    note = RATE_REVIEW_NOTE if complaint.review < MAX_REVIEWS else ""
    return RATE_ASK_SCORE.format(number=complaint.number) + note


def rated(complaint: Complaint) -> str:
    """What the complainant is told after rating: closed, or reopened for the second review."""
    template = RATED_CLOSED if complaint.state.is_final else RATED_REOPENED
    return template.format(number=complaint.number)


def complaint_list(complaints: list[Complaint]) -> str:
    if not complaints:
        return NO_COMPLAINTS
    return "\n".join([COMPLAINTS_HEADER.format(count=len(complaints)), *complaint_lines(complaints)])


def complaint_answer_template(complaint: Complaint) -> dict:
    return {
        "first": f"您的投诉 {complaint.number} 已答复",
        "keyword1": complaint.incident.number,
        "keyword2": "投诉已答复",
        "keyword3": _time(complaint.answered_at),
        "remark": (complaint.answer or "")[:180],
    }


def complaint_filed(complaint: Complaint) -> str:
    due = complaints.answer_due(complaint)
    tentative = DUE_TENTATIVE.format(years="、".join(map(str, due.years))) if due and due.provisional else ""
    return COMPLAINT_FILED.format(number=complaint.number, due=_day(due.at) if due else "-", tentative=tentative)


def progress(incident: Incident, entry: TimelineEntry) -> str:
    status = IncidentStatus(entry.status).label if entry.status else incident.state.label
    return PUSH_PROGRESS.format(number=incident.number, status=status, note=entry.public_note or "")


def progress_template(incident: Incident, entry: TimelineEntry) -> dict:
    """Fields of the progress template message (used outside the 48-hour window)."""
    status = IncidentStatus(entry.status).label if entry.status else incident.state.label
    return {
        "first": f"您的警情 {incident.number} 有新进度",
        "keyword1": incident.number,
        "keyword2": status,
        "keyword3": _time(entry.at),
        "remark": entry.public_note or "",
    }


def reply_template(text: str, at) -> dict:
    """Fields of the template message that carries a queued reply when the 48-hour window has closed."""
    return {
        "first": "110微信报警服务回复",
        "keyword1": "-",
        "keyword2": "消息回复",
        "keyword3": _time(at),
        "remark": text[:180],
    }


def evidence_failed_template(incident: Incident, kind: str, at) -> dict:
    return {
        "first": f"您的警情 {incident.number} 有新进度",
        "keyword1": incident.number,
        "keyword2": f"{kind}未能接收",
        "keyword3": _time(at),
        "remark": f"您发送的{kind}未能接收,请重新发送。",
    }


def officer_message_template(incident: Incident, body: str, at) -> dict:
    return {
        "first": f"民警就警情 {incident.number} 给您留言",
        "keyword1": incident.number,
        "keyword2": "民警留言",
        "keyword3": _time(at),
        "remark": body[:180],
    }


EVIDENCE_ADDED = "正在接收您补充的{kind},接收完成后附到警情 {number}。"
EVIDENCE_RECEIVING = "\n您发送的{kind}正在接收。"
PUSH_EVIDENCE_FAILED = "【警情 {number}】您发送的{kind}未能接收(文件已失效或下载失败),请重新发送。"
BAD_LOCATION = "未能识别该位置,请重新发送位置或用文字描述地址。"
LOCATED = "已为警情 {number} 记录位置:{address}"
ASK_DETAILS = "\n请用文字补充发生了什么。"
