"""Kubernetes credentials obtained as kubectl obtains them, without the `kubernetes` client's
traps: an oidc auth-provider (its id-token, renewed in memory with the OAuth2 refresh_token
grant, never written back), an exec credential plugin (no stdin, never interactive, its
failure reported), a static `token` / `tokenFile`, a client certificate.

Protocol code only, with no Recorder: each failure is a typed `AuthError` whose message names
the user, and the file and key where the kubeconfig is at fault; the check maps each type to
a diagnosis; `serviceaccount` reads a pod's in-cluster configuration. Every credential
obtained here is registered with the run's scrubber before it is returned. Values of the wrong
type are invalid entries, never used as text, and never echoed (they may be the credential
itself).
"""

from __future__ import annotations

from aisg_check.platform.kubeauth.base import (
    AuthError,
    Credential,
    InvalidEntry,
    IssuerFailed,
    LoginExpired,
    NotLoggedIn,
    PluginFailed,
    WrongRealm,
    kind_of,
)
from aisg_check.platform.kubeauth.oidc import oidc
from aisg_check.platform.kubeauth.plugin import exec_plugin
from aisg_check.platform.kubeauth.static import client_certificate, static_token, use_client_certificate

__all__ = [
    "AuthError",
    "Credential",
    "InvalidEntry",
    "IssuerFailed",
    "LoginExpired",
    "NotLoggedIn",
    "PluginFailed",
    "WrongRealm",
    "client_certificate",
    "exec_plugin",
    "kind_of",
    "oidc",
    "static_token",
    "use_client_certificate",
]
