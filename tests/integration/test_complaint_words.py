"""What a complainant reads in 「我的投诉」 is true at each step: after a low rating the first answer is under
review, and only once the review has answered is it "reviewed"."""

from bot import replies
from casework import complaints
from casework.complaint_status import ComplaintStatus
from casework.db import db
from casework.models import Complaint
from tests.complaint_steps import walk
from tests.integration.test_console import report_at


def test_my_complaints_says_under_review_until_the_review_has_answered(app, world, citizen, officer, supervisor):
    """A low rating reopens the complaint: the first answer is shown as under review, never as reviewed, until the
    review's own answer exists."""
    complaint = complaints.file(citizen=citizen, incident=report_at(citizen, "DH-0001"), body="出警太慢")
    complaint = walk(complaint, ComplaintStatus.ANSWERED, supervisor=supervisor, explainer=officer, answer="已批评教育")
    complaints.rate_answer(complaint=complaint, citizen=citizen, rating=2)
    reopened = db.session.get(Complaint, complaint.id)
    lines = "\n".join(replies.complaint_lines([reopened]))
    assert reopened.state is ComplaintStatus.ACCEPTED
    assert "首次答复:已批评教育(您评价不满意,督察部门正在复查)" in lines and "已复查" not in lines
    walk(reopened, ComplaintStatus.ANSWERED, supervisor=supervisor, explainer=officer, answer="复查后维持处理")
    lines = "\n".join(replies.complaint_lines([db.session.get(Complaint, complaint.id)]))
    assert "(您评价不满意,已复查,复查答复见下)" in lines and "复查后维持处理" in lines
