"""Bounded excerpts of untrusted values, for error messages.

An error message that echoes a value in full can be as large as the value: a
megabyte of customer text in a dead-letter header, or an exponential YAML alias
bomb rendered by ``repr``. :func:`excerpt` renders at most ``limit`` characters
and does the work of at most that many: it never builds the whole ``repr``.
"""

from __future__ import annotations

from datetime import date

ELLIPSIS = "..."
_BIG_INT_BITS = 128  # larger integers are described, not printed


def excerpt(value: object, limit: int = 40) -> str:
    """A ``repr``-like rendering of ``value`` cut to at most ``limit`` characters.

    A cut rendering ends with ``...``; strings, lists and mappings are walked only
    as far as the budget reaches, whatever their size or nesting.
    """
    out: list[str] = []
    _render(value, out, [limit + 1])
    text = "".join(out)
    if len(text) > limit:
        return text[: max(limit - len(ELLIPSIS), 0)] + ELLIPSIS
    return text


def clip(text: str, limit: int) -> str:
    """``text`` itself when short enough, else its first characters and ``...``."""
    if len(text) <= limit:
        return text
    return text[: max(limit - len(ELLIPSIS), 0)] + ELLIPSIS


def _emit(piece: str, out: list[str], budget: list[int]) -> None:
    out.append(piece[: budget[0]])
    budget[0] -= len(piece)


def _render(value: object, out: list[str], budget: list[int]) -> None:
    if budget[0] <= 0:
        return
    if isinstance(value, str | bytes):
        _emit(repr(value[: budget[0]]), out, budget)
    elif value is None or isinstance(value, bool | float | date):
        _emit(repr(value), out, budget)
    elif isinstance(value, int):
        big = value.bit_length() > _BIG_INT_BITS
        _emit(f"<integer of {value.bit_length()} bits>" if big else repr(value), out, budget)
    elif isinstance(value, list | tuple):
        _items(value, "[]", out, budget)
    elif isinstance(value, dict):
        _items(value, "{}", out, budget)
    else:
        _emit(f"<{type(value).__name__}>", out, budget)


def _items(value: list[object] | tuple[object, ...] | dict[object, object],
           brackets: str, out: list[str], budget: list[int]) -> None:  # fmt: skip
    _emit(brackets[0], out, budget)
    for i, item in enumerate(value):
        if budget[0] <= 0:
            return
        if i:
            _emit(", ", out, budget)
        _render(item, out, budget)
        if isinstance(value, dict):
            _emit(": ", out, budget)
            _render(value[item], out, budget)
    _emit(brackets[1], out, budget)
