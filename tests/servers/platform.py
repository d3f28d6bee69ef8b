"""The whole test platform on 127.0.0.1 at once, every component green: what `aisg-check all`
finds on a laptop after onboarding, with each AI Singapore service replaced by the local server
the component's own tests use.

- gitlab: real sshd greeting like gitlab-shell (gitlab_ssh) and nginx + git-http-backend with
  GitLab's API endpoints (gitlab_http);
- rancher: a TLS server whose `/ping` answers `pong`; the Run:ai dashboard: a TLS server that
  answers 200;
- runai: the Kubernetes API stand-in (kube_api) trusting id-tokens from the OIDC issuer (oidc),
  the user's rights granted in the project namespace, a stand-in `runai` CLI on PATH;
- harbor: Distribution behind the Harbor-like core (harbor.TokenRegistry), a robot account,
  and a Docker daemon stand-in that answers `_ping`;
- ecs: moto's S3/IAM server (s3.MotoServer) with a bucket and an IAM user whose keys are in
  ~/.aws. IAM enforcement is off by default: moto 5.2 with enforcement on answers any unsigned
  request (the `vpn.ecs` probe's `HEAD /`) with HTTP 500 (KeyError 'HTTP_AUTHORIZATION' in its
  auth code), where a real S3 endpoint answers 403, so `vpn.ecs` would warn
  ENDPOINT_HTTP_ERROR against moto alone. `enforce_iam=True` turns it on (tests/checks/test_ecs.py
  covers wrong keys and denials with it on);
- mlflow: a real basic-auth MLflow server (mlflow_server.MlflowServer; 10-40 s to start, so it
  starts first, in a thread, while the others come up).

The HOME holds what onboarding leaves behind: ~/.ssh (config, key, known_hosts), ~/.gitconfig
(trusting the test CA, with a git credential store holding the GitLab token), ~/.kube/config
(the guide's oidc shape with `runai login`'s tokens), ~/.docker/config.json, ~/.aws/credentials
and config, ~/.mlflow/credentials, a robot account file, and ~/.config/aisg-check/config.yaml
pointing every endpoint at these servers; outside HOME, the Docker config JSON a CI job gets
(harbor.auth_file) with the robot's login. `Platform.env` is the environment to run the CLI with.

    with start_platform(tmp_dir) as p:
        subprocess.run([sys.executable, "-m", "aisg_check", "all"], env=p.env)

In tests, the session fixture `test_platform` below starts it once for every module that lists
this module in `pytest_plugins` (tests/test_platform.py, tests/test_clean_output.py): the
machine is shared, and the MLflow server alone takes 10-40 s to start.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import importlib.metadata
import importlib.util
import json
import os
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml

from tests.servers import gitlab_http, gitlab_ssh, harbor, mlflow_server, s3
from tests.servers.kube_api import KubeAPIServer, KubeState
from tests.servers.oidc import CLIENT_ID, OIDCIssuer
from tests.servers.tls import HTTPServer, ssl_server_context, write_ca

# Who the user is on each service.
HARBOR_USER, HARBOR_PASSWORD = "alice", "alice-Harbor-pw-3c9d1"
HARBOR_PROJECT = "team"
ROBOT, ROBOT_SECRET = f"robot${HARBOR_PROJECT}+ci", "RobotPlatformSecret7a2e4"
RUNAI_USER = "alice"
RUNAI_EMAIL = f"{RUNAI_USER}@aisingapore.org"  # the email claim the API server takes as username
RUNAI_PROJECT = "proj"
RUNAI_NAMESPACE = f"runai-{RUNAI_PROJECT}"
RUNAI_REFRESH = "rt-platform-alice-0123456789"
RUNAI_RIGHTS = (("create", "", "pods"), ("list", "", "pods"), ("create", "batch", "jobs"))
AWS_PROFILE = "ecs"
BUCKET = "project-1"
MLFLOW_USER, MLFLOW_PASSWORD = "alice", "alice-Mlflow-Pass-6610"
MLFLOW_EXPERIMENT = "aisg-preflight"
TIMEOUT = 10

# Variables of the tools the checks honour: the developer's own must not leak into the platform.
_SCRUBBED_PREFIXES = ("AWS_", "MLFLOW_", "AISG_CHECK_", "DOCKER_", "KUBE", "GIT_", "SSH_", "XDG_")
_SCRUBBED = {
    "GITLAB_TOKEN",
    "CI_JOB_TOKEN",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    *(v for name in ("https_proxy", "http_proxy", "all_proxy", "no_proxy") for v in (name, name.upper())),
    "NO_COLOR",
    "FORCE_COLOR",
}


def missing() -> str | None:
    """None when every server of the platform can run here, else why not."""
    for reason in (gitlab_ssh.available(), gitlab_http.available(), harbor.available()):
        if reason:
            return reason
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        return "moto[server] is not installed (pip install 'moto[server]')"
    try:
        importlib.metadata.version("mlflow")
    except importlib.metadata.PackageNotFoundError:
        return "mlflow[auth] is not installed (pip install 'mlflow[auth]==3.17.2')"
    if importlib.util.find_spec("flask_wtf") is None:
        return "mlflow[auth] is not installed (flask_wtf is missing)"
    if importlib.util.find_spec("docker") is None:
        return "the docker SDK is not installed"
    return None


@dataclass
class Platform:
    home: Path
    config: Path  # the aisg-check config file (also AISG_CHECK_CONFIG in env)
    env: dict[str, str]  # HOME, PATH (with the stand-in runai), DOCKER_HOST, AISG_CHECK_CONFIG, ...
    ca_file: Path
    settings: dict[str, Any]
    servers: dict[str, Any] = field(default_factory=dict)
    startup_s: float = 0.0


def _pong(handler: http.server.BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Content-Length", "4")
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(b"pong")


def _docker_ping(handler: http.server.BaseHTTPRequestHandler) -> None:
    """The Docker Engine API's `GET /_ping`: 200 `OK`."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain; charset=utf-8")
    handler.send_header("Api-Version", "1.45")
    handler.send_header("Content-Length", "2")
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(b"OK")


