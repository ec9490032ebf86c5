"""A mergeable quantile sketch with bounded relative error (the DDSketch mapping).

Values go to logarithmic buckets ``ceil(log_gamma(x))`` with
``gamma = (1 + a) / (1 - a)``; a bucket's representative is within relative error
``a`` of every value in it, so every quantile is too. Buckets are a plain dict of
counts: cheap to merge across partitions and windows, and JSON-serialisable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

DEFAULT_ACCURACY = 0.01
_ZERO = "z"  # key of the bucket for values <= the smallest tracked value
_MIN_VALUE = 1e-3  # seconds: anything faster counts as zero


class Sketch:
    """Counts per log bucket; ``quantile`` is nearest-rank over the buckets."""

    __slots__ = ("accuracy", "buckets", "count", "gamma_log", "total")

    def __init__(self, accuracy: float = DEFAULT_ACCURACY) -> None:
        if not 0 < accuracy < 1:
            raise ValueError("accuracy must be between 0 and 1")
        self.accuracy = accuracy
        self.gamma_log = math.log((1 + accuracy) / (1 - accuracy))
        self.buckets: dict[str, int] = {}
        self.count = 0
        self.total = 0.0

    def add(self, value: float) -> None:
        key = _ZERO if value <= _MIN_VALUE else str(math.ceil(math.log(value) / self.gamma_log))
        self.buckets[key] = self.buckets.get(key, 0) + 1
        self.count += 1
        self.total += value

    def merge(self, other: Sketch) -> None:
        for key, n in other.buckets.items():
            self.buckets[key] = self.buckets.get(key, 0) + n
        self.count += other.count
        self.total += other.total

    def _value(self, key: str) -> float:
        if key == _ZERO:
            return 0.0
        index = int(key)
        # the midpoint (in relative terms) of (gamma^(i-1), gamma^i]
        return 2 * math.exp(index * self.gamma_log) / (1 + math.exp(self.gamma_log))

    def quantile(self, q: float) -> float | None:
        """Nearest-rank quantile (rank = ceil(q * n)); None when empty."""
        if self.count == 0:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for key in sorted(self.buckets, key=lambda k: -math.inf if k == _ZERO else int(k)):
            seen += self.buckets[key]
            if seen >= rank:
                return self._value(key)
        return self._value(max(self.buckets, key=lambda k: -math.inf if k == _ZERO else int(k)))

    def to_dict(self) -> dict[str, object]:
        return {"a": self.accuracy, "n": self.count, "sum": self.total, "b": self.buckets}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Sketch:
        sketch = cls(float(data["a"]))  # type: ignore[arg-type]
        sketch.count = int(data["n"])  # type: ignore[call-overload]
        sketch.total = float(data["sum"])  # type: ignore[arg-type]
        buckets = data["b"]
        assert isinstance(buckets, Mapping)
        sketch.buckets = {str(k): int(v) for k, v in buckets.items()}
        return sketch
