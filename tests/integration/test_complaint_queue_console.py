"""The supervisor's complaint pages in the console: the queue sorted by urgency with its deadlines and a status
filter, each step as a form on the complaint page, the unit's explanation requested in its inbox, CSRF on every
form, supervisors only, and another unit's complaint answering 404."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from casework import clock, complaints
from casework.complaint_status import ComplaintStatus
from casework.db import db
from casework.models import AuditEntry, Complaint, Officer, Role, Unit
from tests.complaint_steps import walk
from tests.integration.test_console import Browser, csrf_of, log_in, report_at

SUPERVISOR = "100005"  # 郑督, the city
STATION_A = "100002"  # 林晓, 东湖派出所


@pytest.fixture
def app(make_app):
    app = make_app(CONSOLE_SECURE_COOKIES=False)
    app.test_client_class = Browser
    return app


def numbers(page: str) -> list[str]:
    return re.findall(r'<tr data-number="(\w+)"', page)


def routed(citizen, code: str, body: str, supervisor: Officer, **kwargs) -> Complaint:
    complaint = complaints.file(citizen=citizen, incident=report_at(citizen, code), body=body, **kwargs)
    return walk(complaint, ComplaintStatus.ROUTED, supervisor=supervisor, explainer=None)


def test_the_queue_lists_the_most_urgent_first_with_the_time_left_and_filters_by_status(client, world, citizen):
    supervisor = world.officer(SUPERVISOR)
    later = routed(citizen, "DH-0001", "出警太慢", supervisor)
    overdue = routed(citizen, "XH-0001", "态度不好", supervisor)
    db.session.get(Complaint, overdue.id).step_due_at = clock.now() - timedelta(hours=3)
    db.session.commit()
    log_in(client, SUPERVISOR)
    page = client.get("/console/supervision/complaints").get_data(as_text=True)
    assert numbers(page) == [overdue.number, later.number]
    assert re.search(rf'data-number="{overdue.number}"[^>]*class="overdue"', page)
    assert "已超期2小时" in page or "已超期3小时" in page
    assert "剩余" in page  # the other one's deadline is ahead

    client.post(
        f"/console/supervision/complaints/{later.id}/accept", data={"csrf_token": csrf_of(page)}, follow_redirects=True
    )
    accepted = client.get("/console/supervision/complaints?status=accepted").get_data(as_text=True)
    assert numbers(accepted) == [later.number]
    assert numbers(client.get("/console/supervision/complaints?status=routed").get_data(as_text=True)) == [
        overdue.number
    ]


def test_each_step_is_a_form_on_the_complaint_page_and_the_unit_answers_in_its_inbox(app, world, citizen):
    supervisor_client, station_client = app.test_client(), app.test_client()
    complaint = routed(citizen, "DH-0001", "民警到场后没有调解就走了", world.officer(SUPERVISOR))
    log_in(supervisor_client, SUPERVISOR)
    log_in(station_client, STATION_A, address="10.0.0.2")
    path = f"/console/supervision/complaints/{complaint.id}"

    def page() -> str:
        return supervisor_client.get(path).get_data(as_text=True)

    def step(name: str, **form) -> str:
        return supervisor_client.post(
            f"{path}/{name}", data={"csrf_token": csrf_of(page()), **form}, follow_redirects=True
        ).get_data(as_text=True)

    shown = page()
    assert 'id="accept"' in shown and complaint.incident.number in shown and "督察受理" in shown
    assert "已受理该投诉" in step("accept")
    assert "已要求办案单位作出情况说明" in step("explanation-request", request="请说明为何未调解")

    inbox = station_client.get("/console/complaints").get_data(as_text=True)
    assert "请说明为何未调解" in inbox and "前作出情况说明" in inbox and "剩余" in inbox
    station_client.post(
        f"/console/complaints/{complaint.id}/explanation",
        data={"csrf_token": csrf_of(inbox), "explanation": "当时双方情绪激动,约定次日调解"},
    )
    shown = page()
    assert "当时双方情绪激动,约定次日调解" in shown and 'id="give-verdict"' in shown
    assert "请选择调查结论" in step("verdict", verdict="", action="x")  # refused, shown on the page
    assert "已记录调查结论" in step("verdict", verdict="partly_substantiated", action="责令所在派出所书面检查")
    assert "已答复投诉人" in step("answer", answer="经核查部分属实,已责令整改,次日已组织调解。")
    shown = page()
    assert "投诉部分属实" in shown and "等待投诉人评价" in shown
    db.session.expire_all()
    c = db.session.get(Complaint, complaint.id)
    assert c.state is ComplaintStatus.ANSWERED and c.answered_by_id == world.officer(SUPERVISOR).id
    got = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_id == c.id, AuditEntry.subject_type == "complaint")
    ).all()
    assert {"complaint.accepted", "complaint.explanation_requested", "complaint.explained"} <= set(got)
    assert {"complaint.verdict_given", "complaint.answered"} <= set(got)
    # The case page lists the incident's complaints: to supervision's page for the supervisor, to the inbox else.
    case = supervisor_client.get(f"/console/incidents/{c.incident_id}").get_data(as_text=True)
    assert f'href="/console/supervision/complaints/{c.id}"' in case and "已答复待评价" in case
    case = station_client.get(f"/console/incidents/{c.incident_id}").get_data(as_text=True)
    assert c.number in case and "/console/supervision/complaints/" not in case


def test_forms_need_their_csrf_token_pages_need_a_supervisor_and_another_unit_s_complaint_is_404(
    client, world, citizen
):
    supervisor = world.officer(SUPERVISOR)
    theirs = routed(citizen, "JB-0001", "江滨的投诉", supervisor)  # 江滨区: another county
    ours = routed(citizen, "DH-0001", "东湖的投诉", supervisor)
    county = Officer(
        badge_no="T-dh-sup",
        name="东湖督察",
        unit_id=db.session.scalar(select(Unit.id).where(Unit.code == "330102")),
        roles=[Role.SUPERVISOR.value],
    )
    county.set_password("a-long-password")
    db.session.add(county)
    db.session.commit()

    log_in(client, STATION_A)  # an officer, not a supervisor
    assert client.get("/console/supervision/complaints").status_code == 403
    assert client.get(f"/console/supervision/complaints/{ours.id}").status_code == 403
    client.post("/console/logout", data={"csrf_token": csrf_of(client.get("/console/complaints").get_data(True))})

    log_in(client, "T-dh-sup", password="a-long-password")
    page = client.get("/console/supervision/complaints").get_data(as_text=True)
    assert numbers(page) == [ours.number]
    token = csrf_of(page)
    assert client.get(f"/console/supervision/complaints/{theirs.id}").status_code == 404
    assert (
        client.post(f"/console/supervision/complaints/{theirs.id}/accept", data={"csrf_token": token}).status_code
        == 404
    )
    assert client.post(f"/console/supervision/complaints/{ours.id}/accept", data={}).status_code == 400  # no token
    db.session.expire_all()
    assert db.session.get(Complaint, ours.id).state is ComplaintStatus.ROUTED
    assert db.session.get(Complaint, theirs.id).state is ComplaintStatus.ROUTED
    client.post(f"/console/supervision/complaints/{ours.id}/accept", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Complaint, ours.id).state is ComplaintStatus.ACCEPTED


def test_the_complaint_page_names_who_investigates_not_the_unit_complained_about(client, world, citizen):
    supervisor = world.officer(SUPERVISOR)
    complaint = routed(citizen, "DH-0001", "出警太慢", supervisor)
    log_in(client, SUPERVISOR)
    page = client.get(f"/console/supervision/complaints/{complaint.id}").get_data(as_text=True)
    assert '<dd id="investigator">待督察部门受理(东湖派出所及上级单位督察)</dd>' in page
    client.post(
        f"/console/supervision/complaints/{complaint.id}/accept",
        data={"csrf_token": csrf_of(page)},
        follow_redirects=True,
    )
    page = client.get(f"/console/supervision/complaints/{complaint.id}").get_data(as_text=True)
    assert '<dd id="investigator">示范市公安局督察(郑督)</dd>' in page and "调查单位" not in page
