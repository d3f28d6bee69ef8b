"""Layer 2, `runai.login`: the credential of the context's user, obtained the way kubectl would
(`aisg_check.platform.kubeauth`), each way it can fail mapped to a diagnosis here."""

from __future__ import annotations

from pathlib import Path

from aisg_check.check import Recorder, Stop
from aisg_check.checks.runai import expiries, generation
from aisg_check.checks.runai.diagnoses import (
    KUBECONFIG_INVALID,
    RUNAI_ISSUER_UNREACHABLE,
    RUNAI_NOT_LOGGED_IN,
    RUNAI_REFRESH_TOKEN_EXPIRES_SOON,
    RUNAI_TOKEN_EXPIRED,
    RUNAI_TOKEN_EXPIRES_SOON,
    RUNAI_WRONG_REALM,
)
from aisg_check.checks.runai.steps import STEP_LOGIN, login_hint
from aisg_check.context import Context
from aisg_check.lifetimes import Verdict
from aisg_check.model import CONTACT_MLOPS
from aisg_check.net.failures import transport_failure
from aisg_check.platform import kubeauth, kubeconfig
from aisg_check.platform.kubeauth import Credential
from aisg_check.secrets import shown

EXPIRES_SOON_S = 3600.0


def relogin(ctx: Context, rec: Recorder, config: kubeconfig.Kubeconfig | None) -> str:
    """The exact way to log in again, in backticks: with the improved CLI, `runai login` and then
    `runai kubeconfig set`. Asked only when a hint needs it (it may run `runai version`)."""
    cli = generation.of_user(ctx, rec.step_timeout(ctx.timeout))
    return f"`{login_hint(ctx, config, improved=cli == generation.IMPROVED)}`"


def obtain(
    ctx: Context, rec: Recorder, config: kubeconfig.Kubeconfig, sel: kubeconfig.Selection
) -> Credential:
    try:
        cred = _credential(ctx, rec, config, sel)
    except kubeauth.AuthError as exc:
        raise _failed(ctx, rec, config, sel, exc) from None
    found = expiries.of(ctx, sel, cred)
    refresh = expiries.refresh_token(ctx, cred)
    if cred.session_left_s is not None and cred.session_left_s < EXPIRES_SOON_S:
        minutes = max(0, round(cred.session_left_s / 60))
        rec.warn(
            STEP_LOGIN,
            RUNAI_TOKEN_EXPIRES_SOON,
            f"Logged in as {cred.username}, but the login ends in {minutes} min",
            hint=f"Log in again now: {relogin(ctx, rec, config)}.",
            details={**cred.details, "session_expires_in_s": round(cred.session_left_s)},
            credentials=found,
        )
    elif refresh is not None and refresh.verdict is Verdict.SOON:
        # The id-token is renewed with the refresh-token (expiring within the hour is normal);
        # the refresh-token itself is renewed only by logging in again.
        rec.warn(
            STEP_LOGIN,
            RUNAI_REFRESH_TOKEN_EXPIRES_SOON,
            f"Logged in to Run:ai as {cred.username}, but the refresh-token that keeps you logged in "
            f"{refresh.phrase()}",
            hint=f"Log in again before then: {relogin(ctx, rec, config)}.",
            details={**cred.details, "refresh_token_expires_in_s": round(refresh.seconds_left or 0)},
            credentials=found,
        )
    else:
        rec.ok(STEP_LOGIN, _summary(sel, cred), details=cred.details, credentials=found)
    return cred


def _credential(
    ctx: Context, rec: Recorder, config: kubeconfig.Kubeconfig, sel: kubeconfig.Selection
) -> Credential:
    kind = kubeauth.kind_of(sel)
    timeout = rec.step_timeout(ctx.timeout)
    if kind == "oidc":
        return kubeauth.oidc(ctx, sel, timeout=timeout)
    if kind == "exec":
        return kubeauth.exec_plugin(ctx, sel, timeout=timeout)
    if kind == "token":
        return kubeauth.static_token(ctx, sel)
    if kind == "client-certificate":
        return kubeauth.client_certificate(ctx, sel)
    where = f"User '{sel.user_name}' in {sel.user_file}"
    if kind == "auth-provider":
        name = shown(sel.user["auth-provider"].get("name"))
        raise rec.fail(
            STEP_LOGIN,
            RUNAI_NOT_LOGGED_IN,
            f"{where} uses auth-provider {name}, which kubectl no longer supports",
            hint=f"Get the current Run:ai kubeconfig from {CONTACT_MLOPS}, then {relogin(ctx, rec, config)}.",
        )
    if kind == "basic":
        raise rec.fail(
            STEP_LOGIN,
            RUNAI_NOT_LOGGED_IN,
            f"{where} has a username and password (basic auth), which kubectl dropped in 1.19 and the "
            "Run:ai cluster does not accept",
            hint=f"Get the current Run:ai kubeconfig from {CONTACT_MLOPS}, then {relogin(ctx, rec, config)}.",
            details={"auth": "basic"},
        )
    raise rec.fail(
        STEP_LOGIN,
        RUNAI_NOT_LOGGED_IN,
        f"{where} has no credential (no auth-provider, exec, token or client certificate)",
        hint=relogin(ctx, rec, config).strip("`"),
    )


