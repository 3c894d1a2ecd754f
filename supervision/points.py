"""Monitoring points (监测预警点) as data: the defaults the migration seeds, reading their windows, and the admin's
changes (on/off, parameters), audited.

A point's `rule` is `clock` (a deadline watched from a start event to a stop event) or `finding` (a problem found
the moment an event shows it, e.g. a reclassification after handling). Its parameters give the window (`days` with
`working`, `hours` or `minutes`), the blue share (`blue_share`) and, for a yellow path, the rectification window
(`rectify_days` with `working`, `rectify_hours` or `rectify_minutes`). `category_key` names the key of a category's
`deadlines` that overrides `days` for incidents of that category.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy import update as sa_update
from sqlalchemy.exc import IntegrityError

from casework import audit, clock
from casework.access import require_officer
from casework.db import db
from casework.errors import InvalidInput, NotFound
from casework.events import Event, publish
from casework.models import Officer, Role
from casework.unit_of_work import use_case
from supervision import calendar
from supervision.models import DeadlineClock, MonitoringPoint

FILING_OVERDUE = "FILING_OVERDUE"
CASE_OVERDUE = "CASE_OVERDUE"
COMPLAINT_UNANSWERED = "COMPLAINT_UNANSWERED"
EXPLANATION_OVERDUE = "EXPLANATION_OVERDUE"
INCIDENT_UNASSIGNED = "INCIDENT_UNASSIGNED"
CHAT_UNANSWERED = "CHAT_UNANSWERED"
VIDEO_NOT_STORED = "VIDEO_NOT_STORED"
RECLASSIFIED_AFTER_HANDLED = "RECLASSIFIED_AFTER_HANDLED"
CATEGORY_CHANGED_OFTEN = "CATEGORY_CHANGED_OFTEN"
CLOSED_WITHOUT_SCENE = "CLOSED_WITHOUT_SCENE"

# (code, name, rule, parameters, colour path, description): what the migration seeds.
DEFAULTS: list[tuple[str, str, str, dict, str, str]] = [
    (
        FILING_OVERDUE,
        "受案立案超期",
        "clock",
        {"days": 3, "working": True, "blue_share": 0.6, "category_key": "filing_review_days"},
        "blue,red",
        "刑事案件受案后须在期限内作出立案或不予立案决定",
    ),
    (
        CASE_OVERDUE,
        "治安案件办理超期",
        "clock",
        {"days": 30, "working": False, "blue_share": 0.8, "category_key": "case_days"},
        "blue,red",
        "治安案件自受案起30日内办结(经批准可延长30日)",
    ),
    (
        COMPLAINT_UNANSWERED,
        "投诉未按期答复",
        "clock",
        {"days": 7, "working": False, "blue_share": 0.6},
        "blue,red",
        "投诉须在规定期限内答复投诉人",
    ),
    (
        EXPLANATION_OVERDUE,
        "单位情况说明超期",
        "clock",
        {"days": 3, "working": True, "blue_share": 0.6},
        "blue,red",
        "被投诉单位须在期限内提交书面情况说明",
    ),
    (
        INCIDENT_UNASSIGNED,
        "警情超时未派警",
        "clock",
        {"minutes": 10, "rectify_minutes": 20},
        "yellow,red",
        "警情接报后超过N分钟仍未分派或派警",
    ),
    (
        CHAT_UNANSWERED,
        "群众留言超时未回复",
        "clock",
        {"minutes": 30, "rectify_minutes": 60},
        "yellow,red",
        "群众在对话中的留言超过N分钟无人回复",
    ),
    (
        VIDEO_NOT_STORED,
        "视频证据未及时入库",
        "clock",
        {"hours": 6, "rectify_hours": 24},
        "yellow,red",
        "群众上传的视频超过N小时仍未存入证据库",
    ),
    (
        RECLASSIFIED_AFTER_HANDLED,
        "警情不当归类",
        "finding",
        {"rectify_days": 3, "working": True},
        "yellow,red",
        "警情处置完毕后又被修改类别",
    ),
    (
        CATEGORY_CHANGED_OFTEN,
        "反复修改案由",
        "finding",
        {"max_changes": 2, "rectify_days": 3, "working": True},
        "yellow,red",
        "同一警情(案件)的类别或案由修改超过N次",
    ),
    (
        CLOSED_WITHOUT_SCENE,
        "派警后速结未到场",
        "finding",
        {"minutes": 5, "rectify_days": 3, "working": True},
        "yellow,red",
        "派警后N分钟内即结警,未见到场处置",
    ),
]


def all_points() -> dict[str, MonitoringPoint]:
    """Every monitoring point by code (a default missing from the table is put back first)."""
    found = {p.code: p for p in db.session.scalars(select(MonitoringPoint))}
    if len(found) < len(DEFAULTS):
        ensure_defaults()
        found = {p.code: p for p in db.session.scalars(select(MonitoringPoint))}
    return found


def point(code: str) -> MonitoringPoint:
    """One monitoring point by code."""
    found = db.session.scalar(select(MonitoringPoint).where(MonitoringPoint.code == code))
    if found is None and code in {d[0] for d in DEFAULTS}:
        ensure_defaults()
        found = db.session.scalar(select(MonitoringPoint).where(MonitoringPoint.code == code))
    if found is None:
        raise NotFound(f"监测点 {code} 不存在")
    return found


def ensure_defaults() -> int:
    """Put back any default point missing from the table (the migration seeds them; an emptied database or a
    point added by a later release gets them here), in the current transaction; returns how many were added."""
    present = set(db.session.scalars(select(MonitoringPoint.code)))
    added = 0
    for code, name, rule, parameters, path, description in DEFAULTS:
        if code in present:
            continue
        try:
            with db.session.begin_nested():
                db.session.add(
                    MonitoringPoint(
                        code=code,
                        name=name,
                        rule=rule,
                        parameters=dict(parameters),
                        colour_path=path,
                        enabled=True,
                        level="province",
                        description=description,
                    )
                )
                db.session.flush()
        except IntegrityError:
            continue  # another process put it back first
        added += 1
    return added


@dataclass(frozen=True)
class Window:
    """A span of time: so many days (working or calendar) or minutes."""

    days: int | None = None
    minutes: int | None = None
    working: bool = False

    def after(self, start: datetime) -> datetime:
        """The end of the window begun at `start` (CalendarMissing when working days reach an unknown year)."""
        if self.days is not None:
            return calendar.add_days(start, self.days, working=self.working)
        return start + timedelta(minutes=self.minutes or 0)

    def blue(self, start: datetime, due: datetime, share: float | None) -> datetime | None:
        """The blue moment: `share` of the way from `start` to `due` (elapsed time, as the officer lives it)."""
        if share is None or not 0 < share < 1:
            return None
        return start + (due - start) * share


def window(parameters: dict, *, prefix: str = "", days_override: int | None = None) -> Window | None:
    """The window a point's parameters describe (`rectify_` prefix: its rectification window)."""
    working = bool(parameters.get("working", False))
    if days_override is not None:
        return Window(days=int(days_override), working=working)
    if parameters.get(f"{prefix}days") is not None:
        return Window(days=int(parameters[f"{prefix}days"]), working=working)
    if parameters.get(f"{prefix}hours") is not None:
        return Window(minutes=round(float(parameters[f"{prefix}hours"]) * 60))
    if parameters.get(f"{prefix}minutes") is not None:
        return Window(minutes=int(parameters[f"{prefix}minutes"]))
    return None


