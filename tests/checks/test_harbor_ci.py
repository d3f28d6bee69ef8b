"""`harbor.ci`: the Docker config JSON that CI jobs and pods log in with (harbor.auth_file, env
HARBOR_DOCKER_CONFIG_JSON), against the real registry behind the Harbor stand-in; `harbor.user`
and `harbor.daemon` where that file is the identity (CI, a pod); the preflight job's script."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aisg_check.model import Status
from tests.checks.test_harbor import (
    ALICE_PW,
    READONLY_ROBOT,
    READONLY_SECRET,
    ROBOT,
    ROBOT_SECRET,
    context,
    docker_login,
    env_with,
    team_platform,
)
from tests.helpers import (
    LOOPBACK_PROFILE,
    assert_result,
    merge,
    run_cli,
    run_component,
    run_preflight,
    write_config,
)
from tests.servers.tls import closed_port

REPO = Path(__file__).resolve().parents[2]
LONG_ROBOT = "robot$team+a-robot-with-a-name-long-enough-for-base64-to-wrap"
LONG_SECRET = "LongRobotCanarySecret9f3c2a7e61"


@pytest.fixture(scope="module")
def token_registry(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.servers import harbor as platform

    for server in team_platform(ca, tmp_path_factory):
        server.policy.accounts[LONG_ROBOT] = platform.Account(
            LONG_ROBOT, LONG_SECRET, robot_actions={"team": frozenset({"pull", "push"})}
        )
        yield server


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def auth_file(tmp_path: Path, content: Any, name: str = "harbor-auth.json") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def inline(registry: str, user: str = ROBOT, secret: str = ROBOT_SECRET) -> dict[str, Any]:
    return {"auths": {registry: {"auth": b64(f"{user}:{secret}")}}}


def _dump(results: Any) -> str:
    return json.dumps([r.to_dict() for r in results.values()])


# -- the file's login on the registry -----------------------------------------------------------


def test_a_robots_ci_file_can_push(token_registry: Any, home: Path, ca_file: Path, tmp_path: Path) -> None:
    address = token_registry.address
    path = auth_file(tmp_path, inline(address))
    results = run_component(context(address, home, ca_file, auth_file=str(path)), "harbor")
    ci = assert_result(results, "harbor.ci.file", "pass", summary_has=[ROBOT, "kaniko"])
    assert ci.details["form"] == "auth" and ci.details["key"] == address
    assert_result(results, "harbor.ci.auth", "pass", summary_has=["robot account"])
    assert_result(results, "harbor.ci.push.team", "pass")  # the project from the robot's name
    # No docker login of the user's own here: not a failure where the CI file is the identity.
    user = assert_result(
        results, "harbor.user.credentials", "skip", "NOT_CONFIGURED", summary_has=["harbor.ci"]
    )
    assert str(path) in user.summary
    assert all(r.status is Status.SKIP for i, r in results.items() if i.startswith("harbor.user"))
    assert not [r for r in results.values() if r.status.is_problem]


def test_a_users_ci_file_gets_the_users_layers(
    token_registry: Any, home: Path, ca_file: Path, tmp_path: Path
) -> None:
    address = token_registry.address
    path = auth_file(tmp_path, inline(address, "alice", ALICE_PW))
    ctx = context(address, home, ca_file, auth_file=str(path), projects=["team", "library"])
    results = run_component(ctx, "harbor", only=["harbor.ci"])
    team = assert_result(results, "harbor.ci.push.team", "pass")
    assert team.details["role"] == "Developer"
    assert_result(results, "harbor.ci.push.library", "fail", "HARBOR_NO_PUSH")


def test_a_read_only_robot_cannot_push(
    token_registry: Any, home: Path, ca_file: Path, tmp_path: Path
) -> None:
    address = token_registry.address
    path = auth_file(tmp_path, inline(address, READONLY_ROBOT, READONLY_SECRET))
    results = run_component(
        context(address, home, ca_file, auth_file=str(path)), "harbor", only=["harbor.ci"]
    )
    assert_result(results, "harbor.ci.push.team", "fail", "HARBOR_NO_PUSH", hint_has=["robot account"])


def test_a_refused_secret_names_the_file_and_how_to_rebuild_it(
    token_registry: Any, home: Path, ca_file: Path, tmp_path: Path
) -> None:
    address = token_registry.address
    path = auth_file(tmp_path, inline(address, ROBOT, "Stale-Canary-Secret-0b1c"))
    results = run_component(
        context(address, home, ca_file, auth_file=str(path)), "harbor", only=["harbor.ci"]
    )
    assert_result(
        results,
        "harbor.ci.auth",
        "fail",
        "HARBOR_ROBOT_AUTH_FAILED",
        summary_has=[str(path)],
        hint_has=["HARBOR_DOCKER_CONFIG_JSON", "base64 -w0"],
    )
    assert results["harbor.ci.push"].blocked_by == "harbor.ci.auth"
    assert "Stale-Canary-Secret-0b1c" not in _dump(results)


def _coreutils_base64(text: str, *, echo: bool = False) -> str:
    """The `auth` as a CI script makes it with the real tools: `printf '%s' … | base64` (GNU
    base64 wraps at 76 columns), or `echo … | base64`, which encodes a trailing newline too."""
    command = f"echo '{text}' | base64" if echo else f"printf '%s' '{text}' | base64"
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("form", ["url-key", "username-password", "wrapped-base64", "other-registrys-helper"])
def test_forms_docker_and_kaniko_accept(
    form: str, token_registry: Any, home: Path, ca_file: Path, tmp_path: Path
) -> None:
    address = token_registry.address
    auth = b64(f"{ROBOT}:{ROBOT_SECRET}")
    content: dict[str, Any] = {
        "url-key": {"auths": {f"https://{address}/v2/": {"auth": auth}}},
        "username-password": {"auths": {address: {"username": ROBOT, "password": ROBOT_SECRET}}},
        "wrapped-base64": {"auths": {address: {"auth": _coreutils_base64(f"{LONG_ROBOT}:{LONG_SECRET}")}}},
        "other-registrys-helper": {**inline(address), "credHelpers": {"gcr.io": "gcloud"}},
    }[form]
    if form == "wrapped-base64":
        assert "\n" in content["auths"][address]["auth"].strip()  # the case at hand
    path = auth_file(tmp_path, content)
    results = run_component(
        context(address, home, ca_file, auth_file=str(path)), "harbor", only=["harbor.ci"]
    )
    assert_result(results, "harbor.ci.file", "pass")
    assert_result(results, "harbor.ci.push.team", "pass")


# -- files builders cannot use --------------------------------------------------------------------

R = "127.0.0.1:5999"  # the registry these files are checked for (never contacted: the file fails first)
GOOD = b64(f"{ROBOT}:{ROBOT_SECRET}")
FILE_CASES: dict[str, tuple[Any, str, str]] = {
    # id: (content, code, words of the summary)
    "credsstore": (
        {"auths": {R: {"auth": GOOD}}, "credsStore": "desktop"},
        "HARBOR_AUTH_FILE_HELPER",
        "credsStore",
    ),
    "credhelper": (
        {"auths": {R: {}}, "credHelpers": {R: "secretservice"}},
        "HARBOR_AUTH_FILE_HELPER",
        "credHelpers",
    ),
    "no-entry": (
        {"auths": {"elsewhere.example": {"auth": GOOD}}},
        "HARBOR_AUTH_FILE_NO_LOGIN",
        "no `auths` entry",
    ),
    "empty-entry": ({"auths": {R: {}}}, "HARBOR_AUTH_FILE_NO_LOGIN", "no inline `auth`"),
    "identity-token": (
        {"auths": {R: {"identitytoken": "Tok-Canary-77"}}},
        "HARBOR_AUTH_FILE_NO_LOGIN",
        "identity",
    ),
    "not-base64": ({"auths": {R: {"auth": "%%%" + GOOD}}}, "HARBOR_AUTH_FILE_INVALID", "not standard base64"),
    "no-padding": ({"auths": {R: {"auth": GOOD.rstrip("=") + "A"}}}, "HARBOR_AUTH_FILE_INVALID", "base64"),
    "no-colon": ({"auths": {R: {"auth": b64(ROBOT_SECRET)}}}, "HARBOR_AUTH_FILE_INVALID", "user:secret"),
    "empty-secret": ({"auths": {R: {"auth": b64(f"{ROBOT}:")}}}, "HARBOR_AUTH_FILE_INVALID", "empty"),
    "not-json": ('{"auths": {', "HARBOR_AUTH_FILE_INVALID", "not valid JSON"),
    "not-an-object": ("[]", "HARBOR_AUTH_FILE_INVALID", "expected a JSON object"),
    "auths-a-string": ({"auths": "x"}, "HARBOR_AUTH_FILE_INVALID", "`auths` is not an object"),
    "no-auths": ({"credsStore": ""}, "HARBOR_AUTH_FILE_INVALID", "no `auths`"),
    "dockercfg": ({R: {"auth": GOOD, "email": "x@y.z"}}, "HARBOR_AUTH_FILE_INVALID", ".dockercfg"),
    "k8s-secret": (
        {"apiVersion": "v1", "kind": "Secret", "data": {".dockerconfigjson": b64(json.dumps({"auths": {}}))}},
        "HARBOR_AUTH_FILE_INVALID",
        "Kubernetes Secret",
    ),
}


@pytest.mark.parametrize("case", FILE_CASES)
def test_files_builders_cannot_use_get_a_code_naming_the_file(case: str, home: Path, tmp_path: Path) -> None:
    content, code, words = FILE_CASES[case]
    path = auth_file(tmp_path, content)
    results = run_component(context(R, home, None, auth_file=str(path)), "harbor", only=["harbor.ci"])
    result = assert_result(results, "harbor.ci.file", "fail", code, summary_has=[str(path), words])
    assert '{"auths": {"127.0.0.1:5999": {"auth": "<base64 of user:secret>"}}}' in (result.hint or "")
    assert results["harbor.ci.auth"].blocked_by == "harbor.ci.file"
    text = _dump(results)
    for secret in (ROBOT_SECRET, GOOD, "Tok-Canary-77"):
        assert secret not in text


def test_a_secret_encoded_with_its_newline_is_named(home: Path, tmp_path: Path) -> None:
    auth = _coreutils_base64(f"{ROBOT}:{ROBOT_SECRET}", echo=True).strip()
    path = auth_file(tmp_path, {"auths": {R: {"auth": auth}}})
    results = run_component(context(R, home, None, auth_file=str(path)), "harbor", only=["harbor.ci"])
    assert_result(
        results, "harbor.ci.file", "fail", "HARBOR_AUTH_FILE_INVALID", summary_has=["line break", "printf"]
    )
    assert ROBOT_SECRET not in _dump(results) and auth not in _dump(results)


def test_a_missing_file_fails_on_a_laptop_and_is_not_configured_in_a_pod(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    results = run_component(context(R, home, None, auth_file=str(path)), "harbor", only=["harbor.ci"])
    assert_result(results, "harbor.ci.file", "fail", "HARBOR_AUTH_FILE_INVALID", summary_has=[str(path)])
    # The CronJob's Secret is optional: a project without one has nothing to check.
    ctx = context(R, home, None, auth_file=str(path))
    pod = run_component(_in_pod(ctx, home), "harbor", only=["harbor.ci"])
    assert_result(pod, "harbor.ci.file", "skip", "NOT_CONFIGURED", summary_has=[str(path)])
    assert_result(pod, "harbor.ci.auth", "skip", "NOT_CONFIGURED")


def test_not_configured(home: Path) -> None:
    results = run_component(context(R, home, None), "harbor", only=["harbor.ci"], skip=["vpn.*"])
    assert_result(results, "harbor.ci.file", "skip", "NOT_CONFIGURED", hint_has=["HARBOR_DOCKER_CONFIG_JSON"])
    assert_result(results, "harbor.ci.auth", "skip", "NOT_CONFIGURED")
    assert "harbor.ci.push" not in results


# -- where the file is the identity: a laptop with both, CI, a pod -----------------------------------


def _in_pod(ctx: Any, home: Path) -> Any:
    from tests.helpers import make_context

    harbor: dict[str, Any] = {
        "registry": ctx.settings.harbor.registry,
        "auth_file": ctx.settings.harbor.auth_file,
    }
    if ctx.settings.harbor.projects:
        harbor["projects"] = list(ctx.settings.harbor.projects)
    settings: dict[str, Any] = {"timeout": 3, "fleet": {"mode": "cluster"}, "harbor": harbor}
    if ctx.settings.ca_bundle:
        settings["ca_bundle"] = ctx.settings.ca_bundle
    return make_context(settings, env=dict(ctx.env), home=home)


def test_a_laptop_with_its_own_login_and_a_ci_file_checks_both(
    token_registry: Any, home: Path, ca_file: Path, tmp_path: Path
) -> None:
    address = token_registry.address
    docker_login(home, address, "alice", ALICE_PW)
    path = auth_file(tmp_path, inline(address))
    results = run_component(context(address, home, ca_file, auth_file=str(path), projects=["team"]), "harbor")
    assert_result(results, "harbor.user.push.team", "pass")
    assert_result(results, "harbor.ci.push.team", "pass")
    assert_result(results, "harbor.daemon", "warn", "DOCKER_DAEMON_UNAVAILABLE")


def test_in_a_pod_the_ci_file_is_the_identity(
    token_registry: Any, home: Path, ca_file: Path, tmp_path: Path
) -> None:
    address = token_registry.address
    docker_login(home, address, "alice", ALICE_PW)  # even a login there is not what a pod uses
    path = auth_file(tmp_path, inline(address))
    results = run_component(_in_pod(context(address, home, ca_file, auth_file=str(path)), home), "harbor")
    assert_result(results, "harbor.ci.push.team", "pass")
    for step in ("credentials", "username", "tls", "auth", "push"):
        assert_result(results, f"harbor.user.{step}", "skip", "NOT_APPLICABLE")
    assert "harbor.ci" in results["harbor.user.credentials"].summary
    assert_result(results, "harbor.daemon", "skip", "NOT_APPLICABLE")


def test_in_a_pod_without_a_ci_file_the_users_login_is_still_checked(home: Path) -> None:
    """A workspace on the cluster: the user's own docker login is what they push with."""
    ctx = _in_pod(context(f"127.0.0.1:{closed_port()}", home, None), home)
    results = run_component(ctx, "harbor", skip=["vpn.*"])
    assert_result(results, "harbor.user.credentials", "fail", "HARBOR_NOT_LOGGED_IN")
    assert_result(results, "harbor.daemon", "skip", "NOT_APPLICABLE")


