"""A Harbor-shaped test platform on 127.0.0.1: the real Distribution registry
(`docker-registry`, Debian's 2.8) behind a small Harbor "core" in Python.

Harbor puts nginx in front of the registry and its core service: `/v2/` goes to the registry,
`/service/token` and `/api/` to the core. `HarborFront` does the same on one TLS port:

- `GET /service/token?service=…&scope=…` issues RS256 JWTs the way Distribution 2.8 verifies
  them (`registry/auth/token`): header `kid` (libtrust key id of a key in the registry's
  `rootcertbundle`) or `x5c` (that certificate), claims `iss`, `sub`, string `aud`, `exp`,
  `nbf`, `iat`, `jti`, `access`. Grants follow Harbor: push and pull for Project Admin,
  Maintainer and Developer, pull for Guest and Limited Guest (and anyone on a public
  project), nothing for a stranger; wrong credentials are refused (401) without a scope,
  and handed an anonymous token (empty `sub`) with one.
- `GET /api/v2.0/projects/{name}` answers with `current_user_role_id(s)` as Harbor 2.x does.
- everything else is forwarded to the registry.

`BasicRegistry` is the same registry with htpasswd (bcrypt) Basic auth and no front.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.client
import http.server
import json
import shutil
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.servers.process import ServerProcess, free_port, port_open
from tests.servers.tls import StandInHandler

SERVICE = "harbor-registry"
ISSUER = "harbor-token-issuer"
REGISTRY_BIN = "docker-registry"

# Harbor's role ids.
PROJECT_ADMIN, DEVELOPER, GUEST, MAINTAINER, LIMITED_GUEST = 1, 2, 3, 4, 5
_PUSH_ROLES = {PROJECT_ADMIN, DEVELOPER, MAINTAINER}


def available() -> str | None:
    """Why the platform cannot run here, or None."""
    if shutil.which(REGISTRY_BIN) is None:
        return "docker-registry (Debian package docker-registry) is not installed"
    if shutil.which("htpasswd") is None:
        return "htpasswd (Debian package apache2-utils) is not installed"
    return None


@dataclass(frozen=True)
class Account:
    name: str
    password: str
    roles: Mapping[str, int] = field(default_factory=dict)  # project → Harbor role id
    robot_actions: Mapping[str, frozenset[str]] | None = None  # robots: project → actions


# -- token signing --------------------------------------------------------------------------------


def libtrust_key_id(public_key: rsa.RSAPublicKey) -> str:
    """docker/libtrust's key id: SHA-256 of the DER public key, first 240 bits, base32 in
    groups of four separated by ':' (what Distribution 2.8 matches `kid` against)."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


class Signer:
    def __init__(self, header: str = "kid") -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "harbor-token-signer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.header = header

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, subject: str, access: list[dict[str, Any]], lifetime: int = 1800) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,  # a string: Distribution 2.8 does not accept a list here
            "exp": now + lifetime,
            "nbf": now - 1,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        if self.header == "x5c":
            headers: dict[str, Any] = {
                "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]
            }
        else:
            headers = {"kid": libtrust_key_id(self.key.public_key())}
        return jwt.encode(claims, self.key, algorithm="RS256", headers=headers)


# -- the Harbor core ------------------------------------------------------------------------------


