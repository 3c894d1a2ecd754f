"""The incident status machine (no I/O)."""

import pytest

from casework.errors import IllegalTransition
from casework.status import TRANSITIONS, IncidentStatus, check_transition

S = IncidentStatus
LEGAL = {
    (S.RECEIVED, S.DISPATCHED),
    (S.DISPATCHED, S.ON_SCENE),
    (S.ON_SCENE, S.HANDLED),
    (S.HANDLED, S.CLOSED),
    (S.HANDLED, S.ACCEPTED),
    (S.ACCEPTED, S.FILED),
    (S.ACCEPTED, S.NOT_FILED),
    (S.FILED, S.CONCLUDED),
    (S.NOT_FILED, S.CONCLUDED),
}


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_exactly_the_design_transitions_are_legal(current, target):
    if (current, target) in LEGAL:
        check_transition(current, target)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(current, target)


def test_every_status_has_a_chinese_label_and_finals_have_no_exit():
    labels = {"已接报", "已派警", "已到场", "已处置", "已结警", "已受案", "已立案", "不予立案", "已办结"}
    assert {s.label for s in S} == labels
    assert {s for s in S if not TRANSITIONS[s]} == {S.CLOSED, S.CONCLUDED}
