"""`harbor` against the real registry (Distribution 2.8) with token auth behind a Harbor-like
core, and with htpasswd Basic auth; docker configs with auths, credsStore and credHelpers."""

from __future__ import annotations

import base64
import json
import os
import ssl
import stat
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from aisg_check import registry
from aisg_check.check import Recorder
from aisg_check.checks.harbor import access, daemon
from aisg_check.context import Context
from aisg_check.model import CheckResult, Status
from aisg_check.platform import registry_v2
from aisg_check.secrets import jwt_claims
from tests.conftest import require
from tests.helpers import (
    LOOPBACK_PROFILE,
    assert_result,
    make_context,
    merge,
    run_cli,
    run_component,
    write_config,
)
from tests.servers.faults import CATEGORIES, Fault, assert_shared_code, faults
from tests.servers.tls import HTTPServer, closed_port, ssl_server_context

ALICE_PW = "alice-Canary-pw-7f3a9"  # developer of team
BOB_PW = "bob-Canary-pw-22c1"  # guest of team
CAROL_PW = "carol-Canary-pw-9d0e"  # member of nothing
ROBOT = "robot$team+ci"
ROBOT_SECRET = "RobotCanarySecret5b8e1c"
READONLY_ROBOT = "robot$team+reader"
READONLY_SECRET = "ReaderCanarySecret0a4f"
CANARIES = (ALICE_PW, BOB_PW, CAROL_PW, ROBOT_SECRET, READONLY_SECRET)


# -- servers ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def token_registry(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from team_platform(ca, tmp_path_factory)


