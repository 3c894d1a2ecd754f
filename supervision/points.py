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
from sqlalchemy.dialects import postgresql, sqlite

from casework import audit, clock, per_transaction
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
# The case file (a measure's term is the measure's own: these points give its blue share).
MEASURE_SUMMONS_TERM = "MEASURE_SUMMONS_TERM"
MEASURE_DETENTION_TERM = "MEASURE_DETENTION_TERM"
MEASURE_ARREST_TERM = "MEASURE_ARREST_TERM"
MEASURE_BAIL_TERM = "MEASURE_BAIL_TERM"
MEASURE_SURVEILLANCE_TERM = "MEASURE_SURVEILLANCE_TERM"
MEASURE_ADMIN_DETENTION_TERM = "MEASURE_ADMIN_DETENTION_TERM"
MEASURE_UNAPPROVED = "MEASURE_UNAPPROVED"
MEASURE_BEYOND_LIMIT = "MEASURE_BEYOND_LIMIT"
MEASURE_BEFORE_FILING = "MEASURE_BEFORE_FILING"
PROPERTY_NOT_STORED = "PROPERTY_NOT_STORED"
PROPERTY_OUT_OVERDUE = "PROPERTY_OUT_OVERDUE"
PROPERTY_UNDISPOSED = "PROPERTY_UNDISPOSED"
MATERIALS_MISSING = "MATERIALS_MISSING"
INVESTIGATION_OVERDUE = "INVESTIGATION_OVERDUE"
# Online evaluation: a confirmed finding's rectification (yellow when confirmed, red when its due date passed).
EVALUATION_RECTIFY = "EVALUATION_RECTIFY"
# Online evaluation's own deadlines: a task unsubmitted at the scoring deadline, an appeal unreviewed at the review one.
EVALUATION_SCORING_DUE = "EVALUATION_SCORING_DUE"
EVALUATION_REVIEW_DUE = "EVALUATION_REVIEW_DUE"

CASE_POINTS: list[tuple[str, str, str, dict, str, str]] = [
    (
        MEASURE_SUMMONS_TERM,
        "传唤超时",
        "clock",
        {"blue_share": 0.75},
        "blue,red",
        "传唤、拘传持续时间将满(蓝)或超过期限仍未结束或经批准延长(红)",
    ),
    (
        MEASURE_DETENTION_TERM,
        "刑事拘留超期未提请逮捕",
        "clock",
        {"blue_share": 0.67},
        "blue,red",
        "刑事拘留期限将满(蓝)或届满仍未提请批准逮捕、变更、释放或经批准延长(红)",
    ),
    (
        MEASURE_ARREST_TERM,
        "提请逮捕超期未处理",
        "clock",
        {"blue_share": 0.7},
        "blue,red",
        "提请批准逮捕后检察机关决定期限将满或已过仍未变更或解除",
    ),
    (
        MEASURE_BAIL_TERM,
        "取保候审期限届满",
        "clock",
        {"blue_share": 0.9},
        "blue,red",
        "取保候审期限将满(蓝)或届满仍未解除或变更(红)",
    ),
    (
        MEASURE_SURVEILLANCE_TERM,
        "监视居住期限届满",
        "clock",
        {"blue_share": 0.9},
        "blue,red",
        "监视居住期限将满(蓝)或届满仍未解除或变更(红)",
    ),
    (
        MEASURE_ADMIN_DETENTION_TERM,
        "行政拘留期满未解除",
        "clock",
        {"blue_share": 0.8},
        "blue,red",
        "行政拘留期限将满(蓝)或届满仍未解除(红)",
    ),
    (
        MEASURE_UNAPPROVED,
        "强制措施延长未审批",
        "finding",
        {"rectify_days": 1, "working": False},
        "yellow,red",
        "强制措施延长期限未经审批",
    ),
    (
        MEASURE_BEYOND_LIMIT,
        "违规取保候审",
        "finding",
        {"rectify_days": 3, "working": True},
        "yellow,red",
        "取保候审、监视居住续期后超过法定最长期限",
    ),
    (
        MEASURE_BEFORE_FILING,
        "未立案采取强制措施",
        "finding",
        {"rectify_days": 3, "working": True},
        "yellow,red",
        "案件尚未立案即采取不允许立案前采取的强制措施",
    ),
    (
        PROPERTY_NOT_STORED,
        "涉案财物未按时入库",
        "clock",
        {"hours": 24, "rectify_hours": 24},
        "yellow,red",
        "扣押的涉案财物超过N小时未移交涉案财物管理室",
    ),
    (
        PROPERTY_OUT_OVERDUE,
        "涉案财物调出逾期未还",
        "clock",
        {"rectify_days": 1, "working": False},
        "yellow,red",
        "涉案财物调出后超过约定归还日期仍未归还入库",
    ),
    (
        PROPERTY_UNDISPOSED,
        "办结案件财物未处置",
        "finding",
        {"rectify_days": 30, "working": False},
        "yellow,red",
        "案件已办结,仍有涉案财物未处置、发还或移交",
    ),
    (
        MATERIALS_MISSING,
        "案件材料未录入",
        "clock",
        {"days": 3, "working": True, "rectify_days": 3},
        "yellow,red",
        "案件进入某一阶段后N个工作日内仍未录入该阶段必需的法律文书",
    ),
    (
        INVESTIGATION_OVERDUE,
        "立案侦查超期",
        "clock",
        {"days": 60, "working": False, "blue_share": 0.8, "category_key": "investigation_days"},
        "blue,red",
        "刑事案件立案后N日内应侦查终结(移送审查起诉或作出处理),逾期须经审批延长"
        "(默认60日,参照刑事诉讼法第一百五十六条侦查羁押期限二个月)",
    ),
]

