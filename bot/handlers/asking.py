"""Questions and multi-step requests in chat: my reports, progress of one, complaints, cancel, help."""

import re
from collections.abc import Callable

from bot import replies
from bot.registry import Turn
from casework import complaints, queries
from casework.complaint_status import ComplaintStatus
from casework.db import db
from casework.errors import DomainError, NotFound
from casework.models import Complaint, Incident

NUMBER = re.compile(r"^(?:进度\s*)?(JQ\d{14})$", re.IGNORECASE)
SCORE = re.compile(r"^[1-5]$")
LIST_SIZE = 10
PICK_SIZE = 5


def my_reports(turn: Turn) -> str:
    """The citizen's reports, newest first; a number picked next shows that one's progress."""
    found = queries.incidents_of(turn.citizen, limit=LIST_SIZE)
    if found:
        turn.conversation.expect("pick_progress", ids=[x.id for x in found])
    return replies.incident_list(found)


def progress(turn: Turn) -> str:
    """Progress of the only (or most recent open) report, or a list to pick from."""
    found = queries.incidents_of(turn.citizen, limit=PICK_SIZE)
    if not found:
        return replies.NO_INCIDENTS
    if len(found) == 1:
        return timeline(turn, found[0].id)
    turn.conversation.expect("pick_progress", ids=[x.id for x in found])
    return replies.incident_list(found)


def timeline(turn: Turn, incident_id: int | None = None, number: str | None = None) -> str:
    """The public timeline of one of the citizen's own incidents (anyone else's reads as not found)."""
    try:
        incident = queries.incident_of(turn.citizen, incident_id=incident_id, number=number)
    except NotFound:
        return replies.NOT_FOUND
    mine = [c for c in complaints.of_citizen(turn.citizen) if c.incident_id == incident.id]
    return replies.timeline(incident, queries.public_timeline(incident), mine)


def my_complaints(turn: Turn) -> str:
    """The citizen's complaints, newest first, with their status and the answer when there is one."""
    return replies.complaint_list(complaints.of_citizen(turn.citizen)[:LIST_SIZE])


def complain(turn: Turn) -> str:
    """Start a complaint: ask which incident (unless there is only one), then what happened."""
    found = queries.incidents_of(turn.citizen, limit=PICK_SIZE)
    if not found:
        return replies.NO_INCIDENTS
    if len(found) == 1:
        return _ask_complaint_body(turn, found[0])
    turn.conversation.expect("complain_pick", ids=[x.id for x in found])
    return replies.COMPLAIN_PICK.format(lines=replies.pick_lines(found))


def _ask_complaint_body(turn: Turn, incident: Incident) -> str:
    turn.conversation.expect("complain_body", incident_id=incident.id)
    return replies.COMPLAIN_ASK_BODY.format(number=incident.number)


def cancel(turn: Turn) -> str:
    """Cancel the pending question only: a report already made stands, and its follow-up link is kept."""
    step = turn.conversation.step()
    what = replies.CANCELLABLE.get(step.get("step", ""))
    turn.conversation.clear()
    answer = replies.CANCELLED.format(what=what) if what else replies.NOTHING_TO_CANCEL
    incident_id = turn.conversation.following()
    incident = db.session.get(Incident, incident_id) if incident_id else None
    if incident is not None and incident.citizen_id == turn.citizen.id:
        answer += replies.REPORT_STANDS.format(number=incident.number)
    return answer


def rate_complaint(turn: Turn) -> str:
    """Rate the answer to a complaint: the one waiting for a rating, or a list of them to pick from."""
    waiting = [c for c in complaints.of_citizen(turn.citizen) if c.state is ComplaintStatus.ANSWERED][:PICK_SIZE]
    if not waiting:
        return replies.NOTHING_TO_RATE
    if len(waiting) == 1:
        return _ask_score(turn, waiting[0])
    turn.conversation.expect("rate_pick", ids=[c.id for c in waiting])
    return replies.RATE_PICK.format(lines=replies.complaint_pick_lines(waiting))


