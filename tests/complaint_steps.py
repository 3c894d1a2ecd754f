"""Walk a complaint through the workflow's steps up to a given status, for tests that need one at that step."""

from datetime import datetime

from casework import complaint_inbox, complaints
from casework.complaint_status import ComplaintStatus
from casework.db import db
from casework.models import Complaint, Officer, Verdict
from supervision import complaints as supervision

ORDER = [
    ComplaintStatus.FILED,
    ComplaintStatus.ROUTED,
    ComplaintStatus.ACCEPTED,
    ComplaintStatus.INVESTIGATING,
    ComplaintStatus.EXPLAINED,
    ComplaintStatus.DECIDED,
    ComplaintStatus.ANSWERED,
]


def walk(
    complaint: Complaint | int,
    to: ComplaintStatus,
    *,
    supervisor: Officer,
    explainer: Officer,
    answer: str = "已核实,对处置民警批评教育。",
    now: datetime | None = None,
) -> Complaint:
    """Take the complaint from where it is to `to`, each step as its use case does it."""
    complaint_id = complaint if isinstance(complaint, int) else complaint.id
    steps = {
        ComplaintStatus.ROUTED: lambda c: (
            complaints.route_to_unit(c.id, now=now),
            complaints.route_to_supervision(c.id, now=now),
        ),
        ComplaintStatus.ACCEPTED: lambda c: supervision.accept(complaint=c, officer=supervisor, now=now),
        ComplaintStatus.INVESTIGATING: lambda c: supervision.request_explanation(
            complaint=c, officer=supervisor, request="请说明出警经过", now=now
        ),
        ComplaintStatus.EXPLAINED: lambda c: complaint_inbox.explain(
            complaint=c, officer=explainer, explanation="当晚警力不足,已安排整改", now=now
        ),
        ComplaintStatus.DECIDED: lambda c: supervision.give_verdict(
            complaint=c, officer=supervisor, verdict=Verdict.PARTLY_SUBSTANTIATED, action="对处置民警批评教育", now=now
        ),
        ComplaintStatus.ANSWERED: lambda c: supervision.answer(complaint=c, officer=supervisor, text=answer, now=now),
    }
    current = db.session.get(Complaint, complaint_id)
    while ORDER.index(current.state) < ORDER.index(to):
        steps[ORDER[ORDER.index(current.state) + 1]](current)
        current = db.session.get(Complaint, complaint_id)
    return current
