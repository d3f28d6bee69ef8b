"""Docker's config.json reduced to registry names and user names: which registries have a login,
as whom, and which credential helper serves which registry. Never an `auth`, a password, an
identity or registry token, a header's value or a proxy's password; helpers are never run.

Also used for a Docker config JSON that logs in to Harbor (the `harbor.auth_file` setting).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from aisg_check.bundle.report import REDACTED, Redacted, Unparseable
from aisg_check.secrets import Scrubber, clip, strip_credentials

# Headers whose values are masked across the whole bundle too (every header's value is left out
# of the copy; masking an ordinary one everywhere would garble the reports).
_SECRET_HEADER = re.compile(r"auth|token|secret|key|cookie|session|passw", re.I)
_SECRET_FIELDS = ("auth", "password", "identitytoken", "registrytoken")
_ENTRY_PLAIN = ("username", "serveraddress", "email")
# Settings of the docker CLI that hold no credential.
_TOP_PLAIN = (
    "credsStore",
    "currentContext",
    "psFormat",
    "imagesFormat",
    "statsFormat",
    "detachKeys",
    "experimental",
    "stackOrchestrator",
)


def parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unparseable(f"not valid JSON (line {exc.lineno})") from None
    except (ValueError, RecursionError):
        raise Unparseable("not valid JSON (a number too long, or nested too deep)") from None


def redact(text: str, scrubber: Scrubber) -> Redacted:
    data = parse_json(text)
    if not isinstance(data, dict):
        raise Unparseable("not a Docker config: expected a JSON object at the top")
    removed: list[str] = []
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = clip(str(key), 80)
        if key == "auths" and isinstance(value, Mapping):
            out[key] = {clip(str(r), 200): _login(r, e, removed, scrubber) for r, e in value.items()}
        elif key == "credHelpers" and isinstance(value, Mapping):
            out[key] = {clip(str(r), 200): _plain(h) for r, h in value.items()}
        elif key == "proxies" and isinstance(value, Mapping):
            out[key] = _proxies(value, removed, scrubber)
        elif key == "HttpHeaders" and isinstance(value, Mapping):
            for header, content in value.items():
                if isinstance(content, str) and _SECRET_HEADER.search(str(header)):
                    scrubber.add(content)
            out[key] = {clip(str(h), 80): REDACTED for h in value}
            # "(its value)", never "Header: …": the scrubber masks what follows `Authorization:`.
            removed.extend(f"HttpHeaders[{clip(str(h), 80)}] (its value)" for h in value)
        elif key in _TOP_PLAIN:
            out[key] = _plain(value)
        else:
            removed.append(f"{name}: not copied (not a setting aisg-check knows to be free of secrets)")
    return Redacted(json.dumps(out, indent=2, ensure_ascii=False) + "\n", tuple(removed))


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return strip_credentials(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return REDACTED


def _login(registry: Any, entry: Any, removed: list[str], scrubber: Scrubber) -> Any:
    where = f"auths[{clip(str(registry), 200)}]"
    if not isinstance(entry, Mapping):
        removed.append(f"{where}: not an object")
        return REDACTED
    user = entry.get("username") if isinstance(entry.get("username"), str) else None
    auth = entry.get("auth")
    decoded_user = _auth_user(auth, scrubber) if isinstance(auth, str) else None
    out: dict[str, Any] = {}
    if user is None and decoded_user is not None:
        out["username"] = decoded_user  # what `auth` logs in as: the one fact support needs
    for key, value in entry.items():
        if key in _SECRET_FIELDS:
            if isinstance(value, str):
                scrubber.add_login(user or decoded_user, value)
            out[key] = REDACTED
            removed.append(f"{where}.{key}")
        elif key in _ENTRY_PLAIN:
            out[key] = _plain(value)
        else:
            out[key] = REDACTED
            removed.append(
                f"{where}.{clip(str(key), 80)}: not a field aisg-check knows to be free of secrets"
            )
    return out


def _auth_user(auth: str, scrubber: Scrubber) -> str | None:
    """The user name in `auth` (base64 of user:password); the password goes to the scrubber."""
    try:
        login, sep, password = base64.b64decode(auth).decode("utf-8").partition(":")
    except (binascii.Error, ValueError):
        return None
    if not sep:
        scrubber.add(login)  # not user:password: the whole of it may be the secret
        return None
    scrubber.add_login(login, password)
    return login if len(login) <= 200 else None


def _proxies(value: Mapping[str, Any], removed: list[str], scrubber: Scrubber) -> dict[str, Any]:
    """Proxy URLs without their userinfo (the password of an authenticating proxy)."""
    from aisg_check.credentials import add_url_login

    out: dict[str, Any] = {}
    for name, settings in value.items():
        where = f"proxies.{clip(str(name), 80)}"
        if not isinstance(settings, Mapping):
            out[clip(str(name), 80)] = REDACTED
            removed.append(f"{where}: not an object")
            continue
        for url in settings.values():
            if isinstance(url, str):
                add_url_login(scrubber, url)
        stripped = {clip(str(k), 80): _plain(v) for k, v in settings.items()}
        if any(isinstance(v, str) and v != _plain(v) for v in settings.values()):
            removed.append(f"{where}: the user name and password in a proxy URL")
        out[clip(str(name), 80)] = stripped
    return out
