"""The complaint status machine: every step that may follow another, every other one refused, and the second
review given once only."""

from datetime import UTC, datetime

import pytest

from casework.complaint_status import (
    CITIZEN_LABELS,
    MAX_REVIEWS,
    OFFICER_LABELS,
    TRANSITIONS,
    ComplaintStatus,
    after_rating,
    check_transition,
)
from casework.errors import IllegalTransition
from supervision.calendar import add_days

S = ComplaintStatus
LEGAL = {
    (S.FILED, S.ROUTED),
    (S.ROUTED, S.ACCEPTED),
    (S.ACCEPTED, S.INVESTIGATING),
    (S.INVESTIGATING, S.EXPLAINED),
    (S.EXPLAINED, S.DECIDED),
    (S.DECIDED, S.ANSWERED),
    (S.ANSWERED, S.CLOSED),
    (S.ANSWERED, S.ACCEPTED),  # the second review
}


def test_the_transitions_are_exactly_the_workflow():
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == LEGAL
    assert [s for s in S if s.is_final] == [S.CLOSED]


@pytest.mark.parametrize(("current", "target"), [(a, b) for a in S for b in S if (a, b) not in LEGAL], ids=str)
def test_every_other_transition_is_refused(current, target):
    with pytest.raises(IllegalTransition) as refused:
        check_transition(current, target, review=1)
    assert refused.value.detail["current"] == current.value and "投诉状态不能从" in refused.value.message


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL), ids=str)
def test_every_legal_transition_passes_in_the_first_review(current, target):
    check_transition(current, target, review=1)


def test_the_second_review_is_given_once():
    check_transition(S.ANSWERED, S.ACCEPTED, review=1)
    with pytest.raises(IllegalTransition, match="已复查过一次"):
        check_transition(S.ANSWERED, S.ACCEPTED, review=MAX_REVIEWS)
    check_transition(S.ANSWERED, S.CLOSED, review=MAX_REVIEWS)


@pytest.mark.parametrize("rating", [1, 2, 3, 4, 5])
def test_an_unsatisfied_first_rating_reopens_and_any_second_rating_closes(rating):
    assert after_rating(rating, review=1) is (S.ACCEPTED if rating < 3 else S.CLOSED)
    assert after_rating(rating, review=2) is S.CLOSED


def test_every_status_has_its_chinese_labels():
    assert set(CITIZEN_LABELS) == set(OFFICER_LABELS) == set(S)
    assert [S(s).label for s in ("filed", "accepted", "investigating", "answered", "closed")] == [
        "已提交",
        "已受理",
        "调查中",
        "已答复",
        "已办结",
    ]


def test_deadlines_count_calendar_days_or_skip_the_weekend():
    friday_evening = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)  # 18:00 on Friday in Beijing
    assert add_days(friday_evening, 1) == datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    assert add_days(friday_evening, 1, working=True) == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # Monday
    assert add_days(friday_evening, 5, working=True) == datetime(2026, 12, 11, 10, 0, tzinfo=UTC)
    late_friday = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)  # already Saturday 01:00 in Beijing
    assert add_days(late_friday, 1, working=True) == datetime(2026, 12, 6, 17, 0, tzinfo=UTC)  # Monday 01:00 there
