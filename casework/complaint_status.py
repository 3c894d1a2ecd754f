"""The complaint status machine: which step may follow which, what the citizen and the officer read for each,
and the verdicts supervision gives.

filed -> routed (the unit's inbox and the supervision queue both have it) -> accepted (by a supervisor) ->
investigating (the unit's written explanation requested) -> explained (received) -> decided (the verdict and the
action taken) -> answered (to the complainant) -> closed (rated). An unsatisfied rating of the first answer
reopens the complaint once, back to accepted, for a second review; after the second answer any rating closes it.
"""

from enum import StrEnum

from casework.errors import IllegalTransition

# How many reviews a complaint gets at most: the first, and one more after an unsatisfied rating.
MAX_REVIEWS = 2
# The lowest rating (1-5) that counts as satisfied.
SATISFIED_FROM = 3


class ComplaintStatus(StrEnum):
    FILED = "filed"  # committed; the routing jobs are pending
    ROUTED = "routed"  # the handling unit's inbox and the supervision queue both have it
    ACCEPTED = "accepted"  # a supervisor took it on
    INVESTIGATING = "investigating"  # the handling unit's written explanation is requested
    EXPLAINED = "explained"  # the explanation is in
    DECIDED = "decided"  # the verdict is given, with the action taken
    ANSWERED = "answered"  # the complainant has the answer
    CLOSED = "closed"

    @property
    def label(self) -> str:
        """What the complainant reads."""
        return CITIZEN_LABELS[self]

    @property
    def officer_label(self) -> str:
        """What the console shows."""
        return OFFICER_LABELS[self]

    @property
    def is_final(self) -> bool:
        return not TRANSITIONS[self]


S = ComplaintStatus

CITIZEN_LABELS = {
    S.FILED: "已提交",
    S.ROUTED: "待受理",
    S.ACCEPTED: "已受理",
    S.INVESTIGATING: "调查中",
    S.EXPLAINED: "调查中",
    S.DECIDED: "待答复",
    S.ANSWERED: "已答复",
    S.CLOSED: "已办结",
}

OFFICER_LABELS = {
    S.FILED: "已提交(转办中)",
    S.ROUTED: "待受理",
    S.ACCEPTED: "已受理",
    S.INVESTIGATING: "待单位说明",
    S.EXPLAINED: "单位已说明",
    S.DECIDED: "已作出结论",
    S.ANSWERED: "已答复待评价",
    S.CLOSED: "已办结",
}

TRANSITIONS: dict[ComplaintStatus, frozenset[ComplaintStatus]] = {
    S.FILED: frozenset({S.ROUTED}),
    S.ROUTED: frozenset({S.ACCEPTED}),
    S.ACCEPTED: frozenset({S.INVESTIGATING}),
    S.INVESTIGATING: frozenset({S.EXPLAINED}),
    S.EXPLAINED: frozenset({S.DECIDED}),
    S.DECIDED: frozenset({S.ANSWERED}),
    S.ANSWERED: frozenset({S.CLOSED, S.ACCEPTED}),  # accepted again: the second review
    S.CLOSED: frozenset(),
}

# The statuses a supervisor still has work in (the queue's default view).
OPEN = frozenset(set(S) - {S.CLOSED})


def check_transition(current: ComplaintStatus, target: ComplaintStatus, *, review: int = 1) -> None:
    """Raise IllegalTransition unless `target` may directly follow `current` in the `review`-th review."""
    if target in TRANSITIONS[current] and not (
        current is S.ANSWERED and target is S.ACCEPTED and review >= MAX_REVIEWS
    ):
        return
    if current is S.ANSWERED and target is S.ACCEPTED:
        raise IllegalTransition(
            "该投诉已复查过一次,不能再次复查", current=current.value, target=target.value, review=review
        )
    allowed = "、".join(s.officer_label for s in sorted(TRANSITIONS[current])) or "无"
    raise IllegalTransition(
        f"投诉状态不能从「{current.officer_label}」变为「{target.officer_label}」(可变为:{allowed})",
        current=current.value,
        target=target.value,
    )


def after_rating(rating: int, *, review: int) -> ComplaintStatus:
    """Where a rated answer takes the complaint: a second review after an unsatisfied first one, else closed."""
    if rating < SATISFIED_FROM and review < MAX_REVIEWS:
        return S.ACCEPTED
    return S.CLOSED


class Verdict(StrEnum):
    SUBSTANTIATED = "substantiated"
    PARTLY_SUBSTANTIATED = "partly_substantiated"
    NOT_SUBSTANTIATED = "not_substantiated"

    @property
    def label(self) -> str:
        return {
            "substantiated": "投诉属实",
            "partly_substantiated": "投诉部分属实",
            "not_substantiated": "投诉不属实",
        }[self.value]
