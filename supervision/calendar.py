"""Counting deadlines in days: calendar days, or working days.

A placeholder for the Chinese working-day calendar: working days here only skip Saturdays and Sundays (no public
holidays, no make-up working days); the calendar with official holiday data replaces it.
"""

from datetime import UTC, datetime, timedelta

from casework import clock


def add_days(start: datetime, days: int, *, working: bool = False) -> datetime:
    """`start` moved `days` days on (calendar days, or working days when `working`), at the same time of day."""
    if not working:
        return start + timedelta(days=days)
    aware = start if start.tzinfo else start.replace(tzinfo=UTC)
    local = clock.local(aware)  # a day is a working day on the Beijing wall clock
    moved = 0
    while moved < days:
        local += timedelta(days=1)
        if local.weekday() < 5:
            moved += 1
    moved_on = local.astimezone(UTC)
    return moved_on if start.tzinfo else moved_on.replace(tzinfo=None)
