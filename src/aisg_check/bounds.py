"""Bounded input: the user's files are read with a size cap, and YAML with its aliases bounded.

A "billion laughs" of a few hundred bytes (an anchor holding nine aliases of an anchor holding
nine aliases …) builds a small graph of shared nodes, but anything that walks or prints the
value expands it: seven levels printed a 312 MB error line, nine ran out of memory, and no
deadline fires while Python is inside that walk. `YAML_LOADER` measures the document as if
expanded (in time linear in its size) and refuses it before any reader sees a value; it also
refuses a recursive alias (`&a [*a]`) and nesting deeper than any real file needs. Every reader
that parses YAML through it (the tool's config, kubeconfigs) is protected.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import yaml

# Nodes an alias may add on expansion, in all, beyond the nodes written in the file: merge keys
# and a shared list or two fit easily; a bomb needs millions.
MAX_ALIAS_NODES = 10_000
# Nesting depth: a kubeconfig is 6 deep; the constructor recurses per level.
MAX_DEPTH = 100
# The largest file read: a config or kubeconfig is a few kB, a docker config with a few dozen
# registries well under 1 MB. Reading more only delays a clear message.
MAX_FILE_BYTES = 4 * 1024 * 1024

# libyaml's parser when PyYAML has it: the same nodes and line numbers, ~10x faster than the
# pure-Python one (a kubeconfig's long base64 fields are where it shows).
_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FileTooLarge(OSError):
    """An OSError, so that a reader's `except OSError` names the file and says why."""

    def __init__(self, path: str | os.PathLike[str], limit: int) -> None:
        super().__init__(errno.EFBIG, f"larger than {_size(limit)}, not a file to read here")
        self.filename = os.fspath(path)


def _size(count: int) -> str:
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} bytes"


def read_bytes(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES) -> bytes:
    """A file's content, refusing one larger than `limit` (also a device or pipe that never ends)."""
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(path, limit)
    return data


def read_text(path: str | os.PathLike[str], encoding: str = "utf-8", limit: int = MAX_FILE_BYTES) -> str:
    """`Path.read_text` with the size cap; UnicodeDecodeError as there."""
    return read_bytes(Path(path), limit).decode(encoding)


class _BoundedLoader(_BASE):  # type: ignore[misc]
    """A safe loader that refuses alias bombs, recursive aliases and absurd nesting."""

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None:
            check_node(node)
        return node

    def get_node(self) -> Any:
        node = super().get_node()
        if node is not None:
            check_node(node)
        return node


def check_node(root: yaml.Node) -> None:
    """Raise a yaml.YAMLError (with the line) when the document is an alias bomb, holds a
    recursive alias or nests deeper than MAX_DEPTH. Iterative: a deep document must not
    exhaust Python's stack here either."""
    expanded: dict[int, int] = {}  # node id → size of its subtree once every alias is expanded
    unique = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            expanded[key] = 1 + sum(expanded[id(c)] for c in _children(node))
            continue
        if key in expanded:
            continue
        if key in on_path:
            raise _refused(node, "an alias refers to a node that contains it (a recursive alias)")
        if len(on_path) >= MAX_DEPTH:
            raise _refused(node, f"nested more than {MAX_DEPTH} levels deep")
        unique += 1
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in expanded)
    if expanded.get(id(root), 0) - unique > MAX_ALIAS_NODES:
        raise _refused(
            root,
            f"its aliases (*name) expand to more than {MAX_ALIAS_NODES:,} extra values; "
            "write the values out instead of repeating anchors",
        )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def _refused(node: yaml.Node, problem: str) -> yaml.MarkedYAMLError:
    return yaml.MarkedYAMLError(problem=problem, problem_mark=node.start_mark)


YAML_LOADER: type[yaml.SafeLoader] = _BoundedLoader
