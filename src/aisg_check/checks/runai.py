"""`runai`: the kubeconfig from the MLOps team, after `runai login`, gets you into the Run:ai
cluster as yourself, with rights in your project's namespace.

Layers: kubeconfig → login (tokens) → cluster (/version) → identity (SelfSubjectReview) →
permission (SelfSubjectAccessReview); the Run:ai CLI is a separate check (`runai.cli`) so a
missing binary never hides a cluster answer, and vice versa.

The `kubernetes` client has traps for exactly this kind of kubeconfig, so it is used only as
an HTTP client with an explicit credential: its oidc path needs a client secret that Run:ai
kubeconfigs lack, silently sends no token for an id-token it cannot parse, refreshes with no
timeout and rewrites the kubeconfig; its exec path swallows plugin failures and goes on
anonymous; with several KUBECONFIG files it takes the last current-context where kubectl takes
the first. So `aisg_check.kubeconfig` resolves the file, context and user with kubectl's
semantics, this module obtains the token (refreshing it in memory only), and the client gets
a bearer token or client certificate and a TLS context we build ourselves.
"""

from __future__ import annotations

import base64
import binascii
import json
import shutil
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aisg_check.check import Check, Recorder, Step, declared
from aisg_check.checks.tools import RUNAI_DOWNLOAD, TOOL_BROKEN, parse_version
from aisg_check.context import Context
from aisg_check.diagnoses import (
    ENDPOINT_HTTP_ERROR,
    ENDPOINT_UNEXPECTED_ANSWER,
    NETWORK_DIAGNOSES,
    NOT_CONFIGURED,
    TLS_UNTRUSTED_CERT,
)
from aisg_check.model import CONTACT_MLOPS, Diagnosis
from aisg_check.net.failures import classify_tls_error, find_ssl_error
from aisg_check.net.probe import proxy_for
from aisg_check.platform import kubeconfig
from aisg_check.secrets import Secret, jwt_claims

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

# -- diagnoses --------------------------------------------------------------------------------

LOGIN_HINT = "export KUBECONFIG={path}; runai login"

KUBECONFIG_MISSING = Diagnosis(
    "KUBECONFIG_MISSING",
    "No kubeconfig",
    "No kubeconfig file was found where kubectl and the runai CLI look: --kubeconfig, runai.kubeconfig, "
    "the files in $KUBECONFIG, else ~/.kube/config.",
    "Save the kubeconfig the MLOps team gave you as ~/.kube/config (or anywhere, and "
    "`export KUBECONFIG=/path/to/kubeconfig`), then run `runai login`.",
    CONTACT_MLOPS,
)
KUBECONFIG_INVALID = Diagnosis(
    "KUBECONFIG_INVALID",
    "Kubeconfig is broken",
    "The kubeconfig is not valid YAML, or an entry kubectl needs is missing or malformed (the summary "
    "names the file and the key).",
    "Fix the file and key named in the summary, or replace the file with a fresh copy of the kubeconfig "
    "from the MLOps team and run `runai login` again.",
    CONTACT_MLOPS,
)
KUBE_CONTEXT_MISSING = Diagnosis(
    "KUBE_CONTEXT_MISSING",
    "Kubeconfig context not found",
    "The context to use (--context, runai.context, or the kubeconfig's current-context) is not set or "
    "names no context in the kubeconfig files.",
    "List the contexts with `kubectl config get-contexts` and pick one: `kubectl config use-context "
    "<name>` or `aisg-check runai --context <name>`.",
)
RUNAI_NOT_LOGGED_IN = Diagnosis(
    "RUNAI_NOT_LOGGED_IN",
    "Not logged in to Run:ai",
    "The kubeconfig's user has no usable credential: `runai login` has not filled in its id-token and "
    "refresh-token, or its credential plugin (exec) failed.",
    "`export KUBECONFIG=/path/to/kubeconfig; runai login`, sign in with your AI Singapore account in the "
    "browser, paste the code, and run again.",
    CONTACT_MLOPS,
)
RUNAI_WRONG_REALM = Diagnosis(
    "RUNAI_WRONG_REALM",
    "Token from another realm",
    "The id-token was issued by a different issuer than the kubeconfig's idp-issuer-url: a login against "
    "another Run:ai tenant or realm, or a kubeconfig mixed from two sources.",
    "Use the kubeconfig from the MLOps team as it is and log in again: `export KUBECONFIG=/path/to/"
    "kubeconfig; runai login`.",
    CONTACT_MLOPS,
)
RUNAI_TOKEN_EXPIRED = Diagnosis(
    "RUNAI_TOKEN_EXPIRED",
    "Run:ai login expired",
    "The id-token has expired and the identity provider refused to renew it (invalid_grant): the SSO "
    "session behind the refresh-token is over.",
    "Log in again: `export KUBECONFIG=/path/to/kubeconfig; runai login`.",
)
RUNAI_TOKEN_EXPIRES_SOON = Diagnosis(
    "RUNAI_TOKEN_EXPIRES_SOON",
    "Run:ai login expires soon",
    "The credential that keeps you logged in expires within the hour; after that kubectl and runai stop "
    "working until you log in again.",
    "Log in again now to avoid an interruption: `export KUBECONFIG=/path/to/kubeconfig; runai login`.",
)
RUNAI_ISSUER_UNREACHABLE = Diagnosis(
    "RUNAI_ISSUER_UNREACHABLE",
    "Run:ai login server unreachable",
    "The id-token needs renewing, but the identity provider (the kubeconfig's idp-issuer-url) did not "
    "answer as an OpenID Connect issuer does.",
    "Check that you can open the idp-issuer-url from this machine (proxy settings, internet access); if "
    "it answers in a browser, tell the MLOps team.",
    CONTACT_MLOPS,
)
KUBE_API_UNREACHABLE = Diagnosis(
    "KUBE_API_UNREACHABLE",
    "Cluster API unreachable",
    "The Run:ai cluster's Kubernetes API (the kubeconfig's server) did not answer /version.",
    "Connect to the NUS VPN; check the server URL in the kubeconfig (`kubectl config view --minify`); if "
    "both are right, tell the MLOps team.",
    CONTACT_MLOPS,
)
KUBE_UNAUTHORIZED = Diagnosis(
    "KUBE_UNAUTHORIZED",
    "Cluster rejects your credential",
    "The cluster answered 401 Unauthorized: it does not accept the token or certificate from the "
    "kubeconfig (expired, revoked, or for another cluster).",
    "Log in again: `export KUBECONFIG=/path/to/kubeconfig; runai login`; if it persists, ask the MLOps "
    "team whether your account is enabled on the cluster.",
    CONTACT_MLOPS,
)
KUBE_ANONYMOUS = Diagnosis(
    "KUBE_ANONYMOUS",
    "No credential reached the cluster",
    "The cluster sees you as system:anonymous: the request carried no credential (the kubeconfig's user "
    "has none, or a proxy stripped the Authorization header).",
    "`export KUBECONFIG=/path/to/kubeconfig; runai login`; if you are behind a proxy, bypass it for the "
    "cluster (NO_PROXY).",
    CONTACT_MLOPS,
)
KUBE_FORBIDDEN = Diagnosis(
    "KUBE_FORBIDDEN",
    "No permission in the project namespace",
    "The cluster knows you, but RBAC does not let you do what a Run:ai user needs (create pods and jobs, "
    "list pods) in the project's namespace: you are not a member of that Run:ai project.",
    "Ask the MLOps team to add you to the Run:ai project (name the project and the namespace); check "
    "--project / --namespace if you meant another one.",
    CONTACT_MLOPS,
)
RUNAI_CLI_MISSING = Diagnosis(
    "RUNAI_CLI_MISSING",
    "Run:ai CLI not installed",
    "The `runai` command is not on PATH; `runai login` and job submission need it.",
    "Download it from the Run:ai dashboard: Help (?) → Researcher Command Line Interface → your system → "
    "DOWNLOAD; then make it executable and put it on PATH.",
)

