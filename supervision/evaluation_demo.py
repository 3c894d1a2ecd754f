"""The demo's evaluation (执法考评): a standard, and a plan of the city's legal officer in progress, its cases drawn
and one of them scored by a legal officer of another county, so that the console's evaluation pages show
something on first start. Idempotent: nothing is done once any plan exists."""

from datetime import timedelta

from sqlalchemy import select

from casework import clock, seed
from casework.db import db
from casework.models import Unit
from casework.unit_of_work import transaction
from supervision import evaluation, evaluation_standards
from supervision.evaluation_models import EvaluationPlan

STANDARD = (
    "编号,考评内容,涉及环节,扣分,严重程度\n"
    "SA-01,受案登记不及时或登记信息不全,受案,5,一般\n"
    "SA-02,未依法告知当事人权利义务,笔录,10,较重\n"
    "SA-03,涉案财物未在规定时间内移交保管,涉案财物,15,严重\n"
    "SA-04,强制措施审批或延长手续不全,强制措施,20,严重\n"
    "SA-05,立案审查超过法定期限,立案,10,较重\n"
)
ORGANISER, EVALUATOR = "100009", "100008"  # seed officers: the city's legal officer and 江滨派出所's


def load() -> bool:
    """Create the demo's evaluation once; returns whether it did (not when a plan exists, nor when the database
    was seeded by a release whose officers did not include the evaluation's)."""
    if db.session.scalar(select(EvaluationPlan.id).limit(1)) is not None:
        return False
    organiser, evaluator = seed.officer(ORGANISER), seed.officer(EVALUATOR)
    if organiser is None or evaluator is None:
        return False
    with transaction():
        admin = seed.officer("100000")
        station = db.session.scalar(select(Unit).where(Unit.code == "33010201"))
        standard = evaluation_standards.import_file(
            STANDARD.encode(), actor=admin, name="执法质量考评标准(演示)", filename="demo-standard.csv"
        )
        now = clock.now()
        today = clock.local(now).date()
        plan = evaluation.create_plan(
            actor=organiser,
            name="示范市执法质量考评(演示)",
            standard_id=standard.id,
            period_start=today - timedelta(days=400),
            period_end=today,
            unit_ids=[station.id],
            case_types=["criminal", "public_order"],
            sample_count=2,
            scoring_due_at=now + timedelta(days=7),
            appeal_due_at=now + timedelta(days=14),
            review_due_at=now + timedelta(days=21),
            rectify_days=15,
            seed="demo",
        )
        tasks = evaluation.draw(actor=organiser, plan_id=plan.id)
        criteria = {c.code: c for c in standard.criteria}
        evaluation.record_finding(
            evaluator=evaluator,
            task_id=tasks[0].id,
            criterion_id=criteria["SA-02"].id,
            evidence="询问笔录未见权利义务告知内容",
        )
        evaluation.submit(evaluator=evaluator, task_id=tasks[0].id)
    return True