def _failed(
    ctx: Context,
    rec: Recorder,
    config: kubeconfig.Kubeconfig,
    sel: kubeconfig.Selection,
    exc: kubeauth.AuthError,
) -> Stop:
    details = exc.details
    if isinstance(exc, kubeauth.InvalidEntry):
        summary = f"Kubeconfig {exc.path}: {exc.message}"
        return rec.fail(STEP_LOGIN, KUBECONFIG_INVALID, summary, details={**details, "file": str(exc.path)})
    if isinstance(exc, kubeauth.IssuerFailed):
        return _issuer_failed(ctx, rec, exc)
    if isinstance(exc, kubeauth.PluginFailed):
        # Only the command's name: its arguments may carry a client secret.
        plugin_hint = (
            f"Run the credential plugin `{exc.command}` of user '{sel.user_name}' yourself, with the "
            "arguments the kubeconfig gives it, to see the error; or log in again: "
            f"{relogin(ctx, rec, config)}."
        )
        return rec.fail(
            STEP_LOGIN,
            RUNAI_NOT_LOGGED_IN,
            exc.message,
            hint=exc.install_hint or plugin_hint,
            details=details,
        )
    diagnosis = {
        kubeauth.WrongRealm: RUNAI_WRONG_REALM,
        kubeauth.LoginExpired: RUNAI_TOKEN_EXPIRED,
    }.get(type(exc), RUNAI_NOT_LOGGED_IN)
    return rec.fail(STEP_LOGIN, diagnosis, exc.message, hint=relogin(ctx, rec, config), details=details)


def _issuer_failed(ctx: Context, rec: Recorder, exc: kubeauth.IssuerFailed) -> Stop:
    """A transport failure gets the shared code every component gives it; an issuer that
    answers, but not as an OpenID Connect issuer does, is RUNAI_ISSUER_UNREACHABLE."""
    own_hint = (
        f"The Run:ai login server is the kubeconfig's idp-issuer-url ({exc.issuer}): check that you can "
        "open it from this machine (proxy settings, internet access); if it answers in a browser, tell "
        f"{CONTACT_MLOPS}."
    )
    if exc.exc is None:
        return rec.fail(
            STEP_LOGIN,
            RUNAI_ISSUER_UNREACHABLE,
            ctx.scrubber.scrub(exc.message),
            hint=own_hint,
            details=exc.details,
        )
    failure = transport_failure(ctx, exc.exc, exc.issuer, fallback=RUNAI_ISSUER_UNREACHABLE)
    return rec.fail(
        STEP_LOGIN,
        failure.diagnosis,
        f"{failure.summary} (renewing the id-token at the Run:ai login server)",
        # TLS and proxy failures have their own fix; for the rest, say which server this is.
        hint=None if failure.layer in ("tls", "proxy") else own_hint,
        details=exc.details,
    )


def _summary(sel: kubeconfig.Selection, cred: Credential) -> str:
    name = f" for {cred.username}" if cred.username else ""
    if cred.kind == "oidc":
        how = "id-token renewed in memory with the refresh-token" if cred.refreshed else "id-token valid"
        return f"Logged in to Run:ai as {cred.username} ({how})"
    if cred.kind == "exec":
        what = "token" if cred.token else "client certificate"
        return f"Credential plugin `{Path(str(cred.details.get('command'))).name}` gave a {what}{name}"
    if cred.kind == "token":
        return f"User '{sel.user_name}' has a bearer token{name}"
    return f"User '{sel.user_name}' has a client certificate"
