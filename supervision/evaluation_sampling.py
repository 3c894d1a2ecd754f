"""Drawing a plan's cases and their evaluators: pure, so that the same seed over the same world draws the same.

Cases are drawn per unit (a share or a count of each unit's cases), from the unit's cases in id order, by a
`random.Random` seeded with the plan's recorded seed. Each drawn case goes to the eligible evaluator with the
lightest load so far (ties broken by the same generator): eligible means a legal officer whose own scope does not
cover the handling unit (another unit) and who never handled the case.
"""

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Evaluator:
    officer_id: int
    unit_id: int
    home_unit_ids: frozenset[int]  # the units this officer's own scope covers: never evaluated by them


@dataclass(frozen=True)
class Drawn:
    case_id: int
    unit_id: int
    evaluator_id: int


class NoEvaluator(Exception):
    """A drawn case has no eligible evaluator (every legal officer is of its unit or handled it)."""

    def __init__(self, case_id: int):
        super().__init__(case_id)
        self.case_id = case_id


def how_many(total: int, *, share: float | None, count: int | None) -> int:
    """The number of a unit's `total` cases to draw: a count (at most all), or a share rounded up."""
    if count is not None:
        return min(total, count)
    return min(total, math.ceil(total * (share or 0) - 1e-9))


def eligible(evaluator: Evaluator, unit_id: int, handlers: Iterable[int]) -> bool:
    """Whether `evaluator` may score a case of `unit_id` handled by `handlers`."""
    return unit_id not in evaluator.home_unit_ids and evaluator.officer_id not in set(handlers)


def draw(
    *,
    seed: str,
    cases_by_unit: Mapping[int, Iterable[int]],
    handlers: Mapping[int, Iterable[int]],
    evaluators: Iterable[Evaluator],
    share: float | None = None,
    count: int | None = None,
) -> list[Drawn]:
    """The drawn cases with their evaluators; NoEvaluator when a drawn case has nobody eligible."""
    rng = random.Random(f"wx110-evaluation:{seed}")
    pool = sorted(evaluators, key=lambda e: e.officer_id)
    load = {e.officer_id: 0 for e in pool}
    drawn: list[Drawn] = []
    for unit_id in sorted(cases_by_unit):
        cases = sorted(set(cases_by_unit[unit_id]))
        chosen = sorted(rng.sample(cases, how_many(len(cases), share=share, count=count)))
        for case_id in chosen:
            fit = [e for e in pool if eligible(e, unit_id, handlers.get(case_id, ()))]
            if not fit:
                raise NoEvaluator(case_id)
            lightest = min(load[e.officer_id] for e in fit)
            candidates = [e for e in fit if load[e.officer_id] == lightest]
            picked = candidates[rng.randrange(len(candidates))]
            load[picked.officer_id] += 1
            drawn.append(Drawn(case_id=case_id, unit_id=unit_id, evaluator_id=picked.officer_id))
    return drawn
