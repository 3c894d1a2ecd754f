"""The tables of online case evaluation (执法考评): standards and their criteria (versioned), plans, the tasks
drawn for them (one sampled case, one evaluator), the findings recorded on a task, and the rectifications that
confirmed findings become."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.db import UTCDateTime, db
from casework.models import Case, Officer, Unit


class Severity(StrEnum):
    MINOR = "minor"
    MAJOR = "major"
    SERIOUS = "serious"

    @property
    def label(self) -> str:
        return {"minor": "一般", "major": "较重", "serious": "严重"}[self.value]


class EvaluationStandard(db.Model):
    """One version of a named evaluation standard (考评标准); a version never changes once made: an edit makes the
    next version, and a plan keeps the version it was made with."""

    __tablename__ = "evaluation_standard"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_evaluation_standard_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column()
    source: Mapped[str] = mapped_column(String(256), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    criteria: Mapped[list["EvaluationCriterion"]] = relationship(
        back_populates="standard", order_by="EvaluationCriterion.position"
    )


class EvaluationCriterion(db.Model):
    """One criterion of a standard version: what is checked, the stage or material it concerns, points deducted."""

    __tablename__ = "evaluation_criterion"
    __table_args__ = (UniqueConstraint("standard_id", "code", name="uq_evaluation_criterion_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("evaluation_standard.id"), index=True)
    standard: Mapped[EvaluationStandard] = relationship(back_populates="criteria")
    position: Mapped[int] = mapped_column()
    code: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    concerns: Mapped[str] = mapped_column(
        String(64)
    )  # the stage or material (受案, 立案, 强制措施, 涉案财物, 笔录 ...)
    points: Mapped[int] = mapped_column()
    severity: Mapped[str] = mapped_column(String(16))

    @property
    def severity_enum(self) -> Severity:
        return Severity(self.severity)


class PlanState(StrEnum):
    DRAFT = "draft"
    SCORING = "scoring"  # drawn: tasks are out with the evaluators
    CLOSED = "closed"  # the appeal window closed: findings confirmed or withdrawn

    @property
    def label(self) -> str:
        return {"draft": "待抽取", "scoring": "考评中", "closed": "已结束"}[self.value]


class EvaluationPlan(db.Model):
    """A plan (考评方案) of an organising unit: which cases, drawn how, against which standard version, by when."""

    __tablename__ = "evaluation_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    organiser_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    organiser_unit: Mapped[Unit] = relationship()
    standard_id: Mapped[int] = mapped_column(ForeignKey("evaluation_standard.id"))
    standard: Mapped[EvaluationStandard] = relationship()
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    unit_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    case_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    sample_share: Mapped[float | None] = mapped_column()
    sample_count: Mapped[int | None] = mapped_column()
    seed: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=PlanState.DRAFT.value)
    scoring_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    appeal_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    review_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rectify_days: Mapped[int] = mapped_column(default=15)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("officer.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def state_enum(self) -> PlanState:
        return PlanState(self.state)


class EvaluationTask(db.Model):
    """One sampled case of a plan and the evaluator (法制员 of another unit) who scores it."""

    __tablename__ = "evaluation_task"
    __table_args__ = (
        UniqueConstraint("plan_id", "case_id", name="uq_evaluation_task_case"),
        Index("ix_evaluation_task_evaluator", "evaluator_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("evaluation_plan.id"), index=True)
    plan: Mapped[EvaluationPlan] = relationship()
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"))
    case: Mapped[Case] = relationship()
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))  # the handling unit when drawn
    unit: Mapped[Unit] = relationship()
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))  # the case's lead officer when drawn
    officer: Mapped[Officer | None] = relationship(foreign_keys=[officer_id])
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("officer.id"))
    evaluator: Mapped[Officer] = relationship(foreign_keys=[evaluator_id])
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The task's own scoring deadline once the organiser extended it or reassigned the task (NULL: the plan's).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the evaluator's WeChat was told of the task (NULL: not yet, or reassigned since).
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    findings: Mapped[list["EvaluationFinding"]] = relationship(back_populates="task", order_by="EvaluationFinding.id")

    @property
    def scoring_due_at(self) -> datetime:
        """The moment the evaluator must have submitted by: the task's own deadline, else the plan's."""
        return self.due_at or self.plan.scoring_due_at

    def overdue(self, now: datetime) -> bool:
        return self.submitted_at is None and now > self.scoring_due_at


class FindingState(StrEnum):
    RECORDED = "recorded"  # sent to the unit; may be appealed within the window
    APPEALED = "appealed"
    WITHDRAWN = "withdrawn"  # the appeal was upheld: no deduction
    CONFIRMED = "confirmed"

    @property
    def label(self) -> str:
        return {"recorded": "待确认", "appealed": "申诉中", "withdrawn": "申诉成立已撤销", "confirmed": "已确认"}[
            self.value
        ]


class EvaluationFinding(db.Model):
    """A problem found on a sampled case against one criterion, with the evidence it rests on; its points are
    the criterion's (never typed)."""

    __tablename__ = "evaluation_finding"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("evaluation_task.id"), index=True)
    task: Mapped[EvaluationTask] = relationship(back_populates="findings")
    plan_id: Mapped[int] = mapped_column(ForeignKey("evaluation_plan.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("evaluation_criterion.id"))
    criterion: Mapped[EvaluationCriterion] = relationship()
    points: Mapped[int] = mapped_column()
    evidence: Mapped[str] = mapped_column(Text)  # the material, step or record it rests on
    note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default=FindingState.RECORDED.value)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    appeal_reason: Mapped[str | None] = mapped_column(Text)
    appealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    appealed_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    review_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def state_enum(self) -> FindingState:
        return FindingState(self.state)

    @property
    def counts(self) -> bool:
        """Whether its points are deducted now: recorded (and not appealed) or confirmed. A finding under appeal is
        pending (待复核) until reviewed, and one withdrawn on appeal never counts."""
        return self.state in (FindingState.RECORDED.value, FindingState.CONFIRMED.value)

    @property
    def pending(self) -> bool:
        """Under appeal: its points are shown apart from the confirmed score until the organiser reviews it."""
        return self.state == FindingState.APPEALED.value

    @property
    def status_text(self) -> str:
        """The state as pages and exports show it: pending while under appeal, and a review made late is said so."""
        if self.pending:
            return "申诉中(待复核)"
        return self.state_enum.label + ("(逾期复核)" if self.reviewed_late else "")

    @property
    def reviewed_late(self) -> bool:
        """Reviewed after the plan's review deadline (shown 逾期复核)."""
        return self.reviewed_at is not None and self.reviewed_at > self.task.plan.review_due_at


class EvaluationRectification(db.Model):
    """The rectification (整改) a confirmed finding asks of its unit, watched by a deadline clock: resolved when the
    unit recorded what was done and the organiser accepted it."""

    __tablename__ = "evaluation_rectification"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("evaluation_finding.id"), unique=True)
    finding: Mapped[EvaluationFinding] = relationship()
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    unit: Mapped[Unit] = relationship()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    clock_id: Mapped[int | None] = mapped_column(ForeignKey("deadline_clock.id"))
    done_text: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))

    @property
    def state_label(self) -> str:
        if self.accepted_at:
            return "已整改验收"
        return "已报整改待验收" if self.done_at else "待整改"
