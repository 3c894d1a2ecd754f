"""Supervision's complaint pages in the console: the queue, sorted by urgency, and the complaint page with each
step's action as a form. Supervisors only (others get 403); a complaint outside the supervisor's scope answers 404.
"""

from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for

from casework import clock
from casework.access import may_investigate
from casework.complaint_status import ComplaintStatus, Verdict
from casework.errors import DomainError
from casework.models import Role
from console.auth import me, requires
from console.views import csrf, headers
from supervision import complaints as supervision

bp = Blueprint("complaint_queue", __name__, url_prefix="/console/supervision")
bp.after_request(headers)


@bp.before_request
def check_csrf() -> None:
    csrf.protect()


@bp.app_template_filter("remaining")
def remaining(due: datetime | None) -> str:
    """The time left to a deadline, or how long it is overdue, in the words a supervisor reads at a glance."""
    if due is None:
        return ""
    seconds = int((due - clock.now()).total_seconds())
    left = abs(seconds)
    days, hours, minutes = left // 86400, left % 86400 // 3600, left % 3600 // 60
    span = f"{days}天{hours}小时" if days else (f"{hours}小时{minutes}分钟" if hours else f"{minutes}分钟")
    return f"剩余{span}" if seconds >= 0 else f"已超期{span}"


@bp.get("/complaints")
@requires(Role.SUPERVISOR)
def queue():
    status = request.args.get("status", "")
    chosen = status if status in {s.value for s in ComplaintStatus} else ""
    return render_template(
        "console/supervision_queue.html",
        complaints=supervision.queue(me(), status=chosen or None),
        statuses=list(ComplaintStatus),
        chosen=chosen,
        now=clock.now(),
    )


@bp.get("/complaints/<int:complaint_id>")
@requires(Role.SUPERVISOR)
def complaint(complaint_id: int):
    officer = me()
    record = supervision.complaint_for_supervisor(officer, complaint_id)
    return render_template(
        "console/supervision_complaint.html",
        c=record,
        investigator=supervision.investigator(record),
        steps=supervision.steps(record),
        verdicts=list(Verdict),
        may_act=may_investigate(officer, record),
        Status=ComplaintStatus,
        now=clock.now(),
    )


def _step(complaint_id: int, action, done: str):
    """Run one step on a complaint in the supervisor's scope; a refusal is shown on the complaint's page."""
    officer = me()
    record = supervision.complaint_for_supervisor(officer, complaint_id)  # 404 outside the scope
    try:
        action(record, officer)
    except DomainError as refused:
        flash(refused.message, "error")
    else:
        flash(done)
    return redirect(url_for("complaint_queue.complaint", complaint_id=complaint_id))


@bp.post("/complaints/<int:complaint_id>/accept")
@requires(Role.SUPERVISOR)
def accept(complaint_id: int):
    return _step(complaint_id, lambda c, o: supervision.accept(complaint=c, officer=o), "已受理该投诉")


@bp.post("/complaints/<int:complaint_id>/explanation-request")
@requires(Role.SUPERVISOR)
def request_explanation(complaint_id: int):
    return _step(
        complaint_id,
        lambda c, o: supervision.request_explanation(complaint=c, officer=o, request=request.form.get("request")),
        "已要求办案单位作出情况说明",
    )


@bp.post("/complaints/<int:complaint_id>/verdict")
@requires(Role.SUPERVISOR)
def verdict(complaint_id: int):
    return _step(
        complaint_id,
        lambda c, o: supervision.give_verdict(
            complaint=c, officer=o, verdict=request.form.get("verdict", ""), action=request.form.get("action", "")
        ),
        "已记录调查结论",
    )


@bp.post("/complaints/<int:complaint_id>/answer")
@requires(Role.SUPERVISOR)
def answer(complaint_id: int):
    return _step(
        complaint_id,
        lambda c, o: supervision.answer(complaint=c, officer=o, text=request.form.get("answer", "")),
        "已答复投诉人",
    )
