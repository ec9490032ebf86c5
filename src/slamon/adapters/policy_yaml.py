"""Load a policy from YAML, with line numbers in every error.

The loader is PyYAML's safe loader minus two YAML 1.1 surprises: dates stay
strings (``2026-10-01``) and ``9:30`` is not the base-60 integer 570. The node
tree is walked once to map each field path to its line and to reject duplicate
keys, which plain ``yaml.safe_load`` silently merges.

A policy file is hostile input too: it has at most ``MAX_POLICY_BYTES``; numbers
are plain and short; only the plain YAML types (text, numbers, booleans, null,
lists, mappings) are allowed, so ``!!python/*``, ``!!binary``, ``!!timestamp``...
are errors; aliases are allowed but the document may expand to at most
``MAX_NODES`` values (an alias bomb is refused before it is built); nesting
deeper than Python's recursion allows is an error, not a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from slamon.adapters.official_holidays import resolve_official_holidays
from slamon.core.policy import PRIORITIES, SLAS, PolicyError, SlaPolicy, policy_from_dict
from slamon.core.text import clip, excerpt

# plain numbers, at most 18 digits (longer ones stay strings and fail validation)
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]{0,17})\Z")
_FLOAT = re.compile(r"[-+]?(?:[0-9]{1,18}\.[0-9]{0,18}|\.[0-9]{1,18})(?:[eE][-+]?[0-9]{1,3})?\Z")
_Y = "tag:yaml.org,2002:"
_NUMBER_TAGS = {_Y + "int", _Y + "float"}
_DROPPED_TAGS = {_Y + "timestamp", *_NUMBER_TAGS}
_ALLOWED_TAGS = {*(_Y + t for t in ("str", "int", "float", "bool", "null", "seq", "map"))}
MAX_POLICY_BYTES = 1 << 20  # 1 MiB: the default policy is 2 KiB
MAX_NODES = 10_000  # values in the document, aliases expanded


class _Loader(yaml.SafeLoader):
    """Safe loader with plain decimal numbers only and dates kept as strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))

_ALLOWED_TAGS.add(_Y + "merge")  # '<<: *anchor' is plain YAML too
_PLAIN_VALUES = {_Y + "int": _INT, _Y + "float": _FLOAT}
_BOOLS = set(yaml.SafeLoader.bool_values)

Lines = dict[tuple[str, ...], int]


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_node(node: yaml.Node, source: str) -> None:
    """One node's own rules: an allowed tag, and a plain value for an explicit number tag."""
    if node.tag not in _ALLOWED_TAGS:
        tag = excerpt(str(node.tag).replace(_Y, "!!"), 60)
        allowed = "only text, numbers, booleans, null, lists and mappings"
        raise PolicyError(f"YAML tag {tag} is not allowed in a policy ({allowed})", (),
                          _line(node), source)  # fmt: skip
    if isinstance(node, yaml.ScalarNode):
        plain = _PLAIN_VALUES.get(node.tag)
        bad = plain is not None and not plain.match(node.value)
        if bad or (node.tag == _Y + "bool" and node.value.lower() not in _BOOLS):
            raise PolicyError(f"{excerpt(node.value, 60)} is not a plain {node.tag[len(_Y) :]}",
                              (), _line(node), source)  # fmt: skip
    elif isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise PolicyError("keys must be plain text", (), _line(key_node), source)


def _expanded_size(node: yaml.Node, memo: dict[int, int], active: set[int], source: str) -> int:
    """Values in ``node`` with aliases expanded (capped just past MAX_NODES); checks tags."""
    got = memo.get(id(node))
    if got is not None:
        return got
    if id(node) in active:  # an alias inside its own anchor: nothing more to expand
        return 1
    _check_node(node, source)
    active.add(id(node))
    total = 1
    for child in _children(node):
        total = min(total + _expanded_size(child, memo, active, source), MAX_NODES + 1)
    active.discard(id(node))
    memo[id(node)] = total
    return total


def _index(
    node: yaml.Node, path: tuple[str, ...], lines: Lines, source: str, seen: set[int]
) -> None:
    lines[path] = _line(node)
    if id(node) in seen:  # an alias: its anchor was indexed
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)  # a scalar: _check_node saw to it
            if key in keys:
                line = _line(key_node)
                raise PolicyError(f"duplicate key {excerpt(key, 80)}", path, line, source)
            keys.add(key)
            _index(value_node, (*path, key), lines, source, seen)
            lines[(*path, key)] = _line(key_node)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*path, str(i)), lines, source, seen)


def _line_of(path: tuple[str, ...], lines: Lines) -> int | None:
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path)


def _checked_root(loader: _Loader, source: str) -> yaml.Node:
    """The document's root node, once its tags and its expanded size are checked."""
    node = loader.get_single_node()
    if node is None:
        raise PolicyError("the document is empty", (), None, source)
    if _expanded_size(node, {}, set(), source) > MAX_NODES:
        raise PolicyError(f"the document has more than {MAX_NODES} values (aliases expanded)",
                          (), _line(node), source)  # fmt: skip
    return node


def _compose(text: str, source: str) -> tuple[Any, Lines]:
    """The document and the line of each field path; every YAML problem a PolicyError."""
    loader = _Loader(text)
    try:
        node = _checked_root(loader, source)
        lines: Lines = {}
        _index(node, (), lines, source, set())
        return loader.construct_document(node), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = clip(str(exc.problem or exc), 200)
        raise PolicyError(f"invalid YAML: {problem}", (), line, source) from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"invalid YAML: {clip(str(exc), 200)}", (), None, source) from None
    except PolicyError:
        raise
    except RecursionError:
        raise PolicyError("invalid YAML: nested too deeply", (), None, source) from None
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        problem = f"{type(exc).__name__}: {clip(str(exc), 100)}"
        raise PolicyError(f"invalid YAML value ({problem})", (), None, source) from None
    finally:
        loader.dispose()


def loads_policy(text: str, source: str = "<policy>") -> SlaPolicy:
    """Parse and validate a policy document; errors carry ``source`` and the line."""
    if len(text) > MAX_POLICY_BYTES:
        raise PolicyError(f"the policy is over {MAX_POLICY_BYTES} bytes", (), None, source)
    document, lines = _compose(text, source)
    try:
        resolve_official_holidays(document)  # library data -> plain dates, for the core
        return policy_from_dict(document)
    except PolicyError as exc:
        exc.source, exc.line = source, _line_of(exc.path, lines)
        raise


def load_policy(path: str | Path) -> SlaPolicy:
    """Read and validate the policy file at ``path`` (at most ``MAX_POLICY_BYTES``)."""
    return loads_policy(_read(path), source=str(path))


def written_targets(path: str | Path) -> dict[tuple[str, str], str]:
    """Each (priority, SLA) target as the file writes it, e.g. ``24h`` where the parsed
    policy says ``1d``. For a file :func:`load_policy` accepted."""
    document, _ = _compose(_read(path), str(path))
    priorities = document["spec"]["priorities"]
    return {(p, sla): str(priorities[p][sla]).strip() for p in PRIORITIES for sla in SLAS}


def _read(path: str | Path) -> str:
    try:
        with Path(path).open("rb") as stream:
            data = stream.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise PolicyError(f"cannot read the policy: {exc.strerror}", (), None, str(path)) from None
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(f"the policy is over {MAX_POLICY_BYTES} bytes", (), None, str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError("the policy is not UTF-8 text", (), None, str(path)) from None
