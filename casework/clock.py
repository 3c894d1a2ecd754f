"""The one place the current time is read; logic takes `now` as an argument."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")

_frozen: datetime | None = None


def now() -> datetime:
    """Current time, aware UTC (tests may freeze it)."""
    return _frozen or datetime.now(UTC)


def freeze(moment: datetime | None) -> None:
    """Pin `now()` to a moment (None releases it); for tests and demos only."""
    global _frozen
    _frozen = moment


def local(moment: datetime) -> datetime:
    """The moment on the China Standard Time wall clock, as citizens and officers read it."""
    return moment.astimezone(CHINA)
