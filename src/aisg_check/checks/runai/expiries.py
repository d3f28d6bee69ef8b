"""The lifetimes of the credentials the Run:ai check sees, in the shared `model.Credential` form
(the table's Credentials section, the JSON, the metrics): the id-token and the refresh-token `runai
login` wrote (the refresh-token when it is a JWT with an `exp`, as Keycloak's are), a kubeconfig's
bearer token or plugin token when it says when it expires, and a pod's service-account token."""

from __future__ import annotations

from datetime import datetime, timezone

from aisg_check.context import Context
from aisg_check.lifetimes import Lifetime, judge
from aisg_check.model import Credential
from aisg_check.platform import kubeauth, kubeconfig


def _at(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=timezone.utc) if epoch is not None else None


def _source(sel: kubeconfig.Selection) -> str:
    return f"{sel.user_file} (user {sel.user_name})"


def of(ctx: Context, sel: kubeconfig.Selection, cred: kubeauth.Credential) -> list[Credential]:
    """What `cred` says about when it (and what renews it) expires; nothing when it does not say."""
    owner = cred.username
    found: list[Credential] = []
    if cred.kind == "oidc":
        if cred.expires_at is not None:
            found.append(
                Credential("runai_id_token", "Run:ai id-token", _at(cred.expires_at), _source(sel), owner)
            )
        if cred.refresh_expires_at is not None:
            found.append(
                Credential(
                    "runai_refresh_token",
                    "Run:ai refresh-token",
                    _at(cred.refresh_expires_at),
                    _source(sel),
                    owner,
                )
            )
    elif cred.kind == "exec" and cred.expires_at is not None:
        name = f"Credential plugin token ({cred.details.get('command')})"
        found.append(Credential("kube_exec_token", name, _at(cred.expires_at), _source(sel), owner))
    elif cred.kind == "token" and cred.expires_at is not None:
        found.append(
            Credential("kube_token", "Kubeconfig bearer token", _at(cred.expires_at), _source(sel), owner)
        )
    return found


def service_account(sel: kubeconfig.Selection, cred: kubeauth.Credential) -> list[Credential]:
    """A pod's service-account token: a bound token expires (kubelet renews it before then); a
    legacy Secret-based one does not."""
    return [
        Credential(
            "kube_service_account_token",
            "Service account token",
            _at(cred.expires_at),
            str(sel.user_file),
            cred.username,
        )
    ]


def refresh_token(ctx: Context, cred: kubeauth.Credential) -> Lifetime | None:
    """How long the refresh-token has, judged against expiry_warning_days; None when unknown."""
    if cred.kind != "oidc" or cred.refresh_expires_at is None:
        return None
    return judge(ctx, _at(cred.refresh_expires_at))