EVALUATION_POINTS: list[tuple[str, str, str, dict, str, str]] = [
    (
        EVALUATION_RECTIFY,
        "考评问题整改",
        "finding",
        {"rectify_days": 15, "working": False},
        "yellow,red",
        "执法考评确认的问题须在方案规定的期限内整改并经组织单位验收,逾期未整改到位即为红色预警",
    ),
    (
        EVALUATION_SCORING_DUE,
        "考评评查超期",
        "clock",
        {"blue_share": 0.75},
        "blue,red",
        "评查任务临近方案规定的评查截止时间仍未提交(蓝,提醒评查人),截止时仍未提交(红,告知组织单位)",
    ),
    (
        EVALUATION_REVIEW_DUE,
        "考评申诉超期未复核",
        "clock",
        {},
        "red",
        "被考评单位的申诉至方案规定的复核截止时间仍未复核(红,告知组织单位)",
    ),
]

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
        {"blue_share": 0.6},
        "blue,red",
        "投诉须在规定期限内答复投诉人(期限即投诉的答复期限:COMPLAINT_ANSWER_DAYS,按 COMPLAINT_DAYS_COUNTED 计)",
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
    *CASE_POINTS,
    *EVALUATION_POINTS,
]
_DEFAULT_CODES = frozenset(d[0] for d in DEFAULTS)


def all_points() -> dict[str, MonitoringPoint]:
    """Every monitoring point by code (a default missing from the table is put back first)."""
    found = {p.code: p for p in db.session.scalars(select(MonitoringPoint))}
    if len(found) < len(DEFAULTS):
        ensure_defaults()
        found = {p.code: p for p in db.session.scalars(select(MonitoringPoint))}
    return found


def names() -> dict[str, str]:
    """Each monitoring point's name by code, as officers read it."""
    return {code: found.name for code, found in all_points().items()}


def point(code: str) -> MonitoringPoint:
    """One monitoring point by code (read once per transaction: a batch starting many clocks reads it once)."""
    found = per_transaction.lookup(MonitoringPoint, ("monitoring_point", code), lambda: _read_point(code))
    if found is None:
        raise NotFound(f"监测点 {code} 不存在")
    return found


def _read_point(code: str) -> MonitoringPoint | None:
    found = db.session.scalar(select(MonitoringPoint).where(MonitoringPoint.code == code))
    if found is None and code in _DEFAULT_CODES:
        ensure_defaults()
        found = db.session.scalar(select(MonitoringPoint).where(MonitoringPoint.code == code))
    return found


def ensure_defaults() -> int:
    """Put back any default point missing from the table (the migration seeds them; an emptied database or a
    point added by a later release gets them here), in the current transaction; returns how many were added.

    INSERT ... ON CONFLICT DO NOTHING, so two processes doing it at once add each point once, without a SAVEPOINT
    (a job's transaction stays one plain transaction)."""
    present = set(db.session.scalars(select(MonitoringPoint.code)))
    missing = [
        {
            "code": code,
            "name": name,
            "rule": rule,
            "parameters": dict(parameters),
            "colour_path": path,
            "enabled": True,
            "level": "province",
            "description": description,
        }
        for code, name, rule, parameters, path, description in DEFAULTS
        if code not in present
    ]
    if not missing:
        return 0
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(MonitoringPoint).values(missing).on_conflict_do_nothing(index_elements=["code"])
    return db.session.execute(statement).rowcount


@dataclass(frozen=True)
class Window:
    """A span of time: so many days (working or calendar) or minutes."""

    days: int | None = None
    minutes: int | None = None
    working: bool = False

    def count(self, start: datetime) -> "calendar.Due":
        """The end of the window begun at `start`, with whether it rests on a provisional holiday year."""
        if self.days is not None:
            return calendar.due(start, self.days, working=self.working)
        return calendar.Due.fixed(start + timedelta(minutes=self.minutes or 0))

    def after(self, start: datetime) -> datetime:
        """The end of the window begun at `start`."""
        return self.count(start).at

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
