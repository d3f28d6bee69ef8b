"""What Run:ai's improved CLI answers, read without guessing at its files: `runai config generate
--json` (the docs' way "to see the current configuration"), `runai project list --json` (needs a
live session with the control plane) and the words of its errors.

The documentation names the commands and their flags but shows no sample output, so the readers
accept the field names the CLI's own flags suggest (`runai config set --cp-url`, `runai cluster
set --name/--id`, `runai project set NAME`) in the spellings a JSON encoder gives them, and
anything else is `Unrecognised`: a warning naming the CLI's version, never a pass. Every value
under a key that names a credential is registered with the scrubber before anything of the answer
is used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from aisg_check.context import Context

_SECRET_KEY = re.compile(r"token|secret|passw|credential|cookie|session|apikey|privatekey", re.I)
_CONTROL_PLANE_KEYS = ("cpurl", "controlplaneurl", "controlplane", "tenanturl")
_CLUSTER_KEYS = ("cluster", "clustername", "defaultcluster", "currentcluster", "clusterid")
_PROJECT_KEYS = ("project", "projectname", "defaultproject", "currentproject")
_LIST_KEYS = ("projects", "entries", "items", "data")

# The CLI's errors, in the words Go's libraries and an OAuth2 server use; the first match wins.
UNREACHABLE = "unreachable"
EXPIRED = "expired"
NOT_LOGGED_IN = "not_logged_in"
_ERRORS = (
    (
        UNREACHABLE,
        re.compile(
            r"dial tcp|connection refused|no such host|i/o timeout|deadline exceeded|no route to host|"
            r"network is unreachable|x509:|tls: |certificate|proxyconnect|server misbehaving|"
            r"connection reset|unexpected EOF|Client\.Timeout",
            re.I,
        ),
    ),
    (
        EXPIRED,
        re.compile(
            r"expired|invalid[_ ]grant|session (is )?not active|token is not valid|revoked|"
            r"\b401\b|unauthori[sz]ed",
            re.I,
        ),
    ),
    (
        NOT_LOGGED_IN,
        re.compile(
            r"not logged in|not authenticated|login required|log ?in first|must log ?in|no (access )?token|"
            r"please (run )?['`\"]?runai login|run ['`\"]?runai login",
            re.I,
        ),
    ),
)


class Unrecognised(Exception):
    """An answer in a shape this module does not know; `message` says what was wrong with it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CliConfig:
    control_plane: str | None
    cluster: str | None
    project: str | None


def _norm(key: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", str(key).lower())


def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield str(key), inner
            yield from _walk(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _walk(inner)


def register_secrets(ctx: Context, doc: Any) -> None:
    for key, value in _walk(doc):
        if _SECRET_KEY.search(_norm(key)) and isinstance(value, str) and value:
            ctx.scrubber.add(value)


def _json(text: str, command: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        first = text.strip().splitlines()[0][:120] if text.strip() else "nothing"
        raise Unrecognised(f"`{command}` did not print JSON (it began: {first})") from None


def _named(value: Any) -> str | None:
    """A cluster or project as the config holds it: a name, or a mapping with a name (or id)."""
    if isinstance(value, Mapping):
        value = value.get("name") or value.get("Name") or value.get("id") or value.get("ID")
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    return None


def _find(doc: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[bool, Any]:
    """The first of `keys` on the top level, else one level down (a config grouped in sections)."""
    levels = [doc, *(v for v in doc.values() if isinstance(v, Mapping))]
    for level in levels:
        by_name = {_norm(k): v for k, v in level.items()}
        for key in keys:
            if key in by_name:
                return True, by_name[key]
    return False, None


def config(ctx: Context, text: str) -> CliConfig:
    """`runai config generate --json`: the control plane, the default cluster and project."""
    doc = _json(text, "runai config generate --json")
    if not isinstance(doc, Mapping):
        raise Unrecognised("`runai config generate --json` printed JSON that is not an object")
    register_secrets(ctx, doc)
    found_cp, cp = _find(doc, _CONTROL_PLANE_KEYS)
    found_cluster, cluster = _find(doc, _CLUSTER_KEYS)
    found_project, project = _find(doc, _PROJECT_KEYS)
    if not (found_cp or found_cluster or found_project):
        keys = ", ".join(sorted(str(k) for k in doc)[:12]) or "none"
        raise Unrecognised(
            "`runai config generate --json` has no control-plane URL, cluster or project field "
            f"(keys: {keys})"
        )
    return CliConfig(
        control_plane=cp.strip() if isinstance(cp, str) and cp.strip() else None,
        cluster=_named(cluster),
        project=_named(project),
    )


def projects(ctx: Context, text: str) -> list[str]:
    """`runai project list --json`: the names of the projects the control plane shows the user."""
    doc = _json(text, "runai project list --json")
    register_secrets(ctx, doc)
    items: Any = doc
    if isinstance(doc, Mapping):
        found, items = _find(doc, _LIST_KEYS)
        if not found:
            items = None
    if not isinstance(items, list):
        raise Unrecognised("`runai project list --json` printed no list of projects")
    names = [_named(item) for item in items if isinstance(item, Mapping)]
    if items and not any(names):
        raise Unrecognised("`runai project list --json` printed projects without a name")
    return [name for name in names if name]


def error_kind(text: str) -> str | None:
    """What a failed command's message says: unreachable, expired, not_logged_in, or None."""
    for kind, pattern in _ERRORS:
        if pattern.search(text):
            return kind
    return None
