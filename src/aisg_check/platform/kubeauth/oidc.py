"""The oidc auth-provider `runai login` fills in: its id-token, renewed in memory with the
OAuth2 refresh_token grant when it has expired (kubectl's oidc provider does the same, but
writes the kubeconfig back; we never do)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aisg_check.context import Context
from aisg_check.platform.kubeauth.base import (
    Credential,
    InvalidEntry,
    IssuerFailed,
    LoginExpired,
    NotLoggedIn,
    WrongRealm,
    exp_of,
    name_of,
    string_field,
)
from aisg_check.platform.kubeconfig import Selection
from aisg_check.secrets import Secret, jwt_claims, shown

# client-go's oidc provider treats an id-token as expired this long before its exp.
EXPIRY_DELTA_S = 10.0
# Answers of a token endpoint that mean "this refresh-token is no good any more".
_REFUSALS = ("invalid_grant", "invalid_token", "unauthorized_client", "invalid_client")


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: Secret
    id_token: Secret
    refresh_token: Secret

    @property
    def details(self) -> dict[str, Any]:
        return {"auth": "oidc", "client_id": self.client_id or None, "issuer": self.issuer}


def oidc_config(ctx: Context, sel: Selection) -> OidcConfig:
    provider = sel.user.get("auth-provider")
    cfg = provider.get("config") if isinstance(provider, Mapping) else None
    if cfg is None:
        cfg = {}
    if not isinstance(cfg, Mapping):
        raise InvalidEntry(
            sel.user_file, f"users['{sel.user_name}'].user.auth-provider.config must be a mapping"
        )

    def get(key: str) -> str:
        return string_field(sel, f"auth-provider.config.{key}", cfg.get(key))

    conf = OidcConfig(
        issuer=get("idp-issuer-url").rstrip("/"),
        client_id=get("client-id"),
        client_secret=Secret(get("client-secret")),
        id_token=Secret(get("id-token")),
        refresh_token=Secret(get("refresh-token")),
    )
    for secret in (conf.id_token, conf.refresh_token, conf.client_secret):
        ctx.scrubber.add(secret)
    return conf


def _token_claims(conf: OidcConfig, sel: Selection) -> dict[str, Any] | None:
    """The id-token's claims (unverified: only exp, iss and names are read), None when there is
    no id-token or it is not a JWT and a refresh can replace it."""
    details = conf.details
    if not conf.id_token and not conf.refresh_token:
        raise NotLoggedIn(
            f"User '{sel.user_name}' has no id-token or refresh-token: "
            "`runai login` has not been run with this kubeconfig",
            details,
        )
    claims = (jwt_claims(conf.id_token.reveal()) or None) if conf.id_token else None
    if conf.id_token and claims is None and not conf.refresh_token:
        # The kubernetes client would silently send no token at all here.
        raise NotLoggedIn(
            f"The id-token of user '{sel.user_name}' is not a JWT (damaged kubeconfig?)", details
        )
    if claims is not None:
        token_issuer = str(claims.get("iss", "")).rstrip("/")
        if conf.issuer and token_issuer != conf.issuer:
            raise WrongRealm(
                f"The id-token was issued by {token_issuer[:200] or 'nobody'}, "
                f"not by the kubeconfig's idp-issuer-url {conf.issuer}",
                {**details, "token_issuer": token_issuer[:200]},
            )
    return claims


def oidc(ctx: Context, sel: Selection, *, timeout: float) -> Credential:
    """The id-token `runai login` wrote, renewed in memory when it has expired."""
    conf = oidc_config(ctx, sel)
    claims = _token_claims(conf, sel)
    now = ctx.now().timestamp()
    exp = exp_of(claims)
    token, refreshed = conf.id_token, False
    if claims is None or exp is None or exp - EXPIRY_DELTA_S <= now:
        if not conf.refresh_token:
            raise LoginExpired(
                f"The id-token of {name_of(claims or {}) or sel.user_name} "
                "expired and there is no refresh-token to renew it",
                {**conf.details, "expired_s_ago": round(now - exp) if exp else None},
            )
        token, refreshed = refresh(ctx, conf, sel, timeout=timeout), True
        claims = jwt_claims(token.reveal())
        exp = exp_of(claims)
    name = name_of(claims or {})
    # The login lasts as long as the refresh-token (Keycloak's is a JWT with the session's exp);
    # without one, only as long as the id-token.
    refresh_exp = exp_of(jwt_claims(conf.refresh_token.reveal())) if conf.refresh_token else None
    session_end = refresh_exp if conf.refresh_token else exp
    details = {
        **conf.details,
        "username": name,
        "refreshed": refreshed,
        "expires_in_s": round(exp - now) if exp else None,
    }
    return Credential(
        "oidc",
        token,
        username=name,
        refreshed=refreshed,
        session_left_s=session_end - now if session_end is not None else None,
        details=details,
        expires_at=exp,
        refresh_expires_at=refresh_exp,
    )


def refresh(ctx: Context, conf: OidcConfig, sel: Selection, *, timeout: float) -> Secret:
    """The refresh_token grant kubectl's oidc provider makes (a public client: client_id, and a
    client_secret only when the kubeconfig has one), in memory, with a timeout."""
    import httpx

    issuer, details = conf.issuer, conf.details
    if not issuer.startswith("https://"):
        raise InvalidEntry(
            sel.user_file,
            f"The id-token needs renewing, but users['{sel.user_name}'].user.auth-provider.config."
            f"idp-issuer-url is {shown(issuer) if issuer else 'not set'}",
            details,
        )
    form = {
        "grant_type": "refresh_token",
        "refresh_token": conf.refresh_token.reveal(),
        "client_id": conf.client_id,
    }
    if conf.client_secret:
        form["client_secret"] = conf.client_secret.reveal()
    try:
        with ctx.http(timeout=timeout) as client:
            discovery = client.get(f"{issuer}/.well-known/openid-configuration")
            if discovery.status_code != 200:
                raise IssuerFailed(
                    f"{issuer}/.well-known/openid-configuration answered HTTP {discovery.status_code}",
                    details,
                    issuer=issuer,
                )
            endpoint = _json_object(discovery).get("token_endpoint")
            if not isinstance(endpoint, str) or not endpoint:
                raise IssuerFailed(
                    f"{issuer} has no token_endpoint in its discovery document", details, issuer=issuer
                )
            response = client.post(endpoint, data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise IssuerFailed(
            f"Renewing the id-token at {issuer} failed", details, issuer=issuer, exc=exc
        ) from None
    body = _json_object(response)
    if response.status_code in (400, 401) and body.get("error") in _REFUSALS:
        raise LoginExpired(
            f"The id-token expired and {issuer} refused to renew it "
            f"({body['error']}: the SSO session is over)",
            {**details, "error": body["error"]},
        )
    new = body.get("id_token") if response.status_code == 200 else None
    for key in ("id_token", "access_token", "refresh_token"):
        if isinstance(body.get(key), str):
            ctx.scrubber.add(body[key])
    if not isinstance(new, str) or not new:
        raise IssuerFailed(
            f"Renewing the id-token at {issuer} answered HTTP {response.status_code} without an id_token",
            details,
            issuer=issuer,
        )
    return Secret(new)


def _json_object(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
