"""The quantile sketch: relative accuracy, nearest rank, merging and its dict form.

Every quantile is checked against the exact nearest-rank value (rank = ceil(q * n)) of the
same values, sorted: the sketch must be within its accuracy ``a`` of it, relatively.
"""

from __future__ import annotations

import math
import random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slamon.core.sketch import DEFAULT_ACCURACY, Sketch

QS = (0.0, 0.01, 0.25, 0.5, 0.8, 0.95, 0.99, 1.0)
SLACK = 1e-9  # floating-point slack on the relative bound


def exact(values: list[float], q: float) -> float:
    """The nearest-rank quantile of ``values``."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def sketch_of(values: list[float], accuracy: float = DEFAULT_ACCURACY) -> Sketch:
    sketch = Sketch(accuracy)
    for value in values:
        sketch.add(value)
    return sketch


def within(got: float | None, want: float, accuracy: float) -> bool:
    assert got is not None
    return abs(got - want) <= accuracy * want * (1 + SLACK)


@pytest.mark.parametrize("accuracy", [0.01, 0.02, 0.05])
def test_every_quantile_is_within_the_relative_accuracy(accuracy: float) -> None:
    """20 000 log-normal durations (about 1 s to a day): each quantile within a of exact."""
    rng = random.Random(42)
    values = [rng.lognormvariate(6, 2) + 0.01 for _ in range(20_000)]
    sketch = sketch_of(values, accuracy)
    for q in (*QS, 0.333, 0.666, 0.999):
        assert within(sketch.quantile(q), exact(values, q), accuracy), q
    assert sketch.count == len(values)
    assert sketch.total == pytest.approx(sum(values))


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(min_value=0.002, max_value=1e9), min_size=1, max_size=200),
    q=st.floats(min_value=0, max_value=1),
)
def test_relative_accuracy_holds_for_any_values(values: list[float], q: float) -> None:
    sketch = sketch_of(values)
    assert within(sketch.quantile(q), exact(values, q), DEFAULT_ACCURACY)


def test_nearest_rank_at_small_counts() -> None:
    """Four values: q=0.5 is rank 2, just above it rank 3; q=0 is rank 1, q=1 the maximum."""
    sketch = sketch_of([40.0, 10.0, 30.0, 20.0])
    expected = {0.0: 10.0, 0.25: 10.0, 0.26: 20.0, 0.5: 20.0, 0.51: 30.0, 0.75: 30.0, 1.0: 40.0}
    for q, want in expected.items():
        assert within(sketch.quantile(q), want, DEFAULT_ACCURACY), q
    single = sketch_of([7.0])
    assert all(within(single.quantile(q), 7.0, DEFAULT_ACCURACY) for q in QS)


def test_values_at_or_below_a_millisecond_count_as_zero() -> None:
    sketch = sketch_of([0.0, 0.001, 5.0])
    assert sketch.quantile(0.5) == 0.0
    assert within(sketch.quantile(1.0), 5.0, DEFAULT_ACCURACY)
    assert sketch.count == 3


def test_merge_equals_adding_everything_to_one_sketch() -> None:
    rng = random.Random(7)
    first = [rng.expovariate(1 / 600) for _ in range(500)]
    second = [rng.expovariate(1 / 60) for _ in range(300)] + [0.0]
    merged = sketch_of(first)
    merged.merge(sketch_of(second))
    together = sketch_of(first + second)
    assert merged.buckets == together.buckets
    assert merged.count == together.count == 801
    assert merged.total == pytest.approx(together.total)
    assert [merged.quantile(q) for q in QS] == [together.quantile(q) for q in QS]


def test_merging_an_empty_sketch_changes_nothing() -> None:
    sketch = sketch_of([1.0, 2.0])
    before = sketch.to_dict()
    sketch.merge(Sketch())
    assert sketch.to_dict() == before


def test_dict_round_trip_through_json() -> None:
    """to_dict is JSON-able; from_dict of the decoded JSON answers the same."""
    rng = random.Random(3)
    sketch = sketch_of([rng.uniform(0, 3600) for _ in range(1000)] + [0.0], accuracy=0.02)
    data = orjson.loads(orjson.dumps(sketch.to_dict()))
    back = Sketch.from_dict(data)
    assert back.accuracy == 0.02
    assert (back.count, back.total, back.buckets) == (sketch.count, sketch.total, sketch.buckets)
    assert [back.quantile(q) for q in QS] == [sketch.quantile(q) for q in QS]
    assert back.to_dict() == sketch.to_dict()


def test_empty_sketch() -> None:
    sketch = Sketch()
    assert sketch.quantile(0.5) is None
    assert (sketch.count, sketch.total, sketch.buckets) == (0, 0.0, {})
    assert sketch.to_dict() == {"a": DEFAULT_ACCURACY, "n": 0, "sum": 0.0, "b": {}}
    assert Sketch.from_dict(sketch.to_dict()).quantile(1.0) is None


@pytest.mark.parametrize("accuracy", [0, 1, -0.1, 1.5])
def test_accuracy_must_be_between_0_and_1(accuracy: float) -> None:
    with pytest.raises(ValueError, match="accuracy"):
        Sketch(accuracy)
