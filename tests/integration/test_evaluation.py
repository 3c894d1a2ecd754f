"""Online case evaluation against a real database and the real supervision sweep, on a controlled clock: a
standard imported (one bad line refuses the whole file, naming it), a plan drawn reproducibly with evaluators of
other units, scoring online (the evaluator reaches exactly the cases of their tasks), appeal and review, the window
closing, rectifications watched yellow then red, one accepted and resolved; results ranked and exported."""

from datetime import date

import pytest
from sqlalchemy import select

from casework import cases
from casework.errors import Conflict, Forbidden, InvalidInput, NotFound
from casework.models import AuditEntry
from supervision import evaluation, evaluation_results, evaluation_review, evaluation_standards, points, sweep
from supervision.evaluation_models import EvaluationTask, FindingState
from supervision.models import Warning
from tests.evaluation_steps import HEADER, STANDARD_CSV, add_officers, bj, cases_at_two_stations, workbook

pytestmark = pytest.mark.usefixtures("world")


@pytest.fixture
def people(world):
    extra = add_officers()
    return {
        "admin": world.officer("100000"),
        "organiser": extra["100009"],
        "east_legal": world.officer("100004"),
        "river_legal": extra["100008"],
        "east_officer": world.officer("100002"),
        "river_officer": extra["100010"],
    }


def make_plan(people, standard, *, seed="s-1", now=None, count=2):
    return evaluation.create_plan(
        actor=people["organiser"],
        name="2025年11月执法质量考评",
        standard_id=standard.id,
        period_start=date(2025, 11, 1),
        period_end=date(2025, 11, 30),
        unit_ids=[
            people["east_officer"].unit_id,
            people["river_officer"].unit_id,
        ],
        case_types=["criminal", "public_order"],
        sample_count=count,
        scoring_due_at=bj(2025, 12, 10),
        appeal_due_at=bj(2025, 12, 15),
        review_due_at=bj(2025, 12, 20),
        rectify_days=10,
        seed=seed,
        now=now or bj(2025, 12, 1, 9),
    )


def test_a_standard_with_one_bad_line_is_refused_whole_naming_the_line(people):
    bad = STANDARD_CSV.replace(
        "SA-03,涉案财物未及时入库,涉案财物,15,严重", "SA-03,涉案财物未及时入库,涉案财物,十五,严重"
    )
    with pytest.raises(evaluation_standards.StandardRefused) as refused:
        evaluation_standards.import_file(bad.encode(), actor=people["admin"], name="执法质量考评标准", filename="s.csv")
    assert refused.value.detail["errors"] == ["第4行：扣分「十五」应为1到100的整数"]
    assert evaluation_standards.all_standards() == []
    made = evaluation_standards.import_file(
        STANDARD_CSV.encode("gb18030"), actor=people["admin"], name="执法质量考评标准", filename="s.csv"
    )
    assert made.version == 1 and [c.code for c in made.criteria] == ["SA-01", "SA-02", "SA-03", "SA-04"]
    assert [c.points for c in made.criteria] == [5, 10, 15, 20]


def test_an_xlsx_standard_is_read_like_a_csv_and_an_edit_makes_a_new_version_that_old_plans_do_not_see(
    people, app, citizen
):
    import openpyxl

    book = openpyxl.Workbook()
    for line in STANDARD_CSV.strip().splitlines():
        book.active.append([int(c) if c.isdigit() else c for c in line.split(",")])
    path = app.instance_path + "/standard.xlsx"
    import os

    os.makedirs(app.instance_path, exist_ok=True)
    book.save(path)
    data = open(path, "rb").read()
    first = evaluation_standards.import_file(data, actor=people["admin"], name="执法质量考评标准", filename="x.xlsx")
    assert [c.points for c in first.criteria] == [5, 10, 15, 20]
    cases_at_two_stations(app, citizen, per_station=1)
    plan = make_plan(people, first)
    edited = evaluation_standards.edit_criterion(
        actor=people["admin"],
        standard_id=first.id,
        code="SA-02",
        text="未告知权利义务",
        concerns="笔录",
        points="8",
        severity="一般",
    )
    assert edited.version == 2 and [c.points for c in edited.criteria] == [5, 8, 15, 20]
    assert plan.standard.version == 1 and [c.points for c in plan.standard.criteria] == [5, 10, 15, 20]
    with pytest.raises(Forbidden):
        evaluation_standards.edit_criterion(
            actor=people["east_officer"],
            standard_id=first.id,
            code="SA-02",
            text="x",
            concerns="笔录",
            points="8",
            severity="一般",
        )


