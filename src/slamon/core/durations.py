"""Policy durations: ``90s``, ``15m``, ``4h``, ``2d``, ``1h30m``, ``500ms``.

A day is 24 hours of the calendar's own time: ``1d`` on an 8-hour office
calendar spans three working days. Durations are exact integer nanoseconds,
positive and at most :data:`MAX_DURATION_NS` (400 days, see docs/policy.md).
"""

from __future__ import annotations

import re

from slamon.core.text import excerpt
from slamon.core.timefmt import NS_PER_MS, NS_PER_S

MAX_DURATION_DAYS = 400
MAX_DURATION_NS = MAX_DURATION_DAYS * 86_400 * NS_PER_S

_UNITS = (("d", 86_400 * NS_PER_S), ("h", 3_600 * NS_PER_S), ("m", 60 * NS_PER_S),
          ("s", NS_PER_S), ("ms", NS_PER_MS))  # fmt: skip
# ASCII digits only (\d and int() accept other scripts'), at most 12 per part: cheap to parse
_N = "([0-9]{1,12})"
_DURATION = re.compile(rf"(?:{_N}d)?(?:{_N}h)?(?:{_N}m(?!s))?(?:{_N}s)?(?:{_N}ms)?\Z")


def parse_duration(text: object) -> int:
    """Nanoseconds of a duration such as ``1h30m`` in ``(0, 400d]``; ValueError otherwise.
    Any value is taken (a policy file's): what is not a string is an error too."""
    match = None
    if isinstance(text, str) and len(text) < 200:
        match = _DURATION.match(text.strip())
    if match is None or not any(match.groups()) or not isinstance(text, str):
        raise ValueError(
            f"expected a duration such as 90s, 15m, 4h, 2d or 1h30m, got {excerpt(text)}"
        )
    total = sum(int(value) * size for value, (_, size) in zip(match.groups(), _UNITS, strict=True)
                if value)  # fmt: skip
    if total <= 0:
        raise ValueError(f"a duration must be positive, got {excerpt(text.strip())}")
    if total > MAX_DURATION_NS:
        raise ValueError(
            f"a duration must be at most {MAX_DURATION_DAYS}d, got {excerpt(text.strip())}"
        )
    return total


def format_duration(ns: int) -> str:
    """The shortest ``1d2h3m4s5ms`` form of ``ns`` (sub-millisecond rest dropped)."""
    if ns < NS_PER_MS:
        return "0s"
    parts = []
    for unit, size in _UNITS:
        count, ns = divmod(ns, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
