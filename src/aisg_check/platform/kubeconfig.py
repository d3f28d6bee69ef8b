"""Kubeconfig resolution with kubectl's semantics, in memory and read-only (PyYAML only).

kubectl merges the files of KUBECONFIG in order: the first file that sets current-context
wins, and for clusters, contexts and users the first definition of a name wins. The
`kubernetes` Python client takes the *last* current-context, so we do not lean on it here.

Reading is bounded (`aisg_check.bounds`): a file larger than its cap, YAML aliases that
expand without bound (a "billion laughs" of a few hundred bytes), text that is not UTF-8 and
entries of the wrong type are each a `KubeconfigError` naming the file, never a crash. Every
credential any user of any file holds is registered with the run's scrubber as the file is
read, so a program that echoes one (the Run:ai CLI, a credential plugin) cannot print it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aisg_check import bounds
from aisg_check.bounds import YAML_LOADER
from aisg_check.context import Context
from aisg_check.secrets import Scrubber, clip, shown


class KubeconfigError(Exception):
    def __init__(self, path: Path | None, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class FileProblem(Exception):
    """A file that exists but cannot be used: unreadable, a directory, too large, not text."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path} {reason}")
        self.path = path
        self.reason = reason


def read_text(path: Path, *, encoding: str = "utf-8") -> str:
    """A file the kubeconfig names, or the kubeconfig itself, with the size cap of
    `aisg_check.bounds`. FileNotFoundError passes through (an absent file is a fact, not a
    problem); anything else that stops the read is a `FileProblem` saying why."""
    try:
        data = bounds.read_bytes(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise FileProblem(path, f"cannot be read: {exc.strerror or exc}") from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        name = "UTF-8" if encoding.lower().replace("-", "") == "utf8" else encoding.upper()
        raise FileProblem(
            path, f"is not {name} text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


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


DEFAULT_SOURCE = "~/.kube/config"  # the source of the list when neither a setting nor KUBECONFIG names one


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
    return (ctx.home / ".kube" / "config",), DEFAULT_SOURCE


def parse(text: str, path: Path) -> Any:
    """The YAML document in `text`: a safe loader that refuses alias bombs (`bounds`)."""
    try:
        return yaml.load(text, Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or exc
        raise KubeconfigError(path, f"{line}invalid YAML: {clip(str(problem), 200)}") from None


# Keys whose values are credentials wherever they appear in a user entry (kubectl's names and
# the auth-provider config's); an exec plugin's arguments and environment are handled apart.
_SECRET_KEYS = {"token", "password", "client-key-data", "id-token", "refresh-token", "client-secret"}
_SECRET_NAME = re.compile(r"secret|token|passw|key|cred|auth|cookie|session", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


def _plain(value: str) -> bool:
    """A URL without userinfo or query, or a path: not a credential."""
    if value.startswith(("http://", "https://")):
        return "@" not in value and "?" not in value
    return value.startswith(("/", "~", "./", "../"))


def _exec_secrets(spec: Mapping[str, Any]) -> Iterator[str]:
    """The values an exec plugin gets that may be credentials: flag values (`--secret X`,
    `--secret=X`) and env values. Leading subcommand words (`get-token`) and plain URLs or
    paths are left alone: masking `token` everywhere would garble every message."""
    args = spec.get("args")
    flag: str | None = None
    seen_flag = False
    for arg in args if isinstance(args, list) else ():
        if not isinstance(arg, (str, int, float)) or isinstance(arg, bool):
            continue
        text = str(arg)
        if text.startswith("-"):
            seen_flag = True
            name, eq, value = text.partition("=")
            flag = None if eq else name
            if eq and (_SECRET_NAME.search(name) or (len(value) >= 8 and not _plain(value))):
                yield value
            continue
        if not seen_flag and _WORD.fullmatch(text):
            continue  # a subcommand
        if (flag and _SECRET_NAME.search(flag)) or (len(text) >= 8 and not _plain(text)):
            yield text
        flag = None
    env = spec.get("env")
    for item in env if isinstance(env, list) else ():
        if isinstance(item, Mapping) and isinstance(item.get("value"), str):
            value = item["value"]
            if _SECRET_NAME.search(str(item.get("name", ""))) or (len(value) >= 8 and not _plain(value)):
                yield value


def user_secrets(user: Mapping[str, Any]) -> Iterator[str]:
    """Every credential a kubeconfig user entry holds, as the text a program might print."""
    for key, value in user.items():
        if key in _SECRET_KEYS and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            yield str(value)
    key_data = user.get("client-key-data")
    if isinstance(key_data, str):
        yield from pem_lines(key_data)
    provider = user.get("auth-provider")
    config = provider.get("config") if isinstance(provider, Mapping) else None
    if isinstance(config, Mapping):
        for key, value in config.items():
            if isinstance(value, str) and (key in _SECRET_KEYS or _SECRET_NAME.search(str(key))):
                yield value
    spec = user.get("exec")
    if isinstance(spec, Mapping):
        yield from _exec_secrets(spec)


def key_fragments(pem: str) -> Iterator[str]:
    """A private key (PEM) whole and line by line: a program may print a fragment of it."""
    yield pem
    yield from (line for line in pem.splitlines() if len(line) >= 16 and not line.startswith("-----"))


def pem_lines(data: str) -> Iterator[str]:
    """`key_fragments` of a base64-encoded private key (a kubeconfig's client-key-data)."""
    import base64
    import binascii

    try:
        pem = base64.b64decode(data, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return
    yield from key_fragments(pem)


def _name(value: Any, path: Path | None, where: str) -> str:
    if isinstance(value, (dict, list)) or value is None:
        raise KubeconfigError(path, f"{where} must be a string, got {shown(value)}")
    return str(value)


def add_user_secrets(scrubber: Scrubber, body: Mapping[str, Any]) -> None:
    """A user entry's credentials (`user_secrets`), and a username/password pair as Basic auth
    sends it."""
    for secret in user_secrets(body):
        scrubber.add(secret)
    if isinstance(body.get("username"), str) and isinstance(body.get("password"), str):
        scrubber.add_login(body["username"], body["password"])


def _merge(ctx: Context, doc: dict[str, Any], path: Path, into: dict[str, Any]) -> None:
    """Add one file's entries where no earlier file defined the name (kubectl's rule)."""
    for key in ("clusters", "contexts", "users"):
        entries = doc.get(key) or []
        if not isinstance(entries, list):
            raise KubeconfigError(path, f"'{key}' must be a list")
        inner = key[:-1]
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or "name" not in entry:
                raise KubeconfigError(path, f"{key}[{i}] has no 'name'")
            name = _name(entry["name"], path, f"{key}[{i}].name")
            body = entry.get(inner)
            if not isinstance(body, dict):
                raise KubeconfigError(path, f"{key}[{i}] ('{clip(name, 80)}') has no '{inner}' mapping")
            if key == "users":  # every user's, also those an earlier file shadows
                add_user_secrets(ctx.scrubber, body)
            if name not in into[key]:
                into[key][name] = body
                into["origin"][f"{inner}:{name}"] = path


def load(ctx: Context) -> Kubeconfig:
    paths, _source = candidate_paths(ctx)
    existing: list[Path] = []
    missing: list[Path] = []
    current: str | None = None
    merged: dict[str, Any] = {"clusters": {}, "contexts": {}, "users": {}, "origin": {}}
    for path in paths:
        try:
            text = read_text(path)
        except FileNotFoundError:
            missing.append(path)
            continue
        except FileProblem as exc:
            raise KubeconfigError(path, exc.reason) from None
        existing.append(path)
        doc = parse(text, path)
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise KubeconfigError(
                path, "expected a mapping at the top (apiVersion, clusters, contexts, users)"
            )
        if current is None and doc.get("current-context"):
            current = _name(doc["current-context"], path, "current-context")
        _merge(ctx, doc, path, merged)
    return Kubeconfig(
        tuple(existing),
        tuple(missing),
        current,
        merged["clusters"],
        merged["contexts"],
        merged["users"],
        merged["origin"],
    )


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
        refs[key] = _name(value, context_file, f"contexts['{name}'].context.{key}")
    cluster = config.clusters.get(refs["cluster"])
    if cluster is None:
        raise KubeconfigError(
            context_file,
            f"context '{name}' names cluster '{clip(refs['cluster'], 80)}', "
            f"which no kubeconfig file defines (clusters[].name)",
        )
    cluster_file = config.origin[f"cluster:{refs['cluster']}"]
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise KubeconfigError(
            cluster_file,
            f"clusters['{refs['cluster']}'].cluster.server must be an https:// URL, got {shown(server)}",
        )
    user = config.users.get(refs["user"])
    if user is None:
        raise KubeconfigError(
            context_file,
            f"context '{name}' names user '{clip(refs['user'], 80)}', "
            "which no kubeconfig file defines (users[].name)",
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
    where = f"clusters['{selection.cluster_name}'].cluster"
    if cluster.get("certificate-authority-data"):
        try:
            return base64.b64decode(str(cluster["certificate-authority-data"]), validate=True).decode("ascii")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise KubeconfigError(
                selection.cluster_file, f"{where}.certificate-authority-data is not base64 PEM"
            ) from None
    if cluster.get("certificate-authority"):
        path = relative_to(selection.cluster_file, str(cluster["certificate-authority"]))
        try:
            return read_text(path, encoding="ascii")
        except FileNotFoundError:
            raise KubeconfigError(
                selection.cluster_file, f"{where}.certificate-authority: {path} does not exist"
            ) from None
        except FileProblem as exc:
            raise KubeconfigError(selection.cluster_file, f"{where}.certificate-authority: {exc}") from None
    return None
