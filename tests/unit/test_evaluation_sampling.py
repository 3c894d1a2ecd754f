"""The draw of an evaluation plan over many random worlds (hypothesis): the same seed draws the same cases and
evaluators; no case goes to an evaluator whose own scope covers its unit or who handled it; each unit gives its
share or count; the load is balanced among the evaluators eligible alike."""

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervision.evaluation_sampling import Evaluator, NoEvaluator, draw, eligible, how_many


@st.composite
def worlds(draw_):
    units = draw_(st.lists(st.integers(1, 40), min_size=1, max_size=6, unique=True))
    cases_by_unit, handlers, next_case = {}, {}, 1
    officers = list(range(100, 100 + draw_(st.integers(1, 12))))
    for unit in units:
        count = draw_(st.integers(0, 12))
        cases_by_unit[unit] = list(range(next_case, next_case + count))
        for case_id in cases_by_unit[unit]:
            handlers[case_id] = draw_(st.sets(st.sampled_from(officers), max_size=3))
        next_case += count
    evaluators = []
    for officer in officers:
        home = draw_(st.sets(st.sampled_from(units), max_size=len(units)))
        evaluators.append(Evaluator(officer, next(iter(home), 0), frozenset(home)))
    sample = draw_(st.one_of(st.builds(dict, share=st.floats(0.05, 1.0)), st.builds(dict, count=st.integers(1, 6))))
    return cases_by_unit, handlers, evaluators, sample


@settings(max_examples=400, deadline=None)
@given(world=worlds(), seed=st.text(min_size=1, max_size=12))
def test_a_draw_is_reproducible_and_never_assigns_an_evaluator_of_the_unit_or_a_handler(world, seed):
    cases_by_unit, handlers, evaluators, sample = world
    try:
        first = draw(seed=seed, cases_by_unit=cases_by_unit, handlers=handlers, evaluators=evaluators, **sample)
    except NoEvaluator as missing:
        assert not any(
            eligible(e, u, handlers[missing.case_id])
            for e in evaluators
            for u, found in cases_by_unit.items()
            if missing.case_id in found
        )
        return
    again = draw(
        seed=seed, cases_by_unit=cases_by_unit, handlers=handlers, evaluators=list(reversed(evaluators)), **sample
    )
    assert again == first
    by_id = {e.officer_id: e for e in evaluators}
    for item in first:
        evaluator = by_id[item.evaluator_id]
        assert item.unit_id not in evaluator.home_unit_ids
        assert item.evaluator_id not in handlers[item.case_id]
        assert item.case_id in cases_by_unit[item.unit_id]
    per_unit = Counter(item.unit_id for item in first)
    for unit, found in cases_by_unit.items():
        assert per_unit[unit] == how_many(len(found), share=sample.get("share"), count=sample.get("count"))
    assert len({item.case_id for item in first}) == len(first)


@settings(max_examples=200, deadline=None)
@given(cases=st.integers(1, 60), evaluators=st.integers(1, 8), seed=st.text(max_size=8))
def test_when_everyone_is_eligible_the_load_differs_by_at_most_one(cases, evaluators, seed):
    pool = [Evaluator(200 + n, 99, frozenset({99})) for n in range(evaluators)]
    drawn = draw(seed=seed, cases_by_unit={1: range(1, cases + 1)}, handlers={}, evaluators=pool, share=1.0)
    load = Counter(item.evaluator_id for item in drawn)
    counts = [load.get(e.officer_id, 0) for e in pool]
    assert max(counts) - min(counts) <= 1


def test_another_seed_draws_other_cases():
    world = {"cases_by_unit": {1: range(1, 200)}, "handlers": {}, "evaluators": [Evaluator(5, 9, frozenset({9}))]}
    assert draw(seed="a", count=10, **world) != draw(seed="b", count=10, **world)


@pytest.mark.parametrize(
    ("total", "share", "count", "expected"), [(10, 0.1, None, 1), (11, 0.1, None, 2), (3, None, 5, 3)]
)
def test_how_many(total, share, count, expected):
    assert how_many(total, share=share, count=count) == expected