def test_a_plan_end_to_end_on_a_controlled_clock(people, app, citizen):
    standard = evaluation_standards.import_file(
        STANDARD_CSV.encode(), actor=people["admin"], name="执法质量考评标准", filename="s.csv"
    )
    made = cases_at_two_stations(app, citizen, per_station=3)
    plan = make_plan(people, standard)
    tasks = evaluation.draw(actor=people["organiser"], plan_id=plan.id, now=bj(2025, 12, 1, 10))
    assert len(tasks) == 4 and {t.unit_id for t in tasks} == {c.unit_id for c in made}
    by_case = {c.id: c for c in made}
    for task in tasks:  # the east county's legal officer scores the river station's cases, and the other way
        evaluator = task.evaluator
        assert not evaluation.scope_of(evaluator).covers(task.unit_id)
        assert evaluator.id not in evaluation.handlers_of(by_case[task.case_id])
    river = next(t for t in tasks if t.evaluator_id == people["east_legal"].id)
    east_tasks = [t for t in tasks if t.evaluator_id == people["river_legal"].id]
    assert len(east_tasks) == 2

    # The evaluator reads exactly their tasks' cases, each view audited; nothing else.
    view = evaluation.read_case(evaluator=people["river_legal"], task_id=east_tasks[0].id, now=bj(2025, 12, 2))
    assert view.case.id == east_tasks[0].case_id and view.timeline
    with pytest.raises(NotFound):
        evaluation.read_case(evaluator=people["river_legal"], task_id=river.id)
    with pytest.raises(NotFound):  # the unit rule is unchanged: no case page of another county
        cases.case_for(people["river_legal"], east_tasks[0].case_id)
    viewed = select(AuditEntry).where(AuditEntry.action == "evaluation.case_viewed")
    assert [(e.actor_id, e.subject_id) for e in evaluation.db.session.scalars(viewed)] == [
        (people["river_legal"].id, east_tasks[0].case_id)
    ]

    criteria = {c.code: c for c in standard.criteria}
    at = bj(2025, 12, 3)
    first = evaluation.record_finding(
        evaluator=people["river_legal"],
        task_id=east_tasks[0].id,
        criterion_id=criteria["SA-02"].id,
        evidence="询问笔录第2页未见权利义务告知",
        now=at,
    )
    second = evaluation.record_finding(
        evaluator=people["river_legal"],
        task_id=east_tasks[0].id,
        criterion_id=criteria["SA-03"].id,
        evidence="扣押清单所列手机未见入库记录",
        now=at,
    )
    third = evaluation.record_finding(
        evaluator=people["river_legal"],
        task_id=east_tasks[1].id,
        criterion_id=criteria["SA-01"].id,
        evidence="受案登记表缺报案人联系方式",
        now=at,
    )
    assert (first.points, second.points, third.points) == (10, 15, 5)  # the criterion's, never typed
    with pytest.raises(Conflict):
        evaluation.record_finding(
            evaluator=people["river_legal"],
            task_id=east_tasks[0].id,
            criterion_id=criteria["SA-02"].id,
            evidence="重复",
            now=at,
        )
    for task in east_tasks:
        evaluation.submit(evaluator=people["river_legal"], task_id=task.id, now=at)
    evaluation.submit(evaluator=people["east_legal"], task_id=river.id, now=at)
    other = next(t for t in tasks if t.evaluator_id == people["east_legal"].id and t.id != river.id)
    evaluation.submit(evaluator=people["east_legal"], task_id=other.id, now=at)
    assert evaluation.score(east_tasks[0].findings) == 75

    # The east station appeals two findings; the organiser upholds one and rejects the other.
    assert {f.id for f in evaluation_review.findings_for_unit(people["east_officer"])} == {
        first.id,
        second.id,
        third.id,
    }
    assert evaluation_review.findings_for_unit(people["river_officer"]) == []
    for finding in (first, second):
        evaluation_review.appeal(
            officer=people["east_officer"], finding_id=finding.id, reason="笔录第3页已告知", now=bj(2025, 12, 5)
        )
    with pytest.raises(NotFound):
        evaluation_review.appeal(officer=people["river_officer"], finding_id=third.id, reason="x", now=bj(2025, 12, 5))
    evaluation_review.review(
        officer=people["organiser"], finding_id=first.id, upheld=True, reason="第3页确有告知", now=bj(2025, 12, 6)
    )
    evaluation_review.review(
        officer=people["organiser"], finding_id=second.id, upheld=False, reason="入库记录缺失属实", now=bj(2025, 12, 6)
    )
    assert (first.state, second.state) == (FindingState.WITHDRAWN.value, FindingState.CONFIRMED.value)
    with pytest.raises(Conflict):
        evaluation_review.appeal(
            officer=people["east_officer"], finding_id=third.id, reason="晚了", now=bj(2025, 12, 16)
        )

    # The window closes in the sweep: the finding not appealed is confirmed; each confirmed one is a rectification.
    sweep.sweep(now=bj(2025, 12, 15, 1))
    evaluation.db.session.expire_all()
    assert third.state == FindingState.CONFIRMED.value
    rectifications = sorted(evaluation_review.rectifications_for(people["east_officer"]), key=lambda r: r.id)
    assert [r.finding_id for r in rectifications] == [second.id, third.id]
    assert [evaluation_review.colour_of(r) for r in rectifications] == ["yellow", "yellow"]

    done, late = rectifications
    evaluation_review.record_rectification(
        officer=people["east_officer"], rectification_id=done.id, text="手机已入库并补登记", now=bj(2025, 12, 8)
    )
    evaluation_review.accept_rectification(officer=people["organiser"], rectification_id=done.id, now=bj(2025, 12, 9))
    sweep.sweep(now=bj(2025, 12, 26))  # third's due date: 15 Dec + 10 days
    evaluation.db.session.expire_all()
    assert evaluation_review.colour_of(done) is None
    assert evaluation_review.colour_of(late) == "red"
    red = evaluation.db.session.scalar(
        select(Warning).where(Warning.clock_id == late.clock_id, Warning.colour == "red")
    )
    assert red.point.code == points.EVALUATION_RECTIFY and red.unit_id == people["east_officer"].unit_id

    standings = evaluation_results.by_unit(plan)
    assert [(s.name, s.average, s.rank) for s in standings] == [("江滨派出所", 100.0, 1), ("东湖派出所", 90.0, 2)]
    data = evaluation_results.csv_export(plan)
    assert data.startswith("\ufeff".encode()) and "东湖派出所" in data.decode("utf-8-sig")