DIAGNOSES = (
    KUBECONFIG_MISSING,
    KUBECONFIG_INVALID,
    KUBE_CONTEXT_MISSING,
    RUNAI_NOT_LOGGED_IN,
    RUNAI_WRONG_REALM,
    RUNAI_TOKEN_EXPIRED,
    RUNAI_TOKEN_EXPIRES_SOON,
    RUNAI_ISSUER_UNREACHABLE,
    KUBE_API_UNREACHABLE,
    KUBE_UNAUTHORIZED,
    KUBE_ANONYMOUS,
    KUBE_FORBIDDEN,
    NOT_CONFIGURED,
    *NETWORK_DIAGNOSES,
)

# -- constants --------------------------------------------------------------------------------

# client-go's oidc provider treats an id-token as expired this long before its exp.
EXPIRY_DELTA_S = 10.0
EXPIRES_SOON_S = 3600.0
# What a Run:ai user does in the project namespace: submit workloads (pods, jobs) and see them.
REQUIRED: tuple[tuple[str, str, str], ...] = (
    ("create", "", "pods"),
    ("list", "", "pods"),
    ("create", "batch", "jobs"),
)
EXEC_INFO_API = "client.authentication.k8s.io/v1"
ANONYMOUS = "system:anonymous"

STEP_KUBECONFIG = "runai.kubeconfig"
STEP_LOGIN = "runai.login"
STEP_CLUSTER = "runai.cluster"
STEP_IDENTITY = "runai.identity"
STEP_PERMISSION = "runai.permission"
STEP_CLI = "runai.cli"


@dataclass(frozen=True)
class Credential:
    """What the client presents: a bearer token or a client certificate (PEM text, in memory)."""

    kind: str  # oidc, exec, token, client-certificate
    token: Secret | None = None
    cert_pem: Secret | None = None
    key_pem: Secret | None = None
    username: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


class _Stop(Exception):
    """A layer recorded its failure; the check ends here."""


def _login_hint(ctx: Context, config: kubeconfig.Kubeconfig | None = None) -> str:
    paths = config.paths if config and config.paths else kubeconfig.candidate_paths(ctx)[0]
    shown = (";" if ctx.platform == "win32" else ":").join(str(p) for p in paths)
    return LOGIN_HINT.format(path=shown)


# -- layer 1: kubeconfig ---------------------------------------------------------------------


