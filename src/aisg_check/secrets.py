"""Secrets never leave: a `Secret` that never formats itself, and a scrubber for text.

Every string that reaches a reporter, stderr or an error result goes through
`Scrubber.scrub`, which removes (1) every secret value the run has seen, (2) userinfo in
URLs, (3) anything shaped like a JWT or an Authorization header value.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"

# Shorter values would mask ordinary words ("a", "yes"); such secrets are too weak to matter
# less than a mangled report, and they are still never printed through `Secret`.
_MIN_SECRET_LEN = 4

# Greedy up to the last '@' before the path: a password may itself contain '@'.
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/\s]+)@")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_AUTH_HEADER = re.compile(r"(?i)\b(authorization|proxy-authorization)(\s*[:=]\s*)(\w+\s+)?[^\s,;'\"]+")
_KEY_VALUE = re.compile(
    r"(?i)\b(password|passwd|secret|token|id-token|refresh-token|client-secret|aws_secret_access_key)"
    r"(\s*[:=]\s*)([^\s,;'\"}]+)"
)


class Secret:
    """A value that must never be printed. `str()`, `repr()` and f-strings show `***`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __format__(self, spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


def strip_userinfo(url: str) -> str:
    """`https://user:pw@host/x` → `https://host/x`."""
    return _URL_USERINFO.sub(lambda m: m.group("scheme"), url)


class Scrubber:
    """Collects the secret values of a run and removes them from any text.

    Thread-safe: checks register secrets they read (a docker config's password, a token
    from a credential helper) while other checks run.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        for value in secrets:
            self.add(value)

    def add(self, value: str | Secret | None) -> None:
        raw = value.reveal() if isinstance(value, Secret) else value
        if not raw or len(raw) < _MIN_SECRET_LEN:
            return
        with self._lock:
            self._values.add(raw)
            # Some libraries print the base64 form (Basic auth) or a URL-quoted form.
            from base64 import b64encode
            from urllib.parse import quote

            self._values.add(quote(raw, safe=""))
            self._values.add(b64encode(raw.encode()).decode().rstrip("="))

    def scrub(self, text: str) -> str:
        if not text:
            return text
        with self._lock:
            # Longest first, so a secret that contains another is removed whole.
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, MASK)
        text = strip_userinfo(text)
        text = _JWT.sub(MASK, text)
        return _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) or ''}{MASK}", text)

    def scrub_external(self, text: str) -> str:
        """For text the tool did not write (a library's exception, a program's stderr): also
        mask whatever follows `password=`, `token:` and the like. Not applied to our own
        hints, which name variables such as GITLAB_TOKEN on purpose."""
        return _KEY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", self.scrub(text))

    def scrub_value(self, value: Any) -> Any:
        """Scrub a JSON-like value recursively; `Secret`s become `***`."""
        if isinstance(value, Secret):
            return MASK
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, Mapping):
            return {str(k): self.scrub_value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.scrub_value(v) for v in value]
        if value is None or isinstance(value, (bool, int, float)):
            return value
        return self.scrub(str(value))


def jwt_claims(token: str) -> dict[str, Any]:
    """A JWT's claims, decoded without verification, only to read `exp`, `sub`, names and the
    like; {} when the token is not a JWT. The token itself is never returned or shown."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}