def test_the_same_seed_draws_the_same_cases_and_evaluators(people, app, citizen):
    standard = evaluation_standards.import_file(
        STANDARD_CSV.encode(), actor=people["admin"], name="执法质量考评标准", filename="s.csv"
    )
    cases_at_two_stations(app, citizen, per_station=4)
    drawn = []
    for _ in range(2):
        plan = make_plan(people, standard, seed="seed-42")
        tasks = evaluation.draw(actor=people["organiser"], plan_id=plan.id, now=bj(2025, 12, 1, 10))
        drawn.append(sorted((t.case_id, t.evaluator_id) for t in tasks))
    assert drawn[0] == drawn[1]
    assert evaluation.db.session.scalar(select(EvaluationTask.id).limit(1)) is not None


def test_a_plan_is_made_only_by_an_organising_unit_with_sane_deadlines(people, app, citizen):
    standard = evaluation_standards.import_file(
        STANDARD_CSV.encode(), actor=people["admin"], name="执法质量考评标准", filename="s.csv"
    )
    with pytest.raises(InvalidInput):
        make_plan(people, standard, now=bj(2025, 12, 11))  # scoring deadline already passed
    with pytest.raises(Forbidden):
        evaluation.create_plan(
            actor=people["river_legal"],
            name="x",
            standard_id=standard.id,
            period_start=date(2025, 11, 1),
            period_end=date(2025, 11, 30),
            unit_ids=[people["river_officer"].unit_id],
            case_types=["criminal"],
            sample_count=1,
            scoring_due_at=bj(2025, 12, 10),
            appeal_due_at=bj(2025, 12, 15),
            review_due_at=bj(2025, 12, 20),
            now=bj(2025, 12, 1),
        )


def test_an_xlsx_standard_is_read_from_every_criteria_sheet_and_refused_whole_naming_sheet_and_line(people):
    bad = workbook(
        说明=[["填写说明"]],
        刑事=[HEADER, ["XS-01", "立案审查超期", "立案", 10, "较重"]],
        治安=[HEADER, ["ZA-01", "未告知权利义务", "笔录", 10, "严重程度高"]],
    )
    with pytest.raises(evaluation_standards.StandardRefused) as refused:
        evaluation_standards.import_file(bad, actor=people["admin"], name="执法质量考评标准", filename="s.xlsx")
    assert refused.value.detail["errors"] == ["工作表「治安」第2行：严重程度「严重程度高」应为一般、较重或严重"]
    assert evaluation_standards.all_standards() == []  # all or nothing: the good sheet was not kept either
    good = workbook(
        说明=[["填写说明"]],
        刑事=[HEADER, ["XS-01", "立案审查超期", "立案", 10, "较重"]],
        治安=[HEADER, ["ZA-01", "未告知权利义务", "笔录", 10, "较重"]],
    )
    made = evaluation_standards.import_file(good, actor=people["admin"], name="执法质量考评标准", filename="s.xlsx")
    assert [c.code for c in made.criteria] == ["XS-01", "ZA-01"]