def team_platform(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The Harbor stand-in with this file's accounts (the other test_harbor_* files start their own)."""
    from tests.servers import harbor as platform

    missing = platform.available()
    require(missing is None, missing or "")
    accounts = [
        platform.Account("alice", ALICE_PW, {"team": platform.DEVELOPER}),
        platform.Account("bob", BOB_PW, {"team": platform.GUEST}),
        platform.Account("carol", CAROL_PW),
        platform.Account(ROBOT, ROBOT_SECRET, robot_actions={"team": frozenset({"pull", "push"})}),
        platform.Account(READONLY_ROBOT, READONLY_SECRET, robot_actions={"team": frozenset({"pull"})}),
    ]
    server = platform.TokenRegistry(
        tmp_path_factory.mktemp("harbor-token"),
        ca,
        accounts,
        projects=frozenset({"team", "library"}),
        public=frozenset({"library"}),
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def basic_registry(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.servers import harbor as platform

    missing = platform.available()
    require(missing is None, missing or "")
    server = platform.BasicRegistry(tmp_path_factory.mktemp("harbor-basic"), ca, {"alice": ALICE_PW})
    try:
        yield server
    finally:
        server.stop()


# -- helpers ------------------------------------------------------------------------------------


def docker_login(home: Path, registry_address: str, user: str, password: str, **extra: Any) -> Path:
    """What `docker login` writes when no credential store is configured."""
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    config = {"auths": {registry_address: {"auth": auth}}, **extra}
    path = home / ".docker" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))
    return path


def helper_script(bin_dir: Path, name: str, body: str) -> Path:
    """A docker-credential-<name> program on PATH (POSIX sh, like the real pass/secretservice helpers)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / f"docker-credential-{name}"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def env_with(home: Path, **extra: str) -> dict[str, str]:
    # A closed port as the daemon, so a developer's own Docker does not change the outcome; no
    # Docker config JSON for CI from the developer's environment either.
    env = dict(os.environ, HOME=str(home), DOCKER_HOST=f"tcp://127.0.0.1:{closed_port()}")
    env.pop("HARBOR_DOCKER_CONFIG_JSON", None)
    env.update(extra)
    return env


def context(
    address: str,
    home: Path,
    ca_file: Path | None,
    *,
    env: Mapping[str, str] | None = None,
    **harbor_settings: Any,
) -> Context:
    settings: dict[str, Any] = {"timeout": 3, "harbor": {"registry": address, **harbor_settings}}
    if ca_file is not None:
        settings["ca_bundle"] = str(ca_file)
    return make_context(settings, env=env or env_with(home), home=home)


# -- users on the token (Harbor) registry -----------------------------------------------------


def test_developer_can_push(token_registry: Any, home: Path, ca_file: Path) -> None:
    docker_login(home, token_registry.address, "alice", ALICE_PW)
    results = run_component(context(token_registry.address, home, ca_file, projects=["team"]), "harbor")
    for step in (
        "vpn.harbor",
        "harbor.user.credentials",
        "harbor.user.username",
        "harbor.user.tls",
        "harbor.user.auth",
        "harbor.user.push.team",
    ):
        assert_result(results, step, "pass")
    push = results["harbor.user.push.team"]
    assert push.details["role"] == "Developer"
    assert push.details["granted"] == ["pull", "push"]
    assert "alice can push to team" in push.summary
    assert results["harbor.user.auth"].details["auth"] == "token"
    assert results["harbor.user.credentials"].details["source"].startswith("auths in ")
    assert_result(results, "harbor.daemon", "warn", "DOCKER_DAEMON_UNAVAILABLE")
    assert_result(results, "harbor.robot.file", "skip", "NOT_CONFIGURED")
    assert_result(results, "harbor.robot.auth", "skip", "NOT_CONFIGURED")
    assert "harbor.robot.push" not in results  # an empty group has no row
    assert_result(results, "harbor.ci.file", "skip", "NOT_CONFIGURED")  # no Docker config JSON for CI
    # Permission was asked for the probe repository with pull and push, as docker asks before a push.
    assert {"account": "alice", "scopes": ["repository:team/aisg-check:pull,push"]} in (
        token_registry.policy.token_requests
    )


def test_guest_can_only_pull(token_registry: Any, home: Path, ca_file: Path) -> None:
    docker_login(home, token_registry.address, "bob", BOB_PW)
    results = run_component(context(token_registry.address, home, ca_file, projects=["team"]), "harbor")
    assert_result(results, "harbor.user.auth", "pass")
    push = results["harbor.user.push.team"]
    assert_result(results, "harbor.user.push.team", "fail", "HARBOR_NO_PUSH")
    assert "role Guest" in push.summary
    assert "Developer" in (push.hint or "") and "mlops@aisingapore.org" in (push.hint or "")


def test_stranger_has_no_access_and_public_project_is_pull_only(
    token_registry: Any, home: Path, ca_file: Path
) -> None:
    docker_login(home, token_registry.address, "carol", CAROL_PW)
    results = run_component(
        context(token_registry.address, home, ca_file, projects=["team", "library", "nosuch"]), "harbor"
    )
    assert_result(results, "harbor.user.push.team", "fail", "HARBOR_NO_PROJECT_ACCESS")
    assert "log in once to the Harbor web UI" in (results["harbor.user.push.team"].hint or "")
    assert_result(results, "harbor.user.push.library", "fail", "HARBOR_NO_PUSH")
    assert_result(results, "harbor.user.push.nosuch", "fail", "HARBOR_NO_PROJECT_ACCESS")
    assert "no project by that name" in results["harbor.user.push.nosuch"].summary


def test_wrong_password_is_refused(token_registry: Any, home: Path, ca_file: Path) -> None:
    docker_login(home, token_registry.address, "alice", "not-the-password")
    results = run_component(context(token_registry.address, home, ca_file, projects=["team"]), "harbor")
    auth = results["harbor.user.auth"]
    assert_result(results, "harbor.user.auth", "fail", "HARBOR_AUTH_FAILED")
    assert f"docker login {token_registry.address} -u alice" in (auth.hint or "")
    assert "CLI secret" in (auth.hint or "")
    assert results["harbor.user.push"].blocked_by == "harbor.user.auth"


def test_issuer_hands_anonymous_token_for_wrong_credentials_with_scope(
    token_registry: Any, ca_file: Path
) -> None:
    """The server behaves as Harbor does, which is why the check logs in without a scope."""
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca_file))) as client:
        response = client.get(
            f"https://{token_registry.address}/service/token",
            params={"service": "harbor-registry", "scope": "repository:team/x:pull,push"},
            auth=("alice", "wrong"),
        )
    assert response.status_code == 200
    token_claims = jwt_claims(response.json()["token"])
    assert token_claims["sub"] == ""
    assert registry_v2.granted(token_claims, "team/x") == frozenset()


def test_anonymous_token_is_not_a_login(token_registry: Any, home: Path, ca_file: Path) -> None:
    """A token service that answers even an unscoped bad login with 200: `sub` must name the user."""
    policy = token_registry.policy
    real = policy.authenticate
    policy.authenticate = lambda header: (real(header)[0], False)  # wrong credentials look anonymous
    try:
        docker_login(home, token_registry.address, "alice", "not-the-password")
        results = run_component(context(token_registry.address, home, ca_file, projects=["team"]), "harbor")
    finally:
        policy.authenticate = real
    assert_result(results, "harbor.user.auth", "fail", "HARBOR_AUTH_FAILED")


def test_username_with_domain(token_registry: Any, home: Path, ca_file: Path) -> None:
    docker_login(home, token_registry.address, "alice@aisingapore.org", ALICE_PW)
    results = run_component(context(token_registry.address, home, ca_file, projects=["team"]), "harbor")
    assert_result(results, "harbor.user.username", "warn", "HARBOR_USERNAME_HAS_DOMAIN")
    assert f"docker login {token_registry.address} -u alice`" in (results["harbor.user.username"].hint or "")
    assert_result(results, "harbor.user.auth", "fail", "HARBOR_AUTH_FAILED")


# -- credential sources ---------------------------------------------------------------------


def test_not_logged_in_is_reported_off_the_vpn(home: Path) -> None:
    # The registry is a closed port: the local layer still reports, the rest is blocked.
    results = run_component(context(f"127.0.0.1:{closed_port()}", home, None), "harbor")
    assert_result(results, "harbor.user.credentials", "fail", "HARBOR_NOT_LOGGED_IN")
    assert "no Docker config" in results["harbor.user.credentials"].summary
    assert "docker login" in (results["harbor.user.credentials"].hint or "")
    assert results["harbor.user.auth"].status is Status.SKIP


def test_login_for_another_registry_only(home: Path) -> None:
    docker_login(home, "registry.example.org", "alice", ALICE_PW)
    address = f"127.0.0.1:{closed_port()}"
    results = run_component(context(address, home, None), "harbor")
    assert_result(results, "harbor.user.credentials", "fail", "HARBOR_NOT_LOGGED_IN")
    assert f"no login for {address}" in results["harbor.user.credentials"].summary


@pytest.mark.parametrize(
    "content",
    [
        '{"auths": {',
        '{"auths": {"127.0.0.1:1": {"auth": "bm9jb2xvbg=="}}}',
        "[1, 2]",
        '{"auths": {"127.0.0.1:1": {"auth": "bm9jb2xvbg=="}}, "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"auths": {"127.0.0.1:1": {"auth": "bm9jb2xvbg=="}}, "credsStore": 5}',
        '{"auths": {"127.0.0.1:1": {"auth": "bm9jb2xvbg=="}}, "credsStore": {"name": "pass"}}',
        '{"auths": {"127.0.0.1:1": {"auth": "bm9jb2xvbg=="}}, "credHelpers": {"127.0.0.1:1": ["pass"]}}',
    ],
    ids=[
        "not-json",
        "auth-without-colon",
        "not-an-object",
        "nested-past-recursion",
        "credsstore-a-number",
        "credsstore-an-object",
        "credhelper-a-list",
    ],
)
def test_docker_config_invalid(home: Path, content: str) -> None:
    path = home / ".docker" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    results = run_component(context("127.0.0.1:1", home, None), "harbor")
    assert_result(results, "harbor.user.credentials", "fail", "HARBOR_DOCKER_CONFIG_INVALID")
    assert str(path) in results["harbor.user.credentials"].summary
    assert "bm9jb2xvbg" not in results["harbor.user.credentials"].summary


def test_docker_config_env_is_honoured(
    token_registry: Any, home: Path, ca_file: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "docker-elsewhere"
    docker_login(elsewhere.parent / "x", token_registry.address, "alice", ALICE_PW)
    (elsewhere.parent / "x" / ".docker").rename(elsewhere)
    ctx = context(token_registry.address, home, ca_file, env=env_with(home, DOCKER_CONFIG=str(elsewhere)))
    results = run_component(ctx, "harbor")
    assert_result(results, "harbor.user.credentials", "pass")
    assert results["harbor.user.credentials"].details["docker_config"] == str(elsewhere / "config.json")
    assert_result(results, "harbor.user.push", "skip", "NOT_CONFIGURED")


def _helper_env(home: Path, tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    return env_with(home, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")


def _good_helper(tmp_path: Path, name: str, registry_address: str) -> None:
    helper_script(
        tmp_path / "bin",
        name,
        f'read server\nif [ "$1" = get ] && [ "$server" = "{registry_address}" ]; then\n'
        f'  echo \'{{"ServerURL":"{registry_address}","Username":"alice","Secret":"{ALICE_PW}"}}\'\n'
        "  exit 0\nfi\necho 'credentials not found in native keychain'\nexit 1\n",
    )


@pytest.mark.parametrize("section", ["credHelpers", "credsStore"])
def test_credential_helper(
    token_registry: Any, home: Path, ca_file: Path, tmp_path: Path, section: str
) -> None:
    _good_helper(tmp_path, "aisgtest", token_registry.address)
    where = (
        {"credHelpers": {token_registry.address: "aisgtest"}}
        if section == "credHelpers"
        else {"credsStore": "aisgtest"}
    )
    config = home / ".docker" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"auths": {token_registry.address: {}}, **where}))
    ctx = context(token_registry.address, home, ca_file, env=_helper_env(home, tmp_path), projects=["team"])
    results = run_component(ctx, "harbor")
    assert_result(results, "harbor.user.credentials", "pass")
    assert results["harbor.user.credentials"].details["source"] == f"{section} docker-credential-aisgtest"
    assert_result(results, "harbor.user.push.team", "pass")
    assert config.read_text() == json.dumps(
        {"auths": {token_registry.address: {}}, **where}
    )  # never modified


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("echo 'error: gpg: decryption failed: No secret key'\nexit 1\n", "decryption failed"),
        ("sleep 5\n", "did not finish"),
        (None, "not installed"),
    ],
    ids=["erroring", "hanging", "missing"],
)
def test_credential_helper_failed(home: Path, tmp_path: Path, body: str | None, expected: str) -> None:
    address = f"127.0.0.1:{closed_port()}"
    if body is not None:
        helper_script(tmp_path / "bin", "broken", body)
    config = home / ".docker" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"credsStore": "broken"}))
    ctx = make_context(
        {"timeout": 0.5, "harbor": {"registry": address}}, env=_helper_env(home, tmp_path), home=home
    )
    started = time.monotonic()
    results = run_component(ctx, "harbor")
    assert time.monotonic() - started < 3
    credentials = results["harbor.user.credentials"]
    assert_result(results, "harbor.user.credentials", "fail", "HARBOR_CREDHELPER_FAILED")
    assert expected in credentials.summary
    assert "docker-credential-broken" in credentials.summary


def test_credential_helper_error_output_never_prints_a_secret(home: Path, tmp_path: Path) -> None:
    """A helper's error output is a program's text: masked for every secret the run has read
    (another registry's stored password), for `password=`-like keys and Authorization values."""
    address = f"127.0.0.1:{closed_port()}"
    other = "Other-Registry-Canary-41d9"
    echoed = "Echoed-Helper-Canary-77ab"
    basic = base64.b64encode(f"bob:{BOB_PW}".encode()).decode()
    helper_script(
        tmp_path / "bin",
        "leaky",
        f"echo 'error: unlock failed: password={echoed} (also {other}; "
        f"Authorization: Basic {basic})'\nexit 1\n",
    )
    config = home / ".docker" / "config.json"
    config.parent.mkdir(parents=True)
    auth = base64.b64encode(f"carol:{other}".encode()).decode()
    config.write_text(
        json.dumps({"auths": {"elsewhere.example:5000": {"auth": auth}}, "credsStore": "leaky"})
    )
    ctx = make_context({"harbor": {"registry": address}}, env=_helper_env(home, tmp_path), home=home)
    results = run_component(ctx, "harbor", skip=["vpn.*"])
    credentials = assert_result(
        results, "harbor.user.credentials", "fail", "HARBOR_CREDHELPER_FAILED", summary_has=["unlock failed"]
    )
    text = json.dumps([r.to_dict() for r in results.values()])
    for secret in (echoed, other, basic, BOB_PW):
        assert secret not in text, secret
    assert "docker-credential-leaky" in credentials.summary


def test_basic_auth_encoding_of_the_login_is_a_known_secret(
    token_registry: Any, home: Path, ca_file: Path
) -> None:
    # "bob:" is four characters: base64 of "bob:<password>" does not contain base64 of the
    # password alone, so the scrubber must know the Authorization header's own encoding.
    docker_login(home, token_registry.address, "bob", BOB_PW)
    ctx = context(token_registry.address, home, ca_file)
    run_component(ctx, "harbor", skip=["harbor.robot", "harbor.daemon"])
    basic = base64.b64encode(f"bob:{BOB_PW}".encode()).decode()
    assert base64.b64encode(BOB_PW.encode()).decode().rstrip("=") not in basic  # the case at hand
    assert basic.rstrip("=") not in ctx.scrubber.scrub(f"a server echoed {basic} back")


def test_identity_token_is_not_a_harbor_login(home: Path, tmp_path: Path) -> None:
    address = f"127.0.0.1:{closed_port()}"
    helper_script(
        tmp_path / "bin",
        "oauth",
        f'read server\necho \'{{"ServerURL":"{address}","Username":"<token>","Secret":"{ALICE_PW}"}}\'\n',
    )
    config = home / ".docker" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"credHelpers": {address: "oauth"}}))
    results = run_component(
        make_context({"harbor": {"registry": address}}, env=_helper_env(home, tmp_path), home=home), "harbor"
    )
    assert_result(results, "harbor.user.credentials", "fail", "HARBOR_NOT_LOGGED_IN")
    assert "identity token" in results["harbor.user.credentials"].summary
    assert ALICE_PW not in json.dumps([r.to_dict() for r in results.values()])