NUMERIC_PARAMETERS = ("days", "hours", "minutes", "rectify_days", "rectify_hours", "rectify_minutes", "max_changes")


@use_case
def update(
    *,
    actor: Officer,
    code: str,
    enabled: bool | None = None,
    parameters: dict | None = None,
    now: datetime | None = None,
) -> MonitoringPoint:
    """An admin turns a point on or off or changes its parameters (checked: known keys, sane numbers); audited."""
    require_officer(actor, Role.ADMIN)
    found = point(code)
    now = now or clock.now()
    before = {"enabled": found.enabled, "parameters": dict(found.parameters)}
    if parameters is not None:
        found.parameters = _checked(found, parameters)
    if enabled is not None:
        if enabled and not found.enabled:
            # Turned back on: its running clocks are looked at again by the next sweep.
            db.session.execute(
                sa_update(DeadlineClock)
                .where(DeadlineClock.kind == found.code, DeadlineClock.stopped_at.is_(None))
                .values(next_check_at=now)
            )
        found.enabled = bool(enabled)
    audit.record(
        actor=actor,
        action="monitoring_point.changed",
        subject=found,
        at=now,
        detail={"code": code, "before": before, "after": {"enabled": found.enabled, "parameters": found.parameters}},
    )
    publish(Event.MONITORING_POINT_CHANGED, point_id=found.id)
    return found


def _checked(found: MonitoringPoint, parameters: dict) -> dict:
    merged = dict(found.parameters)
    for key, value in parameters.items():
        if key not in found.parameters:
            raise InvalidInput(f"监测点 {found.code} 没有参数 {key}")
        if key == "working":
            merged[key] = value in (True, "true", "1", "on", "yes")
        elif key == "blue_share":
            try:
                share = float(value)
            except (TypeError, ValueError):
                raise InvalidInput("蓝色预警比例须为0到1之间的小数") from None
            if not 0 < share < 1:
                raise InvalidInput("蓝色预警比例须为0到1之间的小数")
            merged[key] = share
        elif key in NUMERIC_PARAMETERS:
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise InvalidInput(f"参数 {key} 须为正整数") from None
            if not 0 < number <= 10000:
                raise InvalidInput(f"参数 {key} 须为1到10000之间的整数")
            merged[key] = number
        else:
            merged[key] = str(value)
    return merged