# -- the real CLI and the preflight job: no secret in any output ------------------------------------


def _cli_env(home: Path, registry: str, ca_file: Path, **extra: str) -> dict[str, str]:
    settings = merge(LOOPBACK_PROFILE, {"ca_bundle": str(ca_file), "harbor": {"registry": registry}})
    config = write_config(home / "aisg.yaml", settings)
    return env_with(home, AISG_CHECK_CONFIG=str(config), **extra)


@pytest.mark.parametrize("variable", ["HARBOR_DOCKER_CONFIG_JSON", "AISG_CHECK_HARBOR_AUTH_FILE"])
def test_the_auth_and_the_secret_never_appear_in_any_output(
    variable: str, token_registry: Any, home: Path, ca_file: Path, tmp_path: Path
) -> None:
    address = token_registry.address
    cases = {
        "good": inline(address),
        "refused": inline(address, ROBOT, "Refused-Canary-Secret-3d4e"),
        "expanded": inline(address, "robot+ci", ROBOT_SECRET),
        "helper": {**inline(address), "credsStore": "desktop"},
    }
    secrets = {ROBOT_SECRET, "Refused-Canary-Secret-3d4e"}
    secrets |= {entry["auth"] for c in cases.values() for entry in c["auths"].values()}
    outputs = []
    for name, content in cases.items():
        path = auth_file(tmp_path, content, f"{name}.json")
        env = _cli_env(home, address, ca_file, **{variable: str(path)})
        for extra in (["--format", "table", "--verbose"], ["--format", "json"], ["--format", "junit"]):
            result = run_cli(["harbor", "--only", "harbor.ci", *extra], env=env)
            assert result.returncode == (0 if name == "good" else 1), result.stdout + result.stderr
            outputs.append(result.stdout + result.stderr)
    text = "\n".join(outputs)
    assert "HARBOR_ROBOT_AUTH_FAILED" in text and "HARBOR_ROBOT_NAME_EXPANDED" in text
    assert "HARBOR_AUTH_FILE_HELPER" in text
    for secret in secrets:
        assert secret not in text, secret
    assert "eyJ" not in text  # no token either