def _ask_score(turn: Turn, complaint: Complaint) -> str:
    turn.conversation.expect("rate_score", complaint_id=complaint.id)
    return replies.ask_score(complaint)


def _rate_pick(turn: Turn, step: dict, text: str) -> str:
    complaint_id = _picked(step, text)
    if complaint_id is None:
        return replies.PICK_AGAIN
    try:
        return _ask_score(turn, complaints.complaint_of(turn.citizen, complaint_id))
    except NotFound:
        turn.conversation.clear()
        return replies.COMPLAINT_NOT_FOUND


def _rate_score(turn: Turn, step: dict, text: str) -> str:
    if not SCORE.match(text):
        return replies.RATE_AGAIN
    turn.conversation.clear()
    try:
        complaint = complaints.complaint_of(turn.citizen, step.get("complaint_id"))
        complaint = complaints.rate_answer(complaint=complaint, citizen=turn.citizen, rating=int(text))
    except DomainError as refused:
        return refused.message
    return replies.rated(complaint)


def help_text(turn: Turn) -> str:
    return replies.HELP


COMMANDS: dict[str, Callable[[Turn], str]] = {
    "取消": cancel,
    "我的报警": my_reports,
    "报警记录": my_reports,
    "查询": my_reports,
    "进度": progress,
    "查进度": progress,
    "投诉": complain,
    "我的投诉": my_complaints,
    "投诉记录": my_complaints,
    "投诉举报": complain,
    "评价投诉": rate_complaint,
    "投诉评价": rate_complaint,
    "帮助": help_text,
    "?": help_text,
    "\uff1f": help_text,  # the full-width question mark Chinese keyboards type
}


def _picked(step: dict, text: str) -> int | None:
    ids = step.get("ids") or []
    if text.isdigit() and 1 <= int(text) <= len(ids):
        return int(ids[int(text) - 1])
    return None


def _pick_progress(turn: Turn, step: dict, text: str) -> str | None:
    incident_id = _picked(step, text)
    if incident_id is None:
        turn.conversation.clear()  # not a pick: the text is something new (e.g. a report)
        return None
    return timeline(turn, incident_id)


def _complain_pick(turn: Turn, step: dict, text: str) -> str:
    incident_id = _picked(step, text)
    if incident_id is None:
        return replies.PICK_AGAIN
    try:
        incident = queries.incident_of(turn.citizen, incident_id=incident_id)
    except NotFound:
        turn.conversation.clear()
        return replies.NOT_FOUND
    return _ask_complaint_body(turn, incident)


def _complain_body(turn: Turn, step: dict, text: str) -> str:
    try:
        incident = queries.incident_of(turn.citizen, incident_id=step.get("incident_id"))
    except NotFound:
        turn.conversation.clear()
        return replies.NOT_FOUND
    complaint = complaints.file(citizen=turn.citizen, incident=incident, body=text, source_msg_id=turn.source_id)
    turn.conversation.clear()
    return replies.complaint_filed(complaint)


STEPS: dict[str, Callable[[Turn, dict, str], str | None]] = {
    "pick_progress": _pick_progress,
    "complain_pick": _complain_pick,
    "complain_body": _complain_body,
    "rate_pick": _rate_pick,
    "rate_score": _rate_score,
}


def answer_text(turn: Turn, text: str) -> str | None:
    """The answer when `text` is a command, a step's expected answer or an incident number; else None (a report)."""
    command = COMMANDS.get(text.strip())
    if command is not None:
        return command(turn)
    step = turn.conversation.step()
    handle = STEPS.get(step.get("step", ""))
    if handle is not None:
        answered = handle(turn, step, text.strip())
        if answered is not None:
            return answered
    number = NUMBER.match(text.strip())
    if number:
        return timeline(turn, number=number.group(1))
    return None


MENU: dict[str, Callable[[Turn], str]] = {
    "REPORT": lambda turn: replies.MENU_REPORT,
    "MY_REPORTS": my_reports,
    "PROGRESS": progress,
    "COMPLAIN": complain,
    "MY_COMPLAINTS": my_complaints,
}
