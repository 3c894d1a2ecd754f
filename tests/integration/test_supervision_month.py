"""A month of supervision on a controlled clock (`now` passed in everywhere, nothing frozen): incidents and
complaints at chosen moments give exactly the expected blue, yellow and red warnings at the expected sweeps,
across the 2025 National Day holiday with its make-up working days (Sunday 28 September and Saturday 11 October
worked, 1-8 October off); running every sweep twice raises nothing twice, and a rectified problem resolves its
warning on the next sweep."""

from datetime import datetime, timedelta

from sqlalchemy import func, select

from casework import complaint_inbox, complaints, incidents
from casework.clock import CHINA
from casework.db import db
from casework.models import AuditEntry, Case, Category, Incident
from casework.status import Channel, IncidentStatus
from supervision import complaints as supervision_complaints
from supervision import points, sweep, warnings
from supervision.models import DeadlineClock, Notification, Warning

S = IncidentStatus


def bj(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Beijing wall-clock moment in 2025."""
    return datetime(2025, month, day, hour, minute, tzinfo=CHINA)


def drain(app) -> None:
    db.session.commit()
    app.extensions["wx110.dispatcher"].drain()
    db.session.expire_all()


def raised(since_id: int = 0) -> list[tuple]:
    rows = db.session.scalars(select(Warning).where(Warning.id > since_id).order_by(Warning.id))
    return [
        (w.point.code, w.colour, w.subject_number, w.due_at.astimezone(CHINA), w.raised_at.astimezone(CHINA))
        for w in rows
    ]


def test_a_month_of_deadlines_across_national_day(app, world, citizen, officer, supervisor):
    place = world.doorplate("DH-0001")
    fraud = db.session.scalar(select(Category).where(Category.code == "0102"))  # criminal, 3 working days
    state: dict = {}
    # This month is about the incident and complaint deadlines: the case file's materials are left out of it.
    points.point(points.MATERIALS_MISSING).enabled = False
    db.session.commit()

    def report(key, at, category=None):
        incident = incidents.report(
            citizen=citizen,
            channel=Channel.WECHAT,
            description=f"报警 {key}",
            doorplate=place,
            category=category,
            now=at,
        )
        state[key] = incident.id

    def move(key, status, at):
        incidents.change_status(incident=db.session.get(Incident, state[key]), actor=officer, status=status, now=at)

    def recategorise(key, code, at):
        category = db.session.scalar(select(Category).where(Category.code == code))
        incidents.recategorise(
            incident=db.session.get(Incident, state[key]), actor=officer, category=category, reason="核实后调整", now=at
        )

    def complain(key, at):
        """Filed, routed to the unit and supervision, accepted and the unit's explanation asked for, all at `at`."""
        incident = db.session.get(Incident, state[key])
        state["complaint"] = complaints.file(citizen=citizen, incident=incident, body="出警太慢", now=at).id
        drain(app)  # the routing jobs
        complaint = db.session.get(complaints.Complaint, state["complaint"])
        supervision_complaints.accept(complaint=complaint, officer=supervisor, now=at)
        supervision_complaints.request_explanation(complaint=complaint, officer=supervisor, now=at)

    def explain(at):
        complaint = db.session.get(complaints.Complaint, state["complaint"])
        complaint_inbox.explain(complaint=complaint, officer=officer, explanation="当日警力不足", now=at)

    def answer(at):
        complaint = db.session.get(complaints.Complaint, state["complaint"])
        supervision_complaints.give_verdict(
            complaint=complaint, officer=supervisor, verdict="partly_substantiated", action="批评教育", now=at
        )
        supervision_complaints.answer(complaint=complaint, officer=supervisor, text="已核查并整改", now=at)

    def rectify(at):
        finding = db.session.scalar(
            select(Warning).where(Warning.colour == "yellow", Warning.resolved_at.is_(None)).order_by(Warning.id)
        )
        warnings.rectify(warning=finding, officer=officer, text="已按规定恢复原类别并说明", now=at)

    # What happens, and when (Beijing time).
    script = [
        # A: a fraud report handled and accepted the day before the holiday week: 3 working days of filing review
        # are Tue 30 Sep, Thu 9 Oct, Fri 10 Oct -> due Fri 10 Oct 15:00 (on a plain calendar it would be 2 Oct).
        (bj(9, 26, 9, 0), lambda: report("A", bj(9, 26, 9, 0), fraud)),
        (bj(9, 26, 9, 5), lambda: move("A", S.DISPATCHED, bj(9, 26, 9, 5))),
        (bj(9, 26, 9, 20), lambda: move("A", S.ON_SCENE, bj(9, 26, 9, 20))),
        (bj(9, 26, 10, 0), lambda: move("A", S.HANDLED, bj(9, 26, 10, 0))),
        (bj(9, 29, 15, 0), lambda: move("A", S.ACCEPTED, bj(9, 29, 15, 0))),
        (bj(10, 10, 16, 30), lambda: move("A", S.FILED, bj(10, 10, 16, 30))),  # filed 90 minutes late
        # D: accepted on Thu 9 Oct after the holiday: Fri 10 Oct, Sat 11 Oct (a make-up working day) and Mon 13 Oct
        # -> due Mon 13 Oct 15:00 (Tue 14 Oct if the make-up Saturday were not counted); never decided.
        (bj(10, 9, 9, 0), lambda: report("D", bj(10, 9, 9, 0), fraud)),
        (bj(10, 9, 9, 2), lambda: move("D", S.DISPATCHED, bj(10, 9, 9, 2))),
        (bj(10, 9, 9, 15), lambda: move("D", S.ON_SCENE, bj(10, 9, 9, 15))),
        (bj(10, 9, 10, 0), lambda: move("D", S.HANDLED, bj(10, 9, 10, 0))),
        (bj(10, 9, 15, 0), lambda: move("D", S.ACCEPTED, bj(10, 9, 15, 0))),
        # B: a report nobody dispatches for 90 minutes: yellow at 10 min, red at 30, resolved once dispatched.
        (bj(10, 14, 8, 0), lambda: report("B", bj(10, 14, 8, 0))),
        (bj(10, 14, 9, 30), lambda: move("B", S.DISPATCHED, bj(10, 14, 9, 30))),
        # A complaint on A: explanation due in 3 working days; the answer is due when the complaint says, 7 working
        # days (Wed 22 Oct 10:00): the 督察 clock counts the same moment, so the answer on 21 Oct is in time.
        (bj(10, 13, 10, 0), lambda: complain("A", bj(10, 13, 10, 0))),
        (bj(10, 15, 9, 0), lambda: explain(bj(10, 15, 9, 0))),
        (bj(10, 21, 9, 0), lambda: answer(bj(10, 21, 9, 0))),
        # C: reclassified after it was handled: a finding, rectified, resolved by the next sweep.
        (bj(10, 20, 9, 0), lambda: report("C", bj(10, 20, 9, 0))),
        (bj(10, 20, 9, 1), lambda: move("C", S.DISPATCHED, bj(10, 20, 9, 1))),
        (bj(10, 20, 9, 10), lambda: move("C", S.ON_SCENE, bj(10, 20, 9, 10))),
        (bj(10, 20, 9, 30), lambda: move("C", S.HANDLED, bj(10, 20, 9, 30))),
        (bj(10, 20, 10, 20), lambda: recategorise("C", "0102", bj(10, 20, 10, 20))),
        (bj(10, 22, 11, 15), lambda: rectify(bj(10, 22, 11, 15))),
    ]
    script.sort(key=lambda step: step[0])

    moment, end = bj(9, 26, 8, 0), bj(10, 26, 0, 0)
    sweeps = 0
    while moment <= end:  # a sweep every hour on the hour (run twice), after what happened before it
        while script and script[0][0] <= moment:
            script.pop(0)[1]()
            drain(app)
        sweep.sweep(now=moment)
        again = sweep.sweep(now=moment)
        assert again.raised == 0 and again.resolved == 0, f"the second sweep at {moment} changed something"
        sweeps += 1
        drain(app)
        moment += timedelta(hours=1)
    assert not script and sweeps == 29 * 24 + 16 + 1

    number = {key: db.session.get(Incident, state[key]).number for key in ("A", "B", "C", "D")}
    case_number = {key: db.session.get(Case, state[key]).number for key in ("A", "D")}  # a case's clocks name it
    complaint_number = db.session.get(complaints.Complaint, state["complaint"]).number
    blue_a = bj(9, 29, 15, 0) + (bj(10, 10, 15, 0) - bj(9, 29, 15, 0)) * 0.6  # 6 Oct 05:24
    assert raised() == [
        ("FILING_OVERDUE", "blue", case_number["A"], blue_a, bj(10, 6, 6)),
        ("FILING_OVERDUE", "red", case_number["A"], bj(10, 10, 15, 0), bj(10, 10, 15)),
        ("FILING_OVERDUE", "blue", case_number["D"], bj(10, 9, 15) + timedelta(days=4) * 0.6, bj(10, 12, 1)),
        ("FILING_OVERDUE", "red", case_number["D"], bj(10, 13, 15, 0), bj(10, 13, 15)),
        ("INCIDENT_UNASSIGNED", "yellow", number["B"], bj(10, 14, 8, 10), bj(10, 14, 9)),
        ("INCIDENT_UNASSIGNED", "red", number["B"], bj(10, 14, 8, 30), bj(10, 14, 9)),
        ("EXPLANATION_OVERDUE", "blue", complaint_number, bj(10, 15, 5, 12), bj(10, 15, 6)),
        ("COMPLAINT_UNANSWERED", "blue", complaint_number, bj(10, 13, 10) + timedelta(days=9) * 0.6, bj(10, 18, 20)),
        ("RECLASSIFIED_AFTER_HANDLED", "yellow", number["C"], bj(10, 20, 10, 20), bj(10, 20, 11)),
    ]
    resolved = {
        (w.point.code, w.colour, w.subject_number != case_number["D"]): (
            w.resolved_at and w.resolved_at.astimezone(CHINA),
            w.resolution,
        )
        for w in db.session.scalars(select(Warning))
    }
    assert resolved == {
        ("FILING_OVERDUE", "blue", True): (bj(10, 10, 15), "escalated"),
        ("FILING_OVERDUE", "red", True): (bj(10, 10, 17), "filed"),
        ("FILING_OVERDUE", "blue", False): (bj(10, 13, 15), "escalated"),
        ("FILING_OVERDUE", "red", False): (None, None),  # still undecided at the month's end: the red stays
        ("EXPLANATION_OVERDUE", "blue", True): (bj(10, 15, 9), "explained"),
        ("INCIDENT_UNASSIGNED", "yellow", True): (bj(10, 14, 9), "escalated"),
        ("INCIDENT_UNASSIGNED", "red", True): (bj(10, 14, 10), "dispatched"),
        ("COMPLAINT_UNANSWERED", "blue", True): (bj(10, 21, 9), "answered"),
        ("RECLASSIFIED_AFTER_HANDLED", "yellow", True): (bj(10, 22, 12), "rectified"),
    }
    # The rectification notice carried its own due date: 3 working days after the finding.
    finding = db.session.scalar(
        select(Warning).where(Warning.colour == "yellow", Warning.subject_number == number["C"])
    )
    assert finding.rectify_due_at.astimezone(CHINA) == bj(10, 23, 10, 20)
    # No clock is left waiting on the sweep but A's investigation (from its filing, blue after 48 days: past this
    # month); every warning was audited once when raised.
    waiting = db.session.scalars(select(DeadlineClock).where(DeadlineClock.next_check_at.is_not(None))).all()
    assert [(k.kind, k.subject_number, k.next_check_at.astimezone(CHINA)) for k in waiting] == [
        (points.INVESTIGATION_OVERDUE, case_number["A"], bj(10, 10, 16, 30) + timedelta(days=48))
    ]
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "warning.raised"))
        == 9
    )
    # The console notices: blue and yellow to the officer in charge and the county's legal officer, red to the
    # supervisors above.
    told = {
        (n.warning.colour, n.officer.badge_no)
        for n in db.session.scalars(select(Notification).where(Notification.channel == "console"))
    }
    assert ("blue", "100004") in told and ("red", "100005") in told
