"""The sweep's parameter space: --grid ranges and lists, combinations, random samples."""

from __future__ import annotations

import pytest

from tradeexecutor.research.grid import SearchSpace
from tradeexecutor.strategy.parameters import ParameterError

DECLARED = {"fast": 12, "slow": 48, "ratio": 0.5, "mode": "a", "flag": False}


def test_ranges_include_both_ends_and_keep_the_parameter_type() -> None:
    space = SearchSpace.parse(
        ["fast=5:50:5", "slow=20,50,100", "ratio=0.1:0.9:0.2", "flag=true,false"], DECLARED
    )
    fast, slow, ratio, flag = space.dimensions
    assert fast.values == (5, 10, 15, 20, 25, 30, 35, 40, 45, 50) and all(type(v) is int for v in fast.values)
    assert slow.values == (20, 50, 100)
    assert ratio.values == (0.1, 0.3, 0.5, 0.7, 0.9)
    assert flag.values == (True, False)
    assert space.size == 10 * 3 * 5 * 2
    combos = list(space.combinations())
    assert len(combos) == space.size and len({tuple(c.items()) for c in combos}) == space.size
    assert combos[0] == {"fast": 5, "slow": 20, "ratio": 0.1, "flag": True}


def test_a_sample_is_distinct_reproducible_and_inside_the_grid() -> None:
    space = SearchSpace.parse(["fast=5:50:5", "slow=20,50,100"], DECLARED)
    sample = space.sample(7, seed=3)
    assert len({tuple(c.items()) for c in sample}) == 7
    assert sample == space.sample(7, seed=3) and sample != space.sample(7, seed=4)
    assert all(c in list(space.combinations()) for c in sample)
    assert len(space.sample(1000)) == 30  # asking for more than there is: all of them


def test_text_parameters_take_lists_not_ranges() -> None:
    (mode,) = SearchSpace.parse(["mode=a:b,c"], DECLARED).dimensions
    assert mode.values == ("a:b", "c")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fast=5:50", "is not a range LOW:HIGH:STEP"),
        ("fast=5:50:5:1", "is not a range LOW:HIGH:STEP"),
        ("fast=", "--grid fast= has no values"),
        ("fast=5,,6", "has an empty value"),
        ("ratio=0.1:0.9:-0.1", "the step must be positive"),
        ("mode=1:3:1", None),  # text: a one-element list, allowed
        ("speed=1,2", "has no parameter 'speed'"),
        ("fast", "--grid 'fast' is not NAME=VALUE"),
    ],
)
def test_bad_specs_are_one_sentence(text: str, message: str | None) -> None:
    if message is None:
        SearchSpace.parse([text], DECLARED)
        return
    with pytest.raises(ParameterError, match=message):
        SearchSpace.parse([text], DECLARED)


def test_a_parameter_named_twice_is_refused() -> None:
    with pytest.raises(ParameterError, match="--grid names fast twice"):
        SearchSpace.parse(["fast=1,2", "fast=3"], DECLARED)
