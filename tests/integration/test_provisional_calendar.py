"""A complaint filed on 28 December 2026, when 2027 has no official holiday notice: it is filed (no error), its
answer date in January 2027 is provisional and named so to the citizen and on the console's pages, the 督察 clock
counts the same moment, and loading the 2027 notice with a make-up working day moves the date, its clock and its
warning, audited and reported; a complaint whose date is official is left alone."""

import json
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from bot import replies
from casework import clock as wall_clock
from casework import complaints
from casework.clock import CHINA
from casework.db import db
from casework.models import AuditEntry, Complaint
from miniapp_api import present
from supervision import board, provisional, sweep
from supervision.models import DeadlineClock, ProvisionalDue, Warning
from tests.integration.test_console import Browser, log_in, report_at

SUPERVISOR = "100005"  # the city's 督察
ADMIN = "100000"


def bj(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=CHINA)


@pytest.fixture
def app(make_app):
    app = make_app(CONSOLE_SECURE_COOKIES=False)
    app.test_client_class = Browser
    return app


def answer_clock(complaint: Complaint) -> DeadlineClock:
    return db.session.scalar(
        select(DeadlineClock).where(
            DeadlineClock.subject_type == "complaint",
            DeadlineClock.subject_id == complaint.id,
            DeadlineClock.kind == "COMPLAINT_UNANSWERED",
        )
    )


def file_on(citizen, moment: datetime, app) -> Complaint:
    complaint = complaints.file(
        citizen=citizen, incident=report_at(citizen, "DH-0001"), body="出警太慢,态度恶劣", now=moment
    )
    db.session.commit()
    app.extensions["wx110.dispatcher"].drain()  # routing and the 督察 clock
    db.session.expire_all()
    return db.session.get(Complaint, complaint.id)


NOTICE_2027 = (
    "date,kind,name\n2027-01-01,holiday,元旦\n2027-01-02,workday,元旦调休上班\n"
    + "".join(f"2027-02-{d:02d},holiday,春节\n" for d in (5, 8, 9, 10, 11))
    + "2027-02-20,workday,春节调休上班\n"
)


