"""The Docker config JSON that builders in CI and in pods log in with: a GitLab file variable or a
mounted `kubernetes.io/dockerconfigjson` Secret, `{"auths": {"<registry>": {"auth": "<base64 of
user:secret>"}}}`, read by kaniko and crane through go-containerregistry and docker/cli's config
loader. Read here as those tools read it, not as a laptop's docker does:

- no credential helper: `credsStore`, or a `credHelpers` entry for the registry, makes docker/cli
  ask `docker-credential-<name>`, which such images do not have, so it is a problem of its own;
- the login must be inline: `auth`, else `username` and `password` (docker/cli decodes `auth` and
  otherwise keeps those fields);
- `auth` is standard base64 with padding, line breaks ignored (Go's `base64.StdEncoding`, as
  docker/cli's `decodeAuth` uses it), split at the first `:` into a non-empty user and the secret.
  A secret ending in a line break (`echo` instead of `printf '%s'`) is named: Harbor refuses it.

No Recorder here: `read` returns the login or raises `Problem`, whose `kind` picks the code.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aisg_check.context import Context
from aisg_check.credentials import INLINE_DOCKER_CONFIG, is_inline_json
from aisg_check.platform import dockerconfig
from aisg_check.secrets import Secret

MISSING, INVALID, NO_LOGIN, HELPER = "missing", "invalid", "no-login", "helper"
WHAT = "a Docker config JSON"
INLINE = INLINE_DOCKER_CONFIG  # how the JSON is named where the variable holds it, not a path


class Problem(Exception):
    def __init__(self, kind: str, message: str, helper: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.helper = helper


@dataclass(frozen=True)
class InlineLogin:
    username: str
    password: Secret
    key: str  # the `auths` key it is filed under
    form: str  # "auth" or "username/password"


def load(ctx: Context, setting: str, registry: str) -> InlineLogin:
    """The login `harbor.auth_file` holds for `registry`: the file it names, or the JSON itself."""
    if is_inline_json(setting):
        return read_inline(ctx, setting, registry)
    return read(ctx, ctx.path(setting), registry)


def shown(ctx: Context, setting: str) -> str:
    """`harbor.auth_file` as messages name it: the file's path, or INLINE (never the JSON)."""
    return INLINE if is_inline_json(setting) else str(ctx.path(setting))


def read(ctx: Context, path: Path, registry: str) -> InlineLogin:
    """The inline login for `registry` (host[:port]) in the file at `path`."""
    try:
        data = dockerconfig.read_json(path, what=WHAT)
    except dockerconfig.UnusableFile as exc:
        raise Problem(INVALID, str(exc)) from None
    if data is None:
        raise Problem(MISSING, f"{path} does not exist")
    return _login_in(ctx, data, str(path), registry)


def read_inline(ctx: Context, text: str, registry: str) -> InlineLogin:
    """The same from a variable holding the Docker config JSON itself (a GitLab variable that is
    not of type File), read as the file would be and named INLINE, never by its value."""
    data = _inline_json(text)
    ctx.scrubber.add(text)  # UTF-8 text by now: the scrubber encodes it
    return _login_in(ctx, data, INLINE, registry)