def _write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(text)
    os.chmod(path, mode)
    return path


def _clean_env(base: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in base.items() if k not in _SCRUBBED and not k.startswith(_SCRUBBED_PREFIXES)}


def _start_mlflow(workdir: Path) -> mlflow_server.MlflowServer:
    server = mlflow_server.MlflowServer(workdir)
    try:
        server.create_user(MLFLOW_USER, MLFLOW_PASSWORD)
        # MANAGE: the check deletes its test run again, which EDIT may not.
        server.grant(MLFLOW_USER, server.experiment(MLFLOW_EXPERIMENT), "MANAGE")
    except Exception:
        server.stop()
        raise
    return server


def _start_moto(workdir: Path, enforce_iam: bool) -> tuple[s3.MotoServer, s3.AccessKey]:
    server = s3.MotoServer(workdir)
    try:
        server.reset()
        server.create_bucket(BUCKET, {"data/a.csv": b"a,b\n1,2\n"})
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
                *s3.bucket_policy([BUCKET], ["s3:*"])["Statement"],
            ],
        }
        key = server.create_user("alice", policy)
        if enforce_iam:
            server.enforce_auth()
    except Exception:
        server.stop()
        raise
    return server, key


@contextlib.contextmanager
def start_platform(
    workdir: Path,
    *,
    ca: trustme.CA | None = None,
    base_env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT,
    enforce_iam: bool = False,
) -> Iterator[Platform]:
    """Start every server under `workdir`, write the onboarded HOME and the config, yield the
    platform; everything is stopped on exit."""
    started = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    ca = ca or trustme.CA()
    ca_file = write_ca(ca, workdir / "ca.pem")
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    for sub in ("mlflow", "moto", "ssh", "http", "registry"):
        (workdir / sub).mkdir(exist_ok=True)
    servers: dict[str, Any] = {}
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(max_workers=2) as pool:
        # The slow starters first, in the background.
        mlflow_future = pool.submit(_start_mlflow, workdir / "mlflow")
        moto_future = pool.submit(_start_moto, workdir / "moto", enforce_iam)

        try:
            # -- gitlab
            sshd = servers["sshd"] = gitlab_ssh.GitlabSshServer(workdir / "ssh")
            stack.callback(sshd.stop)
            web = servers["gitlab_web"] = gitlab_http.GitlabHttpServer(workdir / "http", ca)
            stack.callback(web.stop)
            # -- rancher and the Run:ai dashboard
            server_tls = ssl_server_context(ca, "127.0.0.1", "localhost")
            rancher = servers["rancher"] = HTTPServer(server_tls, routes={"/ping": _pong})
            stack.callback(rancher.close)
            dashboard = servers["runai_dashboard"] = HTTPServer(
                ssl_server_context(ca, "127.0.0.1", "localhost")
            )
            stack.callback(dashboard.close)
            # -- runai
            issuer = servers["oidc"] = OIDCIssuer(ca, host="127.0.0.1")
            stack.callback(issuer.close)
            issuer.refresh_tokens[RUNAI_REFRESH] = RUNAI_USER
            kube = servers["kube"] = KubeAPIServer(ca, KubeState(oidc_issuer=issuer.issuer))
            stack.callback(kube.close)
            for verb, group, resource in RUNAI_RIGHTS:
                kube.grant(RUNAI_EMAIL, RUNAI_NAMESPACE, verb, resource, group)
            # -- harbor
            registry = servers["harbor"] = harbor.TokenRegistry(
                workdir / "registry",
                ca,
                [
                    harbor.Account(HARBOR_USER, HARBOR_PASSWORD, {HARBOR_PROJECT: harbor.DEVELOPER}),
                    harbor.Account(
                        ROBOT, ROBOT_SECRET, robot_actions={HARBOR_PROJECT: frozenset({"pull", "push"})}
                    ),
                ],
                projects=frozenset({HARBOR_PROJECT, "library"}),
                public=frozenset({"library"}),
            )
            stack.callback(registry.stop)
            from docker.constants import DEFAULT_DOCKER_API_VERSION

            daemon = servers["docker_daemon"] = HTTPServer(
                routes={f"/v{DEFAULT_DOCKER_API_VERSION}/_ping": _docker_ping}
            )
            stack.callback(daemon.close)
        finally:
            # Whatever happened above, the background servers get stopped with the rest.
            for name, future in (("moto", moto_future), ("mlflow", mlflow_future)):
                with contextlib.suppress(Exception):
                    value = future.result()
                    server = value[0] if isinstance(value, tuple) else value
                    servers[name] = server
                    stack.callback(server.stop)
        moto, aws_key = moto_future.result()  # raises here when it did not start
        mlflow = mlflow_future.result()

        # -- the onboarded HOME ---------------------------------------------------------------
        key = sshd.copy_key(sshd.key_ok, home / ".ssh")
        ssh_config = sshd.client_home(home, identity=key, port=sshd.port)
        git_store = _write(
            home / ".git-credentials",
            f"https://{gitlab_http.HELPER_USER}:{gitlab_http.TOKENS['valid'].value}@127.0.0.1:{web.port}\n",
        )
        _write(
            home / ".gitconfig",
            f"[http]\n\tsslCAInfo = {ca_file}\n[credential]\n\thelper = store --file {git_store}\n",
            0o644,
        )
        kubeconfig = _write(home / ".kube" / "config", _kubeconfig(kube, issuer, ca))
        bin_dir = workdir / "bin"
        _write(bin_dir / "runai", '#!/bin/sh\necho "Version: 2.18.42"\n', 0o755)
        auth = base64.b64encode(f"{HARBOR_USER}:{HARBOR_PASSWORD}".encode()).decode()
        _write(home / ".docker" / "config.json", json.dumps({"auths": {registry.address: {"auth": auth}}}))
        robot_file = _write(
            home / "robot-team-ci.json",
            json.dumps(
                {
                    "id": 3,
                    "name": ROBOT,
                    "secret": ROBOT_SECRET,
                    "creation_time": "2026-01-05T08:00:00Z",
                    "expires_at": int(time.time()) + 86400 * 90,
                }
            ),
        )
        # What a CI job (or a fleet pod) gets: the robot's login as a Docker config JSON file
        # with an inline `auth`, the file variable HARBOR_DOCKER_CONFIG_JSON names.
        robot_auth = base64.b64encode(f"{ROBOT}:{ROBOT_SECRET}".encode()).decode()
        ci_auth_file = _write(
            workdir / "ci" / "harbor-docker-config.json",
            json.dumps({"auths": {registry.address: {"auth": robot_auth}}}),
        )
        _write(
            home / ".aws" / "credentials",
            f"[{AWS_PROFILE}]\naws_access_key_id = {aws_key.key_id}\n"
            f"aws_secret_access_key = {aws_key.secret}\n",
        )
        _write(
            home / ".aws" / "config",
            f"[profile {AWS_PROFILE}]\nregion = {s3.REGION}\nendpoint_url = {moto.url}\n",
        )
        _write(
            home / ".mlflow" / "credentials",
            f"[mlflow]\nmlflow_tracking_username = {MLFLOW_USER}\n"
            f"mlflow_tracking_password = {MLFLOW_PASSWORD}\n",
        )
        settings: dict[str, Any] = {
            "timeout": timeout,
            "ca_bundle": str(ca_file),
            "gitlab": {
                "host": "127.0.0.1",
                "ssh_port": sshd.port,
                "ssh_user": sshd.login,
                "ssh_config": str(ssh_config),
                "url": web.url,
                "repo": web.repo_url,
            },
            "rancher": {"url": rancher.url("127.0.0.1").rstrip("/")},
            "runai": {
                "url": dashboard.url("127.0.0.1").rstrip("/"),
                "cluster_url": kube.url("127.0.0.1"),
                "kubeconfig": str(kubeconfig),
                "project": RUNAI_PROJECT,
            },
            "harbor": {
                "registry": registry.address,
                "projects": [HARBOR_PROJECT],
                "robot_file": str(robot_file),
                "auth_file": str(ci_auth_file),
            },
            "ecs": {
                "endpoint_url": moto.url,
                "profile": AWS_PROFILE,
                "buckets": [BUCKET],
                "write_test": True,
            },
            "mlflow": {"tracking_uri": mlflow.url, "experiment": MLFLOW_EXPERIMENT},
            "vpn": {"extra": []},
        }
        config = home / ".config" / "aisg-check" / "config.yaml"
        _write(config, yaml.safe_dump(settings, sort_keys=False), 0o644)
        env = _clean_env(os.environ if base_env is None else base_env)
        env.update(mlflow_server.QUIET_ENV)
        env.update(
            HOME=str(home),
            USERPROFILE=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            AISG_CHECK_CONFIG=str(config),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_TERMINAL_PROMPT="0",
            NO_COLOR="1",
            DOCKER_HOST=f"tcp://127.0.0.1:{daemon.port}",
            PATH=os.pathsep.join(p for p in (str(bin_dir), env.get("PATH", "")) if p),
        )
        yield Platform(
            home=home,
            config=config,
            env=env,
            ca_file=ca_file,
            settings=settings,
            servers=servers,
            startup_s=time.monotonic() - started,
        )


