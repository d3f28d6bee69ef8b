"""What the machine already says about the user's project, for `aisg-check init` to offer as
defaults: MLflow's variables, the AWS profile names (section headers only: no value of those files
is read), the kubeconfig's current namespace, and the registries Docker's config.json holds a
login for (names only). Nothing here fails: a file that is missing, unreadable, not what it
should be, or holding a value of the wrong type (a `context:` that is a string) says nothing, and
`find` guards each reader besides: a suggestion must never cost `init`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aisg_check.secrets import strip_userinfo

_SECTION = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*$", re.M)
_DOCKER_HUB = {"docker.io", "index.docker.io", "registry-1.docker.io"}
T = TypeVar("T")


@dataclass(frozen=True)
class Found:
    tracking_uri: str | None
    experiment: str | None
    aws_profiles: tuple[str, ...]
    aws_profile: str | None  # AWS_PROFILE
    namespace: str | None  # the kubeconfig's current context's namespace
    registries: tuple[str, ...]  # docker logins, Docker Hub left out

    def lines(self) -> list[str]:
        facts = [
            ("MLFLOW_TRACKING_URI", self.tracking_uri),
            ("MLFLOW_EXPERIMENT_NAME", self.experiment),
            ("AWS profiles", ", ".join(self.aws_profiles)),
            ("AWS_PROFILE", self.aws_profile),
            ("kubeconfig namespace", self.namespace),
            ("docker logins", ", ".join(self.registries)),
        ]
        return [f"  {what}: {value}" for what, value in facts if value]


def _read(path: Path) -> str | None:
    from aisg_check.bounds import read_text

    try:
        return read_text(path)
    except (OSError, ValueError):  # ValueError: undecodable, or a NUL in a path from the environment
        return None


def _yaml(text: str) -> Any:
    import yaml

    from aisg_check.bounds import YAML_LOADER

    try:
        return yaml.load(text, Loader=YAML_LOADER)
    except (yaml.YAMLError, ValueError, RecursionError):  # ValueError: a date such as 2024-13-40
        return None


def _home_path(value: str, home: Path) -> Path:
    return home / value[2:] if value.startswith("~/") else Path(value)


def aws_profiles(env: Mapping[str, str], home: Path) -> tuple[str, ...]:
    """Profile names only (section headers): no value of those files is read."""
    creds = _home_path(env.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials", home)
    conf = _home_path(env.get("AWS_CONFIG_FILE") or "~/.aws/config", home)
    names: dict[str, None] = {}
    for name in _SECTION.findall(_read(creds) or ""):
        names.setdefault(name, None)
    for section in _SECTION.findall(_read(conf) or ""):
        if section == "default" or section.startswith("profile "):  # not sso-session, services
            names.setdefault(section.removeprefix("profile ").strip(), None)
    return tuple(names)


def kube_namespace(env: Mapping[str, str], home: Path) -> str | None:
    """The namespace of the first readable kubeconfig's current context; None for anything else."""
    listed = [p for p in env.get("KUBECONFIG", "").split(os.pathsep) if p.strip()]
    for path in [_home_path(p, home) for p in listed] or [home / ".kube" / "config"]:
        text = _read(path)
        if text is None:
            continue
        doc = _yaml(text)
        current = doc.get("current-context") if isinstance(doc, dict) else None
        contexts = doc.get("contexts") if isinstance(doc, dict) else None
        if not isinstance(current, str) or not isinstance(contexts, list):
            return None
        for entry in contexts:
            if isinstance(entry, dict) and entry.get("name") == current:
                context = entry.get("context")
                namespace = context.get("namespace") if isinstance(context, dict) else None
                return (namespace.strip() or None) if isinstance(namespace, str) else None
        return None
    return None


def docker_registries(env: Mapping[str, str], home: Path) -> tuple[str, ...]:
    """The registries Docker's config.json has a login (or helper) for: names only."""
    from aisg_check.platform.dockerconfig import registry_key

    base = _home_path(env["DOCKER_CONFIG"], home) if env.get("DOCKER_CONFIG") else home / ".docker"
    try:
        data = json.loads(_read(base / "config.json") or "{}")
    except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        return ()
    names: dict[str, None] = {}
    for section in ("auths", "credHelpers"):
        entries = data.get(section) if isinstance(data, dict) else None
        for key in entries if isinstance(entries, dict) else ():
            host = registry_key(str(key)).strip()
            if host and host not in _DOCKER_HUB:
                names.setdefault(host, None)
    return tuple(names)


def _guarded(
    reader: Callable[[Mapping[str, str], Path], T], env: Mapping[str, str], home: Path, fallback: T
) -> T:
    """The module's promise kept even against a case the readers did not foresee."""
    try:
        return reader(env, home)
    except Exception:  # a default offered is a convenience: it must never end `init`
        return fallback


def find(env: Mapping[str, str], home: Path) -> Found:
    return Found(
        # Without a user or password a URL may carry: those are never offered, let alone written.
        tracking_uri=strip_userinfo(env["MLFLOW_TRACKING_URI"]) if env.get("MLFLOW_TRACKING_URI") else None,
        experiment=env.get("MLFLOW_EXPERIMENT_NAME") or None,
        aws_profiles=_guarded(aws_profiles, env, home, ()),
        aws_profile=env.get("AWS_PROFILE") or None,
        namespace=_guarded(kube_namespace, env, home, None),
        registries=_guarded(docker_registries, env, home, ()),
    )
