"""Bounded excerpts of untrusted values: short, cheap, whatever the value."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slamon.core.text import clip, excerpt


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("P5", "'P5'"),
        (None, "None"),
        (True, "True"),
        (7.5, "7.5"),
        (12, "12"),
        ([1, "a"], "[1, 'a']"),
        ({"a": 1}, "{'a': 1}"),
        (date(2026, 10, 1), "datetime.date(2026, 10, 1)"),
        (b"\xff", "b'\\xff'"),
        (object(), "<object>"),
    ],
)
def test_short_values_render_like_repr(value: Any, expected: str) -> None:
    """A value that fits is rendered as its repr (objects only by their type name)."""
    assert excerpt(value) == expected


def test_long_string_is_cut_with_an_ellipsis() -> None:
    """A 1 MB string gives 40 characters ending in '...'."""
    text = excerpt("x" * 1_000_000)
    assert len(text) == 40
    assert text == "'" + "x" * 36 + "..."


def test_huge_integer_is_described_not_printed() -> None:
    """str() of a 10,000-digit int raises on Python 3.11+; the excerpt describes it."""
    assert excerpt(10**10_000) == "<integer of 33220 bits>"


def test_alias_bomb_like_structure_is_cheap() -> None:
    """A list sharing itself 9 levels deep (9**9 leaves) renders within the budget at once."""
    bomb: Any = ["lol"] * 9
    for _ in range(8):
        bomb = [bomb] * 9
    start = time.perf_counter()
    text = excerpt(bomb, 80)
    assert time.perf_counter() - start < 0.1
    assert len(text) == 80
    assert text.endswith("...")


def test_self_containing_list_terminates() -> None:
    """A recursive list is walked only as deep as the budget."""
    loop: list[Any] = []
    loop.append(loop)
    assert excerpt(loop, 20) == "[" * 17 + "..."


def test_clip() -> None:
    """clip keeps short text and cuts long text to the limit with '...'."""
    assert clip("abc", 3) == "abc"
    assert clip("abcd", 3) == "..."
    assert clip("abcdef", 5) == "ab..."


@settings(max_examples=200)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=10,
    ),
    st.integers(3, 120),
)
def test_never_longer_than_the_limit(value: Any, limit: int) -> None:
    """Whatever the value, the excerpt has at most ``limit`` characters; short ones are repr."""
    text = excerpt(value, limit)
    assert len(text) <= limit
    if isinstance(value, str | bytes | bool | float) or value is None:
        full = repr(value)
        assert text == full if len(full) <= limit else text.endswith("...")