def _inline_json(text: str) -> Any:
    """`dockerconfig.read_json`'s bounds and messages, for text: every error names the variable
    and a position, never the text."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8 in the environment
        raise Problem(INVALID, f"{INLINE}: cannot be read (not UTF-8 text)") from None
    return dockerconfig.parse_json(raw, INLINE, what=WHAT, error=lambda message: Problem(INVALID, message))


def _login_in(ctx: Context, data: Any, path: str, registry: str) -> InlineLogin:
    """The login for `registry` in a parsed Docker config JSON; `path` names it in messages."""
    if not isinstance(data, dict):
        raise Problem(INVALID, f"{path}: expected a JSON object with `auths`")
    dockerconfig.add_secrets(ctx.scrubber, data)
    _shape(data, path)
    helper = dockerconfig.helper_for(data, registry)
    if helper:
        section = "credHelpers" if registry in (data.get("credHelpers") or {}) else "credsStore"
        message = f"{path}: `{section}` names docker-credential-{dockerconfig.short(helper)} for {registry}"
        raise Problem(HELPER, message, helper=section)
    auths: Mapping[str, Any] = data.get("auths") or {}
    key, entry = _entry(auths, registry)
    if entry is None:
        known = ", ".join(dockerconfig.short(k, 60) for k in list(auths)[:5]) or "none"
        raise Problem(NO_LOGIN, f"{path} has no `auths` entry for {registry} (entries: {known})")
    if not isinstance(entry, Mapping):
        raise Problem(INVALID, f"{path}: the auths entry for {dockerconfig.short(key)} is not an object")
    return _login(ctx, entry, path, key, registry)


def _shape(data: Mapping[str, Any], path: str) -> None:
    """`auths` must be there and an object; the other sections as docker/cli insists on them.
    Two look-alikes are named: a Kubernetes Secret, and the old `.dockercfg` layout."""
    if data.get("kind") == "Secret" and "auths" not in data:
        raise Problem(
            INVALID,
            f"{path}: a Kubernetes Secret, not the Docker config JSON in it (its `.dockerconfigjson`, "
            "base64-decoded)",
        )
    try:
        dockerconfig.check_sections(data, Path(path))  # only named in its messages
    except dockerconfig.DockerConfigError as exc:
        raise Problem(INVALID, str(exc)) from None
    if "auths" in data:
        return
    if any(isinstance(v, Mapping) and "auth" in v for v in data.values()):
        raise Problem(
            INVALID,
            f"{path}: the old .dockercfg layout (registries at the top); kaniko and crane read "
            '{"auths": {...}}',
        )
    if not (data.get("credsStore") or data.get("credHelpers")):
        raise Problem(INVALID, f"{path}: no `auths` object, not {WHAT}")


def _entry(auths: Mapping[str, Any], registry: str) -> tuple[str, Any]:
    """docker/cli's look-up: the exact key, else a key naming the same host (`https://host/v2/`)."""
    if registry in auths:
        return registry, auths[registry]
    wanted = dockerconfig.resolve_index_name(registry)
    for key, entry in auths.items():
        if dockerconfig.resolve_index_name(key) == wanted:
            return key, entry
    return registry, None


def _login(ctx: Context, entry: Mapping[str, Any], path: str, key: str, registry: str) -> InlineLogin:
    auth = entry.get("auth")
    if auth:
        if not isinstance(auth, str):
            raise Problem(INVALID, f"{path}: the `auth` for {registry} is not a string")
        username, password = _decode(auth, path, registry)
        form = "auth"
    elif isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
        username, password, form = entry["username"], entry["password"], "username/password"
    elif entry.get("identitytoken"):
        token = f"{path}: the entry for {registry} holds an identity token, which Harbor does not issue"
        raise Problem(NO_LOGIN, token)
    else:
        empty = f"{path}: the entry for {registry} holds no inline `auth` (the login was kept elsewhere)"
        raise Problem(NO_LOGIN, empty)
    ctx.scrubber.add_login(username, password)
    ctx.scrubber.add(password.strip())
    if not username or not password:
        raise Problem(INVALID, f"{path}: the login for {registry} has an empty user or secret")
    if password != password.rstrip("\r\n"):
        raise Problem(
            INVALID,
            f"{path}: the secret for {registry} ends with a line break (encoded with `echo`; use "
            "`printf '%s'`)",
        )
    if len(username) > 120:  # echoed in every row of the chain
        raise Problem(INVALID, f"{path}: the user for {registry} is {len(username)} characters long")
    return InlineLogin(username, Secret(password), key, form)


def _decode(auth: str, path: str, registry: str) -> tuple[str, str]:
    bad = f"{path}: the `auth` for {registry} is not standard base64 of user:secret"
    try:
        raw = base64.b64decode(auth.replace("\r", "").replace("\n", ""), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        raise Problem(INVALID, bad) from None
    username, colon, password = text.partition(":")
    if not colon or not username:
        raise Problem(INVALID, bad)
    return username, password.strip("\x00")
