"""An evaluation plan's deadlines, watched by the three-colour engine on a controlled clock: a blue reminder to the
evaluator before the scoring deadline and a red to the organiser when a task is still unsubmitted at it (the
organiser extends or reassigns it, audited, with the draw's rules); a red to the organiser for every appeal
unreviewed at the review deadline, a late review taken but recorded as late; findings under appeal kept apart
from the confirmed score; every warning resolved once its condition is gone."""

import json

import pytest
from sqlalchemy import select

from casework import audit
from casework.db import db
from casework.errors import Conflict, InvalidInput, NotFound
from casework.models import Officer, Role, Unit
from supervision import (
    evaluation,
    evaluation_assignment,
    evaluation_results,
    evaluation_review,
    evaluation_standards,
    points,
    sweep,
)
from supervision.evaluation_models import EvaluationTask, FindingState
from supervision.models import Notification, Warning
from tests.evaluation_steps import STANDARD_CSV, add_officers, bj, cases_at_two_stations
from tests.integration.test_evaluation import make_plan

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
        "city_supervisor": world.officer("100005"),
    }


@pytest.fixture
def drawn(people, app, citizen):
    """Two cases per station drawn on 1 Dec 10:00; scoring due 10 Dec, appeal 15 Dec, review 20 Dec (Beijing)."""
    standard = evaluation_standards.import_file(
        STANDARD_CSV.encode(), actor=people["admin"], name="执法质量考评标准", filename="s.csv"
    )
    cases_at_two_stations(app, citizen, per_station=2)
    plan = make_plan(people, standard)
    tasks = evaluation.draw(actor=people["organiser"], plan_id=plan.id, now=bj(2025, 12, 1, 10))
    db.session.commit()
    return plan, tasks, {c.code: c for c in standard.criteria}


def add_spare_legal() -> Officer:
    """A legal officer of 江滨区公安分局, added after the draw: may evaluate 东湖区's cases, not 江滨区's."""
    river_county = db.session.scalar(select(Unit).where(Unit.code == "330103"))
    spare = Officer(badge_no="100011", name="许法", unit=river_county, roles=[Role.LEGAL_OFFICER.value])
    db.session.add(spare)
    db.session.commit()
    return spare


def warnings_of(task_or_finding_id: int, subject_type: str) -> list[Warning]:
    return db.session.scalars(
        select(Warning)
        .where(Warning.subject_type == subject_type, Warning.subject_id == task_or_finding_id)
        .order_by(Warning.id)
    ).all()


def told(warning: Warning) -> set[str]:
    rows = db.session.scalars(
        select(Notification).where(Notification.warning_id == warning.id, Notification.channel == "console")
    )
    return {n.officer.badge_no for n in rows}


def test_an_unsubmitted_task_warns_its_evaluator_then_the_organiser_who_extends_or_reassigns_it(people, drawn):
    plan, tasks, criteria = drawn
    river_legal, organiser = people["river_legal"], people["organiser"]
    done, late = [t for t in tasks if t.evaluator_id == river_legal.id]  # 东湖派出所's cases
    evaluation.submit(evaluator=river_legal, task_id=done.id, now=bj(2025, 12, 3))

    # Blue at three quarters of the window (1 Dec 10:00 .. 10 Dec 00:00), to the evaluator alone.
    sweep.sweep(now=bj(2025, 12, 7, 12))
    assert warnings_of(late.id, "evaluation_task") == []
    sweep.sweep(now=bj(2025, 12, 8, 9))
    [blue] = warnings_of(late.id, "evaluation_task")
    assert blue.colour == "blue" and blue.point.code == points.EVALUATION_SCORING_DUE
    assert told(blue) == {"100008"}
    assert warnings_of(done.id, "evaluation_task") == []  # submitted in time: nothing to remind

    # Red at the deadline, to the organiser (and the evaluator); scoring is now refused.
    sweep.sweep(now=bj(2025, 12, 10, 0, 1))
    db.session.expire_all()
    red = next(w for w in warnings_of(late.id, "evaluation_task") if w.colour == "red")
    assert red.due_at == plan.scoring_due_at and red.unit_id == river_legal.unit_id
    assert told(red) == {"100005", "100008", "100009"}  # the city's legal officer and supervisor: the organisers
    with pytest.raises(Conflict):
        evaluation.record_finding(
            evaluator=river_legal,
            task_id=late.id,
            criterion_id=criteria["SA-01"].id,
            evidence="x",
            now=bj(2025, 12, 10, 9),
        )

    # The organiser extends it (before the appeal deadline only): the red is resolved at once, audited.
    with pytest.raises(InvalidInput):
        evaluation_assignment.extend(
            actor=organiser, task_id=late.id, due_at=bj(2025, 12, 16), reason="x", now=bj(2025, 12, 10, 9)
        )
    with pytest.raises(NotFound):  # the organiser's unit only
        evaluation_assignment.extend(
            actor=people["east_legal"], task_id=late.id, due_at=bj(2025, 12, 12), reason="x", now=bj(2025, 12, 10, 9)
        )
    evaluation_assignment.extend(
        actor=organiser, task_id=late.id, due_at=bj(2025, 12, 12), reason="评查人出差", now=bj(2025, 12, 10, 9)
    )
    db.session.expire_all()
    assert red.resolution == "extended" and late.scoring_due_at == bj(2025, 12, 12)
    assert [a.action for a in audit.trail(late)][-1] == "evaluation.task_extended"
    evaluation.record_finding(
        evaluator=river_legal,
        task_id=late.id,
        criterion_id=criteria["SA-01"].id,
        evidence="受案登记表缺联系方式",
        now=bj(2025, 12, 11),
    )
    evaluation.submit(evaluator=river_legal, task_id=late.id, now=bj(2025, 12, 11, 1))
    sweep.sweep(now=bj(2025, 12, 12, 1))
    db.session.expire_all()
    assert all(w.resolved_at is not None for w in warnings_of(late.id, "evaluation_task"))
    [east] = [s for s in evaluation_results.by_unit(plan) if s.key == late.unit_id]
    assert (east.cases, east.average) == (2, 97.5)  # the extended task's score counts


