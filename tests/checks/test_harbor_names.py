"""Robot names typed in a shell: `robot$team+ci` unquoted loses `$team`. The expansion is the real
one (bash, dash), the logins the real docker CLI's and the real registry's (Distribution with
htpasswd Basic auth, and with token auth behind the Harbor stand-in)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aisg_check.checks.harbor import names
from tests.checks.test_harbor import (
    ROBOT,
    ROBOT_SECRET,
    context,
    docker_login,
    env_with,
    robot_file,
    team_platform,
)
from tests.conftest import require
from tests.helpers import assert_result, run_component
from tests.servers.tls import closed_port

EXPANDED = "robot+ci"  # ROBOT (robot$team+ci) after a shell expanded the unset $team


@pytest.fixture(scope="module")
def token_registry(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from team_platform(ca, tmp_path_factory)


# -- the rule, against real shells ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("robot+ci", True),
        ("robot-team+ci", True),
        ("robotteam+ci", True),
        ("robot", True),
        ("robot$team+ci", False),
        ("robot$ci", False),
        ("robotics", False),
        ("alice", False),
        ("Robot+ci", False),
        ("", False),
    ],
)
def test_looks_expanded(name: str, expected: bool) -> None:
    assert names.looks_expanded(name) is expected


@pytest.mark.parametrize(
    ("left", "projects", "expected"),
    [
        ("robot+ci", ["team"], "robot$team+ci"),
        ("robot-team+ci", ["other", "my-team"], "robot$my-team+ci"),
        ("robot+ci", ["team", "other"], "robot$<project>+ci"),  # either: not guessed
        ("robotteam+ci", ["team"], "robot$team+ci"),  # only the `$` dropped
        ("robot+ci", [], "robot$<project>+ci"),
        ("robot-x+ci", ["team"], "robot$<project>+ci"),
        ("robot", ["team"], "robot$<name>"),
    ],
)
def test_restored_names_the_robot_as_harbor_does(left: str, projects: list[str], expected: str) -> None:
    assert names.restored(left, projects) == expected


def _shells() -> list[str]:
    return [shell for shell in ("bash", "dash", "zsh") if shutil.which(shell)]


@pytest.mark.parametrize("shell", _shells())
@pytest.mark.parametrize("project", ["team", "my-team", "ml_ops2"])
def test_a_real_shell_expands_the_name_as_the_check_assumes(shell: str, project: str) -> None:
    """What the shell leaves is recognised and restored; the hint's quoted form survives it."""
    real = f"robot${project}+ci"
    left = subprocess.run(
        [shell, "-c", f"printf %s {real}"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout
    assert left != real
    assert names.looks_expanded(left), left
    assert names.restored(left, [project]) == real
    hint = names.quoting_hint("registry.example:443", left, [project])
    quoted = re.search(r"bash/zsh: `docker login \S+ -u ('[^']*')`", hint)
    assert quoted, hint
    kept = subprocess.run(
        [shell, "-c", f"printf %s {quoted.group(1)}"], capture_output=True, text=True, check=True
    ).stdout
    assert kept == real


def test_quoting_is_safe_for_any_text() -> None:
    text = "robot$it's+ci"
    out = subprocess.run(
        ["bash", "-c", f"printf %s {names.bash_quoted(text)}"], capture_output=True, text=True
    )
    assert out.stdout == text
    assert names.powershell_quoted(text) == "'robot$it''s+ci'"  # PowerShell's verbatim string


# -- the check, with each source of a name --------------------------------------------------------


def _auth_file(tmp_path: Path, registry: str, user: str, secret: str) -> Path:
    path = tmp_path / "docker-config.json"
    auth = base64.b64encode(f"{user}:{secret}".encode()).decode()
    path.write_text(json.dumps({"auths": {registry: {"auth": auth}}}))
    return path


SOURCES = {
    # source: (the row that reads the name, the row that logs in)
    "docker-login": ("harbor.user.username", "harbor.user.auth"),
    "robot-file": ("harbor.robot.file", "harbor.robot.auth"),
    "auth-file": ("harbor.ci.file", "harbor.ci.auth"),
}


def _settings_for(source: str, home: Path, tmp_path: Path, registry: str, user: str) -> dict[str, Any]:
    if source == "docker-login":
        docker_login(home, registry, user, ROBOT_SECRET)
        return {}
    if source == "robot-file":
        return {"robot_file": str(robot_file(tmp_path, name=user, secret=ROBOT_SECRET, expires_at=-1))}
    return {"auth_file": str(_auth_file(tmp_path, registry, user, ROBOT_SECRET))}


@pytest.mark.parametrize("source", SOURCES)
def test_an_expanded_name_gets_its_own_code_on_the_harbor_stand_in(
    source: str, token_registry: Any, home: Path, ca_file: Path, tmp_path: Path
) -> None:
    address = token_registry.address
    extra = _settings_for(source, home, tmp_path, address, EXPANDED)
    results = run_component(context(address, home, ca_file, projects=["team"], **extra), "harbor")
    read, auth = SOURCES[source]
    local = assert_result(results, read, "warn", "HARBOR_ROBOT_NAME_EXPANDED", summary_has=["robot$team+ci"])
    refused = assert_result(results, auth, "fail", "HARBOR_ROBOT_NAME_EXPANDED")
    for result in (local, refused):
        hint = result.hint or ""
        assert f"bash/zsh: `docker login {address} -u 'robot$team+ci'`" in hint, hint
        assert f"PowerShell: `docker login {address} -u 'robot$team+ci'`" in hint, hint
        assert '"robot`$team+ci"' in hint and "Expand variable reference" in hint
    # The same login with the name Harbor gave passes.
    extra = _settings_for(source, home, tmp_path, address, ROBOT)
    results = run_component(context(address, home, ca_file, projects=["team"], **extra), "harbor")
    assert_result(results, read, "pass")
    assert_result(results, auth, "pass")


@pytest.mark.parametrize("source", SOURCES)
def test_an_expanded_name_is_told_off_the_vpn(source: str, home: Path, tmp_path: Path) -> None:
    """The name is read locally: its row reports even when the registry cannot be reached."""
    address = f"127.0.0.1:{closed_port()}"
    extra = _settings_for(source, home, tmp_path, address, EXPANDED)
    results = run_component(context(address, home, None, **extra), "harbor")
    read, auth = SOURCES[source]
    assert_result(results, read, "warn", "HARBOR_ROBOT_NAME_EXPANDED")
    assert results[auth].blocked_by == "vpn.harbor"


@pytest.fixture(scope="module")
def basic_robot_registry(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.servers import harbor as platform

    missing = platform.available()
    require(missing is None, missing or "")
    server = platform.BasicRegistry(tmp_path_factory.mktemp("basic-robot"), ca, {ROBOT: ROBOT_SECRET})
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("source", ["docker-login", "auth-file"])
def test_an_expanded_name_on_the_real_registry_with_basic_auth(
    source: str, basic_robot_registry: Any, home: Path, ca_file: Path, tmp_path: Path
) -> None:
    address = basic_robot_registry.address
    read, auth = SOURCES[source]
    extra = _settings_for(source, home, tmp_path, address, EXPANDED)
    results = run_component(context(address, home, ca_file, **extra), "harbor")
    assert_result(results, read, "warn", "HARBOR_ROBOT_NAME_EXPANDED")
    assert_result(results, auth, "fail", "HARBOR_ROBOT_NAME_EXPANDED", hint_has=["'robot$<project>+ci'"])
    extra = _settings_for(source, home, tmp_path, address, ROBOT)
    results = run_component(context(address, home, ca_file, **extra), "harbor")
    assert_result(results, auth, "pass")


# -- the hint's command, run by the real docker CLI ------------------------------------------------


def _docker(home: Path, command: str, docker_config: Path) -> subprocess.CompletedProcess[str]:
    """`command` through bash with the real docker CLI. With no daemon (a closed port) it logs in
    client side, and treats 127.0.0.0/8 as an insecure registry (TLS unverified: loopback only)."""
    env = env_with(home, DOCKER_CONFIG=str(docker_config))
    return subprocess.run(
        ["bash", "-c", command], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def test_the_hints_command_logs_in_with_the_real_docker_cli(
    token_registry: Any, home: Path, ca_file: Path, tmp_path: Path
) -> None:
    require(shutil.which("docker") is not None, "the docker CLI is not installed")
    address = token_registry.address
    config_dir = tmp_path / "docker"
    # Typed unquoted, as in the onboarding guide's example: the registry refuses what is left.
    typed = _docker(
        home, f"printf %s {ROBOT_SECRET} | docker login {address} -u {ROBOT} --password-stdin", config_dir
    )
    assert typed.returncode != 0, typed.stdout + typed.stderr
    assert not (config_dir / "config.json").exists()
    # The check, given the name the shell left, shows the command that works.
    path = robot_file(tmp_path, name=EXPANDED, secret=ROBOT_SECRET, expires_at=-1)
    results = run_component(
        context(address, home, ca_file, robot_file=str(path), projects=["team"]),
        "harbor",
        only=["harbor.robot"],
    )
    hint = results["harbor.robot.auth"].hint or ""
    command = re.search(r"bash/zsh: `([^`]+)`", hint)
    assert command, hint
    logged_in = _docker(home, f"printf %s {ROBOT_SECRET} | {command.group(1)} --password-stdin", config_dir)
    assert logged_in.returncode == 0, logged_in.stdout + logged_in.stderr
    assert ROBOT_SECRET not in logged_in.stdout + logged_in.stderr
    # What docker stored is a Docker config JSON with an inline `auth`: harbor.ci takes it as it is.
    stored = json.loads((config_dir / "config.json").read_text())
    assert base64.b64decode(stored["auths"][address]["auth"]).decode() == f"{ROBOT}:{ROBOT_SECRET}"
    results = run_component(
        context(address, home, ca_file, auth_file=str(config_dir / "config.json")),
        "harbor",
        only=["harbor.ci"],
    )
    assert_result(results, "harbor.ci.file", "pass", summary_has=[ROBOT])
    assert_result(results, "harbor.ci.push.team", "pass")  # the project from the robot's name
