"""Kubeconfig resolution with kubectl's semantics, in memory and read-only (PyYAML only).

kubectl merges the files of KUBECONFIG in order: the first file that sets current-context
wins, and for clusters, contexts and users the first definition of a name wins. The
`kubernetes` Python client takes the *last* current-context, so we do not lean on it here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aisg_check.context import Context


class KubeconfigError(Exception):
    def __init__(self, path: Path | None, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Kubeconfig:
    paths: tuple[Path, ...]  # the files that exist, in merge order
    missing: tuple[Path, ...]
    current_context: str | None
    clusters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    contexts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    users: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Which file each named entry came from (for messages).
    origin: Mapping[str, Path] = field(default_factory=dict)


def candidate_paths(ctx: Context) -> tuple[tuple[Path, ...], str]:
    """The files to read and where that list came from (setting, KUBECONFIG or default)."""
    if ctx.settings.runai.kubeconfig:
        return (ctx.path(ctx.settings.runai.kubeconfig),), "runai.kubeconfig"
    env = ctx.env.get("KUBECONFIG", "")
    if env.strip():
        sep = ";" if ctx.platform == "win32" else os.pathsep
        paths = [ctx.path(p) for p in env.split(sep) if p.strip()]
        seen: list[Path] = []
        for p in paths:  # kubectl ignores duplicates
            if p not in seen:
                seen.append(p)
        return tuple(seen), "KUBECONFIG"
    return (ctx.home / ".kube" / "config",), "~/.kube/config"


def load(ctx: Context) -> Kubeconfig:
    paths, _source = candidate_paths(ctx)
    existing: list[Path] = []
    missing: list[Path] = []
    current: str | None = None
    clusters: dict[str, Mapping[str, Any]] = {}
    contexts: dict[str, Mapping[str, Any]] = {}
    users: dict[str, Mapping[str, Any]] = {}
    origin: dict[str, Path] = {}
    for path in paths:
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            missing.append(path)
            continue
        except OSError as exc:
            raise KubeconfigError(path, f"cannot read: {exc.strerror or exc}") from None
        existing.append(path)
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f"line {mark.line + 1}: " if mark else ""
            raise KubeconfigError(path, f"{line}invalid YAML: {getattr(exc, 'problem', exc)}") from None
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise KubeconfigError(path, "expected a mapping at the top (apiVersion, clusters, contexts, users)")
        if current is None and doc.get("current-context"):
            current = str(doc["current-context"])
        for key, target in (("clusters", clusters), ("contexts", contexts), ("users", users)):
            entries = doc.get(key) or []
            if not isinstance(entries, list):
                raise KubeconfigError(path, f"'{key}' must be a list")
            inner = key[:-1]
            for i, entry in enumerate(entries):
                if not isinstance(entry, dict) or "name" not in entry:
                    raise KubeconfigError(path, f"{key}[{i}] has no 'name'")
                name = str(entry["name"])
                body = entry.get(inner)
                if not isinstance(body, dict):
                    raise KubeconfigError(path, f"{key}[{i}] ('{name}') has no '{inner}' mapping")
                if name not in target:
                    target[name] = body
                    origin[f"{inner}:{name}"] = path
    return Kubeconfig(tuple(existing), tuple(missing), current, clusters, contexts, users, origin)


def cluster_of(ctx: Context, config: Kubeconfig) -> Mapping[str, Any] | None:
    """The cluster entry the selected context points at, or None."""
    name = ctx.settings.runai.context or config.current_context
    context = config.contexts.get(name or "")
    if not context:
        return None
    return config.clusters.get(str(context.get("cluster", "")))
