"""Counting deadlines in calendar days or in working days on the Chinese calendar (with 调休 make-up days).

Where a year's days come from, in order: a year an operator loaded (`flask calendar import`: the State Council's
notice, or a correction), the maintained `chinese-calendar` package (official data up to 2026), and otherwise a
provisional year computed from the statutory holidays (`supervision.statutory`). A working-day count never fails
for want of data: a deadline that rests on a provisional year is marked provisional (`Due.provisional`), shown as
「暂定」, and recomputed when the year's notice is loaded.

Day boundaries are Beijing dates (Asia/Shanghai). A working-day deadline keeps the wall-clock time of its start:
accepted on Friday 15:00 with 3 working days is due at 15:00 on the third working day after that Friday.
"""

import csv
import functools
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

import chinese_calendar
from flask import has_app_context
from sqlalchemy import select

from casework import clock, per_transaction
from casework.db import db
from supervision import statutory
from supervision.models import CalendarDay, CalendarYear

MAX_WORKING_DAYS = 400  # a window longer than this is a mistake in a rule, not a deadline


class YearSource(StrEnum):
    LOADED = "loaded"  # an operator imported the year's notice
    PACKAGE = "package"  # the chinese-calendar package's official data
    PROVISIONAL = "provisional"  # computed from the statutory holidays; 调休 unknown until the notice

    @property
    def label(self) -> str:
        return {"loaded": "官方(已导入)", "package": "官方(内置数据)", "provisional": "暂定"}[self.value]

    @property
    def official(self) -> bool:
        return self is not YearSource.PROVISIONAL


@dataclass(frozen=True)
class Due:
    """A deadline and how it was counted: `days` from `start`; provisional when a working-day count went through a
    year without official data (`years`: the provisional years it crossed)."""

    at: datetime
    start: datetime | None = None
    days: int | None = None
    years: tuple[int, ...] = ()

    @property
    def provisional(self) -> bool:
        return bool(self.years)

    @classmethod
    def fixed(cls, at: datetime) -> "Due":
        """A moment that was not counted (a deadline copied from elsewhere, or "now")."""
        return cls(at=at)


