"""The one way butterfly reads YAML (and JSON data files): plain data only, bounded in time and memory.

Every YAML file butterfly reads goes through :func:`load_yaml`: checklists and lenses, answers files, mapping
files, experience levels, report labels and guard texts. It refuses what a data file never needs and a hostile
file uses, each refusal a :class:`~butterfly.errors.Problem` naming the file and line:

- anchors and aliases (``&a`` / ``*a``): nine aliases a level, seven levels deep, make a 374-byte file expand to
  billions of nodes ("billion laughs"); the composer shares an aliased node instead of copying it, and the first
  node met twice is refused, so a bomb costs one pass over its few hundred nodes;
- tags beyond plain data (``!!binary``, ``!!set``, ``!!omap``, ``!!python/…``, local ``!tag``) and merge keys
  (``<<``): a text answer must not become a Python ``bytes`` or ``set`` repr;
- two equal keys in one mapping (YAML would silently keep the last value);
- nesting deeper than :data:`MAX_NESTING` (the composers recurse; libyaml's in C, which no ``except`` catches);
- integers longer than :data:`MAX_INT_DIGITS` digits (Python refuses to convert them past 4,300: a traceback).

:func:`json_loads` gives JSON files the same duplicate-key and long-integer checks.
"""

from __future__ import annotations

import json
import re
from typing import Any

from butterfly.errors import FileProblemsError, Problem, yaml_problem

MAX_NESTING = 64  # a checklist needs 6 levels; anything near this is hostile or broken
MAX_INT_DIGITS = 4000  # below Python's int-conversion limit (4,300), far above any count or id

_TAG = "tag:yaml.org,2002:"
_PLAIN = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp", "value")}


