"""The supervision sweep: every minute, visit the clocks whose next moment has come and raise, escalate or
resolve their warnings.

- Idempotent: a warning is raised once per (clock, colour, occurrence) (a unique constraint), so a second run, or
  a run racing on another node, raises nothing again.
- Safe when two run at once: each batch locks its clocks with SKIP LOCKED (PostgreSQL), so two sweeps share the
  due clocks instead of both working on them.
- Catches up: a warning that fell due while nothing ran is raised once at the next run, carrying the moment it was
  due (`due_at`); a blue reminder whose deadline has also passed is skipped for the red.
- Costs what is due: it reads clocks through the partial index on `next_check_at`, never the open ones at large.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select

from casework import clock as wall_clock
from casework.db import db
from casework.models import Complaint, Incident, TimelineEntry
from casework.unit_of_work import transaction
from supervision import case_watch, clocks, evaluation_clocks, evaluation_review, points, warnings
from supervision.models import Colour, DeadlineClock, MonitoringPoint, SubjectType, Warning

log = logging.getLogger(__name__)

BATCH = 500


@dataclass
class SweepResult:
    visited: int = 0
    raised: int = 0
    resolved: int = 0

    def __str__(self) -> str:
        return f"visited {self.visited} clock(s), raised {self.raised}, resolved {self.resolved}"


def sweep(*, now: datetime | None = None, batch: int = BATCH) -> SweepResult:
    """One sweep as of `now`: every clock whose next moment has come, in batches of `batch`, each committed."""
    now = now or wall_clock.now()
    result = SweepResult()
    evaluation_review.close_windows(now=now)  # confirmed findings start rectification clocks this same sweep
    while True:
        with transaction():
            warnings.forget_recipients()  # who is told may have changed since the last batch
            by_code = points.all_points()
            due = list(
                db.session.scalars(
                    select(DeadlineClock)
                    .where(DeadlineClock.next_check_at <= now)
                    .order_by(DeadlineClock.next_check_at)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                    .execution_options(populate_existing=True)
                )
            )
            for target in due:
                _visit(target, by_code[target.kind], now, result)
            result.visited += len(due)
        if len(due) < batch:
            return result


def periodic_sweep(*, now: datetime) -> None:
    """The sweep as a periodic job (registered in `supervision.init_app`)."""
    result = sweep(now=now)
    if result.raised or result.resolved:
        log.info("supervision sweep at %s: %s", now.isoformat(), result)


CONDITIONS = case_watch.CONDITIONS | evaluation_review.CONDITIONS | evaluation_clocks.CONDITIONS
RECIPIENTS = evaluation_clocks.RECIPIENTS  # points whose warnings go to named people, not the unit's


def _visit(target: DeadlineClock, point: MonitoringPoint, now: datetime, result: SweepResult) -> None:
    if target.stopped_at is None and target.kind in CONDITIONS:
        if CONDITIONS[target.kind](target):
            clocks.stop(target, at=now, reason="condition_gone")
    elif target.stopped_at is None and point.rule == "finding" and _finding_gone(target):
        clocks.stop(target, at=now, reason="rectified")
    if target.stopped_at is not None:
        result.resolved += warnings.resolve_open(target, at=now, resolution=target.stop_reason or "condition_gone")
        target.next_check_at = None
        return
    if target.due_at is None and (target.window_days is not None or target.window_minutes is not None):
        clocks.rearm(target, point, now=now)  # a clock from before provisional years, left waiting for its calendar
    if not point.enabled or target.due_at is None:
        target.next_check_at = None  # re-armed when the point is turned on again
        return
    _refresh_holder(target)
    colours = point.colours
    red_at = target.due_at
    if "yellow" in colours:
        if target.due_at <= now and target.rectify_due_at is None:
            target.rectify_due_at = clocks.count_rectification(target, point).at
        red_at = target.rectify_due_at
        if target.due_at <= now:
            _raise(target, point, Colour.YELLOW, target.due_at, now, result, rectify_due_at=target.rectify_due_at)
    red_due = red_at is not None and red_at <= now and "red" in colours
    if "blue" in colours and target.blue_at is not None and target.blue_at <= now and not red_due:
        _raise(target, point, Colour.BLUE, target.blue_at, now, result)
    if red_due and _raise(target, point, Colour.RED, red_at, now, result):
        warnings.escalated(target, at=now)
    later = [m for m in (target.blue_at, target.due_at, target.rectify_due_at) if m is not None and m > now]
    target.next_check_at = min(later) if later else None


def _raise(target, point, colour, due_at, now, result, *, rectify_due_at=None) -> bool:
    raised = warnings.raise_once(
        target,
        point,
        colour,
        due_at=due_at,
        now=now,
        rectify_due_at=rectify_due_at,
        recipients=RECIPIENTS.get(target.kind),
    )
    if raised is not None:
        result.raised += 1
    return raised is not None


def _refresh_holder(target: DeadlineClock) -> None:
    """The unit and officer who hold the subject now (it may have been routed or reassigned since it started)."""
    if target.subject_type in (SubjectType.INCIDENT.value, SubjectType.CASE.value):
        incident = db.session.get(Incident, target.subject_id)
        if incident is not None:
            target.unit_id, target.officer_id = incident.unit_id, incident.assigned_officer_id
    elif target.subject_type in case_watch.HOLDERS:
        case_watch.HOLDERS[target.subject_type](target)
    elif target.subject_type == SubjectType.COMPLAINT.value:
        complaint = db.session.get(Complaint, target.subject_id)
        if complaint is not None:
            target.unit_id = complaint.handling_unit_id or complaint.incident.unit_id


def _finding_gone(target: DeadlineClock) -> bool:
    """Whether a finding is rectified for real: an answer was given and the problem has not come back since."""
    rectified_at = db.session.scalar(
        select(Warning.rectified_at)
        .where(Warning.clock_id == target.id, Warning.rectified_at.is_not(None))
        .order_by(Warning.rectified_at.desc())
        .limit(1)
    )
    if rectified_at is None:
        return False
    if target.kind == points.CATEGORY_CHANGED_OFTEN and target.subject_type == SubjectType.CASE.value:
        return not case_watch.cause_changed_since(target.subject_id, rectified_at)
    if target.kind in (points.RECLASSIFIED_AFTER_HANDLED, points.CATEGORY_CHANGED_OFTEN):
        changed_again = db.session.scalar(
            select(
                exists().where(
                    TimelineEntry.incident_id == target.incident_id,
                    TimelineEntry.kind == "recategorised",
                    TimelineEntry.at > rectified_at,
                )
            )
        )
        return not changed_again
    return True
