"""GitLab over HTTPS on 127.0.0.1: real nginx + fcgiwrap + git-http-backend, plus the two API
endpoints the check calls, answered the way GitLab documents them.

- `/<group>/<project>.git/...`: git's smart HTTP protocol through /usr/lib/git-core/git-http-backend,
  behind HTTP basic auth (an htpasswd made with apache2-utils' `htpasswd`), as GitLab takes a
  personal access token as the basic-auth password.
- `/api/v4/personal_access_tokens/self` and `/api/v4/user`: a small Python server behind the same
  nginx (proxy_pass). Bodies follow GitLab's API docs (doc/api/personal_access_tokens.md,
  doc/api/users.md); the 401/403 bodies are the ones lib/api/api_guard.rb renders for an
  expired, revoked or unknown token and for a missing scope.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme

from tests.servers.process import ServerProcess, free_port, port_open
from tests.servers.tls import HTTPServer

NGINX = "/usr/sbin/nginx"
FCGIWRAP = "/usr/sbin/fcgiwrap"
GIT_HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
USERNAME = "alice"
REPO = "mlops/demo.git"


@dataclass(frozen=True)
class FakeToken:
    value: str
    scopes: tuple[str, ...] = ("api", "read_repository", "write_repository")
    expires_in_days: int | None = 300
    state: str = "active"  # active | expired | revoked
    username: str = USERNAME  # whom /api/v4/user names
    git: bool = True  # accepted by git over HTTPS (in the htpasswd, as `username`)


# Distinct prefixes so a test can tell them apart; long enough for the scrubber to mask.
TOKENS: dict[str, FakeToken] = {
    name: token
    for name, token in {
        "valid": FakeToken("glpat-validTOKEN0000000001"),
        "soon": FakeToken("glpat-soonTOKEN00000000002", expires_in_days=3, username="bob"),
        "expired": FakeToken("glpat-expiredTOKEN00000003", state="expired", expires_in_days=-2),
        "revoked": FakeToken("glpat-revokedTOKEN00000004", state="revoked"),
        "noscope": FakeToken("glpat-noscopeTOKEN00000005", scopes=("read_user",), username="erin", git=False),
        # No API scope: the check cannot learn a username and sends "oauth2", as GitLab's docs do.
        "gitonly": FakeToken("glpat-gitonlyTOKEN00000006", scopes=("read_repository",), username="oauth2"),
        "nogit": FakeToken("glpat-nogitTOKEN0000000007", username="dave", git=False),
    }.items()
}
INVALID_TOKEN = "glpat-unknownTOKEN0000000"
HELPER_USER = "carol"  # the user name a git credential helper stores next to the valid token
JOB_TOKEN = "job-TOKEN-0000000000000008"  # CI_JOB_TOKEN; git takes it as user gitlab-ci-token


def available() -> str | None:
    for path, package in ((NGINX, "nginx-light"), (FCGIWRAP, "fcgiwrap"), (GIT_HTTP_BACKEND, "git")):
        if not os.path.exists(path):
            return f"{package} is not installed ({path})"
    if not shutil.which("htpasswd"):
        return "apache2-utils is not installed (htpasswd)"
    return None


def _send(
    handler: http.server.BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str]
) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


def _unauthorized(handler: http.server.BaseHTTPRequestHandler, description: str | None) -> None:
    if description is None:
        _send(handler, 401, {"message": "401 Unauthorized"}, {})
        return
    _send(
        handler,
        401,
        {"error": "invalid_token", "error_description": description},
        {"WWW-Authenticate": f'Bearer realm="", error="invalid_token", error_description="{description}"'},
    )


def _authenticate(handler: http.server.BaseHTTPRequestHandler) -> FakeToken | None:
    value = handler.headers.get("PRIVATE-TOKEN", "")
    token = next((t for t in TOKENS.values() if t.value == value), None)
    if token is None:
        _unauthorized(handler, None)
    elif token.state == "expired":
        _unauthorized(handler, "Token is expired. You can either do re-authorization or token refresh.")
    elif token.state == "revoked":
        _unauthorized(handler, "Token was revoked. You have to re-authorize from the user.")
    else:
        return token
    return None


def _insufficient_scope(handler: http.server.BaseHTTPRequestHandler, needed: str) -> None:
    _send(
        handler,
        403,
        {
            "error": "insufficient_scope",
            "error_description": "The request requires higher privileges than provided by the access token.",
            "scope": needed,
        },
        {},
    )


def token_self(handler: http.server.BaseHTTPRequestHandler) -> None:
    token = _authenticate(handler)
    if token is None:
        return
    expires = None
    if token.expires_in_days is not None:
        expires = (dt.date.today() + dt.timedelta(days=token.expires_in_days)).isoformat()
    _send(
        handler,
        200,
        {
            "id": 4,
            "name": "laptop",
            "revoked": False,
            "created_at": "2026-07-23T14:31:47.729Z",
            "description": "",
            "scopes": list(token.scopes),
            "user_id": 3,
            "last_used_at": "2026-10-06T17:58:37.550Z",
            "active": True,
            "expires_at": expires,
        },
        {},
    )


def user(handler: http.server.BaseHTTPRequestHandler) -> None:
    token = _authenticate(handler)
    if token is None:
        return
    if not {"api", "read_api", "read_user"} & set(token.scopes):
        _insufficient_scope(handler, "api read_user read_api")
        return
    _send(
        handler,
        200,
        {
            "id": 3,
            "username": token.username,
            "name": "Alice Tan",
            "state": "active",
            "locked": False,
            "web_url": "https://gitlab.example.com/alice",
        },
        {},
    )


_NGINX_CONF = """\
{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
daemon off;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {dir}/server.pem;
        ssl_certificate_key {dir}/server.key;
        location = / {{ return 302 /users/sign_in; }}
        location /api/v4/ {{
            proxy_pass http://127.0.0.1:{api_port};
            proxy_set_header Host $host;
        }}
        location ~ \\.git/(info/refs|git-upload-pack|git-receive-pack)$ {{
            auth_basic "GitLab";
            auth_basic_user_file {dir}/htpasswd;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME {backend};
            fastcgi_param GIT_PROJECT_ROOT {dir}/repos;
            fastcgi_param GIT_HTTP_EXPORT_ALL "";
            fastcgi_param PATH_INFO $uri;
            fastcgi_param REMOTE_USER $remote_user;
            fastcgi_pass unix:{dir}/fcgi.sock;
        }}
    }}
}}
"""


def _git(*args: str, cwd: Path | None = None) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd or "/nonexistent")}
    subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=30,
        env=env,
        stdin=subprocess.DEVNULL,
    )


class GitlabHttpServer:
    """nginx (TLS, trustme certificate for 127.0.0.1 and localhost) on a free port."""

    def __init__(self, workdir: Path, ca: trustme.CA) -> None:
        self.dir = workdir
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.repo_url = f"{self.url}/{REPO}"
        self.api = HTTPServer(
            routes={"/api/v4/personal_access_tokens/self": token_self, "/api/v4/user": user}
        )
        for sub in ("tmp", "repos"):
            (workdir / sub).mkdir(exist_ok=True)
        cert = ca.issue_cert("127.0.0.1", "localhost")
        cert.cert_chain_pems[0].write_to_path(str(workdir / "server.pem"))
        cert.private_key_pem.write_to_path(str(workdir / "server.key"))
        self._make_repo(workdir / "repos" / REPO)
        self._write_htpasswd(workdir / "htpasswd")
        conf = workdir / "nginx.conf"
        conf.write_text(
            _NGINX_CONF.format(
                dir=workdir,
                port=self.port,
                api_port=self.api.port,
                backend=GIT_HTTP_BACKEND,
                # As root nginx's workers would run as nobody, which cannot read pytest's temp dirs.
                user="user root;" if os.geteuid() == 0 else "",
            )
        )
        self.fcgiwrap = ServerProcess(
            [FCGIWRAP, "-c", "4", "-s", f"unix:{workdir / 'fcgi.sock'}"],
            ready=lambda: (workdir / "fcgi.sock").exists(),
            log=workdir / "fcgiwrap.log",
            timeout=20,
        )
        try:
            self.nginx = ServerProcess(
                [NGINX, "-e", str(workdir / "error.log"), "-p", str(workdir), "-c", str(conf)],
                ready=lambda: port_open(self.port),
                log=workdir / "nginx.log",
                timeout=20,
            )
        except Exception:
            self.fcgiwrap.stop()
            self.api.close()
            raise

    @staticmethod
    def _make_repo(bare: Path) -> None:
        work = bare.parent.parent / "work"
        work.mkdir(parents=True, exist_ok=True)
        _git("init", "-q", "-b", "main", str(work))
        (work / "README.md").write_text("demo\n")
        _git("-c", "user.name=t", "-c", "user.email=t@example.org", "add", "README.md", cwd=work)
        _git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "init", cwd=work)
        _git("clone", "-q", "--bare", str(work), str(bare))

    @staticmethod
    def _write_htpasswd(path: Path) -> None:
        # GitLab takes any user name with a personal access token; htpasswd holds one password
        # per name, so each token that git accepts gets its own name (the one /user reports).
        entries = [(t.username, t.value) for t in TOKENS.values() if t.git and t.state == "active"]
        entries += [(HELPER_USER, TOKENS["valid"].value), ("gitlab-ci-token", JOB_TOKEN)]
        names = [name for name, _ in entries]
        assert len(names) == len(set(names)), f"two tokens share a git user name: {names}"
        for index, (name, password) in enumerate(entries):
            flags = "-cbm" if index == 0 else "-bm"
            subprocess.run(
                ["htpasswd", flags, str(path), name, password],
                check=True,
                capture_output=True,
                timeout=20,
                stdin=subprocess.DEVNULL,
            )

    def stop(self) -> None:
        self.nginx.stop()
        self.fcgiwrap.stop()
        self.api.close()