def test_helper_without_entry_falls_back_to_auths(home: Path, tmp_path: Path) -> None:
    address = f"127.0.0.1:{closed_port()}"
    _good_helper(tmp_path, "aisgtest", "somewhere-else:5000")
    config = home / ".docker" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"credsStore": "aisgtest", "auths": {address: {}}}))
    results = run_component(
        make_context({"harbor": {"registry": address}}, env=_helper_env(home, tmp_path), home=home), "harbor"
    )
    assert_result(results, "harbor.user.credentials", "fail", "HARBOR_NOT_LOGGED_IN")
    assert "docker-credential-aisgtest" in results["harbor.user.credentials"].summary


# -- TLS and odd registries -------------------------------------------------------------------


def test_untrusted_certificate_names_dockers_ca_path(token_registry: Any, home: Path) -> None:
    docker_login(home, token_registry.address, "alice", ALICE_PW)
    ctx = context(token_registry.address, home, None, projects=["team"])
    for skip in ((), ("vpn.harbor",)):  # found by the VPN probe, or by the check itself
        results = run_component(ctx, "harbor", skip=skip)
        assert_result(results, "harbor.user.tls", "fail", "TLS_UNTRUSTED_CERT")
        assert f"/etc/docker/certs.d/{token_registry.address}/ca.crt" in (
            results["harbor.user.tls"].hint or ""
        )
        assert results["harbor.user.auth"].blocked_by == "harbor.user.tls"


