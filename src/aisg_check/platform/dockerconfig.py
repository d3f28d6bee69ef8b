"""The Docker client's stored login for one registry, read the way the docker CLI reads it.

`DOCKER_CONFIG` (else `~/.docker`) / `config.json`; for the registry, `credHelpers` first,
then `credsStore`, then `auths`. No daemon is involved, and the file is only read, never
written.

Two paths, one behaviour:

- A credential helper serves the registry (`credsStore`, or `credHelpers` for it): the SDK's own
  `docker.auth.AuthConfig` resolves the login (its lookup order, its helper protocol, its
  fallback to `auths` when the helper has no entry). Only the way a helper is run is ours: the
  SDK's `Store` runs `docker-credential-<name>` without a timeout and with the process's own
  environment, so a helper waiting on a locked keychain would hang the check. We run it
  through the context instead (hard timeout, the context's PATH).
- No helper for it (what `docker login` writes on Linux without one): `_from_auths` reads `auths`
  with the SDK's rules (`AuthConfig.parse_auth` and `resolve_authconfig`), transcribed. Importing
  the SDK pulls in requests and urllib3, which costs more than the whole rest of the check
  (issue 5's budget: 3x `--help`), and a base64 field needs none of it.
  `tests/checks/test_dockerconfig.py` runs both on the same configs and asserts equal results,
  so the transcription cannot drift from the SDK unnoticed.

The file is the user's and may be anything: `read_json` (also used for Harbor's robot account
files) refuses what is not a small regular file of JSON nested a few levels deep, and every
error names the file, never its content. The sections' types are checked as the docker CLI's
own decoder checks them, so a config docker would refuse is an error here too, not a crash.

`docker` is imported inside the functions: `aisg-check --help` must not pay for it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import stat
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aisg_check.secrets import Scrubber, Secret

if TYPE_CHECKING:
    from aisg_check.context import Context

HELPER_PREFIX = "docker-credential-"
_AUTH_SECTIONS = ("auths", "credsStore", "credHelpers")
# Docker's config and a robot account's export are a few KiB; anything past these bounds is not
# one, and reading it whole (or recursing into it) would cost memory and time for nothing.
MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 32
# A name from the file echoed in a message (a registry key) is cut to this many characters.
_SHOWN = 120


class UnusableFile(Exception):
    """A file the user keeps exists but cannot be used; the message names the file."""


class DockerConfigError(UnusableFile):
    """The config file exists but cannot be used (unreadable, not JSON, a bad `auth` field)."""


class HelperError(Exception):
    """A credential helper is missing, failed, hung or printed something that is not JSON."""

    def __init__(self, helper: str, message: str) -> None:
        super().__init__(message)
        self.helper = helper
        self.message = message


@dataclass(frozen=True)
class Credentials:
    username: str
    password: Secret
    source: str  # "auths in /home/a/.docker/config.json", "credsStore docker-credential-pass", ...
    # "password", or "identity-token": an OAuth identity token instead of a password (not Harbor's way)
    kind: str = "password"

    @property
    def identity_token(self) -> bool:
        return self.kind == "identity-token"


@dataclass(frozen=True)
class Lookup:
    path: Path
    file_exists: bool
    credentials: Credentials | None
    store: str | None  # the helper the config names for this registry, if any


def config_path(ctx: Context) -> Path:
    """`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` under the context's home."""
    directory = ctx.env.get("DOCKER_CONFIG")
    base = ctx.path(directory) if directory else ctx.home / ".docker"
    return base / "config.json"


def registry_key(registry: str) -> str:
    """The key the docker CLI files a registry's login under: host[:port], no scheme or path
    (`docker.auth.convert_to_hostname`)."""
    return registry.replace("https://", "").replace("http://", "").split("/", 1)[0]


