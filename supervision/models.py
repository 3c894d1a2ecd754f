"""The supervision engine's tables: calendar years, deadline clocks, monitoring points, warnings, notifications."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.db import UTCDateTime, db, utcnow
from casework.models import Officer, Unit


class CalendarYear(db.Model):
    """A year of official holidays and make-up working days loaded by an operator (`flask calendar import`)."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(256))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def id(self) -> int:  # the audit log names a subject by its id
        return self.year


class DayKind(StrEnum):
    HOLIDAY = "holiday"  # a weekday off (法定节假日 or 调休 rest day)
    WORKDAY = "workday"  # a weekend day worked (调休上班)


class CalendarDay(db.Model):
    """One day of a loaded year that differs from the plain week (a holiday on a weekday, a worked weekend)."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("calendar_year.year", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64), default="")


class ProvisionalDue(db.Model):
    """A deadline kept in a row's column (e.g. a complaint's `due_at`) that was counted through a provisional
    holiday year: how it was counted, so that loading that year's notice can count it again. `value` is what was
    stored; a column that has changed since is not touched (the row is then stale and dropped)."""

    __tablename__ = "provisional_due"
    __table_args__ = (UniqueConstraint("subject_table", "subject_id", "field", name="uq_provisional_due_field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_table: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[int] = mapped_column()
    field: Mapped[str] = mapped_column(String(64))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    days: Mapped[int] = mapped_column()
    value: Mapped[datetime] = mapped_column(UTCDateTime())
    first_year: Mapped[int] = mapped_column()  # the provisional years the count went through
    last_year: Mapped[int] = mapped_column(index=True)


class SubjectType(StrEnum):
    INCIDENT = "incident"
    CASE = "case"
    COMPLAINT = "complaint"
    MEASURE = "measure"  # a compulsory measure of a case
    PROPERTY = "property"  # an item of case property
    RECTIFICATION = "rectification"  # an evaluation finding's rectification
    EVALUATION_TASK = "evaluation_task"  # a sampled case an evaluator must score by the deadline
    APPEAL = "appeal"  # an evaluation finding under appeal, to be reviewed by the deadline

    @property
    def label(self) -> str:
        return {
            "incident": "警情",
            "case": "案件",
            "complaint": "投诉",
            "measure": "强制措施",
            "property": "涉案财物",
            "rectification": "考评整改",
            "evaluation_task": "评查任务",
            "appeal": "考评申诉",
        }[self.value]

    @property
    def on_case(self) -> bool:
        """A case's own subject (the case, a measure, an item): named by the case number, shown with its case."""
        return self in (SubjectType.CASE, SubjectType.MEASURE, SubjectType.PROPERTY)


