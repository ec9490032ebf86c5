"""Load a policy from YAML, with line numbers in every error.

The loader is PyYAML's safe loader minus two YAML 1.1 surprises: dates stay
strings (``2026-10-01``) and ``9:30`` is not the base-60 integer 570. The node
tree is walked once to map each field path to its line and to reject duplicate
keys, which plain ``yaml.safe_load`` silently merges.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from slamon.core.policy import PolicyError, SlaPolicy, policy_from_dict

_INT = re.compile(r"[-+]?(?:0|[1-9][0-9_]*)\Z")
_FLOAT = re.compile(r"[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?\Z")
_NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_DROPPED_TAGS = {"tag:yaml.org,2002:timestamp", *_NUMBER_TAGS}


class _Loader(yaml.SafeLoader):
    """Safe loader with plain decimal numbers only and dates kept as strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))

Lines = dict[tuple[str, ...], int]


def _index(
    node: yaml.Node, path: tuple[str, ...], lines: Lines, source: str, seen: set[int]
) -> None:
    lines[path] = node.start_mark.line + 1
    if id(node) in seen:  # an alias: its anchor was indexed (and may contain itself)
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in keys:
                line = key_node.start_mark.line + 1
                raise PolicyError(f"duplicate key {key!r}", path, line, source)
            keys.add(key)
            _index(value_node, (*path, key), lines, source, seen)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*path, str(i)), lines, source, seen)


def _line_of(path: tuple[str, ...], lines: Lines) -> int | None:
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path)


def loads_policy(text: str, source: str = "<policy>") -> SlaPolicy:
    """Parse and validate a policy document; errors carry ``source`` and the line."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise PolicyError("the document is empty", (), None, source)
        lines: Lines = {}
        _index(node, (), lines, source, set())
        document: Any = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise PolicyError(f"invalid YAML: {exc.problem or exc}", (), line, source) from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"invalid YAML: {exc}", (), None, source) from None
    finally:
        loader.dispose()
    try:
        return policy_from_dict(document)
    except PolicyError as exc:
        exc.source, exc.line = source, _line_of(exc.path, lines)
        raise


def load_policy(path: str | Path) -> SlaPolicy:
    """Read and validate the policy file at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read the policy: {exc.strerror}", (), None, str(path)) from None
    except UnicodeDecodeError:
        raise PolicyError("the policy is not UTF-8 text", (), None, str(path)) from None
    return loads_policy(text, source=str(path))
