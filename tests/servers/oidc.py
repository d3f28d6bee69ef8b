"""A small OpenID Connect issuer on 127.0.0.1 in the shape of Run:ai's Keycloak realm.

It serves what `kubectl`'s oidc auth-provider (and so the runai check) uses: the discovery
document at `<issuer>/.well-known/openid-configuration` and the token endpoint's
`refresh_token` grant (RFC 6749 §6) for the public client `runai-cli` (no client secret;
RFC 6749 §2.3.1 lets a public client send only `client_id`). Unknown refresh tokens get
Keycloak's answer to an ended SSO session: HTTP 400 `{"error": "invalid_grant"}`.
Id-tokens are RS256 JWTs signed with a test key, so a Kubernetes API stand-in can verify
them as kube-apiserver's `--oidc-issuer-url` would.
"""

from __future__ import annotations

import http.server
import json
import ssl
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

import jwt
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.servers.tls import StandInHandler

REALM_PATH = "/auth/realms/aisingapore"
CLIENT_ID = "runai-cli"

# One key for the whole test run: generating RSA keys is the slow part.
_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_PEM = _KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
PUBLIC_KEY = _KEY.public_key()


def mint(
    issuer: str,
    username: str,
    *,
    expires_in: float = 3600,
    groups: tuple[str, ...] = (),
    audience: str = CLIENT_ID,
    **claims: Any,
) -> str:
    """An id-token as Keycloak issues it (the claims kubectl and the cluster read)."""
    now = int(time.time())
    payload = {
        "iss": issuer,
        "aud": audience,
        "azp": audience,
        "sub": str(uuid.uuid5(uuid.NAMESPACE_DNS, username)),
        "typ": "ID",
        "iat": now,
        "exp": int(now + expires_in),
        "email": f"{username}@aisingapore.org",
        "preferred_username": username,
        "groups": list(groups),
        **claims,
    }
    return jwt.encode(payload, PRIVATE_PEM, algorithm="RS256", headers={"kid": "test"})


class _Handler(StandInHandler):
    server: _Server

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        issuer = self.server.issuer
        if self.path == f"{REALM_PATH}/.well-known/openid-configuration":
            self.server.owner.discovery_requests += 1
            self._json(
                200,
                {
                    "issuer": issuer,
                    "authorization_endpoint": f"{issuer}/protocol/openid-connect/auth",
                    "token_endpoint": f"{issuer}/protocol/openid-connect/token",
                    "jwks_uri": f"{issuer}/protocol/openid-connect/certs",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "grant_types_supported": ["authorization_code", "refresh_token"],
                },
            )
            return
        self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        owner = self.server.owner
        if self.path != f"{REALM_PATH}/protocol/openid-connect/token":
            self._json(404, {"error": "not found"})
            return
        if owner.hang_s:
            time.sleep(owner.hang_s)
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        owner.token_requests.append(form)
        if form.get("client_id") != CLIENT_ID:
            self._json(
                401, {"error": "unauthorized_client", "error_description": "Invalid client credentials"}
            )
            return
        if form.get("grant_type") != "refresh_token":
            self._json(400, {"error": "unsupported_grant_type"})
            return
        username = owner.refresh_tokens.get(form.get("refresh_token", ""))
        if username is None:
            self._json(400, {"error": "invalid_grant", "error_description": "Session not active"})
            return
        id_token = mint(self.server.issuer, username, expires_in=owner.lifetime_s)
        owner.issued.append(id_token)
        self._json(
            200,
            {
                "access_token": id_token,
                "expires_in": owner.lifetime_s,
                "refresh_expires_in": 0,
                "refresh_token": form["refresh_token"],
                "token_type": "Bearer",
                "id_token": id_token,
                "scope": "openid email offline_access",
            },
        )


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    issuer: str
    owner: OIDCIssuer


class OIDCIssuer:
    """`OIDCIssuer(ca)`; `.issuer` is the idp-issuer-url; `.refresh_tokens` maps the refresh
    tokens it honours to user names."""

    def __init__(self, ca: trustme.CA, *, host: str = "localhost") -> None:
        self.refresh_tokens: dict[str, str] = {}
        self.token_requests: list[dict[str, str]] = []
        self.issued: list[str] = []
        self.discovery_requests = 0
        self.lifetime_s = 300
        self.hang_s = 0.0
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = int(self.httpd.server_address[1])
        self.issuer = f"https://{host}:{self.port}{REALM_PATH}"
        self.httpd.issuer = self.issuer
        self.httpd.owner = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def mint(self, username: str, **kwargs: Any) -> str:
        return mint(self.issuer, username, **kwargs)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