class DeadlineClock(db.Model):
    """One watched deadline (or one finding of a monitoring point) on an incident, case or complaint.

    `next_check_at` is the next moment the sweep has anything to do with this clock (its blue moment, its
    deadline, a rectification due date, or "now" after it stopped or was rectified); NULL when nothing is due.
    The sweep reads only rows whose `next_check_at` has come, through a partial index, so its cost follows what
    is due, not what is open.
    """

    __tablename__ = "deadline_clock"
    __table_args__ = (
        Index(
            "ix_deadline_clock_next_check",
            "next_check_at",
            postgresql_where=text("next_check_at IS NOT NULL"),
            sqlite_where=text("next_check_at IS NOT NULL"),
        ),
        # One running clock of a kind per subject; a stopped one may be followed by a new one (a new chat message).
        Index(
            "uq_deadline_clock_running",
            "subject_type",
            "subject_id",
            "kind",
            unique=True,
            postgresql_where=text("stopped_at IS NULL"),
            sqlite_where=text("stopped_at IS NULL"),
        ),
        Index("ix_deadline_clock_subject", "subject_type", "subject_id"),
        Index(
            "ix_deadline_clock_provisional",
            "id",
            postgresql_where=text("provisional"),
            sqlite_where=text("provisional"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column()
    subject_number: Mapped[str] = mapped_column(String(32), default="")
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))  # for drill-down
    kind: Mapped[str] = mapped_column(String(32))  # the monitoring point's code
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    unit: Mapped[Unit | None] = relationship()
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    officer: Mapped[Officer | None] = relationship()
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The window as the rule set it: so many days (working or calendar) or minutes; kept to recompute due_at.
    window_days: Mapped[int | None] = mapped_column()
    window_minutes: Mapped[int | None] = mapped_column()
    working_days: Mapped[bool] = mapped_column(default=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # NULL for a clock with no window
    blue_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rectify_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # set when its yellow is raised
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stop_reason: Mapped[str | None] = mapped_column(String(64))
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extended_count: Mapped[int] = mapped_column(default=0)
    # The deadline rests on a provisional holiday year (no official notice yet); recomputed when one is loaded.
    provisional: Mapped[bool] = mapped_column(default=False, server_default=false())
    # How often a loaded calendar moved the deadline: each move starts a new occurrence of its warnings.
    deadline_moves: Mapped[int] = mapped_column(default=0, server_default="0")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # what the finding saw (counts, moments)

    @property
    def running(self) -> bool:
        return self.stopped_at is None

    @property
    def occurrence(self) -> int:
        """Which round of warnings the clock is in: a new one after each extension or calendar move."""
        return self.extended_count + self.deadline_moves


class MonitoringPoint(db.Model):
    """A 监测预警点 as data: what it watches (`rule`), its parameters, its colour path, on/off, its level."""

    __tablename__ = "monitoring_point"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(32))
    parameters: Mapped[dict] = mapped_column(JSON, default=dict)
    colour_path: Mapped[str] = mapped_column(String(32))  # "blue,red" or "yellow,red" or "blue,yellow,red"
    enabled: Mapped[bool] = mapped_column(default=True)
    level: Mapped[str] = mapped_column(String(16), default="province")  # the level whose supervision owns it
    description: Mapped[str] = mapped_column(Text, default="")

    @property
    def colours(self) -> tuple[str, ...]:
        return tuple(c.strip() for c in self.colour_path.split(",") if c.strip())


class Colour(StrEnum):
    BLUE = "blue"
    YELLOW = "yellow"
    RED = "red"

    @property
    def label(self) -> str:
        return {"blue": "蓝色预警", "yellow": "黄色预警", "red": "红色预警"}[self.value]

    @property
    def rank(self) -> int:
        return {"blue": 1, "yellow": 2, "red": 3}[self.value]


class Warning(db.Model):
    """One blue, yellow or red warning on a clock; raised once per (clock, colour, occurrence)."""

    __tablename__ = "supervision_warning"
    __table_args__ = (
        UniqueConstraint("clock_id", "colour", "occurrence", name="uq_supervision_warning_once"),
        Index(
            "ix_supervision_warning_open_incident",
            "incident_id",
            postgresql_where=text("resolved_at IS NULL"),
            sqlite_where=text("resolved_at IS NULL"),
        ),
        Index("ix_supervision_warning_unit_raised", "unit_id", "raised_at"),
        Index("ix_supervision_warning_clock", "clock_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("deadline_clock.id"))
    clock: Mapped[DeadlineClock] = relationship()
    point_id: Mapped[int] = mapped_column(ForeignKey("monitoring_point.id"))
    point: Mapped[MonitoringPoint] = relationship()
    colour: Mapped[str] = mapped_column(String(8))
    occurrence: Mapped[int] = mapped_column(default=0)  # the clock's occurrence (extensions + calendar moves)
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column()
    subject_number: Mapped[str] = mapped_column(String(32), default="")
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    escalated_to_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the moment it became due (catch-up keeps it)
    rectify_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # yellow: the rectification due date
    rectification: Mapped[str | None] = mapped_column(Text)
    rectified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rectified_by_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution: Mapped[str | None] = mapped_column(String(64))

    @property
    def colour_enum(self) -> Colour:
        return Colour(self.colour)


class NotificationChannel(StrEnum):
    CONSOLE = "console"
    WECHAT = "wechat"
    SMS = "sms"


class Notification(db.Model):
    """One notice of a warning to one officer on one channel; at most one per (warning, officer, channel)."""

    __tablename__ = "supervision_notification"
    __table_args__ = (
        UniqueConstraint("warning_id", "officer_id", "channel", name="uq_supervision_notification_once"),
        Index("ix_supervision_notification_officer_unread", "officer_id", "read_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("supervision_warning.id"))
    warning: Mapped[Warning] = relationship()
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id"))
    officer: Mapped[Officer] = relationship()
    channel: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