@pytest.fixture(scope="module")
def fault_endpoints() -> Iterator[dict[str, Fault]]:
    with faults() as found:
        yield found


@pytest.mark.parametrize("category", CATEGORIES)
def test_transport_failures_get_the_shared_codes(
    category: str, fault_endpoints: dict[str, Fault], home: Path
) -> None:
    """Past its probe (skipped here), the first request of the user's chain meets each way a
    connection fails and reports the shared code, not HARBOR_REGISTRY_ERROR."""
    fault = fault_endpoints[category]
    docker_login(home, fault.host, "alice", ALICE_PW)
    ctx = make_context(
        {"timeout": 1, "harbor": {"registry": fault.host, "projects": ["team"]}},
        env={"HOME": str(home), **fault.env},
        home=home,
    )
    results = run_component(ctx, "harbor", skip=["vpn.*", "harbor.robot", "harbor.daemon"])
    assert_result(results, "harbor.user.credentials", "pass")
    assert_shared_code(fault, results["harbor.user.tls"])
    assert results["harbor.user.auth"].blocked_by == "harbor.user.tls"
    if category == "tls":  # Docker does not read this tool's CA settings: its own place is named
        assert f"/etc/docker/certs.d/{fault.host}/ca.crt" in (results["harbor.user.tls"].hint or "")


def test_registry_server_error(ca: Any, home: Path, ca_file: Path) -> None:
    def broken(handler: Any) -> None:
        handler.send_response(503)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    server = HTTPServer(ssl_server_context(ca, "127.0.0.1"), {"/v2/": broken})
    try:
        address = f"127.0.0.1:{server.port}"
        docker_login(home, address, "alice", ALICE_PW)
        results = run_component(context(address, home, ca_file), "harbor")
    finally:
        server.close()
    assert_result(results, "harbor.user.tls", "pass")
    assert_result(results, "harbor.user.auth", "fail", "HARBOR_REGISTRY_ERROR")
    assert "HTTP 503" in results["harbor.user.auth"].summary


