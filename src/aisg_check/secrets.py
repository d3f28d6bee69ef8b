"""Secrets never leave: a `Secret` that never formats itself, and a scrubber for text.

Every string that reaches a reporter, stderr or an error result goes through
`Scrubber.scrub`, which removes (1) every secret value the run has seen, in each encoding a
server or program may echo it in (`encodings`), (2) userinfo in URLs, (3) anything shaped like
a JWT or an Authorization header value. Messages about a value quote it through `shown`.
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
# A base64 fragment shorter than this could match ordinary text.
_MIN_FRAGMENT_LEN = 6
SHOWN_LIMIT = 80  # characters of a value quoted in an error message
CLIP_LIMIT = 2000  # characters of any one text of a result (a summary, a hint, a detail)

# Greedy up to the last '@' before the path: a password may itself contain '@'. The scheme starts
# a word (the look-behind): without it, a long run of letters costs quadratic time to search.
_URL_USERINFO = re.compile(r"(?<![a-zA-Z0-9+.-])(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/\s]+)@")
_SPACE = re.compile(r"(\s+)")
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


def strip_credentials(text: str) -> str:
    """strip_userinfo, and `user:pw@` without a scheme masked: for showing a setting's value."""
    words = _SPACE.split(strip_userinfo(text))
    return "".join(f"{MASK}@{w.rpartition('@')[2]}" if _bare_userinfo(w) else w for w in words)


def looks_like_credentials(text: str) -> bool:
    """`user:pw@host`, with or without a scheme: a value that must not be echoed."""
    return any(_bare_userinfo(word) for word in _SPACE.split(strip_userinfo(text)))


def _bare_userinfo(word: str) -> bool:
    """A ':' before the last '@' of one word: what strip_userinfo, needing a scheme, cannot see."""
    return ":" in word.rpartition("@")[0]


def shown(value: object, *, secret: bool = False, limit: int = SHOWN_LIMIT) -> str:
    """A value quoted for a message about it: hidden when it is (or may carry) a credential,
    URLs without their userinfo, and never longer than `limit` characters."""
    if secret:
        return "<hidden>"
    text = strip_userinfo(value if isinstance(value, str) else repr(value))
    if looks_like_credentials(text):
        return "<hidden: it looks like user:password@host>"
    return repr(clip(text, limit)) if isinstance(value, str) else clip(text, limit)


def clip(text: str, limit: int = CLIP_LIMIT) -> str:
    """At most `limit` characters, saying how much was cut: no message grows without bound."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def clip_value(value: Any) -> Any:
    """`clip` every string of a JSON-like value (a result's fields before they are printed)."""
    if isinstance(value, str):
        return clip(value)
    if isinstance(value, Mapping):
        return {k: clip_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clip_value(v) for v in value]
    return value


def encodings(raw: str) -> set[str]:
    """The forms a credential takes in other programs' text: plain, URL-quoted, and base64 at
    each of the three byte alignments (so it is found inside a longer base64 text too)."""
    from urllib.parse import quote, quote_plus

    # An environment value that is not UTF-8 reaches Python with surrogate escapes: encode it
    # back to the bytes a program would send.
    data = raw.encode("utf-8", "surrogateescape")
    forms = {raw, quote(data, safe=""), quote(data), quote_plus(data)}
    return forms | _base64_forms(data)


def _base64_forms(data: bytes) -> set[str]:
    whole = base64.b64encode(data).decode()
    forms = {whole, whole.rstrip("=")}
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        # Characters that depend only on `data`: the first ones also carry the bytes before
        # it, the last one the bytes after it.
        start, end = (8 * offset + 5) // 6, (8 * (offset + len(data))) // 6
        fragment = encoded[start:end]
        if len(fragment) >= _MIN_FRAGMENT_LEN:
            forms.add(fragment)
    return forms | {f.replace("+", "-").replace("/", "_") for f in forms}  # also base64url (JWTs)


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
        """Register a credential in every form a server or program may echo it in."""
        raw = value.reveal() if isinstance(value, Secret) else value
        if not raw or len(raw) < _MIN_SECRET_LEN:
            return
        forms = encodings(raw)
        with self._lock:
            self._values.update(forms)

    def add_login(self, user: str | None, secret: str | Secret | None) -> None:
        """A user name and its credential: Basic auth (and docker's `auth`) sends
        base64("user:credential"), which the credential's own base64 forms do not match."""
        raw = secret.reveal() if isinstance(secret, Secret) else secret
        self.add(raw)
        if user and raw and len(raw) >= _MIN_SECRET_LEN:
            with self._lock:
                self._values.update(_base64_forms(f"{user}:{raw}".encode("utf-8", "surrogateescape")))

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
