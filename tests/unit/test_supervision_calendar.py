"""Working days on the Chinese calendar with its make-up working days (调休), and the year file an operator loads."""

from datetime import date, datetime

import pytest

from casework.clock import CHINA
from supervision.calendar import Calendar, CalendarFileError, CalendarMissing, add_days, parse_year_file


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


def test_a_year_with_no_data_is_missing_never_guessed():
    calendar = Calendar()
    with pytest.raises(CalendarMissing) as missing:
        calendar.add_working_days(bj(2026, 12, 30, 10), 3)
    assert missing.value.year == 2027
    loaded = Calendar({2027: {date(2027, 1, 1): "holiday"}})
    assert loaded.add_working_days(bj(2026, 12, 30, 10), 3) == bj(2027, 1, 5, 10)  # 31 Dec, (1 Jan off), 4, 5 Jan


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