@dataclass
class Policy:
    accounts: dict[str, Account]
    public: frozenset[str] = frozenset()
    projects: frozenset[str] = frozenset()
    token_requests: list[dict[str, Any]] = field(default_factory=list)

    def authenticate(self, header: str | None) -> tuple[Account | None, bool]:
        """(account, credentials given): None with True means wrong credentials."""
        if not header or not header.lower().startswith("basic "):
            return None, False
        try:
            user, _, password = base64.b64decode(header.split(" ", 1)[1]).decode().partition(":")
        except ValueError:
            return None, True
        account = self.accounts.get(user)
        if account is None or account.password != password:
            return None, True
        return account, True

    def allowed(self, account: Account | None, project: str) -> set[str]:
        actions: set[str] = {"pull"} if project in self.public else set()
        if account is None:
            return actions
        if account.robot_actions is not None:
            return actions | set(account.robot_actions.get(project, frozenset()))
        role = account.roles.get(project)
        if role in _PUSH_ROLES:
            actions |= {"pull", "push"}
        elif role in (GUEST, LIMITED_GUEST):
            actions.add("pull")
        return actions

    def grant(self, account: Account | None, scopes: list[str]) -> list[dict[str, Any]]:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, wanted = rest.rpartition(":")
            if kind != "repository" or not name:
                continue
            project = name.split("/", 1)[0]
            actions = sorted(set(wanted.split(",")) & self.allowed(account, project))
            if actions:
                access.append({"type": "repository", "name": name, "actions": actions})
        return access


class _FrontHandler(StandInHandler):
    protocol_version = "HTTP/1.1"
    front: HarborFront

    def _send(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/service/token":
            self._token(parse_qs(url.query))
        elif url.path.startswith("/api/v2.0/projects/"):
            self._project(unquote(url.path[len("/api/v2.0/projects/") :]))
        else:
            self._forward()

    do_HEAD = do_GET

    def _token(self, query: Mapping[str, list[str]]) -> None:
        policy = self.front.policy
        account, given = policy.authenticate(self.headers.get("Authorization"))
        scopes = query.get("scope", [])
        policy.token_requests.append({"account": account.name if account else None, "scopes": scopes})
        if given and account is None and not scopes:
            self._json(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication failed"}]})
            return
        # Harbor: wrong credentials with a scope get an anonymous token, not a 401.
        subject = account.name if account else ""
        token = self.front.signer.sign(subject, policy.grant(account, scopes))
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        self._json(200, {"token": token, "access_token": token, "expires_in": 1800, "issued_at": now})

    def _project(self, name: str) -> None:
        policy = self.front.policy
        account, given = policy.authenticate(self.headers.get("Authorization"))
        if given and account is None:
            self._json(401, {"errors": [{"code": "UNAUTHORIZED", "message": "unauthorized"}]})
            return
        if name not in policy.projects:
            self._json(404, {"errors": [{"code": "NOT_FOUND", "message": f"project {name} not found"}]})
            return
        role = account.roles.get(name) if account and account.robot_actions is None else None
        if role is None and name not in policy.public:
            self._json(403, {"errors": [{"code": "FORBIDDEN", "message": "forbidden"}]})
            return
        body: dict[str, Any] = {
            "project_id": sorted(policy.projects).index(name) + 1,
            "name": name,
            "owner_name": "admin",
            "metadata": {"public": "true" if name in policy.public else "false"},
            "current_user_role_id": role or 0,
            "current_user_role_ids": [role] if role else [],
            "repo_count": 0,
        }
        self._json(200, body)

    def _forward(self) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        headers["Host"] = f"127.0.0.1:{self.front.upstream_port}"
        try:
            status, passed, body = self.front.upstream(self.command, self.path, headers)
        except (http.client.HTTPException, OSError):
            # The registry closed a kept connection while it was idle: once more on a new one.
            status, passed, body = self.front.upstream(self.command, self.path, headers, fresh=True)
        self._send(status, body, passed)


class HarborFront:
    """The TLS port users talk to: token service and API here, `/v2/` forwarded."""

    def __init__(
        self, context: ssl.SSLContext, policy: Policy, signer: Signer, upstream_tls: ssl.SSLContext
    ) -> None:
        handler = type("Handler", (_FrontHandler,), {"front": self})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = int(self.httpd.server_address[1])
        self.policy = policy
        self.signer = signer
        self.upstream_tls = upstream_tls
        self.upstream_port = 0
        # Harbor's nginx keeps its connections to the registry alive and shares them between
        # clients; a TLS handshake to the registry for every forwarded request would be latency
        # the real platform does not have.
        self._idle: list[http.client.HTTPSConnection] = []
        self._idle_lock = threading.Lock()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def upstream(
        self, method: str, path: str, headers: Mapping[str, str], *, fresh: bool = False
    ) -> tuple[int, dict[str, str], bytes]:
        """One request to the registry on a kept connection: status, headers to pass on, body."""
        conn = None
        with self._idle_lock:
            if self._idle and not fresh:
                conn = self._idle.pop()
        if conn is None:
            conn = http.client.HTTPSConnection(
                "127.0.0.1", self.upstream_port, context=self.upstream_tls, timeout=10
            )
        try:
            conn.request(method, path, headers=dict(headers))
            response = conn.getresponse()
            body = response.read()
        except BaseException:
            conn.close()
            raise
        passed = {
            k: v
            for k, v in response.getheaders()
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "keep-alive")
        }
        with self._idle_lock:
            self._idle.append(conn)
        return response.status, passed, body

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        with self._idle_lock:
            for conn in self._idle:
                conn.close()
            self._idle.clear()


# -- the registry ---------------------------------------------------------------------------------


def _registry_config(root: Path, port: int, cert: Path, key: Path, auth: Mapping[str, Any]) -> Path:
    config = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(root / "data")},
            "cache": {"blobdescriptor": "inmemory"},
        },
        "http": {
            "addr": f"127.0.0.1:{port}",
            "secret": "test-http-secret",
            "tls": {"certificate": str(cert), "key": str(key)},
        },
        "auth": dict(auth),
    }
    path = root / "config.yml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def _start_registry(root: Path, ca: trustme.CA, auth: Mapping[str, Any], port: int) -> ServerProcess:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path = root / "registry.crt", root / "registry.key"
    cert_path.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    key_path.write_bytes(cert.private_key_pem.bytes())
    config = _registry_config(root, port, cert_path, key_path, auth)
    return ServerProcess(
        [REGISTRY_BIN, "serve", str(config)], ready=lambda: port_open(port), log=root / "registry.log"
    )