@functools.cache
def _package_knows(year: int) -> bool:
    """Whether the chinese-calendar package has the year's official data (it raises for any day of another year)."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@dataclass
class Calendar:
    """Which days are working days: loaded years (weekday holidays, worked weekends) over the package's data, over
    provisional years computed from the statutory holidays."""

    loaded: dict[int, dict[date, str]] = field(default_factory=dict)  # year -> {day: "holiday" | "workday"}

    def source(self, year: int) -> YearSource:
        if year in self.loaded:
            return YearSource.LOADED
        if _package_knows(year):
            return YearSource.PACKAGE
        return YearSource.PROVISIONAL

    def is_working_day(self, day: date) -> bool:
        """Whether `day` (a Beijing date) is a working day."""
        source = self.source(day.year)
        if source is YearSource.LOADED:
            kind = self.loaded[day.year].get(day)
            return kind == "workday" if kind is not None else day.weekday() < 5
        if source is YearSource.PACKAGE:
            return bool(chinese_calendar.is_workday(day))
        return day.weekday() < 5 and day not in statutory.provisional_year(day.year).rest_days

    def knows(self, year: int) -> bool:
        """Whether the year rests on official data (loaded or from the package), not on a provisional computation."""
        return self.source(year).official

    def special_days(self, year: int) -> list[tuple[date, str, str]]:
        """The year's days that differ from the plain week: (day, "holiday" | "workday", name), sorted."""
        source = self.source(year)
        if source is YearSource.PROVISIONAL:
            return [(d, "holiday", name) for d, name in sorted(statutory.provisional_year(year).rest_days.items())]
        if source is YearSource.LOADED:
            names = _loaded_names(year)
            return [(d, kind, names.get(d, "")) for d, kind in sorted(self.loaded[year].items())]
        found = []
        day = date(year, 1, 1)
        while day.year == year:
            working = chinese_calendar.is_workday(day)
            if working == (day.weekday() >= 5):  # a weekday off, or a weekend worked
                _, name = chinese_calendar.get_holiday_detail(day)
                label = _PACKAGE_NAMES.get(getattr(name, "value", None) or str(name or ""), str(name or ""))
                found.append((day, "workday" if working else "holiday", label))
            day += timedelta(days=1)
        return found

    def count_working_days(self, start: datetime, days: int) -> Due:
        """The moment `days` working days after `start`, at the same Beijing wall-clock time, with the provisional
        years the count went through."""
        if not 0 <= days <= MAX_WORKING_DAYS:
            raise ValueError(f"{days} working days is outside 0..{MAX_WORKING_DAYS}")
        local = clock.local(start)
        day, counted = local.date(), 0
        crossed: set[int] = set()
        while counted < days:
            day += timedelta(days=1)
            if day.year not in crossed and not self.knows(day.year):
                crossed.add(day.year)
            if self.is_working_day(day):
                counted += 1
        at = local.replace(year=day.year, month=day.month, day=day.day).astimezone(start.tzinfo)
        return Due(at=at, start=start, days=days, years=tuple(sorted(crossed)))

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The moment `days` working days after `start`, at the same Beijing wall-clock time."""
        return self.count_working_days(start, days).at


# chinese-calendar names its holidays in English (its Holiday enum's values); officers read Chinese.
_PACKAGE_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


def _loaded_names(year: int) -> dict[date, str]:
    if not has_app_context():
        return {}
    return dict(db.session.execute(select(CalendarDay.day, CalendarDay.name).where(CalendarDay.year == year)).all())


def _load() -> Calendar:
    loaded: dict[int, dict[date, str]] = {}
    for (year,) in db.session.execute(select(CalendarYear.year)):
        loaded[year] = {}
    for day, year, kind in db.session.execute(select(CalendarDay.day, CalendarDay.year, CalendarDay.kind)):
        loaded.setdefault(year, {})[day] = kind
    return Calendar(loaded)


def current() -> Calendar:
    """The calendar as loaded in the database, read once per transaction (the package and the statutory rules
    alone outside an app)."""
    if not has_app_context():
        return Calendar()
    return per_transaction.value(CalendarDay, ("calendar",), _load)


def due(start: datetime, days: int, *, working: bool = False) -> Due:
    """`start` plus `days` calendar days, or `days` working days on the Chinese calendar (provisional when a year
    on the way has no official data)."""
    if not working:
        return Due(at=start + timedelta(days=days), start=start, days=days)
    return current().count_working_days(start, days)


def add_days(start: datetime, days: int, *, working: bool = False) -> datetime:
    """`start` plus `days` calendar days, or `days` working days on the Chinese calendar."""
    return due(start, days, working=working).at


# -- the file an operator loads: one year of holidays and make-up working days -----------------------------------


@dataclass(frozen=True)
class YearFile:
    """A checked year: its weekday holidays and its worked weekend days, each with a name."""

    year: int
    days: tuple[tuple[date, str, str], ...]  # (day, kind, name)


class CalendarFileError(ValueError):
    """What is wrong with a calendar file, line by line (nothing is loaded when there is any)."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def parse_year_file(content: str, *, filename: str = "") -> YearFile:
    """Read and check a year's file: CSV `date,kind,name` (kind `holiday` or `workday`) or JSON
    `{"year": 2027, "holidays": [{"date": ..., "name": ...}], "workdays": [...]}`; every problem is reported."""
    stripped = content.lstrip("\ufeff").strip()
    if filename.endswith(".json") or stripped.startswith("{"):
        rows = _json_rows(stripped)
    else:
        rows = _csv_rows(stripped)
    problems: list[str] = []
    seen: dict[date, int] = {}
    days: list[tuple[date, str, str]] = []
    years: set[int] = set()
    for where, raw_day, raw_kind, name in rows:
        try:
            day = date.fromisoformat(raw_day.strip())
        except ValueError:
            problems.append(f"{where}: 日期「{raw_day}」不是 YYYY-MM-DD")
            continue
        kind = raw_kind.strip().lower()
        if kind not in ("holiday", "workday"):
            problems.append(f"{where}: 类型「{raw_kind}」应为 holiday 或 workday")
            continue
        if kind == "holiday" and day.weekday() >= 5:
            problems.append(f"{where}: {day} 是周末,不必列为 holiday")
            continue
        if kind == "workday" and day.weekday() < 5:
            problems.append(f"{where}: {day} 是工作日,不能列为调休上班(workday)")
            continue
        if day in seen:
            problems.append(f"{where}: {day} 重复(第一次在 {seen[day]})")
            continue
        seen[day] = where
        years.add(day.year)
        days.append((day, kind, name.strip()[:64]))
    if not rows:
        problems.append("文件中没有任何日期")
    if len(years) > 1:
        problems.append(f"一个文件只能包含一年的数据(发现 {', '.join(map(str, sorted(years)))})")
    if problems:
        raise CalendarFileError(problems)
    return YearFile(year=years.pop(), days=tuple(sorted(days)))


def _csv_rows(content: str) -> list[tuple[str, str, str, str]]:
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(content)), start=1):
        if not row or not "".join(row).strip() or row[0].strip().startswith("#"):
            continue
        if number == 1 and row[0].strip().lower() == "date":
            continue  # a header line
        cells = [*row, "", ""][:3]
        rows.append((f"第{number}行", cells[0], cells[1], cells[2]))
    return rows


def _json_rows(content: str) -> list[tuple[str, str, str, str]]:
    try:
        document = json.loads(content)
    except json.JSONDecodeError as exc:
        raise CalendarFileError([f"JSON 无法解析:第{exc.lineno}行 {exc.msg}"]) from None
    if not isinstance(document, dict):
        raise CalendarFileError(["JSON 顶层应为对象"])
    rows = []
    for key, kind in (("holidays", "holiday"), ("workdays", "workday")):
        entries = document.get(key, [])
        if not isinstance(entries, list):
            raise CalendarFileError([f"{key} 应为列表"])
        for index, entry in enumerate(entries):
            if isinstance(entry, str):
                entry = {"date": entry}
            if not isinstance(entry, dict):
                rows.append((f"{key}[{index}]", repr(entry), kind, ""))
                continue
            rows.append((f"{key}[{index}]", str(entry.get("date", "")), kind, str(entry.get("name", ""))))
    declared = document.get("year")
    if declared is not None:
        wrong = [r for r in rows if not r[1].startswith(f"{declared}-")]
        if wrong:
            raise CalendarFileError([f"{r[0]}: {r[1]} 不在声明的年份 {declared}" for r in wrong])
    return rows
