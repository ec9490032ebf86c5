"""Policy durations: ``90s``, ``15m``, ``4h``, ``2d``, ``1h30m``, ``500ms``.

A day is 24 hours of the calendar's own time: ``1d`` on an 8-hour office
calendar spans three working days. Durations are exact integer nanoseconds.
"""

from __future__ import annotations

import re

from slamon.core.timefmt import NS_PER_MS, NS_PER_S

_UNITS = (("d", 86_400 * NS_PER_S), ("h", 3_600 * NS_PER_S), ("m", 60 * NS_PER_S),
          ("s", NS_PER_S), ("ms", NS_PER_MS))  # fmt: skip
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?\Z")


def parse_duration(text: str) -> int:
    """Nanoseconds of a positive duration such as ``1h30m``; ValueError otherwise."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if match is None or not any(match.groups()):
        raise ValueError(f"expected a duration such as 90s, 15m, 4h, 2d or 1h30m, got {text!r}")
    total = sum(int(value) * size for value, (_, size) in zip(match.groups(), _UNITS, strict=True)
                if value)  # fmt: skip
    if total <= 0:
        raise ValueError(f"a duration must be positive, got {text!r}")
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
