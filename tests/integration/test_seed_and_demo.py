"""Reference data and the demo world."""

from sqlalchemy import func, select

from casework import audit, causes, seed
from casework.db import db
from casework.models import Case, Category, Incident, Officer, PropertyItem, Unit
from supervision import points, sweep
from supervision.evaluation_models import EvaluationPlan, EvaluationTask
from supervision.models import DeadlineClock, Warning

MAJOR_TYPES = {"常见案件类", "群体性事件类", "纠纷类", "意外事件类", "求助类", "事故类", "特殊对象类"}


def test_categories_cover_every_major_type_with_guidance(ctx):
    assert seed.load_categories() > 0
    majors = db.session.scalars(select(Category).where(Category.parent_id.is_(None))).all()
    assert {m.name for m in majors} == MAJOR_TYPES
    for major in majors:
        assert len(major.children) >= 3, major.name
        for sub in major.children:
            assert sub.guide and sub.equipment and sub.legal_refs, sub.code
    assert seed.load_categories() == 0  # idempotent


def test_demo_world_is_complete_and_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Incident)) == 5
        levels = set(db.session.scalars(select(Unit.level)))
        assert levels == {"province", "city", "county", "station"}
        roles = {r for o in db.session.scalars(select(Officer)) for r in o.roles}
        assert {"dispatcher", "officer", "legal_officer", "supervisor", "admin"} <= roles
        assert audit.verify()[1] is None
        plan = db.session.scalar(select(EvaluationPlan))  # one plan in progress, once
        assert plan.state == "scoring" and db.session.scalar(select(func.count()).select_from(EvaluationPlan)) == 1
        tasks = db.session.scalars(select(EvaluationTask)).all()
        assert len(tasks) == 2 and sum(1 for t in tasks if t.submitted_at) == 1
        assert all(t.evaluator.unit.code == "33010301" for t in tasks)  # another county's legal officer
        assert {t.evaluator.badge_no for t in tasks} == {"100008"}  # the seed's officers, not the demo's own
        assert db.session.get(Officer, plan.created_by_id).badge_no == "100009"
    assert "incidents=5" in second.output


def test_the_seed_roster_has_the_evaluation_legal_officers(world):
    organiser, evaluator = world.officer("100009"), world.officer("100008")
    assert (organiser.unit.code, organiser.roles) == ("330100", ["legal_officer"])
    assert (evaluator.unit.code, evaluator.roles) == ("33010301", ["legal_officer"])
    assert evaluator.password_hash == organiser.password_hash and evaluator.check_password(seed.DEMO_PASSWORD)


def test_the_demo_cases_give_the_monitoring_points_something_to_show_on_first_start(app):
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        app.extensions["wx110.dispatcher"].drain()
        sweep.sweep()
        raised = {(w.point.code, w.colour) for w in db.session.scalars(select(Warning))}
        assert {
            (points.MEASURE_DETENTION_TERM, "red"),
            (points.MEASURE_BAIL_TERM, "blue"),
            (points.PROPERTY_NOT_STORED, "yellow"),
        } <= raised
        stages = {c.stage for c in db.session.scalars(select(Case))}
        assert stages == {"accepted", "investigating", "filed"}
        # Case-side warnings name the case; the criminal cases past filing run their investigation clock.
        numbers = {c.id: c.number for c in db.session.scalars(select(Case))}
        case_side = [
            w for w in db.session.scalars(select(Warning)) if w.subject_type in ("case", "measure", "property")
        ]
        assert case_side and all(w.subject_number == numbers[w.incident_id] for w in case_side)
        investigating = db.session.scalars(
            select(DeadlineClock).where(
                DeadlineClock.kind == points.INVESTIGATION_OVERDUE, DeadlineClock.stopped_at.is_(None)
            )
        ).all()
        filed = {c.id for c in db.session.scalars(select(Case).where(Case.stage.in_(("filed", "investigating"))))}
        assert {k.subject_id for k in investigating} == filed and len(filed) == 2
        # The cash went into the property room through its keeper.
        keeper = seed.officer("100003")
        assert "property_keeper" in keeper.roles
        cash = db.session.scalar(select(PropertyItem).where(PropertyItem.description == "现金"))
        assert cash.state == "stored" and cash.holder_id == keeper.id
        assert len(causes.listing()) == 38
