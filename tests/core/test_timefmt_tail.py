"""parse_rfc3339 after a minute it has cached (its fast path) equals the exact
parser: for any tail after a minute already seen, the same nanoseconds or the same reason."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from slamon.core.timefmt import _parse_exact, parse_rfc3339

_CHARS = st.sampled_from(
    [*"0123456789", ".", "Z", "z", ":", "+", "-", "\u0663", "\uff15", "\u00b2", " "]
)


def _outcome(parse: object, text: str) -> tuple[str, object]:
    try:
        return "ok", parse(text)  # type: ignore[operator]
    except ValueError as exc:
        return "error", str(exc)


@given(
    minute=st.sampled_from(["2026-11-02T08:00", "1970-01-01T00:00", "2199-12-31T23:59"]),
    tail=st.one_of(
        st.text(_CHARS, max_size=16),
        st.builds(
            lambda s, f, z: f":{s:02d}{f}{z}",
            st.integers(0, 61),
            st.text("0123456789", max_size=11).map(lambda f: "." + f if f else ""),
            st.sampled_from(["Z", "z", "", "+00:00"]),
        ),
    ),
)
@example(minute="2026-11-02T08:00", tail=":0\u0663Z")
@example(minute="2026-11-02T08:00", tail=":59.999999999Z")
@example(minute="2026-11-02T08:00", tail=":60Z")
@example(minute="2026-11-02T08:00", tail=":00.Z")
@example(minute="2026-11-02T08:00", tail=":00.1234567890Z")
def test_the_tail_after_a_cached_minute(minute: str, tail: str) -> None:
    parse_rfc3339(minute + ":00Z")  # the minute is cached now
    text = minute + tail
    assert _outcome(parse_rfc3339, text) == _outcome(_parse_exact, text)