def test_basic_auth_registry(basic_registry: Any, home: Path, ca_file: Path) -> None:
    docker_login(home, basic_registry.address, "alice", ALICE_PW)
    results = run_component(context(basic_registry.address, home, ca_file, projects=["team"]), "harbor")
    assert_result(results, "harbor.user.auth", "pass")
    assert results["harbor.user.auth"].details["auth"] == "basic"
    assert_result(results, "harbor.user.push.team", "pass")
    assert "no roles" in results["harbor.user.push.team"].summary

    docker_login(home, basic_registry.address, "alice", "wrong-password")
    results = run_component(context(basic_registry.address, home, ca_file, projects=["team"]), "harbor")
    assert_result(results, "harbor.user.auth", "fail", "HARBOR_AUTH_FAILED")


# -- robot accounts ---------------------------------------------------------------------------


def robot_file(tmp_path: Path, **data: Any) -> Path:
    path = tmp_path / "robot.json"
    path.write_text(json.dumps(data))
    return path


def test_robot_can_push(token_registry: Any, home: Path, ca_file: Path, tmp_path: Path) -> None:
    expires = int(time.time()) + 86400 * 30
    path = robot_file(
        tmp_path, id=3, name=ROBOT, secret=ROBOT_SECRET, expires_at=expires, creation_time="2024"
    )
    results = run_component(context(token_registry.address, home, ca_file, robot_file=str(path)), "harbor")
    assert_result(results, "harbor.robot.file", "pass")
    assert results["harbor.robot.file"].details["format"] == "harbor-2.2+"
    assert_result(results, "harbor.robot.auth", "pass")
    # The project comes from the robot's name (robot$<project>+<name>) when none is configured.
    assert_result(results, "harbor.robot.push.team", "pass")
    # The user's own chain is independent: no docker login here.
    assert_result(results, "harbor.user.credentials", "fail", "HARBOR_NOT_LOGGED_IN")


def test_legacy_robot_file_and_read_only_robot(
    token_registry: Any, home: Path, ca_file: Path, tmp_path: Path
) -> None:
    path = robot_file(tmp_path, name=READONLY_ROBOT, token=READONLY_SECRET)
    results = run_component(
        context(token_registry.address, home, ca_file, robot_file=str(path), projects=["team"]), "harbor"
    )
    assert results["harbor.robot.file"].details["format"] == "legacy"
    assert "never expires" in results["harbor.robot.file"].summary
    assert_result(results, "harbor.robot.push.team", "fail", "HARBOR_NO_PUSH")


def test_robot_expired(home: Path, tmp_path: Path) -> None:
    path = robot_file(tmp_path, name=ROBOT, secret=ROBOT_SECRET, expires_at=int(time.time()) - 60)
    results = run_component(
        make_context({"harbor": {"robot_file": str(path)}}, env=env_with(home), home=home), "harbor"
    )
    assert_result(results, "harbor.robot.file", "fail", "HARBOR_ROBOT_EXPIRED")
    assert "expired on" in results["harbor.robot.file"].summary


def test_robot_expiry_is_judged_by_the_contexts_clock(home: Path, tmp_path: Path) -> None:
    # A year from now, as the machine's clock says; expired by a context whose clock is later.
    path = robot_file(tmp_path, name=ROBOT, secret=ROBOT_SECRET, expires_at=int(time.time()) + 365 * 86400)
    later = datetime.now(timezone.utc) + timedelta(days=400)
    ctx = make_context(
        {"harbor": {"robot_file": str(path)}}, env=env_with(home), home=home, now=lambda: later
    )
    results = run_component(ctx, "harbor", only=["harbor.robot"], skip=["vpn.*"])
    assert_result(results, "harbor.robot.file", "fail", "HARBOR_ROBOT_EXPIRED")


@pytest.mark.parametrize("expires_at", [10**20, 2**70, 10**400], ids=["1e20", "2^70", "1e400"])
def test_robot_expiry_beyond_any_date(home: Path, tmp_path: Path, expires_at: int) -> None:
    path = robot_file(tmp_path, name=ROBOT, secret=ROBOT_SECRET, expires_at=expires_at)
    ctx = make_context({"harbor": {"robot_file": str(path)}}, env=env_with(home), home=home)
    results = run_component(ctx, "harbor", only=["harbor.robot"], skip=["vpn.*"])
    result = assert_result(results, "harbor.robot.file", "pass", summary_has=["after the year 9999"])
    assert result.details["expires_at"] == "after the year 9999"


