"""A provisional holiday year computed from the statutory holidays, for a year whose official notice (调休安排) is
not yet known: the days the law fixes, and nothing it leaves to the notice.

The rules are data (`RULES`), each with its legal basis. Lunar dates and the solar term 清明 come from the
maintained `lunar-python` package; nothing here computes astronomy.

- The holidays of 《全国年节及纪念日放假办法》 (as revised by the State Council's decision of November 2024, in
  force from 1 January 2025), article 2: 元旦 1 day, 春节 4 days (农历除夕 to 正月初三), 清明节 1 day (the day of
  the solar term), 劳动节 2 days (1-2 May), 端午节 1 day (农历五月初五), 中秋节 1 day (农历八月十五), 国庆节 3 days
  (1-3 October).
- A statutory holiday that falls on a Saturday or Sunday is made up on a working day (补假; the same measures,
  article 6). Which day is for the notice to say; provisionally it is the first weekday after the holiday's run
  of rest days, the placement every notice has used for a 补假 that was not moved into a longer break.
- Weekend days worked to make a longer break (调休上班) exist only by the notice: they are never guessed, so a
  provisional year has none.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from lunar_python import Lunar, Solar

BASIS = "《全国年节及纪念日放假办法》(2024年11月修订,2025年1月1日起施行)第二条"
MAKE_UP_BASIS = "《全国年节及纪念日放假办法》第六条:全体公民放假的假日适逢星期六、星期日,应当在工作日补假"
RULES_SINCE = 2025  # the year from which the rules below are the law


def _new_year(year: int) -> list[date]:
    return [date(year, 1, 1)]


def _spring_festival(year: int) -> list[date]:
    first = Lunar.fromYmd(year, 1, 1).getSolar()
    day_one = date(first.getYear(), first.getMonth(), first.getDay())
    return [day_one + timedelta(days=offset) for offset in (-1, 0, 1, 2)]  # 除夕, 初一, 初二, 初三


def _qingming(year: int) -> list[date]:
    term = Solar.fromYmd(year, 4, 15).getLunar().getJieQiTable()["清明"]
    return [date(term.getYear(), term.getMonth(), term.getDay())]


def _lunar_day(month: int, day: int):
    def days(year: int) -> list[date]:
        solar = Lunar.fromYmd(year, month, day).getSolar()
        return [date(solar.getYear(), solar.getMonth(), solar.getDay())]

    return days


def _fixed(month: int, first: int, count: int):
    def days(year: int) -> list[date]:
        return [date(year, month, first + offset) for offset in range(count)]

    return days


# (name, the days in a given Gregorian year, legal basis)
RULES = (
    ("元旦", _new_year, f"{BASIS}第一项:新年,放假1天(1月1日)"),
    ("春节", _spring_festival, f"{BASIS}第二项:春节,放假4天(农历除夕、正月初一至初三)"),
    ("清明节", _qingming, f"{BASIS}第三项:清明节,放假1天(农历清明当日)"),
    ("劳动节", _fixed(5, 1, 2), f"{BASIS}第四项:劳动节,放假2天(5月1日、2日)"),
    ("端午节", _lunar_day(5, 5), f"{BASIS}第五项:端午节,放假1天(农历端午当日)"),
    ("中秋节", _lunar_day(8, 15), f"{BASIS}第六项:中秋节,放假1天(农历中秋当日)"),
    ("国庆节", _fixed(10, 1, 3), f"{BASIS}第七项:国庆节,放假3天(10月1日至3日)"),
)


@dataclass(frozen=True)
class ProvisionalYear:
    """The statutory holidays of a year and its rest days on weekdays (holidays and 补假), each with its name."""

    year: int
    holidays: tuple[tuple[date, str], ...]  # every statutory holiday day, weekends included
    rest_days: dict[date, str]  # weekdays off: statutory holidays on weekdays, and 补假

    @property
    def make_up_days(self) -> list[date]:
        return sorted(d for d, name in self.rest_days.items() if name.endswith("补假"))


@cache
def provisional_year(year: int) -> ProvisionalYear:
    """The year as the law alone makes it (see the module's docstring)."""
    holidays: list[tuple[date, str]] = []
    for name, days, _basis in RULES:
        holidays.extend((day, name) for day in days(year) if day.year == year)
    holidays.sort()
    rest: dict[date, str] = {}
    owed: list[tuple[date, str]] = []  # statutory days that gave no weekday off: on a weekend, or on another holiday
    for day, name in holidays:
        if day.weekday() >= 5 or day in rest:
            owed.append((day, name))
        else:
            rest[day] = name
    holiday_days = {day for day, _ in holidays}
    for day, name in owed:
        candidate = day + timedelta(days=1)
        while candidate.weekday() >= 5 or candidate in rest or candidate in holiday_days:
            candidate += timedelta(days=1)
        if candidate.year == year:
            rest[candidate] = f"{name}补假"
    return ProvisionalYear(year=year, holidays=tuple(holidays), rest_days=rest)