def test_the_organiser_reassigns_a_task_only_to_an_eligible_evaluator(people, drawn):
    _, tasks, _ = drawn
    organiser = people["organiser"]
    task = next(t for t in tasks if t.evaluator_id == people["river_legal"].id)
    people["spare_legal"] = add_spare_legal()
    sweep.sweep(now=bj(2025, 12, 10, 0, 1))
    red = next(w for w in warnings_of(task.id, "evaluation_task") if w.colour == "red")
    assert [o.badge_no for o in evaluation_assignment.eligible_evaluators(task)] == ["100011"]

    at = bj(2025, 12, 10, 9)
    for refused in (people["east_legal"], organiser, people["east_officer"]):  # own county; covers all; no legal
        with pytest.raises(InvalidInput):
            evaluation_assignment.reassign(
                actor=organiser, task_id=task.id, evaluator_id=refused.id, reason="x", due_at=bj(2025, 12, 12), now=at
            )
    with pytest.raises(InvalidInput):  # the deadline has passed: a new one is needed
        evaluation_assignment.reassign(
            actor=organiser, task_id=task.id, evaluator_id=people["spare_legal"].id, reason="x", now=at
        )
    task.case.second_officer_id = people["spare_legal"].id  # had they handled the case, they could not score it
    with pytest.raises(InvalidInput):
        evaluation_assignment.reassign(
            actor=organiser,
            task_id=task.id,
            evaluator_id=people["spare_legal"].id,
            reason="x",
            due_at=bj(2025, 12, 12),
            now=at,
        )
    db.session.rollback()  # the refusal rolled its transaction back; the session starts clean
    task = db.session.get(EvaluationTask, task.id)
    assert task.case.second_officer_id is None and task.evaluator_id == people["river_legal"].id

    evaluation_assignment.reassign(
        actor=organiser,
        task_id=task.id,
        evaluator_id=people["spare_legal"].id,
        reason="原评查人未按期评查",
        due_at=bj(2025, 12, 12),
        now=at,
    )
    db.session.commit()
    db.session.expire_all()
    assert task.evaluator_id == people["spare_legal"].id and task.scoring_due_at == bj(2025, 12, 12)
    assert red.resolution == "reassigned"
    with pytest.raises(NotFound):
        evaluation.task_for(people["river_legal"], task.id)
    entry = [a for a in audit.trail(task) if a.action == "evaluation.task_reassigned"]
    assert len(entry) == 1 and json.loads(entry[0].detail)["to"] == people["spare_legal"].id
    evaluation.submit(evaluator=people["spare_legal"], task_id=task.id, now=bj(2025, 12, 11))
    with pytest.raises(Conflict):  # submitted: nothing left to reassign
        evaluation_assignment.reassign(
            actor=organiser, task_id=task.id, evaluator_id=people["river_legal"].id, reason="x", now=at
        )


def test_a_task_never_submitted_is_settled_when_the_plan_closes(people, drawn):
    plan, _, _ = drawn
    sweep.sweep(now=bj(2025, 12, 10, 0, 1))
    assert db.session.scalar(select(Warning).where(Warning.colour == "red", Warning.resolved_at.is_(None)))
    sweep.sweep(now=bj(2025, 12, 15, 0, 1))  # the appeal window closes
    sweep.sweep(now=bj(2025, 12, 15, 0, 2))
    db.session.expire_all()
    reds = db.session.scalars(select(Warning).where(Warning.subject_type == "evaluation_task", Warning.colour == "red"))
    assert {w.resolution for w in reds} == {"plan_closed"}
    assert evaluation_results.by_unit(plan) == []  # nothing was scored