@pytest.mark.parametrize(
    "content",
    [
        '{"name": "robot$team+ci", "secret": "x", "permissions": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"name": "robot$team+ci", "secret": "x", "permissions": ' + "[" * 40 + "]" * 40 + "}",
        '{"name": "robot$team+ci", "secret": "xxxxxxxx", "pad": "' + "x" * (1 << 20) + '"}',
        '{"name": "robot$team+ci", "secret": "xxxxxxxx", "expires_at": ' + "9" * 5000 + "}",
        '{"name": "robot$team+' + "c" * 10_000 + '", "secret": "xxxxxxxx"}',
    ],
    ids=[
        "nested-past-recursion",
        "nested-past-the-bound",
        "over-1-MiB",
        "number-past-int-limit",
        "long-name",
    ],
)
def test_robot_file_of_unbounded_shape_is_named(home: Path, tmp_path: Path, content: str) -> None:
    path = tmp_path / "robot.json"
    path.write_text(content)
    ctx = make_context({"harbor": {"robot_file": str(path)}}, env=env_with(home), home=home)
    results = run_component(ctx, "harbor", only=["harbor.robot"], skip=["vpn.*"])
    assert_result(results, "harbor.robot.file", "fail", "HARBOR_ROBOT_FILE_INVALID", summary_has=[str(path)])
    assert len(results["harbor.robot.file"].summary) < 300


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
def test_robot_file_that_is_a_fifo_is_refused_without_blocking(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "robot.json"
    os.mkfifo(path)  # opening it to read would wait for a writer forever
    ctx = make_context({"harbor": {"robot_file": str(path)}}, env=env_with(home), home=home)
    results = run_component(ctx, "harbor", only=["harbor.robot"], skip=["vpn.*"])
    assert_result(
        results, "harbor.robot.file", "fail", "HARBOR_ROBOT_FILE_INVALID", summary_has=["not a regular"]
    )


def test_robot_blocked_by_unreachable_registry(home: Path, tmp_path: Path) -> None:
    path = robot_file(tmp_path, name=ROBOT, secret=ROBOT_SECRET, expires_at=-1)
    address = f"127.0.0.1:{closed_port()}"
    ctx = make_context(
        {"harbor": {"registry": address, "robot_file": str(path)}}, env=env_with(home), home=home
    )
    results = run_component(ctx, "harbor")
    assert_result(results, "vpn.harbor", "fail", "VPN_CONNECT_REFUSED")
    assert_result(results, "harbor.robot.file", "pass")
    assert results["harbor.robot.auth"].blocked_by == "vpn.harbor"


@pytest.mark.parametrize(
    "content",
    [
        None,
        "not json",
        json.dumps({"name": ROBOT}),
        json.dumps({"name": ROBOT, "secret": "x" * 8, "expires_at": "soon"}),
    ],
    ids=["missing", "not-json", "no-secret", "bad-expiry"],
)
def test_robot_file_invalid(home: Path, tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "robot.json"
    if content is not None:
        path.write_text(content)
    results = run_component(
        make_context({"harbor": {"robot_file": str(path)}}, env=env_with(home), home=home), "harbor"
    )
    assert_result(results, "harbor.robot.file", "fail", "HARBOR_ROBOT_FILE_INVALID")
    assert str(path) in results["harbor.robot.file"].summary


@pytest.mark.parametrize(
    ("name", "code"),
    [(ROBOT, "HARBOR_ROBOT_AUTH_FAILED"), ("robotteam+ci", "HARBOR_ROBOT_NAME_EXPANDED")],
    ids=["wrong-secret", "dollar-eaten"],
)
def test_robot_refused(
    token_registry: Any, home: Path, ca_file: Path, tmp_path: Path, name: str, code: str
) -> None:
    secret = "WrongSecret123" if name == ROBOT else ROBOT_SECRET
    path = robot_file(tmp_path, name=name, secret=secret, expires_at=-1)
    results = run_component(
        context(token_registry.address, home, ca_file, robot_file=str(path), projects=["team"]), "harbor"
    )
    auth = assert_result(results, "harbor.robot.auth", "fail", code)
    # A name that lost its `$...` is pointed out with the name Harbor gave it, quoted.
    assert ("'robot$team+ci'" in (auth.hint or "")) is (name != ROBOT)


# -- docker daemon ----------------------------------------------------------------------------


def test_daemon_answers(home: Path) -> None:
    from docker.constants import DEFAULT_DOCKER_API_VERSION

    def ping(handler: Any) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"OK")

    server = HTTPServer(routes={f"/v{DEFAULT_DOCKER_API_VERSION}/_ping": ping})
    try:
        env = env_with(home, DOCKER_HOST=f"tcp://127.0.0.1:{server.port}")
        results = run_component(make_context(env=env, home=home), "harbor", only=["harbor.daemon"])
    finally:
        server.close()
    assert list(results) == ["harbor.daemon"]  # the daemon check alone: it needs no VPN probe
    assert_result(results, "harbor.daemon", "pass", summary_has=[f"127.0.0.1:{server.port}"])


def _daemon_only(home: Path, env: Mapping[str, str], **context: Any) -> CheckResult:
    results = run_component(make_context(env=env, home=home, **context), "harbor", only=["harbor.daemon"])
    (result,) = results.values()
    return result


@pytest.mark.skipif(sys.platform == "win32", reason="unix sockets")
def test_daemon_answers_on_a_unix_socket(home: Path, tmp_path: Path) -> None:
    # Linux's default: the SDK's ping over a unix socket, here a real one served by Python.
    import http.server
    import socketserver
    import threading

    from docker.constants import DEFAULT_DOCKER_API_VERSION

    class Ping(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def address_string(self) -> str:  # a unix socket has no (host, port)
            return "unix"

        def do_GET(self) -> None:
            ok = self.path == f"/v{DEFAULT_DOCKER_API_VERSION}/_ping"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"OK")

    path = tmp_path / "docker.sock"
    server = socketserver.ThreadingUnixStreamServer(str(path), Ping)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = _daemon_only(home, env_with(home, DOCKER_HOST=f"unix://{path}"))
    finally:
        server.shutdown()
        server.server_close()
    assert result.status is Status.PASS, result.summary


def test_daemon_missing_socket_is_reported_without_the_sdk(home: Path, tmp_path: Path) -> None:
    result = _daemon_only(home, env_with(home, DOCKER_HOST=f"unix://{tmp_path}/none.sock"))
    assert result.status is Status.WARN and result.code == "DOCKER_DAEMON_UNAVAILABLE"
    assert f"no socket at {tmp_path}/none.sock" in result.summary


@pytest.mark.skipif(sys.platform == "win32", reason="unix sockets")
def test_daemon_stale_socket_goes_to_the_sdk(home: Path, tmp_path: Path) -> None:
    # The file exists but nobody listens (a daemon that died): only the SDK's ping can tell.
    import socket

    path = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
    assert path.exists()
    result = _daemon_only(home, env_with(home, DOCKER_HOST=f"unix://{path}"))
    assert result.status is Status.WARN and result.code == "DOCKER_DAEMON_UNAVAILABLE"
    assert "ConnectionRefused" in result.summary or "Connection refused" in result.summary, result.summary


def test_daemon_refused_port_is_reported_without_the_sdk(home: Path) -> None:
    port = closed_port()
    result = _daemon_only(home, env_with(home, DOCKER_HOST=f"tcp://127.0.0.1:{port}"))
    assert result.status is Status.WARN and result.code == "DOCKER_DAEMON_UNAVAILABLE"
    assert f"127.0.0.1:{port} refused the connection" in result.summary


@pytest.mark.parametrize(
    ("platform", "relative", "setting"),
    [("darwin", ".docker/run/docker.sock", True), ("linux", ".docker/desktop/docker.sock", False)],
)
def test_daemon_names_docker_desktops_own_socket(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: str, relative: str, setting: bool
) -> None:
    # No /var/run/docker.sock (here: a path that does not exist), but Docker Desktop's socket.
    monkeypatch.setattr(daemon, "DEFAULT_UNIX_SOCKET", str(tmp_path / "var-run-docker.sock"))
    desktop = home / relative
    desktop.parent.mkdir(parents=True)
    desktop.touch()
    env = {k: v for k, v in env_with(home).items() if k != "DOCKER_HOST"}
    result = _daemon_only(home, env, platform=platform)
    assert result.status is Status.WARN and result.code == "DOCKER_DAEMON_UNAVAILABLE"
    assert f"Docker Desktop listens at {desktop}" in result.summary
    assert f"DOCKER_HOST=unix://{desktop}" in result.summary
    assert ("Allow the default Docker socket" in result.summary) is setting


@pytest.mark.parametrize(
    "docker_host",
    ["tcp://[::1:2375", "tcp://127.0.0.1"],
    ids=["malformed-ipv6", "no-port"],
)
def test_daemon_hosts_the_reach_step_cannot_judge_go_to_the_sdk(home: Path, docker_host: str) -> None:
    # Not decided by the reach step (no crash, no guess): the SDK's own error is the warning.
    result = _daemon_only(home, env_with(home, DOCKER_HOST=docker_host))
    assert result.status is Status.WARN and result.code == "DOCKER_DAEMON_UNAVAILABLE", result.summary
    assert f"at {docker_host}" in result.summary


def test_daemon_host_is_stripped_as_the_sdk_does(home: Path) -> None:
    port = closed_port()
    result = _daemon_only(home, env_with(home, DOCKER_HOST=f" tcp://127.0.0.1:{port}\r\n"))
    assert result.status is Status.WARN and f"127.0.0.1:{port} refused the connection" in result.summary


def test_daemon_behind_a_proxy_is_left_to_the_sdk(home: Path) -> None:
    # requests sends an http:// daemon through HTTP_PROXY; a direct connect would not, so the
    # reach step stands aside and the SDK's own answer is reported. (The SDK reads the process
    # environment, not the test's context, so here it connects directly and is refused.)
    env = env_with(home, DOCKER_HOST=f"tcp://127.0.0.1:{closed_port()}")
    env = {k: v for k, v in env.items() if k.lower() not in ("no_proxy", "http_proxy", "https_proxy")}
    env["HTTP_PROXY"] = f"http://127.0.0.1:{closed_port()}"
    result = _daemon_only(home, env)
    assert result.status is Status.WARN and result.code == "DOCKER_DAEMON_UNAVAILABLE"
    assert "refused the connection" not in result.summary  # not our reach step's wording
    assert "HTTPConnectionPool" in result.summary, result.summary  # requests', under the SDK


def test_each_harbor_check_can_be_selected_alone() -> None:
    """Sibling ids (harbor.user, harbor.robot, harbor.ci, harbor.daemon): skipping one keeps the others."""
    ids = {c.id for c in registry.select(["harbor"], skip=["harbor.daemon"])}
    assert ids == {"harbor.user", "harbor.robot", "harbor.ci", "vpn.harbor"}
    assert {c.id for c in registry.select(["harbor"], only=["harbor.robot"])} == {
        "harbor.robot",
        "vpn.harbor",
    }


# -- pure helpers ---------------------------------------------------------------------------


def test_parse_challenge_and_granted() -> None:
    challenge = registry_v2.parse_challenge(
        'Bearer realm="https://r/service/token",service="harbor-registry",error="x"'
    )
    assert challenge == registry_v2.Challenge("bearer", "https://r/service/token", "harbor-registry")
    assert registry_v2.parse_challenge('Basic realm="basic-realm"').scheme == "basic"
    access = {
        "access": [
            {"type": "repository", "name": "p/r", "actions": ["push", "pull"]},
            {"type": "repository", "name": "other/r", "actions": ["*"]},
        ]
    }
    assert registry_v2.granted(access, "p/r") == {"pull", "push"}
    assert registry_v2.granted(access, "other/r") >= {"pull", "push"}
    assert registry_v2.granted({}, "p/r") == frozenset()
    assert jwt_claims("not-a-jwt") == {}


def test_jwt_claims_are_decoded_without_verification() -> None:
    def segment(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    header = segment(b'{"alg":"RS256"}')
    token = f"{header}.{segment(json.dumps({'sub': 'alice', 'exp': 5}).encode())}.sig"
    assert jwt_claims(token) == {"sub": "alice", "exp": 5}
    assert jwt_claims(f"{header}.{segment(b'[1, 2]')}.sig") == {}  # claims must be an object
    assert jwt_claims(f"{header}.!!!.sig") == {}
    assert jwt_claims(f"{header}.{segment(b'{}')}") == {}  # two parts: not a JWT


def test_each_request_gets_the_time_left_not_the_time_at_the_start(home: Path) -> None:
    """The client is made once; each request's timeout must shrink as the check's deadline nears."""
    seen: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"]["read"])
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})

    now = [0.0]
    check = registry.check("harbor.user")
    rec = Recorder(check, docs_base_url="x", clock=lambda: now[0], deadline_at=lambda: 10.0)
    ctx = context("127.0.0.1:1", home, None)  # timeout 3
    with httpx.Client(transport=httpx.MockTransport(answer), timeout=rec.step_timeout(ctx.timeout)) as http:
        client = access.client(ctx, rec, http, "127.0.0.1:1")
        client.challenge()
        now[0] = 9.0  # a slow registry used up most of the check's time
        client.challenge()
    assert seen == [3.0, pytest.approx(0.95)]


