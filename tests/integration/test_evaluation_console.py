"""The evaluation pages through HTTP (Flask's test client, the real database): an evaluator reaches exactly the
cases of their own tasks (another evaluator's task, a material of another case, the case page of another county:
each a missing page), each view audited; forms need their CSRF token and the right role; the unit's printable
report and the results CSV (with the BOM Excel needs) are scoped to the plan's units and organiser."""

import pytest
from sqlalchemy import select

from casework import case_materials, clock, seed
from casework.db import db
from casework.models import AuditEntry
from supervision import evaluation, evaluation_standards
from supervision.evaluation_models import EvaluationTask
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