def _kubeconfig(ctx: Context, rec: Recorder) -> tuple[kubeconfig.Kubeconfig, kubeconfig.Selection]:
    paths, source = kubeconfig.candidate_paths(ctx)

    def invalid(exc: kubeconfig.KubeconfigError) -> _Stop:
        rec.fail(
            STEP_KUBECONFIG,
            KUBECONFIG_INVALID,
            f"Kubeconfig {exc.path}: {exc.message}",
            details={"file": str(exc.path), "source": source},
        )
        return _Stop()

    try:
        config = kubeconfig.load(ctx)
    except kubeconfig.KubeconfigError as exc:
        raise invalid(exc) from None
    if not config.paths:
        rec.fail(
            STEP_KUBECONFIG,
            KUBECONFIG_MISSING,
            f"No kubeconfig at {', '.join(map(str, paths))} (from {source})",
            hint=f"Save the kubeconfig from the MLOps team as {paths[0]} (or `export KUBECONFIG=/path/to/"
            f"kubeconfig`), then run `{_login_hint(ctx, config)}`.",
            details={"looked_at": [str(p) for p in paths], "source": source},
        )
        raise _Stop
    try:
        sel = kubeconfig.select(ctx, config)
    except kubeconfig.ContextMissing as exc:
        what = f"context '{exc.name}' is not defined" if exc.name else "no current-context is set"
        rec.fail(
            STEP_KUBECONFIG,
            KUBE_CONTEXT_MISSING,
            f"In {', '.join(map(str, config.paths))}: {what}",
            hint=(
                f"Available contexts: {', '.join(exc.available)}. `kubectl config use-context "
                f"{exc.available[0]}` or `aisg-check runai --context {exc.available[0]}`."
                if exc.available
                else f"The kubeconfig defines no context: get a fresh copy from {CONTACT_MLOPS}."
            ),
            details={"files": [str(p) for p in config.paths], "contexts": list(exc.available)},
        )
        raise _Stop from None
    except kubeconfig.KubeconfigError as exc:
        raise invalid(exc) from None
    details: dict[str, Any] = {
        "files": [str(p) for p in config.paths],
        "source": source,
        "context": sel.context,
        "cluster": sel.cluster_name,
        "server": sel.server,
        "user": sel.user_name,
    }
    if config.missing:
        details["missing_files"] = [str(p) for p in config.missing]
    note = ""
    if sel.insecure:
        # The guide's sample sets it: expected for AI Singapore's cluster, not a fault.
        details["insecure_skip_tls_verify"] = True
        note = " (insecure-skip-tls-verify, as the MLOps team's kubeconfig sets it)"
    rec.ok(
        STEP_KUBECONFIG,
        f"Context '{sel.context}' → {sel.server} as user '{sel.user_name}'{note}",
        details=details,
    )
    return config, sel


# -- layer 2: login -------------------------------------------------------------------------


def _claims(token: str) -> dict[str, Any] | None:
    """A JWT's claims (unverified: only exp, iss and names are read); None when it is not one."""
    return jwt_claims(token) or None


def _name_of(claims: Mapping[str, Any]) -> str | None:
    for key in ("preferred_username", "email", "name", "sub"):
        if claims.get(key):
            return str(claims[key])
    return None


