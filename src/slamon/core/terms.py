"""Customer terms (``spec.terms``, docs/policy.md#terms): entries that give the tickets
they match other targets, calendars or objectives than ``spec.priorities``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slamon.core.calendars import Calendar
from slamon.core.policy_fields import (
    PRIORITIES,
    PRIORITY_KEYS,
    SHOWN,
    Path,
    PolicyError,
    PriorityPolicy,
    mapping,
    name_string,
    priority_policy,
    required,
)
from slamon.core.text import excerpt

# The ticket attributes an entry may match on, in the order SlaPolicy.select_terms takes
# them; at most MAX_TERMS entries (each ticket tries them in order)
MATCH_ATTRIBUTES = ("service", "region", "customer_tier", "product_category")
MAX_TERMS = 100
MAX_MATCH_VALUES = 1000


@dataclass(frozen=True, slots=True)
class Terms:
    """One ``spec.terms`` entry: the ticket attributes it matches and its targets.

    ``match`` pairs an index into MATCH_ATTRIBUTES with the values allowed; ``priorities``
    holds every priority, those the entry does not name copied from ``spec.priorities``.
    """

    name: str
    match: tuple[tuple[int, frozenset[str]], ...]
    priorities: Mapping[str, PriorityPolicy]
    named: frozenset[str] = frozenset()  # the priorities the entry itself names

    def matches(self, attributes: tuple[str | None, ...]) -> bool:
        """All listed attributes equal one of their values (an empty match always holds)."""
        return all(attributes[i] in values for i, values in self.match)


def first_match(terms: Sequence[Terms], attributes: tuple[str | None, ...]) -> int:
    """The index of the first entry that matches ``attributes`` (in MATCH_ATTRIBUTES
    order); -1 when none does."""
    return next((i for i, entry in enumerate(terms) if entry.matches(attributes)), -1)


def _match(value: Any, path: Path) -> tuple[tuple[int, frozenset[str]], ...]:
    """``{customer_tier: [gold], service: [onsite]}`` -> attribute index, allowed values."""
    doc = mapping(value, path, MATCH_ATTRIBUTES)
    match = []
    for attribute in MATCH_ATTRIBUTES:
        if attribute not in doc:
            continue
        values = doc[attribute]
        value_path = (*path, attribute)
        if not isinstance(values, list) or not values:
            raise PolicyError(f"expected a non-empty list of values such as [gold], got "
                              f"{excerpt(values, SHOWN)}", value_path)  # fmt: skip
        if len(values) > MAX_MATCH_VALUES:
            raise PolicyError(f"at most {MAX_MATCH_VALUES} values", value_path)
        for i, item in enumerate(values):
            name_string(item, (*value_path, str(i)))
            if attribute == "service" and item not in ("onsite", "remote"):
                raise PolicyError(f"a service is onsite or remote, got {excerpt(item, SHOWN)}",
                                  (*value_path, str(i)))  # fmt: skip
        match.append((MATCH_ATTRIBUTES.index(attribute), frozenset(values)))
    return tuple(match)


def terms_from_doc(
    value: Any, priorities_doc: Mapping[str, Any], base: Mapping[str, PriorityPolicy],
    calendars: Mapping[str, Calendar],
) -> tuple[Terms, ...]:  # fmt: skip
    """``spec.terms``: an ordered list of ``{name, match, priorities}``. A priority an entry
    names takes its fields, the missing ones from ``spec.priorities``; a priority it does
    not name is ``spec.priorities``' own."""
    if not isinstance(value, list):
        raise PolicyError("expected a list of terms such as [{name: gold, match: {...}, "
                          "priorities: {...}}]", ("spec", "terms"))  # fmt: skip
    if len(value) > MAX_TERMS:
        raise PolicyError(f"at most {MAX_TERMS} terms, got {len(value)}", ("spec", "terms"))
    out: list[Terms] = []
    names: set[str] = set()
    for i, entry in enumerate(value):
        path = ("spec", "terms", str(i))
        doc = mapping(entry, path, {"name", "description", "match", "priorities"})
        name = name_string(required(doc, "name", path), (*path, "name"))
        if name in names:
            raise PolicyError(f"terms {name!r} are defined twice", (*path, "name"))
        names.add(name)
        if "description" in doc and not isinstance(doc["description"], str):
            raise PolicyError("expected text", (*path, "description"))
        match = _match(doc.get("match", {}), (*path, "match"))
        own = mapping(doc.get("priorities", {}), (*path, "priorities"), PRIORITIES)
        priorities = dict(base)
        for priority, priority_doc in own.items():
            merged = dict(priorities_doc[priority])
            merged.update(mapping(priority_doc, (*path, "priorities", priority), PRIORITY_KEYS))
            priorities[priority] = priority_policy(merged, (*path, "priorities", priority),
                                                   calendars, priority)  # fmt: skip
        out.append(Terms(name, match, priorities, frozenset(own)))
    return tuple(out)
