"""A real `mlflow server --app-name basic-auth` on 127.0.0.1 for the MLflow tests and benchmark.

sqlite backend, proxied artifacts into a local directory (`mlflow-artifacts:`); experiments
created with an explicit `s3://` location send their artifacts directly to the moto server.
Users and permissions are made through the auth app's REST API. The permission endpoints
moved in MLflow 3.13 (`/api/3.0/mlflow/users/permissions/grant`); the test extra pins the
server version these calls are written against (mlflow[auth]==3.17.2).

Also here: `FaultProxy`, a tiny HTTP front that forwards to the real server but answers
chosen paths with an error, to provoke failures a healthy server never gives.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import shutil
import ssl
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.servers.process import ServerProcess, free_port
from tests.servers.tls import StandInHandler

ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-Secret-Canary-1234"  # 12+ characters, as the auth app requires
SERVER_VERSION_PIN = "3.17.2"

# Nothing the server or client does in the tests may leave the machine.
QUIET_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "AWS_EC2_METADATA_DISABLED": "true"}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class MlflowError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status


class MlflowServer:
    def __init__(
        self,
        workdir: Path,
        *,
        s3_endpoint: str | None = None,
        auth_cache: bool = True,
        default_permission: str = "NO_PERMISSIONS",
    ) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        ini = workdir / "basic_auth.ini"
        # As AISG's servers run: a user sees no experiment until the MLOps team grants one
        # (READ, EDIT to log runs, MANAGE to delete them too).
        ini.write_text(
            "[mlflow]\n"
            f"default_permission = {default_permission}\n"
            f"database_uri = sqlite:///{workdir / 'auth.db'}\n"
            f"admin_username = {ADMIN_USER}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            # Password hashes are deliberately slow to check (PBKDF2, a few hundred ms per request
            # here); caching a verified password keeps the suite fast. The benchmark runs without
            # it, as MLflow's default and AISG's servers do: there every request pays the hash.
            f"auth_cache_ttl_seconds = {300 if auth_cache else 0}\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_"))}
        env.update(QUIET_ENV)
        env.update(
            MLFLOW_AUTH_CONFIG_PATH=str(ini),
            MLFLOW_AUTH_ADMIN_PASSWORD=ADMIN_PASSWORD,
            MLFLOW_FLASK_SERVER_SECRET_KEY="aisg-check-test-secret-key",
            # MLflow 3's job runner (huey consumers for GenAI jobs, which no check uses) starts
            # three processes that import MLflow at once: ~20 s of CPU, both cores busy for the
            # first ~12 s after the server answers, which every test and benchmark of the
            # first seconds measured instead of the tool.
            MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
            # The server itself never needs S3 (proxied artifacts go to a local directory),
            # but point it at moto anyway so nothing it does could reach Amazon.
            AWS_ACCESS_KEY_ID="server-key",
            AWS_SECRET_ACCESS_KEY="server-secret",
            AWS_DEFAULT_REGION="us-east-1",
        )
        if s3_endpoint:
            env["MLFLOW_S3_ENDPOINT_URL"] = s3_endpoint
        exe = shutil.which("mlflow") or str(Path(sys.executable).parent / "mlflow")
        self.process = ServerProcess(
            [
                exe,
                "server",
                "--app-name",
                "basic-auth",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{workdir / 'mlflow.db'}",
                "--artifacts-destination",
                str(workdir / "artifacts"),
                "--serve-artifacts",
            ],
            ready=self._ready,
            env=env,
            cwd=workdir,
            log=workdir / "mlflow.log",
            timeout=90,
        )

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=0.5) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        self.process.stop()

    # -- REST as admin (or another user) -------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, str] | None = None,
        user: str = ADMIN_USER,
        password: str = ADMIN_PASSWORD,
    ) -> Any:
        url = f"{self.url}{path}"
        if params:
            from urllib.parse import urlencode

            url += "?" + urlencode(params)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", _basic(user, password))
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            # Generous: without the password cache (the benchmark) every call pays a hash, and
            # the machine may be busy with other servers.
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as exc:
            raise MlflowError(exc.code, exc.read().decode(errors="replace")) from None
        return json.loads(text) if text else {}

    def create_user(self, username: str, password: str) -> None:
        try:
            self.call("POST", "/api/2.0/mlflow/users/create", {"username": username, "password": password})
        except MlflowError as exc:
            if "RESOURCE_ALREADY_EXISTS" not in str(exc):
                raise

    def grant(self, username: str, experiment_id: str, permission: str) -> None:
        """Experiment permission for a user (3.13+: the unified grant endpoint); a user who holds
        one already gets the new one instead (revoked, then granted: there is no update)."""
        which = {"username": username, "resource_type": "experiment", "resource_id": experiment_id}
        try:
            self.call("POST", "/api/3.0/mlflow/users/permissions/grant", {**which, "permission": permission})
        except MlflowError as exc:
            if "RESOURCE_ALREADY_EXISTS" not in str(exc):
                raise
            self.call("POST", "/api/3.0/mlflow/users/permissions/revoke", which)
            self.call("POST", "/api/3.0/mlflow/users/permissions/grant", {**which, "permission": permission})

    def experiment(self, name: str, *, artifact_location: str | None = None) -> str:
        """The id of the experiment `name`, created (as admin) when missing."""
        try:
            found = self.call(
                "GET", "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": name}
            )
            return str(found["experiment"]["experiment_id"])
        except MlflowError as exc:
            if exc.status != 404:
                raise
        body: dict[str, Any] = {"name": name}
        if artifact_location:
            body["artifact_location"] = artifact_location
        return str(self.call("POST", "/api/2.0/mlflow/experiments/create", body)["experiment_id"])

    def runs(self, experiment_id: str, *, deleted: bool = False) -> list[dict[str, Any]]:
        body = {
            "experiment_ids": [experiment_id],
            "run_view_type": "DELETED_ONLY" if deleted else "ACTIVE_ONLY",
        }
        return list(self.call("POST", "/api/2.0/mlflow/runs/search", body).get("runs", []))


class FaultProxy:
    """Forwards every request to `upstream`, except that paths in `faults` get the canned
    (status, body) answer instead (a key is a path or `METHOD path`, one ending in `*` a
    prefix); the real server behind it keeps its state.

    With `context` it answers over TLS (a private CA's certificate in front of a plain HTTP
    server, as a TLS-terminating ingress does). `seen` lists the paths asked for, in order."""

    def __init__(self, upstream: str, *, context: ssl.SSLContext | None = None) -> None:
        self.upstream = upstream
        self.faults: dict[str, tuple[int, str]] = {}
        self.seen: list[str] = []
        proxy = self

        class Handler(StandInHandler):
            protocol_version = "HTTP/1.1"

            def handle_expect_100(self) -> bool:
                # boto3 waits for "100 Continue" before an upload's body: send it now, not
                # whenever the buffered writer would.
                self.send_response_only(100)
                self.end_headers()
                self.wfile.flush()
                return True

            def _body(self) -> bytes | None:
                if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                    length = int(self.headers.get("Content-Length") or 0)
                    return self.rfile.read(length) if length else None
                chunks = []  # boto3's uploads with a checksum trailer come chunked
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline().strip():  # trailers, up to the blank line
                    pass
                return b"".join(chunks)

            def _handle(self) -> None:
                body = self._body()
                path = self.path.split("?", 1)[0]
                proxy.seen.append(path)
                fault = proxy.fault_for(self.command, path)
                if fault is not None:
                    status, text = fault
                    self._answer(status, text.encode(), "application/json")
                    return
                request = urllib.request.Request(proxy.upstream + self.path, data=body, method=self.command)
                if body is not None and "Content-Type" not in self.headers:
                    # Else urllib says form data, and flask (moto) hands over an empty body.
                    request.add_header("Content-Type", "binary/octet-stream")
                for name, value in self.headers.items():
                    if name.lower() not in (
                        "host",
                        "content-length",
                        "connection",
                        "expect",
                        "transfer-encoding",
                    ):
                        request.add_header(name, value)
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        status, data, ctype = (
                            response.status,
                            response.read(),
                            response.headers.get("Content-Type"),
                        )
                except urllib.error.HTTPError as exc:
                    status, data, ctype = exc.code, exc.read(), exc.headers.get("Content-Type")
                self._answer(status, data, ctype or "application/octet-stream")

            def _answer(self, status: int, data: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        port = self.server.server_address[1]
        if context is not None:  # its certificate must name 127.0.0.1
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"{'https' if context is not None else 'http'}://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def fault_for(self, method: str, path: str) -> tuple[int, str] | None:
        """The canned answer for a request: a key is a path, or `METHOD path`; one ending in
        `*` matches every path it begins."""
        for key, answer in list(self.faults.items()):
            verb, _, pattern = key.rpartition(" ")
            if verb and verb != method:
                continue
            if path == pattern or (pattern.endswith("*") and path.startswith(pattern[:-1])):
                return answer
        return None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
