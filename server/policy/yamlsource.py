"""Reading a YAML file while remembering where each value came from, so problems can point at lines.

PyYAML's composer gives nodes with marks; we construct plain Python data from the same nodes and keep
a map from each value's path (``("rules", 0, "when")``) to its node and to the mark of its key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    """1-based line and column in a file."""

    line: int
    column: int

    @classmethod
    def of(cls, mark: yaml.Mark) -> Position:
        return cls(mark.line + 1, mark.column + 1)


@dataclass(frozen=True)
class YamlDocument:
    data: Any
    # Where each mapping entry's key starts (sequence items: where the item starts).
    keys: Mapping[Path, Position]
    nodes: Mapping[Path, yaml.Node]
    lines: tuple[str, ...]

    def position(self, path: Path) -> Position | None:
        """The position of the closest enclosing value that has one."""
        for end in range(len(path), -1, -1):
            found = self.keys.get(path[:end])
            if found is not None:
                return found
        return None


class YamlProblem(ValueError):
    def __init__(self, message: str, position: Position | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def read_yaml(text: str) -> YamlDocument:
    """Parse one YAML document with the safe loader.

    Raises:
        YamlProblem: the text is not YAML, holds several documents, or repeats a key in a mapping
            (PyYAML would silently keep the last one, which could quietly drop a rule or a tool).
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        raise YamlProblem(message, Position.of(mark) if mark else None) from exc
    except yaml.YAMLError as exc:
        raise YamlProblem(str(exc)) from exc
    finally:
        loader.dispose()
    keys: dict[Path, Position] = {(): Position(1, 1)}
    nodes: dict[Path, yaml.Node] = {}
    if node is not None:
        _walk(node, (), keys, nodes)
    return YamlDocument(data=data, keys=keys, nodes=nodes, lines=tuple(text.splitlines()))


def _walk(node: yaml.Node, path: Path, keys: dict[Path, Position], nodes: dict[Path, yaml.Node]) -> None:
    nodes[path] = node
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, yaml.Mark] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
                continue  # merge keys and complex keys: positions fall back to the parent
            key = key_node.value
            if key in seen:
                first = Position.of(seen[key])
                raise YamlProblem(
                    f"duplicate key {key!r} (first at line {first.line})", Position.of(key_node.start_mark)
                )
            seen[key] = key_node.start_mark
            keys[(*path, key)] = Position.of(key_node.start_mark)
            _walk(value_node, (*path, key), keys, nodes)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            keys[(*path, index)] = Position.of(item.start_mark)
            _walk(item, (*path, index), keys, nodes)


def position_in_scalar(doc: YamlDocument, path: Path, line: int, column: int) -> Position | None:
    """Map a 1-based (line, column) inside a scalar's text to the file, where the scalar style allows it.

    Exact for plain and quoted scalars on one line and for literal blocks (``|``); otherwise the
    scalar's own start (escapes in double quotes and folded text shift columns we cannot recover).
    """
    node = doc.nodes.get(path)
    if not isinstance(node, yaml.ScalarNode):
        return doc.position(path)
    start = node.start_mark
    if node.style in (None, "") and line == 1:
        return Position(start.line + 1, start.column + column)
    if node.style in ('"', "'") and line == 1:
        return Position(start.line + 1, start.column + 1 + column)
    if node.style == "|":
        index = start.line + line  # content starts on the line after the indicator
        # The block's indentation is its first non-blank line's; deeper lines keep their extra spaces.
        first = next((text for text in doc.lines[start.line + 1 :] if text.strip()), "")
        indent = len(first) - len(first.lstrip(" "))
        if index < len(doc.lines):
            return Position(index + 1, indent + column)
    return Position.of(start)
