"""The results of evaluation: scores per unit and per officer (ranked), each unit's trend over plans, the
drill-down to findings, a CSV export that opens in Excel (UTF-8 with BOM), and a unit's printable report.

A score counts the findings that stand (recorded and not appealed, or confirmed); a finding under appeal is
pending (待复核): its points are shown apart and count only once the organiser rejects the appeal."""

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from casework.access import scope_of
from casework.db import db
from casework.errors import NotFound
from casework.models import Officer, Unit
from supervision.evaluation import score
from supervision.evaluation_models import EvaluationFinding, EvaluationPlan, EvaluationTask


@dataclass
class Standing:
    """One unit's (or officer's) result in a plan."""

    key: int
    name: str
    cases: int = 0
    findings: int = 0
    deducted: int = 0
    pending: int = 0  # findings under appeal, not yet counted
    pending_points: int = 0
    total: int = 0
    rank: int = 0
    finding_ids: list[int] = field(default_factory=list)

    @property
    def average(self) -> float:
        return round(self.total / self.cases, 1) if self.cases else 0.0


def _submitted(plan: EvaluationPlan) -> list[EvaluationTask]:
    return list(
        db.session.scalars(
            select(EvaluationTask)
            .where(EvaluationTask.plan_id == plan.id, EvaluationTask.submitted_at.is_not(None))
            .order_by(EvaluationTask.id)
        )
    )


def _ranked(standings: dict[int, Standing]) -> list[Standing]:
    ordered = sorted(standings.values(), key=lambda s: (-s.average, s.name))
    for position, standing in enumerate(ordered, start=1):
        same = position > 1 and ordered[position - 2].average == standing.average
        standing.rank = ordered[position - 2].rank if same else position
    return ordered


def _add(standing: Standing, task: EvaluationTask) -> None:
    counted = [f for f in task.findings if f.counts]
    standing.cases += 1
    standing.findings += len(counted)
    standing.deducted += sum(f.points for f in counted)
    standing.total += score(task.findings)
    standing.finding_ids += [f.id for f in counted]
    pending = [f for f in task.findings if f.pending]
    standing.pending += len(pending)
    standing.pending_points += sum(f.points for f in pending)


def by_unit(plan: EvaluationPlan) -> list[Standing]:
    """Each evaluated unit's average score over its scored cases, ranked (equal averages share a rank)."""
    standings: dict[int, Standing] = {}
    for task in _submitted(plan):
        _add(standings.setdefault(task.unit_id, Standing(task.unit_id, task.unit.name)), task)
    return _ranked(standings)


def by_officer(plan: EvaluationPlan) -> list[Standing]:
    """Each lead officer's average score over their scored cases, ranked."""
    standings: dict[int, Standing] = {}
    for task in _submitted(plan):
        if task.officer_id is not None:
            _add(standings.setdefault(task.officer_id, Standing(task.officer_id, task.officer.name)), task)
    return _ranked(standings)


def trend(viewer: Officer, unit_ids: list[int] | None = None) -> tuple[list[EvaluationPlan], dict[str, list]]:
    """Each unit's average score over the plans the viewer sees (oldest first): unit name -> [average or None]."""
    scope = scope_of(viewer)
    plans = [
        p
        for p in db.session.scalars(select(EvaluationPlan).order_by(EvaluationPlan.period_end, EvaluationPlan.id))
        if p.drawn_at is not None and (scope.covers(p.organiser_unit_id) or any(scope.covers(u) for u in p.unit_ids))
    ]
    series: dict[str, list] = defaultdict(lambda: [None] * len(plans))
    for index, plan in enumerate(plans):
        for standing in by_unit(plan):
            if scope.covers(standing.key) and (unit_ids is None or standing.key in unit_ids):
                series[standing.name][index] = standing.average
    return plans, dict(series)


def findings_of(plan: EvaluationPlan, *, unit_id: int | None = None, officer_id: int | None = None):
    """The drill-down: the findings behind a unit's or an officer's score."""
    query = (
        select(EvaluationFinding)
        .join(EvaluationTask)
        .where(EvaluationFinding.plan_id == plan.id, EvaluationTask.submitted_at.is_not(None))
    )
    if unit_id is not None:
        query = query.where(EvaluationFinding.unit_id == unit_id)
    if officer_id is not None:
        query = query.where(EvaluationTask.officer_id == officer_id)
    return list(db.session.scalars(query.order_by(EvaluationFinding.id)))


def unit_report(viewer: Officer, plan: EvaluationPlan, unit_id: int) -> tuple[Unit, Standing | None, list]:
    """A unit's printable report: its standing and every finding; another unit's answers as a missing one."""
    unit = db.session.get(Unit, unit_id)
    scope = scope_of(viewer)
    if (
        unit is None
        or unit_id not in plan.unit_ids
        or not (scope.covers(unit_id) or scope.covers(plan.organiser_unit_id))
    ):
        raise NotFound("未找到该单位的考评结果")
    standing = next((s for s in by_unit(plan) if s.key == unit_id), None)
    return unit, standing, findings_of(plan, unit_id=unit_id)


def csv_export(plan: EvaluationPlan) -> bytes:
    """Units then officers, ranked, then every finding: UTF-8 with BOM, so that Excel opens it in Chinese."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["考评方案", plan.name, "考评标准", f"{plan.standard.name} 第{plan.standard.version}版"])
    writer.writerow(["类别", "排名", "名称", "考评案件数", "问题数", "扣分", "平均得分", "待复核问题数", "待复核扣分"])
    for kind, standings in (("单位", by_unit(plan)), ("民警", by_officer(plan))):
        for s in standings:
            writer.writerow(
                [kind, s.rank, s.name, s.cases, s.findings, s.deducted, s.average, s.pending, s.pending_points]
            )
    writer.writerow([])
    writer.writerow(["案件编号", "单位", "考评项", "考评内容", "扣分", "依据", "状态"])
    for finding in findings_of(plan):
        writer.writerow(
            [
                finding.task.case.number,
                finding.task.unit.name,
                finding.criterion.code,
                finding.criterion.text,
                finding.points,
                finding.evidence,
                finding.status_text,
            ]
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
