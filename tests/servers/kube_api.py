"""A small Kubernetes API server stand-in over HTTPS on 127.0.0.1.

It answers exactly what the runai check (and, for the benchmark's baseline, `kubectl version`
and `kubectl auth can-i`) ask for, in the shapes the Kubernetes API reference documents:

- `GET /version` (version.Info; readable without credentials, as the
  `system:public-info-viewer` ClusterRole allows);
- `POST /apis/authentication.k8s.io/v1/selfsubjectreviews` → 201 with
  `status.userInfo {username, uid, groups}` (absent when `self_subject_review=False`,
  as on clusters older than 1.28: 404);
- `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews` → 201 with the spec echoed
  and `status {allowed, reason}`;
- legacy discovery (`/api`, `/apis`, `/api/v1`, `/apis/batch/v1`, ...) for kubectl.

Authentication as kube-apiserver does it: a bearer token it knows (static tokens, or an
RS256 id-token from the test OIDC issuer, verified like `--oidc-issuer-url`,
`--oidc-client-id=runai-cli`, `--oidc-username-claim=email`), or a bound service-account token
(`--service-account-issuer`, as a pod's in-cluster configuration presents); a token it does not know is
401 `Status` on every path; else a client certificate signed by the test CA (as
`--client-ca-file`: the subject's CN is the user name, each O a group); nothing at all is
`system:anonymous`.
"""

from __future__ import annotations

import http.server
import json
import ssl
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import jwt
import trustme

from tests.servers.oidc import CLIENT_ID, PRIVATE_PEM, PUBLIC_KEY
from tests.servers.tls import StandInHandler

VERSION_INFO = {
    "major": "1",
    "minor": "30",
    "gitVersion": "v1.30.4",
    "gitCommit": "a51b3b711150f57ffc1f526a640ec058514ed596",
    "gitTreeState": "clean",
    "buildDate": "2024-08-14T18:58:27Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}

ANONYMOUS = ("system:anonymous", ("system:unauthenticated",))

_CORE_RESOURCES = [
    {
        "name": "pods",
        "singularName": "pod",
        "namespaced": True,
        "kind": "Pod",
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
        "shortNames": ["po"],
    },
    {
        "name": "namespaces",
        "singularName": "namespace",
        "namespaced": False,
        "kind": "Namespace",
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
        "shortNames": ["ns"],
    },
]
_GROUPS: dict[str, list[dict[str, Any]]] = {
    "batch": [
        {
            "name": "jobs",
            "singularName": "job",
            "namespaced": True,
            "kind": "Job",
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
        }
    ],
    "authorization.k8s.io": [
        {
            "name": "selfsubjectaccessreviews",
            "singularName": "",
            "namespaced": False,
            "kind": "SelfSubjectAccessReview",
            "verbs": ["create"],
        }
    ],
    "authentication.k8s.io": [
        {
            "name": "selfsubjectreviews",
            "singularName": "",
            "namespaced": False,
            "kind": "SelfSubjectReview",
            "verbs": ["create"],
        }
    ],
}


@dataclass
class KubeState:
    tokens: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    # (username, namespace, verb, group, resource) the RBAC stand-in allows.
    grants: set[tuple[str, str, str, str, str]] = field(default_factory=set)
    oidc_issuer: str | None = None
    # Service-account tokens (bound, RS256 with the test key) this issuer signs are accepted as
    # kube-apiserver's --service-account-issuer does: the `sub` is the user, in the groups
    # system:serviceaccounts and system:serviceaccounts:<namespace>.
    service_account_issuer: str | None = None
    self_subject_review: bool = True
    # Every request as (method, path, Authorization header or None), for assertions.
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    # path -> (status, content type, body): what a server that is not quite Kubernetes (a
    # portal at the API's URL, a broken proxy, a bad release) answers there instead.
    overrides: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)


def _issuer(token: str) -> str | None:
    try:
        return str(jwt.decode(token, options={"verify_signature": False}).get("iss"))
    except jwt.PyJWTError:
        return None