def test_budgets_cover_every_request_of_a_slow_registry() -> None:
    """One timeout per request: credential helper + /v2/, token, /v2/ + 2 per project (three)."""
    assert registry.check("harbor.user").budget >= 1 + 3 + 2 * 3
    assert registry.check("harbor.robot").budget >= 3 + 3


# -- the real CLI: end to end and secret canaries ---------------------------------------------


def _cli_env(home: Path, token_registry: Any, ca_file: Path, **harbor_settings: Any) -> dict[str, str]:
    settings = merge(
        LOOPBACK_PROFILE,
        {"ca_bundle": str(ca_file), "harbor": {"registry": token_registry.address, **harbor_settings}},
    )
    config = write_config(home / "aisg.yaml", settings)
    return env_with(home, AISG_CHECK_CONFIG=str(config))


def test_cli_end_to_end_json(token_registry: Any, home: Path, ca_file: Path, tmp_path: Path) -> None:
    docker_login(home, token_registry.address, "alice", ALICE_PW)
    path = robot_file(tmp_path, name=ROBOT, secret=ROBOT_SECRET, expires_at=-1)
    env = _cli_env(home, token_registry, ca_file)
    result = run_cli(["harbor", "--project", "team", "--robot-file", str(path), "--format", "json"], env=env)
    assert result.returncode == 0, result.stderr
    by_id = {r["id"]: r for r in result.json()["results"]}
    assert by_id["harbor.user.push.team"]["status"] == "pass"
    assert by_id["harbor.robot.push.team"]["status"] == "pass"
    assert by_id["harbor.daemon"]["code"] == "DOCKER_DAEMON_UNAVAILABLE"
    assert {r["component"] for r in by_id.values()} == {"vpn", "harbor"}


