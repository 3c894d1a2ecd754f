"""The evaluation pages through HTTP (Flask's test client, the real database): an evaluator reaches exactly the
cases of their own tasks (another evaluator's task, a material of another case, the case page of another county:
each a missing page), each view audited; forms need their CSRF token and the right role; the unit's printable
report and the results CSV (with the BOM Excel needs) are scoped to the plan's units and organiser."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from casework import case_materials, clock, seed
from casework.db import db
from casework.models import AuditEntry, Officer, Role, Unit
from supervision import evaluation, evaluation_review, evaluation_standards, sweep
from supervision.evaluation_models import EvaluationTask
from supervision.models import Warning
from tests.evaluation_steps import STANDARD_CSV, accept_case, add_officers, bj
from tests.integration.test_console import Browser, csrf_of, log_in
from tests.integration.test_evaluation import make_plan


@pytest.fixture
def app(make_app):
    app = make_app(CONSOLE_SECURE_COOKIES=False)
    app.test_client_class = Browser
    return app


@pytest.fixture
def drawn(app, world, citizen):
    extra = add_officers()
    standard = evaluation_standards.import_file(
        STANDARD_CSV.encode(), actor=world.officer("100000"), name="标准", filename="s.csv"
    )
    east = accept_case(app, citizen, world.officer("100002"), "DH-0001", bj(2025, 11, 3, 9))
    river = accept_case(app, citizen, extra["100010"], "JB-0001", bj(2025, 11, 4, 9))
    clock.freeze(bj(2025, 12, 2, 9))  # the pages act at this moment: inside the scoring window
    material = case_materials.add(
        case=east,
        actor=world.officer("100002"),
        kind="questioning",
        title="询问笔录",
        storage_key="k",
        sha256="0" * 64,
        size=1,
    )
    people = {"organiser": extra["100009"], "east_officer": world.officer("100002"), "river_officer": extra["100010"]}
    plan = make_plan(people, standard)
    tasks = evaluation.draw(actor=extra["100009"], plan_id=plan.id)
    db.session.commit()
    by_case = {t.case_id: t.id for t in tasks}
    return {
        "plan": plan.id,
        "east_task": by_case[east.id],
        "river_task": by_case[river.id],
        "east": east.id,
        "material": material.id,
        "river": river.id,
    }


def test_an_evaluator_reaches_exactly_the_cases_of_their_tasks(app, drawn):
    client = app.test_client()
    log_in(client, "100008")  # 江滨's legal officer scores 东湖's case
    inbox = client.get("/console/evaluation/tasks").get_data(as_text=True)
    assert 'id="task-badge">1<' in inbox
    page = client.get(f"/console/evaluation/tasks/{drawn['east_task']}?what=materials")
    assert page.status_code == 200 and "询问笔录" in page.get_data(as_text=True)
    assert client.get(f"/console/evaluation/tasks/{drawn['river_task']}").status_code == 404
    assert client.get(f"/console/cases/{drawn['east']}").status_code == 404  # the unit rule is unchanged
    assert (
        client.get(f"/console/evaluation/tasks/{drawn['river_task']}/materials/{drawn['material']}").status_code == 404
    )
    viewed = db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("evaluation.%viewed"))).all()
    assert [(e.action, e.subject_id) for e in viewed] == [("evaluation.case_viewed", drawn["east"])]

    token = csrf_of(page.get_data(as_text=True))
    task = db.session.get(EvaluationTask, drawn["east_task"])
    criterion = task.plan.standard.criteria[1].id
    refused = client.post(f"/console/evaluation/tasks/{drawn['east_task']}/findings", data={"criterion_id": criterion})
    assert refused.status_code == 400  # no CSRF token
    other = client.post(
        f"/console/evaluation/tasks/{drawn['river_task']}/findings",
        data={"criterion_id": criterion, "evidence": "x", "csrf_token": token},
        follow_redirects=True,
    )
    assert other.status_code == 404
    done = client.post(
        f"/console/evaluation/tasks/{drawn['east_task']}/findings",
        data={"criterion_id": criterion, "evidence": "笔录第2页", "points": "99", "csrf_token": token},
        follow_redirects=True,
    )
    assert 'id="task-score">90<' in done.get_data(as_text=True)  # the criterion's 10 points, never the typed 99


def test_results_and_reports_are_scoped_and_the_csv_opens_in_excel(app, drawn):
    client = app.test_client()
    log_in(client, "100006")  # 西湖路派出所: neither organiser nor evaluated
    assert client.get(f"/console/evaluation/plans/{drawn['plan']}").status_code == 404
    assert client.get(f"/console/evaluation/plans/{drawn['plan']}/results.csv").status_code == 404
    river_unit = db.session.get(EvaluationTask, drawn["river_task"]).unit_id
    east_unit = db.session.get(EvaluationTask, drawn["east_task"]).unit_id
    station = app.test_client()
    log_in(station, "100002")
    assert station.get(f"/console/evaluation/plans/{drawn['plan']}/units/{east_unit}/report").status_code == 200
    assert station.get(f"/console/evaluation/plans/{drawn['plan']}/units/{river_unit}/report").status_code == 404
    organiser = app.test_client()
    log_in(organiser, "100009")
    exported = organiser.get(f"/console/evaluation/plans/{drawn['plan']}/results.csv")
    assert exported.status_code == 200 and exported.get_data().startswith(b"\xef\xbb\xbf")
    assert organiser.get(f"/console/evaluation/plans/{drawn['plan']}").status_code == 200
    trend = organiser.get("/console/evaluation/trend").get_data(as_text=True)
    assert "2025年11月执法质量考评" in trend and "东湖派出所" not in trend  # nothing submitted yet: no averages
    assert seed.officer("100009").unit.code == "330100"


def test_the_organiser_extends_and_reassigns_an_unsubmitted_task_from_the_plan_page(app, drawn):
    county = db.session.scalar(select(Unit).where(Unit.code == "330103"))
    spare = Officer(badge_no="100011", name="许法", unit=county, roles=[Role.LEGAL_OFFICER.value])
    spare.set_password(seed.DEMO_PASSWORD)
    db.session.add(spare)
    db.session.commit()
    organiser = app.test_client()
    log_in(organiser, "100009")
    page = organiser.get(f"/console/evaluation/plans/{drawn['plan']}").get_data(as_text=True)
    assert f'id="task-{drawn["east_task"]}"' in page and "许法(江滨区公安分局)" in page  # the eligible one
    token = csrf_of(page)
    path = f"/console/evaluation/tasks/{drawn['east_task']}"

    plan_page = f"http://localhost/console/evaluation/plans/{drawn['plan']}"
    refused = organiser.post(
        f"{path}/extend",
        data={"due": "2025-12-20", "reason": "x", "csrf_token": token},
        headers={"Referer": plan_page},
        follow_redirects=True,
    )
    assert "早于方案的申诉截止时间" in refused.get_data(as_text=True)
    assert db.session.get(EvaluationTask, drawn["east_task"]).due_at is None  # nothing changed
    done = organiser.post(
        f"{path}/extend", data={"due": "2025-12-12", "reason": "出差", "csrf_token": token}, follow_redirects=True
    )
    assert "已延长评查期限" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(EvaluationTask, drawn["east_task"]).scoring_due_at == bj(2025, 12, 12, 23, 59) + timedelta(
        seconds=59
    )

    evaluator = app.test_client()
    log_in(evaluator, "100008")  # an evaluator may not move their own deadline
    own = csrf_of(evaluator.get("/console/evaluation/tasks").get_data(as_text=True))
    evaluator.post(f"{path}/extend", data={"due": "2025-12-14", "reason": "x", "csrf_token": own})
    db.session.expire_all()
    assert db.session.get(EvaluationTask, drawn["east_task"]).scoring_due_at.day == 12

    moved = organiser.post(
        f"{path}/reassign",
        data={"evaluator_id": spare.id, "reason": "改派", "csrf_token": token},
        follow_redirects=True,
    )
    assert "已改派评查任务" in moved.get_data(as_text=True)
    assert evaluator.get(path).status_code == 404
    taker = app.test_client()
    log_in(taker, "100011")
    assert taker.get(path).status_code == 200


def test_the_plan_page_keeps_an_appealed_finding_apart_and_the_trend_is_drawn_as_svg(app, drawn):
    task = db.session.get(EvaluationTask, drawn["east_task"])
    evaluator, station = seed.officer("100008"), seed.officer("100002")
    finding = evaluation.record_finding(
        evaluator=evaluator, task_id=task.id, criterion_id=task.plan.standard.criteria[1].id, evidence="笔录"
    )
    evaluation.submit(evaluator=evaluator, task_id=task.id)
    evaluation_review.appeal(officer=station, finding_id=finding.id, reason="已告知")
    db.session.commit()
    organiser = app.test_client()
    log_in(organiser, "100009")
    page = organiser.get(f"/console/evaluation/plans/{drawn['plan']}").get_data(as_text=True)
    assert page.count('id="unit-results"') == 1
    row = re.search(r"<tr><td>1</td><td><a [^>]*>东湖派出所</a>.*?</tr>", page, re.S).group(0)
    assert '<td class="average">100.0</td>' in row  # the appealed 10 points are not counted ...
    assert '<td class="pending">1</td>' in row and '<td class="pending-points">10</td>' in row  # ... but shown
    assert "申诉中(待复核)" in organiser.get(f"/console/evaluation/plans/{drawn['plan']}?unit={task.unit_id}").get_data(
        as_text=True
    )

    trend = organiser.get("/console/evaluation/trend").get_data(as_text=True)
    svg = re.search(r'<figure class="trend-chart" data-unit="东湖派出所">.*?</figure>', trend, re.S).group(0)
    assert "<svg" in svg and "<circle" in svg and "2025年11月执法质量考评:100.0" in svg
    assert "<script" not in svg and "href" not in svg  # drawn by the server, nothing fetched
    assert re.findall(r"https?://[^\"]+", svg) == ["http://www.w3.org/2000/svg"]
    assert 'id="trend-table"' in trend  # the table stays, for access


def test_a_late_tasks_warning_leads_its_evaluator_to_the_task_and_the_organiser_to_the_plan(app, drawn):
    sweep.sweep(now=bj(2025, 12, 10, 0, 1))
    db.session.commit()
    red = db.session.scalar(
        select(Warning).where(Warning.subject_id == drawn["east_task"], Warning.subject_type == "evaluation_task")
    )
    assert red.colour == "red"
    clock.freeze(bj(2025, 12, 10, 9))
    evaluator = app.test_client()
    log_in(evaluator, "100008")
    assert "已逾期,请联系组织单位" in evaluator.get("/console/evaluation/tasks").get_data(as_text=True)
    page = evaluator.get(f"/console/supervision/warnings/{red.id}").get_data(as_text=True)
    assert "评查任务" in page and f"/console/evaluation/tasks/{drawn['east_task']}" in page
    organiser = app.test_client()
    log_in(organiser, "100009")
    page = organiser.get(f"/console/supervision/warnings/{red.id}").get_data(as_text=True)
    assert f"/console/evaluation/plans/{drawn['plan']}" in page and 'id="drill-task"' not in page


def test_a_review_after_the_review_deadline_is_taken_and_shown_as_late(app, drawn):
    task = db.session.get(EvaluationTask, drawn["east_task"])
    evaluator = seed.officer("100008")
    finding = evaluation.record_finding(
        evaluator=evaluator, task_id=task.id, criterion_id=task.plan.standard.criteria[0].id, evidence="登记不全"
    )
    evaluation.submit(evaluator=evaluator, task_id=task.id)
    evaluation_review.appeal(officer=seed.officer("100002"), finding_id=finding.id, reason="已补登")
    db.session.commit()
    clock.freeze(bj(2025, 12, 21, 9))  # the review deadline (20 Dec) has passed
    organiser = app.test_client()
    log_in(organiser, "100009")
    page = organiser.get(f"/console/evaluation/plans/{drawn['plan']}").get_data(as_text=True)
    assert 'id="review-overdue"' in page
    answer = organiser.post(
        f"/console/evaluation/findings/{finding.id}/review",
        data={"decision": "rejected", "reason": "属实", "csrf_token": csrf_of(page)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "记为逾期复核" in answer
    drill = organiser.get(f"/console/evaluation/plans/{drawn['plan']}?unit={task.unit_id}").get_data(as_text=True)
    assert "已确认(逾期复核)" in drill
