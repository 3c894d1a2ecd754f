"""Working days on the Chinese calendar with its make-up working days (调休), a provisional year computed from the
statutory holidays where no official data exists, and the year file an operator loads."""

from datetime import date, datetime, timedelta

import chinese_calendar
import pytest

from casework.clock import CHINA
from supervision import statutory
from supervision.calendar import Calendar, CalendarFileError, YearSource, add_days, due, parse_year_file


def bj(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=CHINA)


def test_national_day_2025_is_skipped_and_its_make_up_saturday_counts():
    calendar = Calendar()
    assert calendar.is_working_day(date(2025, 9, 28))  # a Sunday worked before the holiday
    assert not calendar.is_working_day(date(2025, 10, 6))  # a Monday off
    assert calendar.is_working_day(date(2025, 10, 11))  # a Saturday worked after it
    # Thu 9 Oct, Fri 10 Oct, Sat 11 Oct (make-up day): three working days after Tue 30 Sep.
    assert calendar.add_working_days(bj(2025, 9, 30, 15), 3) == bj(2025, 10, 11, 15)
    assert add_days(bj(2025, 9, 30, 15), 3) == bj(2025, 10, 3, 15)  # calendar days, no app: plain arithmetic


def test_spring_festival_2025_with_its_make_up_sunday_and_saturday():
    calendar = Calendar()
    # 2025: Sun 26 Jan worked; 28 Jan - 4 Feb off; Sat 8 Feb worked.
    assert calendar.add_working_days(bj(2025, 1, 24, 9), 2) == bj(2025, 1, 27, 9)
    assert calendar.add_working_days(bj(2025, 1, 27, 9), 1) == bj(2025, 2, 5, 9)
    assert calendar.add_working_days(bj(2025, 2, 7, 9), 1) == bj(2025, 2, 8, 9)


def test_beijing_date_decides_the_day_not_utc():
    calendar = Calendar()
    # 30 Sep 17:00 UTC is already 1 Oct 01:00 in Beijing: the count starts from 1 Oct, a holiday.
    start = datetime.fromisoformat("2025-09-30T17:00:00+00:00")
    assert calendar.add_working_days(start, 1) == bj(2025, 10, 9, 1)


def test_a_year_with_no_data_is_counted_provisionally_and_marked_so():
    calendar = Calendar()
    assert calendar.source(2026) is YearSource.PACKAGE and calendar.source(2027) is YearSource.PROVISIONAL
    # Mon 28 Dec 2026 10:00 + 7 working days: 29, 30, 31 Dec, (Fri 1 Jan 元旦 off), 4, 5, 6, 7 Jan.
    counted = calendar.count_working_days(bj(2026, 12, 28, 10), 7)
    assert counted.at == bj(2027, 1, 7, 10) and counted.provisional and counted.years == (2027,)
    within = calendar.count_working_days(bj(2026, 12, 1, 10), 3)
    assert within.at == bj(2026, 12, 4, 10) and not within.provisional
    # A loaded year is official: the same count is no longer provisional, and its 调休 counts.
    loaded = Calendar({2027: {date(2027, 1, 1): "holiday", date(2027, 1, 2): "workday"}})
    official = loaded.count_working_days(bj(2026, 12, 28, 10), 7)
    assert official.at == bj(2027, 1, 6, 10) and not official.provisional
    # Calendar days never depend on holidays.
    assert not due(bj(2026, 12, 28, 10), 30).provisional


def test_a_count_into_2028_works_too():
    calendar = Calendar()
    # 春节 2028: 除夕 Tue 25 Jan to 初三 Fri 28 Jan, all weekdays, no 补假. From Thu 20 Jan: 21, 24, 31 Jan, 1-4, 7, 8,
    # 9 Feb is the tenth working day.
    counted = calendar.count_working_days(bj(2028, 1, 20, 9), 10)
    assert counted.at == bj(2028, 2, 9, 9) and counted.years == (2028,)
    spanning = calendar.count_working_days(bj(2026, 12, 30, 9), 300)
    assert spanning.years == (2027, 2028)


