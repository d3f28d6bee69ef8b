"""A kubeconfig without its credentials: clusters, contexts and users by name, the servers and the
kind of login each user has, and none of its tokens, keys, certificates, passwords, or the
arguments and environment values of its credential plugins.

Built from what is known to be harmless rather than by deleting what is known to be secret: a
field this module does not know is replaced by a marker, and a top-level key it does not know
(extensions) is left out, so a new kind of credential cannot slip through.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from aisg_check.bounds import YAML_LOADER
from aisg_check.bundle.report import REDACTED, Redacted, Unparseable
from aisg_check.platform.kubeconfig import user_secrets
from aisg_check.secrets import Scrubber, clip, strip_credentials

_TOP_SCALARS = ("apiVersion", "kind", "current-context")
_CLUSTER_PLAIN = (
    "tls-server-name",
    "insecure-skip-tls-verify",
    "certificate-authority",
    "disable-compression",
)
_CLUSTER_URLS = ("server", "proxy-url")
_CONTEXT_PLAIN = ("cluster", "user", "namespace")
_USER_SECRET = (
    "token",
    "password",
    "client-key-data",
    "client-certificate-data",
    "id-token",
    "refresh-token",
)
# Paths and names: where a credential is, or who is impersonated, never the credential itself.
_USER_PLAIN = ("username", "client-certificate", "client-key", "tokenFile", "as", "as-uid", "as-groups")
# The auth-provider config keys kubectl's OIDC and GCP providers use that are not credentials.
_PROVIDER_PLAIN = (
    "client-id",
    "idp-issuer-url",
    "idp-certificate-authority",
    "extra-scopes",
    "cmd-path",
    "expiry-key",
    "token-key",
    "expiry",
)
_SECRET_PARAM = re.compile(r"secret|token|passw|key|auth|sig|cred", re.I)
_EXEC_PLAIN = ("apiVersion", "command", "installHint", "provideClusterInfo", "interactiveMode")


def redact(text: str, scrubber: Scrubber) -> Redacted:
    doc = _load(text)
    if doc is None:
        return Redacted("", ())
    removed: list[str] = []
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key in _TOP_SCALARS:
            out[key] = _scalar(value, str(key), removed)
        elif key == "clusters":
            out[key] = [_cluster(e, removed, scrubber) for e in _entries(value, "clusters", "cluster")]
        elif key == "contexts":
            out[key] = [_context(e, removed) for e in _entries(value, "contexts", "context")]
        elif key == "users":
            out[key] = [_user(e, removed, scrubber) for e in _entries(value, "users", "user")]
        elif key == "preferences" and not value:
            out[key] = value
        else:
            removed.append(f"{_key(key)}: not copied (not a part aisg-check knows to be free of secrets)")
    body = yaml.safe_dump(out, sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096)
    return Redacted(body, tuple(removed))


def _load(text: str) -> dict[str, Any] | None:
    try:
        doc = yaml.load(text, Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        # The line only: PyYAML's problem text may quote the document.
        mark = getattr(exc, "problem_mark", None)
        raise Unparseable(f"not valid YAML (line {mark.line + 1})" if mark else "not valid YAML") from None
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise Unparseable("not a kubeconfig: expected a mapping at the top (apiVersion, clusters, ...)")
    return doc


def _key(key: Any) -> str:
    return clip(str(key), 80)


def _entries(value: Any, section: str, inner: str) -> list[tuple[str, Mapping[str, Any]]]:
    """(name, body) of each entry of `clusters`, `contexts` or `users`; a shape kubectl would
    refuse is Unparseable, since what a stray value holds cannot be known."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise Unparseable(f"'{section}' is not a list")
    out = []
    for i, entry in enumerate(value):
        if not isinstance(entry, dict) or not isinstance(entry.get(inner, {}), dict):
            raise Unparseable(f"{section}[{i}] is not a mapping with a '{inner}' mapping")
        name = entry.get("name", f"#{i}")
        if not isinstance(name, (str, int, float)):  # kubectl wants a string; a mapping may hold anything
            raise Unparseable(f"{section}[{i}].name is not a string")
        out.append((_key(name), entry.get(inner) or {}))
    return out


