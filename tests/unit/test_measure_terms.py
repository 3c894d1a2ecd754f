"""Compulsory measures' default legal terms, counted on the Beijing wall clock (no I/O)."""

from datetime import datetime, timedelta

from casework import measures
from casework.clock import CHINA


def bj(year, month, day, hour=0):
    return datetime(year, month, day, hour, tzinfo=CHINA)


def test_months_keep_the_wall_clock_and_clamp_to_the_end_of_a_shorter_month():
    assert measures.add_months(bj(2025, 1, 31, 10), 1) == bj(2025, 2, 28, 10)
    assert measures.add_months(bj(2024, 1, 31, 10), 1) == bj(2024, 2, 29, 10)
    assert measures.add_months(bj(2025, 3, 15, 23), 12) == bj(2026, 3, 15, 23)


def test_the_default_terms():
    start = bj(2025, 3, 1, 9)
    kinds = measures.KINDS
    assert kinds["summons"].term(start) == start + timedelta(hours=12)
    assert kinds["summons"].legal_max(start, False) == start + timedelta(hours=24)
    assert kinds["detention"].term(start) == start + timedelta(days=3)
    assert kinds["detention"].legal_max(start, False) == start + timedelta(days=7)
    assert kinds["detention"].legal_max(start, True) == start + timedelta(days=30)
    assert kinds["bail"].term(start) == bj(2026, 3, 1, 9)
    assert kinds["surveillance"].term(start) == bj(2025, 9, 1, 9)
    assert kinds["admin_detention"].case_types == (measures.CaseType.PUBLIC_ORDER,)
    assert not kinds["bail"].before_filing and kinds["detention"].before_filing