def load_yaml(text: str, *, filename: str, what: str = "YAML") -> tuple[Any, Any]:
    """Parse ``text`` as plain YAML data; returns ``(data, root node)`` (the node tree gives lines).

    Raises :class:`FileProblemsError` naming ``filename`` for a syntax error or anything listed in the module
    docstring. ``what`` names the expected format in syntax errors ("YAML", "YAML/JSON").
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: several times faster
    try:
        if _may_nest_deeply(text):
            _screen(text, loader, filename)  # before libyaml's composer, which recurses in C
        root = yaml.compose(text, Loader=loader)
    except RecursionError:  # the pure-Python composer recurses too
        raise FileProblemsError(
            filename, [Problem(filename, f"nested too deeply (more than {MAX_NESTING} levels)")]
        ) from None
    except yaml.YAMLError as exc:
        if loader is not yaml.SafeLoader:
            # libyaml's scanner reads a run of [ or { ahead and may stop at its own depth limit before the
            # events reach ours: the pure-Python parser (no such limit, events one at a time) says which it is
            try:
                _screen(text, yaml.SafeLoader, filename)
            except yaml.YAMLError:
                pass
        raise FileProblemsError(filename, [yaml_problem(exc, filename, what=what)]) from None
    if root is None:
        return None, None
    problems: list[Problem] = []
    data = _Builder(filename, problems).build(root)
    if problems:
        raise FileProblemsError(filename, problems)
    return data, root


def _line(node_or_event: Any) -> int:
    return int(node_or_event.start_mark.line) + 1


_DEEP_INDENT = re.compile(rf"^[ \t-]{{{2 * MAX_NESTING},}}", re.MULTILINE)


def _may_nest_deeply(text: str) -> bool:
    """Cheap test (C string scans) that ``text`` could nest past :data:`MAX_NESTING`: many brackets or a line
    indented that far. Only then is the streamed pass of :func:`_screen` worth its cost before composing."""
    return text.count("[") + text.count("{") > MAX_NESTING or _DEEP_INDENT.search(text) is not None


def _screen(text: str, loader: Any, filename: str) -> None:
    """One streamed pass over the parser's events: refuse aliases, anchors and deep nesting before composing."""
    import yaml

    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            raise FileProblemsError(
                filename,
                [
                    Problem(
                        filename,
                        f"YAML aliases (*{event.anchor}) are not accepted: write the value out",
                        line=_line(event),
                    )
                ],
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise FileProblemsError(
                filename,
                [
                    Problem(
                        filename, f"YAML anchors (&{anchor}) are not accepted: write the value out", line=_line(event)
                    )
                ],
            )
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                raise FileProblemsError(
                    filename,
                    [Problem(filename, f"nested too deeply (more than {MAX_NESTING} levels)", line=_line(event))],
                )
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1


class _Builder:
    """Builds Python data from a composed node tree, visiting every node once.

    An alias is the same node object met a second time (the composer shares it, it does not copy): that is
    refused on the spot, so an alias bomb costs one pass over its few hundred bytes of nodes.
    """

    def __init__(self, filename: str, problems: list[Problem]) -> None:
        from yaml.constructor import SafeConstructor

        self.filename = filename
        self.problems = problems
        self.scalars = SafeConstructor()
        self.seen: set[int] = set()
        self.depth = 0

    def problem(self, node: Any, message: str, where: str) -> None:
        self.problems.append(Problem(self.filename, message, line=_line(node), field=where or None))

    def build(self, node: Any, where: str = "") -> Any:
        import yaml

        if id(node) in self.seen:
            raise FileProblemsError(
                self.filename,
                [
                    Problem(
                        self.filename,
                        f"YAML anchors and aliases (&name, *name) are not accepted: the value on line {_line(node)} "
                        "is used again; write it out",
                        line=_line(node),
                        field=where or None,
                    )
                ],
            )
        self.seen.add(id(node))
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            self.depth += 1
            try:
                if self.depth > MAX_NESTING:
                    raise FileProblemsError(
                        self.filename,
                        [
                            Problem(
                                self.filename, f"nested too deeply (more than {MAX_NESTING} levels)", line=_line(node)
                            )
                        ],
                    )
                return self._collection(node, where)
            finally:
                self.depth -= 1
        return self._scalar(node, where)

    def _collection(self, node: Any, where: str) -> Any:
        import yaml

        if isinstance(node, yaml.MappingNode):
            if node.tag != f"{_TAG}map":
                self.problem(node, f"the YAML tag {_shown(node.tag)} is not accepted here: plain data only", where)
                return None
            out: dict[Any, Any] = {}
            first_line: dict[Any, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.problem(key_node, "a key must be plain text or a number", where)
                    continue
                if key_node.tag == f"{_TAG}merge":
                    self.problem(key_node, "YAML merge keys (<<) are not accepted: write the keys out", where)
                    continue
                key = self.build(key_node, where)
                sub = f"{where}.{key}" if where else str(key)
                if key in first_line:
                    self.problem(
                        key_node,
                        f"key '{key}' appears twice (first on line {first_line[key]}); the first value would be lost",
                        sub,
                    )
                    continue
                first_line[key] = _line(key_node)
                out[key] = self.build(value_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag != f"{_TAG}seq":
                self.problem(node, f"the YAML tag {_shown(node.tag)} is not accepted here: plain data only", where)
                return None
            return [self.build(item, f"{where}[{i}]") for i, item in enumerate(node.value)]
        return None

    def _scalar(self, node: Any, where: str) -> Any:
        import yaml

        tag = node.tag
        if tag not in _PLAIN:
            self.problem(node, f"the YAML tag {_shown(tag)} is not accepted here: plain data only", where)
            return None
        if tag in (f"{_TAG}str", f"{_TAG}value"):
            return str(node.value)
        if tag == f"{_TAG}int" and len(node.value) > MAX_INT_DIGITS:
            self.problem(node, f"a number of {len(node.value):,} digits is too long", where)
            return None
        try:
            return self.scalars.construct_object(node)
        except (ValueError, OverflowError, yaml.YAMLError):
            kind = tag.removeprefix(_TAG)
            self.problem(
                node, f"'{_short(node.value)}' is not a valid {'date' if kind == 'timestamp' else kind}", where
            )
            return None


def _shown(tag: str) -> str:
    return _short("!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def key_lines(root: Any) -> dict[tuple[str, ...], int]:
    """1-based line of every mapping key and sequence item by its path (keys as text, items as their index)."""
    import yaml

    lines: dict[tuple[str, ...], int] = {}
    stack: list[tuple[Any, tuple[str, ...]]] = [(root, ())] if root is not None else []
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                lines.setdefault(sub, _line(key))
                stack.append((value, sub))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                sub = (*path, str(i))
                lines[sub] = _line(item)
                stack.append((item, sub))
    return lines


class JsonDataError(ValueError):
    """A JSON document with a duplicate key or an over-long integer (``json`` would keep one or crash)."""


def _bounded_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise JsonDataError(f"a number of {len(text):,} digits is too long")
    return int(text)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonDataError(f"key '{_short(key)}' appears twice in one object")
        out[key] = value
    return out


def json_loads(text: str | bytes, *, unique_keys: bool = True) -> Any:
    """``json.loads`` that raises :class:`JsonDataError` (a ``ValueError``) for long integers and, unless
    ``unique_keys`` is false, for duplicate keys; syntax errors stay ``json.JSONDecodeError``."""
    if unique_keys:
        return json.loads(text, parse_int=_bounded_int, object_pairs_hook=_unique_pairs)
    return json.loads(text, parse_int=_bounded_int)