def test_a_complaint_filed_in_late_december_gets_a_provisional_date_that_the_notice_moves(
    app, client, world, citizen, tmp_path
):
    complaint = file_on(citizen, bj(2026, 12, 28, 10), app)
    # 7 working days on the statutory holidays: 29, 30, 31 Dec, (1 Jan 元旦), 4, 5, 6, 7 Jan.
    assert complaint.number.startswith("TS") and complaint.due_at.astimezone(CHINA) == bj(2027, 1, 7, 10)
    due = complaints.answer_due(complaint)
    assert due.provisional and due.years == (2027,)
    assert provisional.provisional_fields(complaint) == {"due_at"}  # its next step (accept, 29 Dec) is official
    # One moment for one thing: the 督察 clock is the complaint's own date.
    clock_ = answer_clock(complaint)
    assert clock_.due_at == complaint.due_at and clock_.provisional
    # What the citizen is told, on the official account and in the mini-program.
    told = replies.complaint_filed(complaint)
    assert complaint.number in told and "2027年1月7日" in told and "暂定" in told and "2027年节假日安排尚未公布" in told
    assert present.complaint(complaint)["due_provisional"] is True

    # The console marks it, and an administrator sees the banner that asks for the notice.
    log_in(client, SUPERVISOR)
    page = client.get(f"/console/supervision/complaints/{complaint.id}").get_data(as_text=True)
    assert re.search(r'2027-01-07 10:00:00<span class="provisional"[^>]*>暂定</span>', page), page
    assert 'id="calendar-banner"' not in page  # a supervisor is not the one to import it
    client.post("/console/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page)[1]})
    log_in(client, ADMIN)
    wall_clock.freeze(bj(2026, 12, 28, 12))  # the page reads the clock: as of the day the complaint was filed
    queue = client.get("/console/").get_data(as_text=True)
    assert 'id="calendar-banner"' in queue and "2027年的节假日安排" in queue
    wall_clock.freeze(None)

    # The answer window is seen as due at the provisional moment until the notice arrives.
    sweep.sweep(now=bj(2027, 1, 7, 10))
    red = db.session.scalar(select(Warning).where(Warning.colour == "red", Warning.clock_id == clock_.id))
    assert red is not None and red.due_at == complaint.due_at

    notice = tmp_path / "2027.csv"
    notice.write_text(NOTICE_2027, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["calendar", "import", str(notice)])
    assert result.exit_code == 0, result.output
    # Sat 2 Jan worked: 29, 30, 31 Dec, 2, 4, 5, 6 Jan.
    assert f"{complaint.number} due_at: 2027-01-07 10:00 -> 2027-01-06 10:00" in result.output
    assert f"{complaint.number} COMPLAINT_UNANSWERED: 2027-01-07 10:00 -> 2027-01-06 10:00" in result.output
    db.session.expire_all()
    moved = db.session.get(Complaint, complaint.id)
    assert moved.due_at.astimezone(CHINA) == bj(2027, 1, 6, 10)
    assert not complaints.answer_due(moved).provisional and provisional.provisional_fields(moved) == frozenset()
    assert answer_clock(moved).due_at == moved.due_at and not answer_clock(moved).provisional
    assert db.session.get(Warning, red.id).resolution == "calendar_changed"
    recounted = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "deadline.recounted", AuditEntry.subject_id == complaint.id)
    )
    assert recounted is not None and json.loads(recounted.detail)["field"] == "due_at"
    assert "暂定" not in replies.complaint_filed(moved)
    assert board.pending_calendar_years(now=bj(2026, 12, 28, 12)) == []
    # The red comes back against the moved date, at once (it is already past).
    sweep.sweep(now=bj(2027, 1, 7, 10, 1))
    again = db.session.scalars(
        select(Warning).where(Warning.colour == "red", Warning.clock_id == clock_.id, Warning.resolved_at.is_(None))
    ).all()
    assert [w.due_at.astimezone(CHINA) for w in again] == [bj(2027, 1, 6, 10)]


def test_a_date_changed_since_is_not_moved_and_official_dates_are_not_remembered(app, world, citizen, tmp_path):
    early = file_on(citizen, bj(2026, 12, 1, 10), app)  # all in 2026: official
    assert not complaints.answer_due(early).provisional
    late = file_on(citizen, bj(2026, 12, 28, 10), app)
    rows = db.session.scalars(select(ProvisionalDue)).all()
    assert [(r.subject_id, r.field) for r in rows] == [(late.id, "due_at")]
    # Someone changed the column outside `assign` (say, a correction by hand): the notice leaves it alone.
    late.due_at = bj(2027, 1, 15, 10)
    db.session.commit()
    notice = tmp_path / "2027.csv"
    notice.write_text(NOTICE_2027, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["calendar", "import", str(notice)])
    assert result.exit_code == 0 and "due_at" not in result.output
    db.session.expire_all()
    assert db.session.get(Complaint, late.id).due_at.astimezone(CHINA) == bj(2027, 1, 15, 10)
    assert db.session.scalars(select(ProvisionalDue)).all() == []


def test_calendar_show_lists_a_provisional_and_an_official_year(app, world):
    runner = app.test_cli_runner()
    shown = json.loads(runner.invoke(args=["calendar", "show", "2027", "--json"]).output)
    assert shown["provisional"] and shown["source"] == "provisional" and shown["workdays"] == []
    february = [h for h in shown["holidays"] if h["date"].startswith("2027-02")]
    assert [h["date"] for h in february] == ["2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10"]
    assert {h["name"] for h in february} == {"春节", "春节补假"}
    assert "2027-02-06" in {h["date"] for h in shown["statutory"] if h["name"] == "春节"}
    official = json.loads(runner.invoke(args=["calendar", "show", "2026", "--json"]).output)
    assert official["official"] and {"date": "2026-02-14", "name": "春节"} in official["workdays"]
    plain = runner.invoke(args=["calendar", "show", "2027"]).output
    assert plain.startswith("2027: 暂定") and "2027-02-05 休 春节" in plain