def service_account_token(
    issuer: str, namespace: str, name: str, *, expires_in: float = 3600, **claims: Any
) -> str:
    """A bound service-account token as the TokenRequest API issues it (the claims kubelet mounts)."""
    now = int(time.time())
    payload = {
        "iss": issuer,
        "aud": [issuer],
        "sub": f"system:serviceaccount:{namespace}:{name}",
        "iat": now,
        "nbf": now,
        "exp": int(now + expires_in),
        "kubernetes.io": {
            "namespace": namespace,
            "serviceaccount": {"name": name, "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, name))},
        },
        **claims,
    }
    return jwt.encode(payload, PRIVATE_PEM, algorithm="RS256", headers={"kid": "sa"})


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class _Handler(StandInHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _user(self) -> tuple[str, tuple[str, ...]] | None:
        """The authenticated user, ANONYMOUS without a token, None for a token it rejects."""
        state = self.server.state
        header = self.headers.get("Authorization")
        if not header:
            return self._certificate_user() or ANONYMOUS
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        if token in state.tokens:
            name, groups = state.tokens[token]
            return name, (*groups, "system:authenticated")
        if state.service_account_issuer and _issuer(token) == state.service_account_issuer:
            try:
                claims = jwt.decode(
                    token,
                    PUBLIC_KEY,
                    algorithms=["RS256"],
                    audience=state.service_account_issuer,
                    issuer=state.service_account_issuer,
                )
            except jwt.PyJWTError:
                return None
            namespace = str(claims["sub"]).split(":")[2]
            groups = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated")
            return str(claims["sub"]), groups
        if state.oidc_issuer:
            try:
                claims = jwt.decode(
                    token, PUBLIC_KEY, algorithms=["RS256"], audience=CLIENT_ID, issuer=state.oidc_issuer
                )
            except jwt.PyJWTError:
                return None
            return str(claims["email"]), (*claims.get("groups", ()), "system:authenticated")
        return None

    def _certificate_user(self) -> tuple[str, tuple[str, ...]] | None:
        cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
        if not cert:
            return None
        fields = [item for rdn in cert.get("subject", ()) for item in rdn]
        names = [value for key, value in fields if key == "commonName"]
        groups = tuple(value for key, value in fields if key == "organizationName")
        return (names[0], (*groups, "system:authenticated")) if names else None

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length) if length else b"{}"
        return json.loads(raw or b"{}")  # type: ignore[no-any-return]

    def _handle(self, method: str) -> None:
        state = self.server.state
        path = self.path.split("?")[0]
        state.requests.append((method, path, self.headers.get("Authorization")))
        body = self._body() if method == "POST" else {}
        if path in state.overrides:
            status, content_type, data = state.overrides[path]
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(data)
            return
        user = self._user()
        if user is None:
            self._json(401, _status(401, "Unauthorized", "Unauthorized"))
            return
        if method in ("GET", "HEAD"):
            self._get(path, user)
        elif method == "POST":
            self._post(path, user, body)
        else:
            self._json(405, _status(405, "MethodNotAllowed", "the server does not allow this method"))

    def _get(self, path: str, user: tuple[str, tuple[str, ...]]) -> None:
        if path in ("/version", "/version/"):  # the Python client asks for /version/
            self._json(200, VERSION_INFO)
        elif user == ANONYMOUS:
            self._json(
                403, _status(403, "Forbidden", f'forbidden: User "system:anonymous" cannot get path "{path}"')
            )
        elif path == "/api":
            self._json(
                200,
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
                    ],
                },
            )
        elif path == "/apis":
            groups = [
                {
                    "name": g,
                    "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}],
                    "preferredVersion": {"groupVersion": f"{g}/v1", "version": "v1"},
                }
                for g in _GROUPS
            ]
            self._json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        elif path == "/api/v1":
            self._json(200, {"kind": "APIResourceList", "groupVersion": "v1", "resources": _CORE_RESOURCES})
        elif path.startswith("/apis/") and path.count("/") == 3 and path.split("/")[2] in _GROUPS:
            group = path.split("/")[2]
            self._json(
                200,
                {
                    "kind": "APIResourceList",
                    "apiVersion": "v1",
                    "groupVersion": f"{group}/v1",
                    "resources": _GROUPS[group],
                },
            )
        else:
            self._json(404, _status(404, "NotFound", "the server could not find the requested resource"))

    def _post(self, path: str, user: tuple[str, tuple[str, ...]], body: dict[str, Any]) -> None:
        state = self.server.state
        name, groups = user
        if path == "/apis/authentication.k8s.io/v1/selfsubjectreviews" and state.self_subject_review:
            self._json(
                201,
                {
                    "kind": "SelfSubjectReview",
                    "apiVersion": "authentication.k8s.io/v1",
                    "metadata": {"creationTimestamp": None},
                    "status": {
                        "userInfo": {
                            "username": name,
                            "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
                            "groups": list(groups),
                        }
                    },
                },
            )
        elif path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
            if user == ANONYMOUS:
                self._json(
                    403,
                    _status(
                        403,
                        "Forbidden",
                        "selfsubjectaccessreviews.authorization.k8s.io is "
                        'forbidden: User "system:anonymous" cannot create resource '
                        '"selfsubjectaccessreviews" in API group "authorization.k8s.io" '
                        "at the cluster scope",
                    ),
                )
                return
            attrs = (body.get("spec") or {}).get("resourceAttributes") or {}
            key = (
                name,
                attrs.get("namespace", ""),
                attrs.get("verb", ""),
                attrs.get("group", ""),
                attrs.get("resource", ""),
            )
            allowed = key in state.grants
            status: dict[str, Any] = {"allowed": allowed}
            if allowed:
                status["reason"] = (
                    f'RBAC: allowed by RoleBinding "runai-user/{key[1]}" of ClusterRole "runai-user"'
                )
            self._json(
                201,
                {
                    "kind": "SelfSubjectAccessReview",
                    "apiVersion": "authorization.k8s.io/v1",
                    "metadata": {"creationTimestamp": None},
                    "spec": body.get("spec", {}),
                    "status": status,
                },
            )
        else:
            self._json(404, _status(404, "NotFound", "the server could not find the requested resource"))

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_HEAD(self) -> None:  # the vpn probe's HEAD /version
        self._handle("HEAD")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    state: KubeState


class KubeAPIServer:
    def __init__(
        self,
        ca: trustme.CA,
        state: KubeState | None = None,
        *,
        names: Iterable[str] = ("localhost", "127.0.0.1"),
    ) -> None:
        self.state = state or KubeState()
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.state = self.state
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(*names).configure_cert(context)
        # Client certificates are optional (kube-apiserver's --client-ca-file): asked for, checked
        # against the test CA when sent, and a request without one goes on to the bearer token.
        context.verify_mode = ssl.CERT_OPTIONAL
        ca.configure_trust(context)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, host: str = "localhost") -> str:
        return f"https://{host}:{self.port}"

    def grant(self, user: str, namespace: str, verb: str, resource: str, group: str = "") -> None:
        self.state.grants.add((user, namespace, verb, group, resource))

    def auth_headers(self) -> list[str | None]:
        return [auth for _m, _p, auth in self.state.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