def test_the_provisional_2027_from_the_statutory_rules():
    year = statutory.provisional_year(2027)
    holidays = dict(year.holidays)
    # 春节 2027: 初一 is Sat 6 Feb (lunar-python), so 除夕 Fri 5 Feb to 初三 Mon 8 Feb.
    assert [d for d, name in year.holidays if name == "春节"] == [date(2027, 2, d) for d in (5, 6, 7, 8)]
    assert holidays[date(2027, 4, 5)] == "清明节"
    assert holidays[date(2027, 6, 9)] == "端午节" and holidays[date(2027, 9, 15)] == "中秋节"
    # Sat 6 and Sun 7 Feb are made up on the first weekdays after the break (art. 6), as are 1-2 May and 2-3 Oct.
    assert year.make_up_days == [
        date(2027, 2, 9),
        date(2027, 2, 10),
        date(2027, 5, 3),
        date(2027, 5, 4),
        date(2027, 10, 4),
        date(2027, 10, 5),
    ]
    calendar = Calendar()
    assert not calendar.is_working_day(date(2027, 2, 5)) and not calendar.is_working_day(date(2027, 2, 10))
    assert calendar.is_working_day(date(2027, 2, 11))
    # No make-up working weekend is guessed: every weekend of the provisional year is a rest day.
    day = date(2027, 1, 1)
    while day.year == 2027:
        if day.weekday() >= 5:
            assert not calendar.is_working_day(day), day
        day += timedelta(days=1)
    assert all(kind == "holiday" for _, kind, _ in calendar.special_days(2027))


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_statutory_rules_agree_with_the_official_years(year):
    """The rules and the lunar package give, for the years with official data, holidays the official data has."""
    computed = statutory.provisional_year(year)
    assert len(computed.holidays) == 13  # 1 + 4 + 1 + 2 + 1 + 1 + 3 days, since 2025
    english = {
        "元旦": "New Year's Day",
        "春节": "Spring Festival",
        "清明节": "Tomb-sweeping Day",
        "劳动节": "Labour Day",
    }
    english |= {"端午节": "Dragon Boat Festival", "中秋节": "Mid-autumn Festival", "国庆节": "National Day"}
    for day, name in computed.holidays:
        on_holiday, official_name = chinese_calendar.get_holiday_detail(day)
        assert on_holiday and official_name == english[name], (day, name, official_name)


def test_a_loaded_year_overrides_the_package():
    corrected = Calendar({2025: {date(2025, 10, 9): "holiday"}})  # an operator's correction (for the test)
    assert not corrected.is_working_day(date(2025, 10, 9))
    assert not corrected.is_working_day(date(2025, 10, 11))  # a loaded year knows only what its file says


def test_the_year_file_in_csv_and_json():
    csv_year = parse_year_file("date,kind,name\n2027-01-01,holiday,元旦\n2027-02-20,workday,春节调休\n")
    assert csv_year.year == 2027
    assert csv_year.days == ((date(2027, 1, 1), "holiday", "元旦"), (date(2027, 2, 20), "workday", "春节调休"))
    json_year = parse_year_file(
        '{"year": 2027, "holidays": [{"date": "2027-01-01", "name": "元旦"}], "workdays": ["2027-02-20"]}'
    )
    assert json_year.days[0] == (date(2027, 1, 1), "holiday", "元旦") and json_year.days[1][1] == "workday"


def test_every_bad_line_is_reported():
    with pytest.raises(CalendarFileError) as refused:
        parse_year_file(
            "2027-01-01,holiday,元旦\n2027-13-01,holiday,x\n2027-01-02,holiday,周六\n"
            "2027-01-04,workday,周一\n2027-01-01,holiday,重复\n2027-01-05,rest,x\n"
        )
    problems = refused.value.problems
    assert [p.split(":")[0] for p in problems] == ["第2行", "第3行", "第4行", "第5行", "第6行"]
    with pytest.raises(CalendarFileError, match="一年"):
        parse_year_file("2027-01-01,holiday,元旦\n2028-01-03,holiday,x\n")
    with pytest.raises(CalendarFileError, match="没有任何日期"):
        parse_year_file("date,kind,name\n")
