"""Counting deadlines in calendar days or in working days on the Chinese calendar (with 调休 make-up days).

The base data is the maintained `chinese-calendar` package; a year an operator loaded (`flask calendar import`,
for a newly announced year or a correction) takes precedence over it. A working-day count that reaches a year
known to neither raises `CalendarMissing`: the caller flags the deadline, it is never guessed.

Day boundaries are Beijing dates (Asia/Shanghai). A working-day deadline keeps the wall-clock time of its start:
accepted on Friday 15:00 with 3 working days is due at 15:00 on the third working day after that Friday.
"""

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import chinese_calendar
from flask import has_app_context
from sqlalchemy import select

from casework import clock
from casework.db import db
from supervision.models import CalendarDay, CalendarYear

MAX_WORKING_DAYS = 400  # a window longer than this is a mistake in a rule, not a deadline


class CalendarMissing(LookupError):
    """No holiday data for a year a working-day count needs (load it with `flask calendar import`)."""

    def __init__(self, year: int):
        super().__init__(f"no holiday calendar for {year}: load it with `flask calendar import`")
        self.year = year


@dataclass
class Calendar:
    """Which days are working days: loaded years (weekday holidays, worked weekends) over the package's data."""

    loaded: dict[int, dict[date, str]] = field(default_factory=dict)  # year -> {day: "holiday" | "workday"}

    def is_working_day(self, day: date) -> bool:
        """Whether `day` (a Beijing date) is a working day; CalendarMissing for a year with no data."""
        if day.year in self.loaded:
            kind = self.loaded[day.year].get(day)
            if kind is not None:
                return kind == "workday"
            return day.weekday() < 5
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            raise CalendarMissing(day.year) from None

    def knows(self, year: int) -> bool:
        if year in self.loaded:
            return True
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The moment `days` working days after `start`, at the same Beijing wall-clock time."""
        if not 0 <= days <= MAX_WORKING_DAYS:
            raise ValueError(f"{days} working days is outside 0..{MAX_WORKING_DAYS}")
        local = clock.local(start)
        day, counted = local.date(), 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return local.replace(year=day.year, month=day.month, day=day.day).astimezone(start.tzinfo)


def current() -> Calendar:
    """The calendar as loaded in the database (the package alone outside an app)."""
    if not has_app_context():
        return Calendar()
    loaded: dict[int, dict[date, str]] = {}
    for (year,) in db.session.execute(select(CalendarYear.year)):
        loaded[year] = {}
    for day, year, kind in db.session.execute(select(CalendarDay.day, CalendarDay.year, CalendarDay.kind)):
        loaded.setdefault(year, {})[day] = kind
    return Calendar(loaded)


def add_days(start: datetime, days: int, *, working: bool = False) -> datetime:
    """`start` plus `days` calendar days, or `days` working days on the Chinese calendar (CalendarMissing when a
    year on the way has no data)."""
    if not working:
        return start + timedelta(days=days)
    return current().add_working_days(start, days)


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