def lookup(ctx: Context, registry: str, timeout: float) -> Lookup:
    """Find the stored login for `registry`; helpers run under `timeout` seconds each."""
    path = config_path(ctx)
    key = registry_key(registry)
    data = _read(path)
    if data is None:
        return Lookup(path, False, None, None)
    add_secrets(ctx.scrubber, data)
    check_sections(data, path)
    if not any(data.get(section) for section in _AUTH_SECTIONS):
        return Lookup(path, True, None, None)
    if not helper_for(data, key):
        # No helper for this registry (credHelpers for other registries only, as
        # `gcloud auth configure-docker` writes, included): the SDK would read `auths` too.
        return Lookup(path, True, _from_auths(ctx, data, path, key), None)
    from docker import errors

    config_cls = _auth_config_class()
    try:
        # load_config pops what it parses; hand it a copy so `data` stays whole.
        config = config_cls.load_config(None, json.loads(json.dumps(data)), None)
    except (errors.InvalidConfigFile, ValueError, TypeError) as exc:
        raise DockerConfigError(
            f"{path}: {scrubbed(ctx, str(exc)) or 'an auths entry is not valid'}"
        ) from None
    config.ctx, config.timeout = ctx, timeout
    store: str | None = config.get_credential_store(key)
    entry = _resolve(ctx, config, key, store)
    return Lookup(path, True, _credentials(ctx, entry, path, key, store, config), store)


def _read(path: Path) -> dict[str, Any] | None:
    data = read_json(path, what="Docker's config.json", error=DockerConfigError)
    if data is not None and not isinstance(data, dict):
        raise DockerConfigError(f"{path}: expected a JSON object at the top")
    return data


def read_json(path: Path, *, what: str, error: Callable[[str], Exception] = UnusableFile) -> Any:
    """The JSON in a small file the user keeps, or None when there is no such file.

    Bounded: a device, a FIFO or a file over MAX_FILE_BYTES is refused before it is read, and
    nesting past MAX_DEPTH is refused (Python's parser would raise RecursionError). Every error
    names the file and never the text in it, which may hold a credential.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror})") from None
    except ValueError:  # a NUL byte in a path from a setting
        raise error(f"{short(repr(str(path)))}: not a usable path") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{path}: is a directory, expected {what}")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{path}: is not a regular file, expected {what}")
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror})") from None
    return parse_json(raw, str(path), what=what, error=error)


def parse_json(raw: bytes, name: str, *, what: str, error: Callable[[str], Exception]) -> Any:
    """`read_json`'s bounds on text already in hand (a file's, or a variable's value): too large,
    not UTF-8, not JSON and nested past MAX_DEPTH are each `error(message)`, naming `name` and a
    position, never the text, which may hold a credential."""
    if len(raw) > MAX_FILE_BYTES:
        raise error(f"{name}: larger than {MAX_FILE_BYTES // 1024} KiB, too large to be {what}")
    too_deep = f"{name}: nested more than {MAX_DEPTH} levels deep, too deep to be {what}"
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise error(f"{name}: cannot be read (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        # The message names the position only, never the text around it (it may hold `auth`).
        raise error(f"{name}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except ValueError:  # a number past Python's limit on the digits of an int
        raise error(f"{name}: not valid JSON for {what} (a number too long)") from None
    except RecursionError:
        raise error(too_deep) from None
    if _too_deep(data):
        raise error(too_deep)
    return data


def _too_deep(data: Any) -> bool:
    todo: list[tuple[Any, int]] = [(data, 1)]
    while todo:
        item, depth = todo.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > MAX_DEPTH:
            return True
        todo.extend((child, depth + 1) for child in children)
    return False


def short(text: str, limit: int = _SHOWN) -> str:
    """A name from a user's file, cut to a length a one-line message can carry."""
    return text if len(text) <= limit else text[:limit] + "…"


def scrubbed(ctx: Context, text: str) -> str:
    """A program's or library's words, fit for a result: every secret the run knows and anything
    after `password=`-like keys masked (before cutting, so no secret is cut past recognition),
    then one line of bounded length."""
    return short(" ".join(ctx.scrubber.scrub_external(text).split()), 300)


