"""What every way of obtaining a Kubernetes credential shares: the typed errors the check maps
to diagnoses, the `Credential` the client presents, and the reading of a user entry's fields
with the types kubectl requires (a value of the wrong type is invalid, never used as text, and
never echoed: it may be the credential itself)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aisg_check.platform.kubeconfig import Selection
from aisg_check.secrets import Secret


class AuthError(Exception):
    """No usable credential; `message` is one line for a summary (no secret in it)."""

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})


class InvalidEntry(AuthError):
    """The kubeconfig (or a file it names) is malformed at `path`."""

    def __init__(self, path: Path, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, details)
        self.path = path


class NotLoggedIn(AuthError):
    """The user has no credential `runai login` would have written, or one kubectl cannot use."""


class WrongRealm(AuthError):
    """The id-token comes from another issuer than the kubeconfig's idp-issuer-url."""


class LoginExpired(AuthError):
    """The id-token expired and cannot be renewed (no refresh-token, or the issuer refused)."""


class IssuerFailed(AuthError):
    """Renewing the id-token failed at the issuer; `exc` is the transport error, if that was it."""

    def __init__(
        self, message: str, details: Mapping[str, Any], *, issuer: str, exc: BaseException | None = None
    ) -> None:
        super().__init__(message, details)
        self.issuer = issuer
        self.exc = exc


class PluginFailed(AuthError):
    """The exec credential plugin is missing, hung, failed or gave no credential."""

    def __init__(
        self, message: str, details: Mapping[str, Any], *, command: str, install_hint: str | None = None
    ) -> None:
        super().__init__(message, details)
        self.command = command
        self.install_hint = install_hint


@dataclass(frozen=True)
class Credential:
    """What the client presents: a bearer token or a client certificate (PEM text, in memory)."""

    kind: str  # oidc, exec, token, client-certificate
    token: Secret | None = None
    cert_pem: Secret | None = None
    key_pem: Secret | None = None
    username: str | None = None
    refreshed: bool = False
    # Seconds the login lasts (the refresh-token's exp, else the id-token's); None: unknown.
    session_left_s: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    # When the credential presented expires, and the refresh-token that renews it (epoch seconds,
    # read from the JWTs' `exp` or the plugin's expirationTimestamp); None: unknown or never.
    expires_at: float | None = None
    refresh_expires_at: float | None = None


def present(value: Any) -> bool:
    return value is not None and value != ""


def kind_of(sel: Selection) -> str:
    """Which credential kubectl would use for the selected user, in kubectl's order: oidc,
    auth-provider (another, unsupported one), exec, token, client-certificate, basic or none."""
    user = sel.user
    for key in ("auth-provider", "exec"):
        if user.get(key) is not None and not isinstance(user[key], Mapping):
            raise InvalidEntry(
                sel.user_file,
                f"users['{sel.user_name}'].user.{key} must be a mapping, not {type_name(user[key])}",
            )
    provider = user.get("auth-provider")
    if isinstance(provider, Mapping):
        return "oidc" if provider.get("name") == "oidc" else "auth-provider"
    if isinstance(user.get("exec"), Mapping):
        return "exec"
    if present(user.get("token")) or present(user.get("tokenFile")):
        return "token"
    if present(user.get("client-certificate-data")) or present(user.get("client-certificate")):
        return "client-certificate"
    if present(user.get("username")) or present(user.get("password")):
        return "basic"
    return "none"


def type_name(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "a mapping"}
    return names.get(type(value), type(value).__name__)


def string_field(sel: Selection, key: str, value: Any) -> str:
    """A string field of the user entry ("" when absent); any other type is invalid."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidEntry(
            sel.user_file,
            f"users['{sel.user_name}'].user.{key} must be a string, not {type_name(value)}",
        )
    return value


def name_of(claims: Mapping[str, Any]) -> str | None:
    for key in ("preferred_username", "email", "name", "sub"):
        if claims.get(key):
            return str(claims[key])
    return None


def exp_of(claims: Mapping[str, Any] | None) -> float | None:
    value = (claims or {}).get("exp")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None
