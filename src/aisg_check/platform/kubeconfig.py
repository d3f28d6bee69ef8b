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

from aisg_check.config import YAML_LOADER
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
            doc = yaml.load(text, Loader=YAML_LOADER)  # a safe loader (C or Python)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f"line {mark.line + 1}: " if mark else ""
            raise KubeconfigError(path, f"{line}invalid YAML: {getattr(exc, 'problem', exc)}") from None
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise KubeconfigError(
                path, "expected a mapping at the top (apiVersion, clusters, contexts, users)"
            )
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


class ContextMissing(Exception):
    """The context to use (--context, runai.context or current-context) names nothing."""

    def __init__(self, name: str | None, available: tuple[str, ...]) -> None:
        super().__init__(name or "<no current-context>")
        self.name = name
        self.available = available


@dataclass(frozen=True)
class Selection:
    """The context kubectl would use, with the cluster and user entries it points at."""

    context: str
    cluster_name: str
    cluster: Mapping[str, Any]
    user_name: str
    user: Mapping[str, Any]
    namespace: str | None
    cluster_file: Path
    user_file: Path

    @property
    def server(self) -> str:
        return str(self.cluster["server"]).rstrip("/")

    @property
    def insecure(self) -> bool:
        return _truthy(self.cluster.get("insecure-skip-tls-verify"))


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def select(ctx: Context, config: Kubeconfig) -> Selection:
    """Resolve context → cluster and user as kubectl does; raise on what kubectl would refuse."""
    name = ctx.settings.runai.context or config.current_context
    if not name or name not in config.contexts:
        raise ContextMissing(name, tuple(config.contexts))
    context = config.contexts[name]
    context_file = config.origin.get(f"context:{name}")
    refs: dict[str, str] = {}
    for key in ("cluster", "user"):
        value = context.get(key)
        if not value:
            raise KubeconfigError(context_file, f"contexts['{name}'].context.{key} is not set")
        refs[key] = str(value)
    cluster = config.clusters.get(refs["cluster"])
    if cluster is None:
        raise KubeconfigError(
            context_file,
            f"context '{name}' names cluster '{refs['cluster']}', "
            f"which no kubeconfig file defines (clusters[].name)",
        )
    cluster_file = config.origin[f"cluster:{refs['cluster']}"]
    server = cluster.get("server")
    if not server or not str(server).startswith(("https://", "http://")):
        raise KubeconfigError(
            cluster_file,
            f"clusters['{refs['cluster']}'].cluster.server must be an https:// URL, got {server!r}",
        )
    user = config.users.get(refs["user"])
    if user is None:
        raise KubeconfigError(
            context_file,
            f"context '{name}' names user '{refs['user']}', which no kubeconfig file defines (users[].name)",
        )
    namespace = context.get("namespace")
    return Selection(
        context=name,
        cluster_name=refs["cluster"],
        cluster=cluster,
        user_name=refs["user"],
        user=user,
        namespace=str(namespace) if namespace else None,
        cluster_file=cluster_file,
        user_file=config.origin[f"user:{refs['user']}"],
    )


def relative_to(origin: Path, value: str) -> Path:
    """kubectl resolves relative paths in a kubeconfig against the file that holds them."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else origin.parent / path


def ca_pem(selection: Selection) -> str | None:
    """The cluster's CA (PEM) from certificate-authority-data or the certificate-authority file."""
    import base64
    import binascii

    cluster = selection.cluster
    if cluster.get("certificate-authority-data"):
        try:
            return base64.b64decode(str(cluster["certificate-authority-data"]), validate=True).decode("ascii")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise KubeconfigError(
                selection.cluster_file,
                f"clusters['{selection.cluster_name}'].cluster.certificate-authority-data is not base64 PEM",
            ) from None
    if cluster.get("certificate-authority"):
        path = relative_to(selection.cluster_file, str(cluster["certificate-authority"]))
        try:
            return path.read_text("ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise KubeconfigError(
                selection.cluster_file,
                f"clusters['{selection.cluster_name}'].cluster.certificate-authority: cannot read {path}: "
                f"{exc}",
            ) from None
    return None