def htpasswd_line(user: str, password: str) -> str:
    out = subprocess.run(
        ["htpasswd", "-nbB", "-C", "4", user, password], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


class BasicRegistry:
    """docker-registry with TLS and htpasswd (bcrypt) Basic auth."""

    def __init__(self, root: Path, ca: trustme.CA, users: Mapping[str, str]) -> None:
        root.mkdir(parents=True, exist_ok=True)
        htpasswd = root / "htpasswd"
        htpasswd.write_text("".join(htpasswd_line(u, p) + "\n" for u, p in users.items()))
        self.port = free_port()
        self.server = _start_registry(
            root, ca, {"htpasswd": {"realm": "basic-realm", "path": str(htpasswd)}}, self.port
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.stop()


class TokenRegistry:
    """docker-registry with token auth behind a Harbor-like front."""

    def __init__(
        self,
        root: Path,
        ca: trustme.CA,
        accounts: list[Account],
        *,
        projects: frozenset[str],
        public: frozenset[str] = frozenset(),
        header: str = "kid",
    ) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.signer = Signer(header)
        bundle = root / "token-root.crt"
        bundle.write_bytes(self.signer.cert_pem())
        self.policy = Policy({a.name: a for a in accounts}, public=public, projects=projects)
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_tls)
        upstream_tls = ssl.create_default_context()
        ca.configure_trust(upstream_tls)
        self.front = HarborFront(server_tls, self.policy, self.signer, upstream_tls)
        realm = f"https://127.0.0.1:{self.front.port}/service/token"
        self.registry_port = free_port()
        auth = {
            "token": {"realm": realm, "service": SERVICE, "issuer": ISSUER, "rootcertbundle": str(bundle)}
        }
        try:
            self.server = _start_registry(root, ca, auth, self.registry_port)
        except Exception:
            self.front.close()
            raise
        self.front.upstream_port = self.registry_port

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.front.port}"

    def stop(self) -> None:
        self.server.stop()
        self.front.close()