def check_sections(data: Mapping[str, Any], path: Path) -> None:
    """The types the docker CLI's own decoder insists on (it refuses the whole file otherwise);
    the SDK would stumble over these with an AttributeError or TypeError instead."""
    for section in ("auths", "credHelpers"):
        if data.get(section) and not isinstance(data[section], Mapping):
            raise DockerConfigError(f"{path}: `{section}` is not an object")
    store = data.get("credsStore")
    if store is not None and not isinstance(store, str):
        raise DockerConfigError(f"{path}: `credsStore` is not a string (the name of a credential helper)")
    for name, helper in (data.get("credHelpers") or {}).items():
        if helper is not None and not isinstance(helper, str):  # null: none, as for docker
            raise DockerConfigError(
                f"{path}: the credHelpers entry for {short(name)} is not a string (the name of a credential "
                "helper)"
            )


def add_secrets(scrubber: Scrubber, data: Any) -> None:
    """Every secret-bearing field of a Docker config, known to the scrubber before anything can
    echo it: `auth` as given and decoded, `password` with its user name (Basic auth sends
    base64 of `user:password`), and the tokens."""
    auths = data.get("auths") if isinstance(data, Mapping) else None
    if not isinstance(auths, Mapping):
        return
    for entry in auths.values():
        if not isinstance(entry, Mapping):
            continue
        for field in ("auth", "password", "identitytoken", "registrytoken"):
            value = entry.get(field)
            if isinstance(value, str):
                scrubber.add(value)
        auth = entry.get("auth")
        if isinstance(auth, str):
            with contextlib.suppress(ValueError):
                scrubber.add(base64.b64decode(auth).decode("utf-8", "replace").split(":", 1)[-1])
        user = entry.get("username")
        if isinstance(entry.get("password"), str):
            scrubber.add_login(user if isinstance(user, str) else None, entry["password"])


# The docker CLI files Docker Hub under several names; the SDK folds them into one.
INDEX_NAME = "docker.io"
INDEX_URL = f"https://index.{INDEX_NAME}/v1/"


def resolve_index_name(name: str) -> str:
    """`docker.auth.resolve_index_name`: host[:port] of a key, Docker Hub's aliases folded."""
    host = registry_key(name)
    return INDEX_NAME if host == f"index.{INDEX_NAME}" else host


def helper_for(data: Mapping[str, Any], key: str) -> str | None:
    """`AuthConfig.get_credential_store`: the registry's credHelpers entry, else credsStore.
    The SDK files Docker Hub's helper under its v1 URL."""
    helper_key = INDEX_URL if not key or key == INDEX_NAME else key
    helpers = data.get("credHelpers") or {}
    found = helpers.get(helper_key) or data.get("credsStore")
    return str(found) if found else None


def _from_auths(ctx: Context, data: Mapping[str, Any], path: Path, key: str) -> Credentials | None:
    """The login for `key` from `auths` alone, by the SDK's rules (see the module docstring).

    As the SDK does: every entry is parsed, so a broken entry for another registry is an error
    too; an exact key wins over a key that only resolves to the same host (`https://host/v1/`).
    """
    auths = data.get("auths") or {}
    parsed: dict[str, dict[str, Any]] = {}
    for name, entry in auths.items():
        if not isinstance(entry, Mapping):
            raise DockerConfigError(f"{path}: the auths entry for {short(name)} is not an object")
        if "identitytoken" in entry:
            parsed[name] = {"IdentityToken": entry["identitytoken"]}
        elif "auth" not in entry:
            parsed[name] = {}  # valid since Engine 1.11: the login lives in a helper
        else:
            try:
                username, password = _decode_auth(entry["auth"])
            except (ValueError, TypeError):
                raise DockerConfigError(
                    f"{path}: the auths entry for {short(name)} has an `auth` that is not base64 of "
                    "user:password"
                ) from None
            parsed[name] = {"username": username, "password": password}
    wanted = resolve_index_name(key)
    entry = parsed.get(wanted)
    if entry is None:
        entry = next((e for name, e in parsed.items() if resolve_index_name(name) == wanted), None)
    return _credentials(ctx, entry, path, key, None, None)


def _decode_auth(auth: Any) -> tuple[str, str]:
    """`docker.auth.decode_auth`: base64 (lenient, as the SDK's), split at the first ':'."""
    raw = base64.b64decode(auth.encode("ascii") if isinstance(auth, str) else auth)
    login, password = raw.split(b":", 1)
    return login.decode("utf-8"), password.decode("utf-8")