def _exp(claims: Mapping[str, Any] | None) -> float | None:
    value = (claims or {}).get("exp")
    return (
        float(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        else None
    )


def _login(
    ctx: Context, rec: Recorder, config: kubeconfig.Kubeconfig, sel: kubeconfig.Selection
) -> Credential:
    user = sel.user
    provider = user.get("auth-provider")
    if isinstance(provider, Mapping):
        if provider.get("name") != "oidc":
            rec.fail(
                STEP_LOGIN,
                RUNAI_NOT_LOGGED_IN,
                f"User '{sel.user_name}' uses auth-provider '{provider.get('name')}', which kubectl no "
                "longer supports",
                hint=f"Get the current Run:ai kubeconfig from {CONTACT_MLOPS}, then "
                f"`{_login_hint(ctx, config)}`.",
            )
            raise _Stop
        return _oidc(ctx, rec, config, sel, provider.get("config") or {})
    if isinstance(user.get("exec"), Mapping):
        return _exec(ctx, rec, config, sel, user["exec"])
    if user.get("token") or user.get("tokenFile"):
        return _static_token(ctx, rec, sel)
    if user.get("client-certificate-data") or user.get("client-certificate"):
        return _client_cert(ctx, rec, sel)
    rec.fail(
        STEP_LOGIN,
        RUNAI_NOT_LOGGED_IN,
        f"User '{sel.user_name}' in {sel.user_file} has no credential "
        "(no auth-provider, exec, token or client certificate)",
        hint=_login_hint(ctx, config),
    )
    raise _Stop


def _oidc(
    ctx: Context,
    rec: Recorder,
    config: kubeconfig.Kubeconfig,
    sel: kubeconfig.Selection,
    cfg: Mapping[str, Any],
) -> Credential:
    id_token = str(cfg.get("id-token") or "")
    refresh_token = str(cfg.get("refresh-token") or "")
    for value in (id_token, refresh_token, str(cfg.get("client-secret") or "")):
        ctx.scrubber.add(value)
    issuer = str(cfg.get("idp-issuer-url") or "").rstrip("/")
    base = {"auth": "oidc", "client_id": cfg.get("client-id"), "issuer": issuer}
    hint = f"`{_login_hint(ctx, config)}`"
    if not id_token and not refresh_token:
        rec.fail(
            STEP_LOGIN,
            RUNAI_NOT_LOGGED_IN,
            f"User '{sel.user_name}' has no id-token or refresh-token: "
            "`runai login` has not been run with this kubeconfig",
            hint=hint,
            details=base,
        )
        raise _Stop
    claims = _claims(id_token) if id_token else None
    if id_token and claims is None and not refresh_token:
        # The kubernetes client would silently send no token at all here.
        rec.fail(
            STEP_LOGIN,
            RUNAI_NOT_LOGGED_IN,
            f"The id-token of user '{sel.user_name}' is not a JWT (damaged kubeconfig?)",
            hint=hint,
            details=base,
        )
        raise _Stop
    if claims is not None:
        token_issuer = str(claims.get("iss", "")).rstrip("/")
        if issuer and token_issuer != issuer:
            rec.fail(
                STEP_LOGIN,
                RUNAI_WRONG_REALM,
                f"The id-token was issued by {token_issuer or 'nobody'}, "
                f"not by the kubeconfig's idp-issuer-url {issuer}",
                hint=hint,
                details={**base, "token_issuer": token_issuer},
            )
            raise _Stop
    now = time.time()
    exp = _exp(claims)
    refreshed = False
    if claims is None or exp is None or exp - EXPIRY_DELTA_S <= now:
        if not refresh_token:
            rec.fail(
                STEP_LOGIN,
                RUNAI_TOKEN_EXPIRED,
                f"The id-token of {_name_of(claims or {}) or sel.user_name} "
                "expired and there is no refresh-token to renew it",
                hint=hint,
                details={**base, "expired_s_ago": round(now - exp) if exp else None},
            )
            raise _Stop
        id_token = _refresh(ctx, rec, issuer, cfg, refresh_token, hint, base)
        claims = _claims(id_token) or {}
        exp = _exp(claims)
        refreshed = True
    assert claims is not None
    name = _name_of(claims)
    details: dict[str, Any] = {
        **base,
        "username": name,
        "refreshed": refreshed,
        "expires_in_s": round(exp - now) if exp else None,
    }
    cred = Credential("oidc", Secret(id_token), username=name, details=details)
    # The login lasts as long as the refresh-token (Keycloak's is a JWT with the session's exp);
    # without one, only as long as the id-token.
    session_end = _exp(_claims(refresh_token)) if refresh_token else exp
    if session_end is not None and session_end - now < EXPIRES_SOON_S:
        minutes = max(0, round((session_end - now) / 60))
        rec.warn(
            STEP_LOGIN,
            RUNAI_TOKEN_EXPIRES_SOON,
            f"Logged in as {name}, but the login ends in {minutes} min",
            hint=f"Log in again now: `{_login_hint(ctx, config)}`.",
            details={**details, "session_expires_in_s": round(session_end - now)},
        )
        return cred
    how = "id-token renewed in memory with the refresh-token" if refreshed else "id-token valid"
    rec.ok(STEP_LOGIN, f"Logged in to Run:ai as {name} ({how})", details=details)
    return cred


def _refresh(
    ctx: Context,
    rec: Recorder,
    issuer: str,
    cfg: Mapping[str, Any],
    refresh_token: str,
    hint: str,
    base: Mapping[str, Any],
) -> str:
    """The refresh_token grant kubectl's oidc provider makes, in memory, with a timeout."""
    import httpx

    def unreachable(summary: str, exc: BaseException | None = None) -> _Stop:
        tls = find_ssl_error(exc) if exc else None
        if tls is not None:
            diagnosis, text = classify_tls_error(_host(issuer), tls)
            rec.fail(STEP_LOGIN, diagnosis, text + " (the Run:ai login server)", details=dict(base))
        else:
            rec.fail(STEP_LOGIN, RUNAI_ISSUER_UNREACHABLE, ctx.scrubber.scrub(summary), details=dict(base))
        return _Stop()

    if not issuer.startswith("https://"):
        rec.fail(
            STEP_LOGIN,
            KUBECONFIG_INVALID,
            f"The id-token needs renewing, but idp-issuer-url is {issuer or 'not set'}",
            details=dict(base),
        )
        raise _Stop
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": str(cfg.get("client-id", "")),
    }
    if cfg.get("client-secret"):
        form["client_secret"] = str(cfg["client-secret"])
    try:
        with ctx.http(timeout=rec.step_timeout(ctx.timeout)) as client:
            discovery = client.get(f"{issuer}/.well-known/openid-configuration")
            if discovery.status_code != 200:
                raise unreachable(
                    f"{issuer}/.well-known/openid-configuration answered HTTP {discovery.status_code}"
                )
            try:
                endpoint = str(discovery.json()["token_endpoint"])
            except (ValueError, KeyError, TypeError):
                raise unreachable(f"{issuer} has no token_endpoint in its discovery document") from None
            response = client.post(endpoint, data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise unreachable(
            f"Renewing the id-token at {issuer} failed: {type(exc).__name__}: {exc}", exc
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    if response.status_code in (400, 401) and body.get("error") in (
        "invalid_grant",
        "invalid_token",
        "unauthorized_client",
        "invalid_client",
    ):
        rec.fail(
            STEP_LOGIN,
            RUNAI_TOKEN_EXPIRED,
            f"The id-token expired and {issuer} refused to renew it "
            f"({body['error']}: the SSO session is over)",
            hint=hint,
            details={**base, "error": body["error"]},
        )
        raise _Stop
    new = body.get("id_token") if response.status_code == 200 else None
    if not isinstance(new, str) or not new:
        raise unreachable(
            f"Renewing the id-token at {issuer} answered HTTP {response.status_code} without an id_token"
        )
    ctx.scrubber.add(new)
    ctx.scrubber.add(str(body.get("access_token") or ""))
    ctx.scrubber.add(str(body.get("refresh_token") or ""))
    return new


def _exec(
    ctx: Context,
    rec: Recorder,
    config: kubeconfig.Kubeconfig,
    sel: kubeconfig.Selection,
    cfg: Mapping[str, Any],
) -> Credential:
    """Run the credential plugin as kubectl would (no stdin: never interactive), but report its failure."""
    command = str(cfg.get("command") or "")
    if ("/" in command or "\\" in command) and not Path(command).is_absolute():
        command = str(kubeconfig.relative_to(sel.user_file, command))
    argv = [command, *(str(a) for a in cfg.get("args") or ())]
    env = dict(ctx.env)
    for item in cfg.get("env") or ():
        if isinstance(item, Mapping) and item.get("name"):
            env[str(item["name"])] = str(item.get("value", ""))
    api_version = str(cfg.get("apiVersion") or EXEC_INFO_API)
    env["KUBERNETES_EXEC_INFO"] = json.dumps(
        {"apiVersion": api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
    )
    base = {"auth": "exec", "command": Path(command).name}
    # Only the command's name: its arguments may carry a client secret (`--oidc-client-secret X`).
    hint = (
        f"Run the credential plugin `{Path(command).name}` of user '{sel.user_name}' yourself, with the "
        f"arguments the kubeconfig gives it, to see the error; or log in again: `{_login_hint(ctx, config)}`."
    )
    timeout = rec.step_timeout(ctx.timeout)
    result = ctx.run(argv, timeout=timeout, env=env)
    if result.not_found:
        install = cfg.get("installHint")
        rec.fail(
            STEP_LOGIN,
            RUNAI_NOT_LOGGED_IN,
            f"The credential plugin `{command}` of user '{sel.user_name}' is not installed",
            hint=str(install).strip() if install else hint,
            details=base,
        )
        raise _Stop
    if result.timed_out:
        rec.fail(
            STEP_LOGIN,
            RUNAI_NOT_LOGGED_IN,
            f"The credential plugin `{Path(command).name}` did not finish "
            f"within {timeout:g}s (it may be waiting for a browser login)",
            hint=hint,
            details=base,
        )
        raise _Stop
    try:
        status = json.loads(result.stdout).get("status") or {} if result.returncode == 0 else None
    except (ValueError, AttributeError):
        status = None
    if isinstance(status, Mapping):
        for key in ("token", "clientKeyData", "clientCertificateData"):
            ctx.scrubber.add(str(status.get(key) or ""))
    else:
        ctx.scrubber.add(result.stdout.strip())  # unparsed output may still carry a token
    if not isinstance(status, Mapping) or not (status.get("token") or status.get("clientCertificateData")):
        message = ctx.scrubber.scrub((result.stderr.strip() or result.stdout.strip())[-300:]) or "no output"
        why = f"exited with {result.returncode}" if result.returncode else "gave no credential"
        rec.fail(
            STEP_LOGIN,
            RUNAI_NOT_LOGGED_IN,
            f"The credential plugin `{Path(command).name}` {why}: {message}",
            hint=hint,
            details=base,
        )
        raise _Stop
    details: dict[str, Any] = {**base, "expires": status.get("expirationTimestamp")}
    token = str(status.get("token") or "")
    claims = _claims(token) if token else None
    name = _name_of(claims) if claims else None
    details["username"] = name
    rec.ok(
        STEP_LOGIN,
        f"Credential plugin `{Path(command).name}` gave a "
        f"{'token' if token else 'client certificate'}" + (f" for {name}" if name else ""),
        details=details,
    )
    if token:
        return Credential("exec", Secret(token), username=name, details=details)
    return Credential(
        "exec",
        cert_pem=Secret(str(status["clientCertificateData"])),
        key_pem=Secret(str(status.get("clientKeyData") or "")),
        details=details,
    )


def _static_token(ctx: Context, rec: Recorder, sel: kubeconfig.Selection) -> Credential:
    token = str(sel.user.get("token") or "")
    if not token:
        path = kubeconfig.relative_to(sel.user_file, str(sel.user["tokenFile"]))
        try:
            token = path.read_text("utf-8").strip()
        except OSError as exc:
            rec.fail(
                STEP_LOGIN,
                KUBECONFIG_INVALID,
                f"users['{sel.user_name}'].user.tokenFile: cannot read {path}: {exc.strerror or exc}",
            )
            raise _Stop from None
    ctx.scrubber.add(token)
    claims = _claims(token)
    name = _name_of(claims) if claims else None
    details = {"auth": "token", "username": name}
    rec.ok(
        STEP_LOGIN,
        f"User '{sel.user_name}' has a bearer token" + (f" for {name}" if name else ""),
        details=details,
    )
    return Credential("token", Secret(token), username=name, details=details)


def _client_cert(ctx: Context, rec: Recorder, sel: kubeconfig.Selection) -> Credential:
    pems: list[str] = []
    for key in ("client-certificate", "client-key"):
        try:
            if sel.user.get(f"{key}-data"):
                pems.append(base64.b64decode(str(sel.user[f"{key}-data"]), validate=True).decode("ascii"))
            elif sel.user.get(key):
                pems.append(kubeconfig.relative_to(sel.user_file, str(sel.user[key])).read_text("ascii"))
            else:
                raise ValueError("missing")
        except (OSError, ValueError, binascii.Error) as exc:
            rec.fail(
                STEP_LOGIN,
                KUBECONFIG_INVALID,
                f"{sel.user_file}: users['{sel.user_name}'].user.{key}(-data): {exc}",
            )
            raise _Stop from None
    ctx.scrubber.add(pems[1])
    rec.ok(
        STEP_LOGIN, f"User '{sel.user_name}' has a client certificate", details={"auth": "client-certificate"}
    )
    return Credential(
        "client-certificate",
        cert_pem=Secret(pems[0]),
        key_pem=Secret(pems[1]),
        details={"auth": "client-certificate"},
    )


# -- the kubernetes client, with our TLS and credential ---------------------------------------

_IMPORT_LOCK = threading.Lock()


def _load_client() -> None:
    """Import `kubernetes.client` without running `kubernetes/__init__`.

    The package's __init__ also imports its config loaders (google-auth, oauthlib, requests),
    watch, stream, dynamic and leader election: about half of the import time, none of it
    used here. A bare package module with the real __path__ lets the submodules import
    normally; anything importing `kubernetes.config` later in this process still works.
    """
    import importlib.util
    import sys
    import types

    with _IMPORT_LOCK:
        if "kubernetes" not in sys.modules:
            spec = importlib.util.find_spec("kubernetes")
            if spec is not None and spec.submodule_search_locations is not None:
                package = types.ModuleType("kubernetes")
                package.__path__ = list(spec.submodule_search_locations)
                package.__spec__ = spec
                package.__file__ = spec.origin
                sys.modules["kubernetes"] = package
        import kubernetes.client  # noqa: F401


def _prefetch_client() -> threading.Thread:
    """Import the client while the local layers run and the VPN probe waits on the network."""
    thread = threading.Thread(target=_quiet_load, daemon=True, name="runai-import")
    thread.start()
    return thread


def _quiet_load() -> None:
    # A failure here is reported by the import on the check's own thread, which repeats it.
    try:
        _load_client()
    except Exception:
        return


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or url


@contextmanager
def _ssl_context(
    ctx: Context, rec: Recorder, sel: kubeconfig.Selection, cred: Credential | None
) -> Iterator[ssl.SSLContext]:
    """kubectl's trust: the kubeconfig's CA alone when it has one, none when insecure, else the
    system store (plus ca_bundle). A client certificate needs files for `load_cert_chain`: they
    live in a private temporary directory for the duration of the requests only."""
    try:
        ca = kubeconfig.ca_pem(sel)
    except kubeconfig.KubeconfigError as exc:
        rec.fail(STEP_CLUSTER, KUBECONFIG_INVALID, f"Kubeconfig {exc.path}: {exc.message}")
        raise _Stop from None
    if sel.insecure:
        import warnings

        import urllib3

        # The kubeconfig asks for it (the guide's sample does) and the kubeconfig layer says so;
        # urllib3's warning on every request would only clutter stderr.
        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif ca:
        try:
            context = ssl.create_default_context(cadata=ca)
        except ssl.SSLError as exc:
            rec.fail(
                STEP_CLUSTER,
                KUBECONFIG_INVALID,
                f"{sel.cluster_file}: clusters['{sel.cluster_name}']: the "
                f"certificate authority is not valid PEM ({exc.reason or exc})",
            )
            raise _Stop from None
    elif cred and cred.cert_pem:
        context = ssl.create_default_context()
        for path in ctx.ca_files():
            context.load_verify_locations(cafile=path)
    else:
        context = ctx.ssl_context()
    if not (cred and cred.cert_pem and cred.key_pem):
        yield context
        return
    folder = tempfile.mkdtemp(prefix="aisg-check-")
    try:
        cert, key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
        cert.write_text(cred.cert_pem.reveal())
        key.touch(mode=0o600)
        key.write_text(cred.key_pem.reveal())
        try:
            context.load_cert_chain(str(cert), str(key))
        except ssl.SSLError as exc:
            rec.fail(
                STEP_CLUSTER,
                KUBECONFIG_INVALID,
                f"The client certificate of user '{sel.user_name}' is not valid PEM ({exc.reason or exc})",
            )
            raise _Stop from None
        yield context
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _pool(ctx: Context, sel: kubeconfig.Selection, context: ssl.SSLContext) -> Any:
    """One urllib3 pool for every request of the check (one TLS handshake): our TLS context,
    no retries (a retry would triple every timeout), the environment's proxy as kubectl
    honours it."""
    import urllib3

    pool_args: dict[str, Any] = {"ssl_context": context, "retries": False, "maxsize": 4}
    if sel.cluster.get("tls-server-name"):
        pool_args["server_hostname"] = str(sel.cluster["tls-server-name"])
    proxy = proxy_for(ctx, "https", _host(sel.server))
    return urllib3.ProxyManager(proxy, **pool_args) if proxy else urllib3.PoolManager(**pool_args)


def _api_client(sel: kubeconfig.Selection, cred: Credential | None, pool: Any) -> ApiClient:
    """A client that sends exactly the credential given (or none) over our pool."""
    from kubernetes.client import ApiClient, Configuration

    cfg = Configuration(host=sel.server)
    if cred is not None and cred.token:
        cfg.api_key = {"BearerToken": cred.token.reveal()}
        cfg.api_key_prefix = {"BearerToken": "Bearer"}
    client = ApiClient(cfg)
    client.rest_client.pool_manager = pool
    return client


def _api_error(ctx: Context, rec: Recorder, step: str, sel: kubeconfig.Selection, exc: Exception) -> None:
    """Record a transport failure (no HTTP status): TLS, refused, timeout."""
    tls = find_ssl_error(exc)
    details = {"server": sel.server}
    if tls is not None:
        diagnosis, summary = classify_tls_error(_host(sel.server), tls)
        hint = None
        if diagnosis is TLS_UNTRUSTED_CERT:
            hint = (
                "The kubeconfig's certificate-authority-data does not match the cluster's certificate; get a "
                f"fresh kubeconfig from {CONTACT_MLOPS}, or set ca_bundle if a proxy re-signs TLS."
            )
        rec.fail(step, diagnosis, summary, hint=hint, details=details)
        return
    text = ctx.scrubber.scrub(f"{type(exc).__name__}: {exc}")[:300]
    rec.fail(step, KUBE_API_UNREACHABLE, f"{sel.server} did not answer: {text}", details=details)


def _timeout(rec: Recorder, ctx: Context) -> tuple[float, float]:
    t = rec.step_timeout(ctx.timeout)
    return (t, t)


# -- layer 3: cluster -----------------------------------------------------------------------


def _cluster(ctx: Context, rec: Recorder, sel: kubeconfig.Selection, pool: Any) -> None:
    """/version with no credential: isolates network and TLS from authentication."""
    from kubernetes.client import VersionApi
    from kubernetes.client.exceptions import ApiException

    client = _api_client(sel, None, pool)
    details: dict[str, Any] = {"server": sel.server, "tls_verified": not sel.insecure}
    try:
        info = VersionApi(client).get_code(_request_timeout=_timeout(rec, ctx))
    except ApiException as exc:
        if exc.status in (401, 403):
            # Anonymous access to /version is off on this cluster: it still answered as Kubernetes.
            rec.ok(
                STEP_CLUSTER,
                f"Kubernetes API at {sel.server} answers (version hidden from anonymous users)",
                details={**details, "http_status": exc.status},
            )
            return
        if exc.status and exc.status >= 500:
            rec.fail(
                STEP_CLUSTER,
                ENDPOINT_HTTP_ERROR,
                f"{sel.server}/version answered HTTP {exc.status}",
                details=details,
            )
        elif exc.status:
            rec.fail(
                STEP_CLUSTER,
                ENDPOINT_UNEXPECTED_ANSWER,
                f"{sel.server}/version answered HTTP {exc.status}: not a Kubernetes API",
                hint="Check the server URL in the kubeconfig (`kubectl config view --minify`).",
                details=details,
            )
        else:
            _api_error(ctx, rec, STEP_CLUSTER, sel, exc)
        raise _Stop from None
    except Exception as exc:  # urllib3's transport errors have no common base worth naming
        _api_error(ctx, rec, STEP_CLUSTER, sel, exc)
        raise _Stop from None
    note = "" if not sel.insecure else " (TLS not verified, as the kubeconfig says)"
    rec.ok(
        STEP_CLUSTER,
        f"Kubernetes {info.git_version} answers at {sel.server}{note}",
        details={**details, "version": info.git_version, "platform": info.platform},
    )


# -- layer 4: identity ----------------------------------------------------------------------


def _identity(
    ctx: Context,
    rec: Recorder,
    config: kubeconfig.Kubeconfig,
    client: ApiClient,
    sel: kubeconfig.Selection,
    cred: Credential,
) -> str | None:
    from kubernetes.client import AuthenticationV1Api, V1SelfSubjectReview
    from kubernetes.client.exceptions import ApiException

    body = V1SelfSubjectReview(api_version="authentication.k8s.io/v1", kind="SelfSubjectReview")
    try:
        review = AuthenticationV1Api(client).create_self_subject_review(
            body, _request_timeout=_timeout(rec, ctx)
        )
    except ApiException as exc:
        if exc.status == 401:
            rec.fail(
                STEP_IDENTITY,
                KUBE_UNAUTHORIZED,
                f"{sel.server} rejects the {cred.kind} credential of user "
                f"'{sel.user_name}' (401 Unauthorized)",
                hint=f"Log in again: `{_login_hint(ctx, config)}`; "
                f"if it persists, ask {CONTACT_MLOPS} whether your account is enabled on the cluster.",
                details={"auth": cred.kind, "token_user": cred.username},
            )
            raise _Stop from None
        if exc.status in (404, 405):
            # SelfSubjectReview is GA in 1.28; older clusters still authenticate the access
            # reviews below, which then stand in for this layer.
            rec.ok(
                STEP_IDENTITY,
                f"Credential sent; {sel.server} is older than Kubernetes 1.28 and cannot say "
                "who it sees you as (the permission layer checks it instead)",
                details={"self_subject_review": "unavailable", "token_user": cred.username},
            )
            return cred.username
        if not exc.status:
            _api_error(ctx, rec, STEP_IDENTITY, sel, exc)
            raise _Stop from None
        rec.fail(
            STEP_IDENTITY,
            ENDPOINT_HTTP_ERROR if exc.status >= 500 else ENDPOINT_UNEXPECTED_ANSWER,
            f"SelfSubjectReview at {sel.server} answered HTTP {exc.status}",
            details={"http_status": exc.status},
        )
        raise _Stop from None
    except Exception as exc:
        _api_error(ctx, rec, STEP_IDENTITY, sel, exc)
        raise _Stop from None
    info = review.status.user_info if review.status else None
    username = info.username if info else None
    groups = list(info.groups or []) if info else []
    details = {"username": username, "groups": groups, "auth": cred.kind, "token_user": cred.username}
    if not username or username == ANONYMOUS:
        rec.fail(
            STEP_IDENTITY,
            KUBE_ANONYMOUS,
            f"{sel.server} sees you as {ANONYMOUS}: no credential reached the cluster",
            hint=f"`{_login_hint(ctx, config)}`; behind a proxy, add the cluster to NO_PROXY.",
            details=details,
        )
        raise _Stop
    rec.ok(STEP_IDENTITY, f"The cluster sees you as {username}", details=details)
    return username


# -- layer 5: permission --------------------------------------------------------------------


def _namespace(ctx: Context, sel: kubeconfig.Selection) -> str | None:
    runai = ctx.settings.runai
    if runai.namespace:
        return runai.namespace
    if runai.project:
        return f"runai-{runai.project}"
    return sel.namespace


def _permission(
    ctx: Context, rec: Recorder, client: ApiClient, sel: kubeconfig.Selection, who: str | None
) -> None:
    from kubernetes.client import (
        AuthorizationV1Api,
        V1ResourceAttributes,
        V1SelfSubjectAccessReview,
        V1SelfSubjectAccessReviewSpec,
    )
    from kubernetes.client.exceptions import ApiException

    namespace = _namespace(ctx, sel)
    if not namespace:
        rec.skip(
            STEP_PERMISSION,
            NOT_CONFIGURED,
            "No Run:ai project given, so no namespace to check rights in",
            hint="Name your project: `aisg-check runai --project <name>` (namespace runai-<name>), or set "
            "runai.project in the config.",
        )
        return
    api = AuthorizationV1Api(client)
    allowed: list[str] = []
    denied: list[str] = []
    for verb, group, resource in REQUIRED:
        what = f"{verb} {resource}{'.' + group if group else ''}"
        body = V1SelfSubjectAccessReview(
            api_version="authorization.k8s.io/v1",
            kind="SelfSubjectAccessReview",
            spec=V1SelfSubjectAccessReviewSpec(
                resource_attributes=V1ResourceAttributes(
                    namespace=namespace, verb=verb, group=group, resource=resource
                )
            ),
        )
        try:
            review = api.create_self_subject_access_review(body, _request_timeout=_timeout(rec, ctx))
        except ApiException as exc:
            if exc.status == 401:
                rec.fail(STEP_PERMISSION, KUBE_UNAUTHORIZED, f"{sel.server} rejects the credential (401)")
                raise _Stop from None
            if exc.status == 403:
                denied.append(what)  # not even allowed to ask: no rights at all
                continue
            if not exc.status:
                _api_error(ctx, rec, STEP_PERMISSION, sel, exc)
                raise _Stop from None
            rec.fail(
                STEP_PERMISSION,
                ENDPOINT_HTTP_ERROR if exc.status >= 500 else ENDPOINT_UNEXPECTED_ANSWER,
                f"SelfSubjectAccessReview at {sel.server} answered HTTP {exc.status}",
            )
            raise _Stop from None
        except Exception as exc:
            _api_error(ctx, rec, STEP_PERMISSION, sel, exc)
            raise _Stop from None
        (allowed if review.status and review.status.allowed else denied).append(what)
    details = {"namespace": namespace, "allowed": allowed, "denied": denied, "username": who}
    if denied:
        project = ctx.settings.runai.project or namespace.removeprefix("runai-")
        rec.fail(
            STEP_PERMISSION,
            KUBE_FORBIDDEN,
            f"{who or 'You'} may not {', '.join(denied)} in namespace {namespace}",
            hint=f"Ask {CONTACT_MLOPS} to add {who or 'you'} to the Run:ai project "
            f"'{project}' (namespace {namespace}); check --project/--namespace if you meant another one.",
            details=details,
        )
        raise _Stop
    rec.ok(
        STEP_PERMISSION, f"{who or 'You'} may {', '.join(allowed)} in namespace {namespace}", details=details
    )


# -- the check ------------------------------------------------------------------------------


def run(ctx: Context, rec: Recorder) -> None:
    loader = _prefetch_client()
    try:
        config, sel = _kubeconfig(ctx, rec)
        cred = _login(ctx, rec, config, sel)
        rec.require("vpn.cluster")
        loader.join(min(rec.remaining(), 60.0))  # join() cannot take an infinite timeout
        _load_client()
        with _ssl_context(ctx, rec, sel, cred) as context:
            pool = _pool(ctx, sel, context)
            try:
                _cluster(ctx, rec, sel, pool)
                client = _api_client(sel, cred, pool)
                who = _identity(ctx, rec, config, client, sel, cred)
                _permission(ctx, rec, client, sel, who)
            finally:
                pool.clear()
    except _Stop:
        return


def _platform_steps(platform: str) -> str:
    if platform.startswith("win"):
        return (
            f"{RUNAI_DOWNLOAD}: choose Windows, DOWNLOAD, rename the file to runai.exe and save it in a "
            "folder on your PATH"
        )
    system = "Mac" if platform == "darwin" else "Linux"
    install = "chmod +x runai && sudo mv runai /usr/local/bin/runai"
    return f"{RUNAI_DOWNLOAD}: choose {system}, DOWNLOAD, then `{install}`"


def _user_is_exec(ctx: Context) -> bool:
    try:
        sel = kubeconfig.select(ctx, kubeconfig.load(ctx))
    except (kubeconfig.KubeconfigError, kubeconfig.ContextMissing):
        return False
    return isinstance(sel.user.get("exec"), Mapping)


def run_cli(ctx: Context, rec: Recorder) -> None:
    """`runai version` (and `runai whoami` for the newer, exec-based CLI)."""
    path = ctx.which("runai")
    if path is None:
        rec.warn(
            STEP_CLI,
            RUNAI_CLI_MISSING,
            "The Run:ai CLI (`runai`) is not on PATH",
            hint=_platform_steps(ctx.platform) + "; then run `runai version`.",
        )
        return
    env = dict(ctx.env)
    if ctx.settings.runai.kubeconfig:
        env["KUBECONFIG"] = str(ctx.path(ctx.settings.runai.kubeconfig))
    result = ctx.run(["runai", "version"], timeout=rec.step_timeout(ctx.timeout), env=env)
    output = ctx.scrubber.scrub((result.stdout + "\n" + result.stderr).strip())
    version = parse_version(output) if result.ok else None
    details: dict[str, Any] = {"path": path, "version": ".".join(map(str, version)) if version else None}
    if not result.ok:
        why = "timed out" if result.timed_out else f"exited with {result.returncode}"
        rec.warn(
            STEP_CLI,
            TOOL_BROKEN,
            f"`runai version` {why}: {output[-200:]}",
            hint=f"Run `runai version` yourself; if it is broken, download it again: "
            f"{_platform_steps(ctx.platform)}.",
            details=details,
        )
        return
    if _user_is_exec(ctx):
        who = ctx.run(["runai", "whoami"], timeout=rec.step_timeout(ctx.timeout), env=env)
        text = ctx.scrubber.scrub((who.stdout.strip() or who.stderr.strip())[-200:])
        if not who.ok:
            rec.warn(
                STEP_CLI,
                RUNAI_NOT_LOGGED_IN,
                f"Run:ai CLI {details['version']} is installed, but `runai "
                f"whoami` says you are not logged in: {text}",
                hint=f"`{_login_hint(ctx)}`",
                details=details,
            )
            return
        details["whoami"] = text.splitlines()[0] if text else None
    rec.ok(STEP_CLI, f"Run:ai CLI {details['version'] or '(version unknown)'} at {path}", details=details)


# Every diagnosis this module defines or imports: what its checks may report.
DECLARED = declared(sys.modules[__name__], NETWORK_DIAGNOSES)

CHECKS: tuple[Check, ...] = (
    Check(
        id="runai",
        component="runai",
        title="Run:ai",
        steps=(
            Step(STEP_KUBECONFIG, "Kubeconfig"),
            Step(STEP_LOGIN, "Run:ai login"),
            Step(STEP_CLUSTER, "Cluster API"),
            Step(STEP_IDENTITY, "Identity on the cluster"),
            Step(STEP_PERMISSION, "Project namespace rights"),
        ),
        run=run,
        needs=("vpn.cluster",),
        diagnoses=DECLARED,
        # Token refresh (discovery + grant), /version, SelfSubjectReview and three access
        # reviews, each under its own timeout.
        budget=6.0,
        import_allowance_s=3.0,
    ),
    Check(
        id="runai.cli",
        component="runai",
        title="Run:ai CLI",
        steps=(Step(STEP_CLI, "Run:ai CLI"),),
        run=run_cli,
        diagnoses=DECLARED,
        budget=2.0,
    ),
)
