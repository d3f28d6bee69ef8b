"""Distribution's token authentication (Docker Registry HTTP API v2), spoken as `docker login`
and `docker push` speak it, without pushing anything.

`GET /v2/` answers 401 with a challenge: `Bearer realm=…,service=…` names a token service,
`Basic` asks for the credentials on every request. The token service hands out a JWT whose
`access` claim lists the actions granted for the scope asked for
(`repository:<name>:pull,push`): what docker asks before a push, and so the answer to "may I
push?" with nothing written. Claims are read unverified: the token is only looked at, never
trusted.

No Recorder here: these return data or raise `Refused` (the credentials were turned down) or
`RegistryError` (an answer no working registry gives). Transport failures (`httpx.HTTPError`)
are left to the caller, which classifies them (`net.failures.transport_failure`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aisg_check.secrets import Secret, jwt_claims

if TYPE_CHECKING:
    import httpx

# Compiled on first use (re caches it), not at import.
_CHALLENGE_PARAM = r'(\w+)\s*=\s*"([^"]*)"'


class RegistryError(Exception):
    """The registry or its token service answered as no working registry does."""


class Refused(Exception):
    """The registry or its token service refused the credentials."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


@dataclass(frozen=True)
class Challenge:
    """What the registry's `/v2/` asks for: Bearer (a token service) or Basic, or nothing."""

    scheme: str  # "bearer" | "basic" | "none"
    realm: str = ""
    service: str = ""


@dataclass(frozen=True)
class Token:
    value: Secret
    claims: Mapping[str, Any]  # unverified: `sub`, `exp`/`iat` and the granted `access` are read


def parse_challenge(header: str) -> Challenge:
    scheme, _, rest = header.strip().partition(" ")
    params = dict(re.findall(_CHALLENGE_PARAM, rest))
    return Challenge(scheme.lower(), params.get("realm", ""), params.get("service", ""))


def granted(token_claims: Mapping[str, Any], repository: str) -> frozenset[str]:
    """Actions a token grants on `repository`, compared as a set (order varies by server)."""
    actions: set[str] = set()
    access = token_claims.get("access")
    for entry in access if isinstance(access, list) else ():
        if isinstance(entry, dict) and entry.get("type") == "repository" and entry.get("name") == repository:
            actions.update(str(a) for a in entry.get("actions") or ())
    if "*" in actions:
        actions.update({"pull", "push"})
    return frozenset(actions)


class RegistryClient:
    """One registry (`host[:port]`, always HTTPS) over an httpx client.

    `timeout()` is asked before every request, so each gets what is left of the caller's time,
    not the timeout fixed when the client was made; `on_secret` learns every token issued before
    anything can echo it.
    """

    def __init__(
        self,
        http: httpx.Client,
        registry: str,
        *,
        timeout: Callable[[], float],
        on_secret: Callable[[str], None],
    ) -> None:
        self.http = http
        self.registry = registry
        self.base = f"https://{registry}"
        self._timeout = timeout
        self._on_secret = on_secret

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(url, timeout=self._timeout(), **kwargs)

    def challenge(self) -> Challenge:
        """An anonymous `GET /v2/`: proves the connection and TLS, and tells how to log in."""
        response = self.get(f"{self.base}/v2/")
        if response.status_code == 200:
            return Challenge("none")
        header = response.headers.get("www-authenticate", "")
        challenge = parse_challenge(header)
        if response.status_code != 401 or challenge.scheme not in ("bearer", "basic"):
            asked = f"challenge {challenge.scheme}" if header else "no auth challenge"
            raise RegistryError(
                f"{self.base}/v2/ answers HTTP {response.status_code} ({asked}), not as a Docker registry"
            )
        if challenge.scheme == "bearer" and not challenge.realm.startswith(("https://", "http://")):
            raise RegistryError(f"{self.registry} names no usable token service (realm {challenge.realm!r})")
        return challenge

    def token(self, challenge: Challenge, username: str, password: Secret, scope: str | None = None) -> Token:
        """A token from the challenge's token service, asked as `username`."""
        import httpx

        params = {"service": challenge.service, "account": username}
        if scope:
            params["scope"] = scope
        try:
            response = self.get(challenge.realm, params=params, auth=(username, password.reveal()))
        except httpx.InvalidURL:
            raise RegistryError(
                f"{self.registry} names no usable token service (realm {challenge.realm!r})"
            ) from None
        if response.status_code in (401, 403):
            raise Refused(response.status_code)
        if response.status_code != 200:
            raise RegistryError(f"The token service {challenge.realm} answers HTTP {response.status_code}")
        try:
            body = response.json()
            value = str(body.get("token") or body.get("access_token") or "")
        except (ValueError, AttributeError, RecursionError):
            value = ""
        if not value:
            raise RegistryError(f"The token service {challenge.realm} answered without a token")
        self._on_secret(value)
        try:
            claims = jwt_claims(value)
        except RecursionError:  # claims nested past any real token's: as good as none
            claims = {}
        return Token(Secret(value), claims)

    def login(self, challenge: Challenge, username: str, password: Secret) -> dict[str, Any]:
        """Log in the way docker does; facts about the login, or `Refused`.

        Harbor hands out an anonymous token (200, empty `sub`) for wrong credentials when a scope
        is asked for, so the login is tried without a scope and `sub` must name the user.
        """
        if challenge.scheme == "none":
            return {"auth": "none (the registry allows anonymous access)"}
        if challenge.scheme == "basic":
            response = self.get(f"{self.base}/v2/", auth=(username, password.reveal()))
            if response.status_code == 200:
                return {"auth": "basic"}
            if response.status_code in (401, 403):
                raise Refused(response.status_code)
            raise RegistryError(f"{self.base}/v2/ answers HTTP {response.status_code} to a login")
        token = self.token(challenge, username, password)
        subject = token.claims.get("sub")
        if subject is not None and str(subject).lower() != username.lower():
            raise Refused(401)  # an anonymous (or someone else's) token is a refused login
        # The registry must accept what its token service issued (same issuer, audience and keys).
        response = self.get(f"{self.base}/v2/", headers={"Authorization": f"Bearer {token.value.reveal()}"})
        if response.status_code != 200:
            status = response.status_code
            raise RegistryError(
                f"{self.registry} rejects the token its own token service issued (HTTP {status})"
            )
        facts: dict[str, Any] = {"auth": "token", "token_service": challenge.realm}
        issued, expires = token.claims.get("iat"), token.claims.get("exp")
        if isinstance(issued, (int, float)) and isinstance(expires, (int, float)):
            lifetime = expires - issued
            if math.isfinite(lifetime):  # JSON as Python reads it allows Infinity and NaN
                facts["token_lifetime_s"] = int(lifetime)
        return facts