@pytest.mark.parametrize("kind", ["file-variable", "content"])
def test_the_preflight_job_uses_the_ci_file(
    kind: str, token_registry: Any, home: Path, ca_file: Path, tmp_path: Path
) -> None:
    """ci/preflight.sh with HARBOR_DOCKER_CONFIG_JSON as GitLab hands it over: a file variable (a
    path) or a variable holding the JSON itself, which the script writes to a private file."""
    address = token_registry.address
    content = json.dumps(inline(address))
    if kind == "file-variable":
        variables = tmp_path / "variables"
        variables.mkdir()
        (variables / "HARBOR_DOCKER_CONFIG_JSON").write_text(content)
        value = str(variables / "HARBOR_DOCKER_CONFIG_JSON")
    else:
        value = content
    env = _cli_env(
        home,
        address,
        ca_file,
        HARBOR_DOCKER_CONFIG_JSON=value,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        AISG_PREFLIGHT_PACKAGE="",
        AISG_PREFLIGHT_REPORT="report.xml",
        AISG_PREFLIGHT_ARGS="--only harbor.ci --only harbor.user",
    )
    proc = run_preflight(tmp_path, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cases = {
        c.attrib["name"].split(":")[0]: c
        for c in ET.parse(tmp_path / "report.xml").getroot().iter("testcase")
    }
    for case in ("harbor.ci.file", "harbor.ci.auth", "harbor.ci.push.team"):
        assert cases[case].find("failure") is None and cases[case].find("skipped") is None, case
    assert cases["harbor.user.credentials"].find("skipped") is not None  # no docker login in the job
    text = proc.stdout + proc.stderr + (tmp_path / "report.xml").read_text()
    for secret in (ROBOT_SECRET, b64(f"{ROBOT}:{ROBOT_SECRET}")):
        assert secret not in text
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("aisg-preflight.*/harbor-auth.json"))


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ('{"auths": ' + "[" * 200 + "]" * 200 + "}", "nested more than"),
        ('{"auths": {"x": "' + "a" * (2 * 1024 * 1024) + '"}}', "too large"),
        ('{"auths": {"x": 1' + "0" * 5000 + "}}", "a number too long"),
    ],
)
def test_an_inline_json_gets_the_files_bounds(value: str, said: str, home: Path) -> None:
    # The variable's JSON is read with the file's bounds (dockerconfig.parse_json), named, never quoted.
    from aisg_check.checks.harbor import authfile
    from tests.helpers import make_context

    with pytest.raises(authfile.Problem) as raised:
        authfile.read_inline(make_context({}), value, "127.0.0.1:9")
    assert raised.value.kind == authfile.INVALID
    assert raised.value.message.startswith(authfile.INLINE) and said in raised.value.message
    assert "aaaa" not in raised.value.message