def test_secrets_never_printed(token_registry: Any, home: Path, ca_file: Path, tmp_path: Path) -> None:
    # Every secret in play: a stored password (refused, with its domain) and a refused robot secret.
    docker_login(home, token_registry.address, "alice@aisingapore.org", ALICE_PW)
    path = robot_file(tmp_path, name="robotteam+ci", secret=ROBOT_SECRET, expires_at=-1)
    env = _cli_env(home, token_registry, ca_file)
    outputs = []
    for extra in (
        ["--format", "table"],
        ["--format", "table", "--verbose"],
        ["--format", "json"],
        ["--format", "junit"],
        ["--format", "markdown", "--verbose"],
    ):
        result = run_cli(["harbor", "--project", "team", "--robot-file", str(path), *extra], env=env)
        assert result.returncode == 1  # the refused logins fail the run
        outputs.append(result.stdout + result.stderr)
    text = "\n".join(outputs)
    assert "HARBOR_ROBOT_NAME_EXPANDED" in text and "HARBOR_AUTH_FAILED" in text
    encoded = base64.b64encode(f"alice@aisingapore.org:{ALICE_PW}".encode()).decode()
    for secret in (*CANARIES, encoded):
        assert secret not in text
    assert "eyJ" not in text  # no token either


def test_help_does_not_import_docker(home: Path) -> None:
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "aisg_check", "--help"],
        capture_output=True,
        text=True,
        env=env_with(home),
        timeout=60,
    )
    assert proc.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "aisg_check.cli" in imported or "aisg_check" in imported
    assert not {name for name in imported if name == "docker" or name.startswith("docker.")}