def _resolve(ctx: Context, config: Any, key: str, store: str | None) -> Mapping[str, Any] | None:
    from docker import errors

    try:
        entry = config.resolve_authconfig(key)
    except errors.DockerException as exc:
        # The SDK wraps the helper's StoreError; its message is the useful part.
        cause = exc.__cause__ or exc
        raise HelperError(HELPER_PREFIX + (store or "?"), scrubbed(ctx, str(cause))) from None
    except ValueError:
        raise HelperError(
            HELPER_PREFIX + (store or "?"), f"{HELPER_PREFIX}{store} printed something that is not JSON"
        ) from None
    return entry if isinstance(entry, Mapping) else None


def _credentials(
    ctx: Context, entry: Mapping[str, Any] | None, path: Path, key: str, store: str | None, config: Any
) -> Credentials | None:
    if not entry:
        return None
    # Entries from `auths` use lower-case keys; the SDK's helper results use capitalised ones.
    from_helper = "ServerAddress" in entry
    if from_helper and config is not None:
        section = "credHelpers" if key in config.cred_helpers else "credsStore"
        source = f"{section} {HELPER_PREFIX}{store}"
    else:
        source = f"auths in {path}"
    token = entry.get("IdentityToken")
    if isinstance(token, str) and token:
        ctx.scrubber.add(token)
        return Credentials("", Secret(token), source, kind="identity-token")
    # A helper's JSON may hold anything; what a login sends is text.
    username = str(entry.get("username") or entry.get("Username") or "")
    password = str(entry.get("password") or entry.get("Password") or "")
    ctx.scrubber.add(password)
    if not username or not password:
        return None
    if len(username) > _SHOWN:  # echoed in every row of the chain: no registry's user name is this long
        raise DockerConfigError(f"{source}: the username for {short(key)} is {len(username)} characters long")
    return Credentials(username, Secret(password), source)


_CLASS_CACHE: dict[str, Any] = {}


def _auth_config_class() -> Any:
    """The SDK's AuthConfig, with its helper runs routed through the context (built lazily so
    that importing this module does not import docker)."""
    cached = _CLASS_CACHE.get("AuthConfig")
    if cached is not None:
        return cached
    from docker import auth, credentials

    class TimedStore(credentials.Store):  # type: ignore[misc]
        def __init__(self, name: str, ctx: Context, timeout: float) -> None:
            # Not Store.__init__: it looks the program up on the process's PATH and warns on
            # stderr when it is missing; the context's run reports a missing program itself.
            self.program = HELPER_PREFIX + name
            self.exe = self.program
            self.environment = None
            self._ctx = ctx
            self._timeout = timeout

        def _execute(self, subcmd: str, data_input: bytes | None) -> bytes:
            result = self._ctx.run(
                [self.program, subcmd],
                timeout=self._timeout,
                env=self._ctx.env,
                input=data_input.decode("utf-8") if data_input is not None else "",
            )
            if result.not_found:
                raise credentials.StoreError(f"{self.program} not installed or not available in PATH")
            if result.timed_out:
                raise credentials.StoreError(
                    f"{self.program} {subcmd} did not finish within {self._timeout:g} s"
                )
            if result.returncode != 0:
                # Helpers print their error on stdout; the SDK's own mapping spots "not found".
                output = (result.stdout.strip() or result.stderr.strip()).encode("utf-8")
                error = subprocess.CalledProcessError(result.returncode or 1, result.argv, output=output)
                raise credentials.errors.process_store_error(error, self.program)
            return result.stdout.encode("utf-8")

    class TimedAuthConfig(auth.AuthConfig):  # type: ignore[misc]
        ctx: Context
        timeout: float

        def _get_store_instance(self, name: str) -> Any:
            if name not in self._stores:
                self._stores[name] = TimedStore(name, self.ctx, self.timeout)
            return self._stores[name]

    _CLASS_CACHE["AuthConfig"] = TimedAuthConfig
    return TimedAuthConfig