def test_an_unreviewed_appeal_warns_the_organiser_is_pending_in_the_results_and_a_late_review_is_recorded(
    people, drawn
):
    plan, tasks, criteria = drawn
    river_legal, organiser, east = people["river_legal"], people["organiser"], people["east_officer"]
    first, second = [t for t in tasks if t.evaluator_id == river_legal.id]
    at = bj(2025, 12, 3)
    appealed = evaluation.record_finding(
        evaluator=river_legal, task_id=first.id, criterion_id=criteria["SA-02"].id, evidence="笔录未告知", now=at
    )
    standing = evaluation.record_finding(
        evaluator=river_legal, task_id=second.id, criterion_id=criteria["SA-01"].id, evidence="登记不全", now=at
    )
    for task in (first, second):
        evaluation.submit(evaluator=river_legal, task_id=task.id, now=at)
    evaluation_review.appeal(officer=east, finding_id=appealed.id, reason="第3页已告知", now=bj(2025, 12, 5))

    # Under appeal: pending, apart from the confirmed score (100 - 0 and 100 - 5 → 97.5, with 10 points pending).
    [east_standing] = [s for s in evaluation_results.by_unit(plan) if s.key == east.unit_id]
    assert (east_standing.average, east_standing.deducted) == (97.5, 5)
    assert (east_standing.pending, east_standing.pending_points) == (1, 10)
    assert appealed.status_text == "申诉中(待复核)"
    exported = evaluation_results.csv_export(plan).decode("utf-8-sig")
    assert "待复核扣分" in exported and "申诉中(待复核)" in exported

    # Still unreviewed at the review deadline: red to the organiser, on the organising unit, escalated above it.
    sweep.sweep(now=bj(2025, 12, 15, 1))  # the window closes: the finding not appealed is confirmed
    assert warnings_of(appealed.id, "appeal") == []
    sweep.sweep(now=bj(2025, 12, 20, 0, 1))
    db.session.expire_all()
    [red] = warnings_of(appealed.id, "appeal")
    assert red.colour == "red" and red.point.code == points.EVALUATION_REVIEW_DUE
    assert red.unit_id == organiser.unit_id and red.escalated_to_unit_id == organiser.unit.parent_id
    assert told(red) == {"100005", "100009"}  # the organisers: the city's legal officer and supervisor
    assert appealed.state == FindingState.APPEALED.value  # the close never settles an appeal by itself

    # A late review is taken, recorded as late; the red resolves itself at the next sweep.
    evaluation_review.review(
        officer=organiser, finding_id=appealed.id, upheld=False, reason="未告知属实", now=bj(2025, 12, 21, 9)
    )
    entry = next(a for a in audit.trail(appealed) if a.action == "evaluation.appeal_reviewed")
    assert json.loads(entry.detail)["late"] is True
    assert appealed.reviewed_late and appealed.status_text == "已确认(逾期复核)"
    sweep.sweep(now=bj(2025, 12, 21, 9, 1))
    db.session.expire_all()
    assert red.resolved_at is not None and red.resolution == "reviewed"
    [east_standing] = [s for s in evaluation_results.by_unit(plan) if s.key == east.unit_id]
    assert (east_standing.average, east_standing.pending) == (92.5, 0)  # now counted: (90 + 95) / 2
    assert standing.state == FindingState.CONFIRMED.value


def test_a_review_in_time_raises_nothing(people, drawn):
    _, tasks, criteria = drawn
    river_legal = people["river_legal"]
    task = next(t for t in tasks if t.evaluator_id == river_legal.id)
    finding = evaluation.record_finding(
        evaluator=river_legal, task_id=task.id, criterion_id=criteria["SA-02"].id, evidence="x", now=bj(2025, 12, 3)
    )
    evaluation.submit(evaluator=river_legal, task_id=task.id, now=bj(2025, 12, 3))
    evaluation_review.appeal(officer=people["east_officer"], finding_id=finding.id, reason="y", now=bj(2025, 12, 5))
    evaluation_review.review(
        officer=people["organiser"], finding_id=finding.id, upheld=True, reason="成立", now=bj(2025, 12, 18)
    )
    sweep.sweep(now=bj(2025, 12, 21))
    assert warnings_of(finding.id, "appeal") == []
    assert not finding.reviewed_late and finding.status_text == "申诉成立已撤销"