def _scalar(value: Any, where: str, removed: list[str]) -> Any:
    """A plain value as it is (URLs without their userinfo); anything else is a marker."""
    if isinstance(value, str):
        return strip_credentials(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [strip_credentials(v) for v in value]
    removed.append(f"{where}: not a plain value")
    return REDACTED


def _url(value: Any, where: str, removed: list[str], scrubber: Scrubber) -> Any:
    """A server's address: without userinfo (masked everywhere too), and without a query, which
    is no part of an address but may carry a `?token=`."""
    if not isinstance(value, str):
        return _scalar(value, where, removed)
    from urllib.parse import parse_qsl

    from aisg_check.credentials import add_url_login

    add_url_login(scrubber, value)
    base, sep, query = value.partition("?")
    if strip_credentials(base) != base:
        removed.append(f"{where}: the user name and password in the URL")
    if not sep:
        return strip_credentials(value)
    scrubber.add(query)
    for name, secret in parse_qsl(query):
        if _SECRET_PARAM.search(name):  # not every value: a `true` masked everywhere garbles the reports
            scrubber.add(secret)
    removed.append(f"{where}: the query after '?'")
    return strip_credentials(base) + "?" + REDACTED


def _unknown(key: Any, where: str, removed: list[str]) -> str:
    removed.append(f"{where}.{_key(key)}: not a field aisg-check knows to be free of secrets")
    return REDACTED


def _cluster(entry: tuple[str, Mapping[str, Any]], removed: list[str], scrubber: Scrubber) -> dict[str, Any]:
    name, body = entry
    where = f"clusters[{name}].cluster"
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key in _CLUSTER_URLS:
            out[key] = _url(value, f"{where}.{key}", removed, scrubber)
        elif key in _CLUSTER_PLAIN:
            out[key] = _scalar(value, f"{where}.{key}", removed)
        elif key == "certificate-authority-data":
            out[key] = REDACTED
            removed.append(f"{where}.{key} (the cluster's CA certificate)")
        else:
            out[key] = _unknown(key, where, removed)
    return {"name": name, "cluster": out}


def _context(entry: tuple[str, Mapping[str, Any]], removed: list[str]) -> dict[str, Any]:
    name, body = entry
    where = f"contexts[{name}].context"
    out = {
        key: _scalar(value, f"{where}.{key}", removed)
        if key in _CONTEXT_PLAIN
        else _unknown(key, where, removed)
        for key, value in body.items()
    }
    return {"name": name, "context": out}


def _user(entry: tuple[str, Mapping[str, Any]], removed: list[str], scrubber: Scrubber) -> dict[str, Any]:
    name, body = entry
    where = f"users[{name}].user"
    # Every credential is masked wherever else it may appear (the reports), as the checks do.
    for secret in user_secrets(body):
        scrubber.add(secret)
    if isinstance(body.get("username"), str) and isinstance(body.get("password"), str):
        scrubber.add_login(body["username"], body["password"])
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key in _USER_SECRET:
            out[key] = REDACTED
            removed.append(f"{where}.{key}")
        elif key in _USER_PLAIN:
            out[key] = _scalar(value, f"{where}.{key}", removed)
        elif key == "auth-provider" and isinstance(value, Mapping):
            out[key] = _provider(value, f"{where}.{key}", removed)
        elif key == "exec" and isinstance(value, Mapping):
            out[key] = _exec(value, f"{where}.{key}", removed)
        else:
            out[key] = _unknown(key, where, removed)
    return {"name": name, "user": out}


def _provider(provider: Mapping[str, Any], where: str, removed: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in provider.items():
        if key == "name":
            out[key] = _scalar(value, f"{where}.name", removed)
        elif key == "config" and isinstance(value, Mapping):
            out[key] = {
                k: _scalar(v, f"{where}.config.{_key(k)}", removed) if k in _PROVIDER_PLAIN else REDACTED
                for k, v in value.items()
            }
            removed.extend(f"{where}.config.{_key(k)}" for k in value if k not in _PROVIDER_PLAIN)
        else:
            out[key] = _unknown(key, where, removed)
    return out


def _exec(spec: Mapping[str, Any], where: str, removed: list[str]) -> dict[str, Any]:
    """A credential plugin: the program and its settings; its arguments and the values of its
    environment are removed (a plugin is often handed a secret that way)."""
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if key in _EXEC_PLAIN:
            out[key] = _scalar(value, f"{where}.{key}", removed)
        elif key == "args" and isinstance(value, list):
            out[key] = [REDACTED] * len(value)
            if value:
                removed.append(f"{where}.args: all {len(value)} arguments")
        elif key == "env" and isinstance(value, list):
            out[key] = [_env_item(item, f"{where}.env", removed) for item in value]
        else:
            out[key] = _unknown(key, where, removed)
    return out


def _env_item(item: Any, where: str, removed: list[str]) -> Any:
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        removed.append(f"{where}: an entry that is not {{name, value}}")
        return REDACTED
    name = _key(item["name"])
    removed.append(f"{where}[{name}].value")
    return {"name": name, "value": REDACTED}