@pytest.fixture(scope="session")
def test_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The whole platform, once per test session, shared by the modules using this plugin."""
    from tests.conftest import require

    reason = missing()
    require(reason is None, reason or "")
    with contextlib.ExitStack() as stack:
        try:
            platform = stack.enter_context(start_platform(tmp_path_factory.mktemp("platform")))
        except RuntimeError as exc:
            require(False, f"the test platform did not start: {exc}")
        yield platform


def _kubeconfig(kube: KubeAPIServer, issuer: OIDCIssuer, ca: trustme.CA) -> str:
    """The onboarding guide's kubeconfig (oidc auth-provider for runai-cli) after `runai login`
    added its tokens, with the cluster's CA instead of insecure-skip-tls-verify."""
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "runai-cluster",
                    "cluster": {
                        "server": kube.url("127.0.0.1"),
                        "certificate-authority-data": base64.b64encode(ca.cert_pem.bytes()).decode(),
                    },
                }
            ],
            "contexts": [
                {"name": "runai-cluster", "context": {"cluster": "runai-cluster", "user": "runai-user"}}
            ],
            "current-context": "runai-cluster",
            "preferences": {},
            "users": [
                {
                    "name": "runai-user",
                    "user": {
                        "auth-provider": {
                            "name": "oidc",
                            "config": {
                                "airgapped": "true",
                                "auth-flow": "remote-browser",
                                "realm": "aisingapore",
                                "client-id": CLIENT_ID,
                                "idp-issuer-url": issuer.issuer,
                                "id-token": issuer.mint(RUNAI_USER, expires_in=86400),
                                "refresh-token": RUNAI_REFRESH,
                            },
                        }
                    },
                }
            ],
        },
        sort_keys=False,
    )
