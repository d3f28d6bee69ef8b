"""Run:ai's two CLIs: which one is installed (from `runai version`), and the improved CLI's own
layers (control-plane login, defaults, project) against the stand-in `runai` of
tests/servers/runai_cli, set up with the documented commands (`runai config set --cp-url`,
`runai login`, `runai cluster set`, `runai project set`). The control plane is a listener on
127.0.0.1, so "unreachable" is a real refused connection."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisg_check.model import CheckResult, Status
from tests.helpers import assert_result, make_context, run_cli, run_component
from tests.servers.runai_cli import CLUSTER, PROJECT, install, runai, set_up
from tests.servers.tls import HTTPServer, closed_port


@pytest.fixture(scope="module")
def control_plane() -> Iterator[str]:
    server = HTTPServer()
    yield server.url("127.0.0.1").rstrip("/")
    server.close()


def env_for(home: Path, bin_dir: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(home), "PATH": str(bin_dir)}


def run_cli_check(
    bin_dir: Path, home: Path, settings: Mapping[str, Any] | None = None, **kwargs: Any
) -> dict[str, CheckResult]:
    env = env_for(home, bin_dir)
    ctx = make_context(
        {"timeout": 5, **(settings or {})},
        env=env,
        home=home,
        which=lambda name: shutil.which(name, path=str(bin_dir)),
        **kwargs,
    )
    return run_component(ctx, "runai", only=["runai.cli"])


def rows(results: Mapping[str, CheckResult]) -> dict[str, str]:
    return {k: f"{v.status.value}:{v.code or ''}" for k, v in results.items()}


# -- which CLI ---------------------------------------------------------------------------------------


def test_first_cli_block_is_the_first_cli_without_asking_again(tmp_path: Path, home: Path) -> None:
    calls = tmp_path / "calls"
    bin_dir = install(tmp_path / "bin", cli="first", version="2.17.8")
    (bin_dir / "runai").write_text(
        (bin_dir / "runai").read_text().replace("#!/bin/sh\n", f'#!/bin/sh\necho "$*" >> {calls}\n')
    )
    results = run_cli_check(bin_dir, home)
    assert rows(results) == {"runai.cli": "pass:"}
    assert_result(results, "runai.cli", "pass", summary_has=["Run:ai CLI 2.17.8"])
    assert results["runai.cli"].details["cli"] == "first"
    assert calls.read_text().splitlines() == ["version"]


def test_first_cli_printing_its_version_alone_refuses_wide_and_stays_first(
    tmp_path: Path, home: Path
) -> None:
    bin_dir = install(tmp_path / "bin", cli="first", version="2.18.3")
    (bin_dir / "runai").write_text((bin_dir / "runai").read_text().replace('"$@"', '"$@" --short'))
    results = run_cli_check(bin_dir, home)
    assert results["runai.cli"].details["cli"] == "first"
    assert_result(results, "runai.cli", "pass", summary_has=["2.18.3"])


def test_improved_cli_is_told_apart_by_its_wide_details(
    tmp_path: Path, home: Path, control_plane: str
) -> None:
    bin_dir = install(tmp_path / "bin")
    set_up(bin_dir, env_for(home, bin_dir), control_plane)
    results = run_cli_check(bin_dir, home)
    assert results["runai.cli"].details["cli"] == "improved"
    assert_result(results, "runai.cli", "pass", summary_has=["Run:ai improved CLI 2.19.14"])


@pytest.mark.parametrize(
    ("script", "words"),
    [
        ('echo "runai: development build"\n', "(version unknown)"),
        # Says more with --wide, but older than any improved CLI: neither CLI as documented.
        (
            'case "$*" in *--wide*) printf "Version: 2.16.1\\nBuildDate: x\\n";; '
            '*) echo "Version: 2.16.1";; esac\n',
            "2.16.1",
        ),
    ],
    ids=["no-version", "improved-before-2.18"],
)
def test_unrecognised_version_output_is_a_warning_naming_it(
    tmp_path: Path, home: Path, script: str, words: str
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "runai").write_text("#!/bin/sh\n" + script)
    (bin_dir / "runai").chmod(0o755)
    results = run_cli_check(bin_dir, home)
    assert_result(results, "runai.cli", "warn", "RUNAI_CLI_UNRECOGNISED", summary_has=[words])
    assert "runai version" in (results["runai.cli"].hint or "")


# -- the improved CLI's layers ---------------------------------------------------------------------


def test_improved_cli_set_up_as_documented_passes_every_layer(
    tmp_path: Path, home: Path, control_plane: str, ca: Any
) -> None:
    bin_dir = install(tmp_path / "bin", RUNAI_STANDIN_WHOAMI="never-asked")
    set_up(bin_dir, env_for(home, bin_dir), control_plane)
    # An exec-plugin kubeconfig made the old check ask `runai whoami`, which this CLI does not have.
    kc = home / ".kube" / "config"
    kc.parent.mkdir(parents=True)
    kc.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
                "users": [{"name": "u", "user": {"exec": {"command": "runai", "args": ["get-token"]}}}],
            }
        )
    )
    results = run_cli_check(bin_dir, home)
    assert rows(results) == {
        "runai.cli": "pass:",
        "runai.cli.login": "pass:",
        "runai.cli.config": "pass:",
        "runai.cli.project": "pass:",
    }
    assert [r.title for r in results.values()] == [
        "Run:ai CLI",
        "Run:ai control-plane login",
        "Run:ai CLI defaults",
        "Run:ai project visible",
    ]
    assert_result(results, "runai.cli.login", "pass", summary_has=[control_plane])
    assert_result(results, "runai.cli.config", "pass", summary_has=[CLUSTER, PROJECT])
    assert results["runai.cli.project"].details["projects"] == ["proj", "shared-demo"]
    assert "whoami" not in results["runai.cli"].details


def test_not_logged_in(tmp_path: Path, home: Path, control_plane: str) -> None:
    bin_dir = install(tmp_path / "bin")
    assert runai(bin_dir, env_for(home, bin_dir), "config", "set", "--cp-url", control_plane).returncode == 0
    results = run_cli_check(bin_dir, home)
    assert_result(
        results,
        "runai.cli.login",
        "fail",
        "RUNAI_CLI_NOT_LOGGED_IN",
        summary_has=["not logged in", control_plane],
        hint_has=["`runai login`", "`runai login remote-browser`"],
    )
    for later in ("runai.cli.config", "runai.cli.project"):
        assert results[later].status is Status.SKIP and results[later].blocked_by == "runai.cli.login"


def test_session_expired(tmp_path: Path, home: Path, control_plane: str) -> None:
    bin_dir = install(tmp_path / "bin", RUNAI_STANDIN_SESSION_S="-60")
    set_up(bin_dir, env_for(home, bin_dir), control_plane, project=None)
    results = run_cli_check(bin_dir, home)
    assert_result(
        results,
        "runai.cli.login",
        "fail",
        "RUNAI_CLI_SESSION_EXPIRED",
        summary_has=["expired"],
        hint_has=["Log in again: `runai login`"],
    )


def test_control_plane_unreachable(tmp_path: Path, home: Path, control_plane: str) -> None:
    bin_dir = install(tmp_path / "bin")
    env = env_for(home, bin_dir)
    set_up(bin_dir, env, control_plane)
    dead = f"http://127.0.0.1:{closed_port()}"
    assert runai(bin_dir, env, "config", "set", "--cp-url", dead).returncode == 0
    results = run_cli_check(bin_dir, home)
    assert_result(
        results,
        "runai.cli.login",
        "fail",
        "RUNAI_CONTROL_PLANE_UNREACHABLE",
        summary_has=[dead, "connection refused"],
        hint_has=[f"Open {dead} in a browser", "runai config set --cp-url"],
    )


@pytest.fixture()
def two_clusters(tmp_path: Path) -> Path:
    from tests.servers.runai_cli import ANSWERS

    tenant = dict(ANSWERS["tenant"])
    tenant["clusters"] = [
        *tenant["clusters"],
        {"id": "0b6f1c2e-9d1a-4f37-8e0c-5a6b7c8d9e0f", "name": "other"},
    ]
    path = tmp_path / "tenant.yaml"
    path.write_text(yaml.safe_dump(tenant))
    return path


@pytest.mark.parametrize("list_needs_cluster", [False, True], ids=["lists-anyway", "list-refused"])
def test_no_default_cluster(
    tmp_path: Path, home: Path, control_plane: str, two_clusters: Path, list_needs_cluster: bool
) -> None:
    extra = {"RUNAI_STANDIN_LIST_NEEDS_CLUSTER": "1"} if list_needs_cluster else {}
    bin_dir = install(tmp_path / "bin", RUNAI_STANDIN_TENANT=str(two_clusters), **extra)
    set_up(bin_dir, env_for(home, bin_dir), control_plane, project=None)  # two clusters: none chosen
    results = run_cli_check(bin_dir, home)
    assert_result(
        results,
        "runai.cli.config",
        "fail",
        "RUNAI_CLI_NO_CLUSTER",
        summary_has=["no default cluster"],
        hint_has=["`runai cluster list`", "`runai cluster set --name <cluster>`"],
    )
    assert results["runai.cli.project"].blocked_by == "runai.cli.config"
    # Once chosen as documented, the layer passes.
    assert runai(bin_dir, env_for(home, bin_dir), "cluster", "set", "--name", "other").returncode == 0
    assert run_cli_check(bin_dir, home)["runai.cli.config"].code == "RUNAI_CLI_NO_PROJECT"


def test_no_default_project_warns_and_a_configured_project_is_still_looked_for(
    tmp_path: Path, home: Path, control_plane: str
) -> None:
    bin_dir = install(tmp_path / "bin")
    set_up(bin_dir, env_for(home, bin_dir), control_plane, project=None)
    results = run_cli_check(bin_dir, home)
    assert_result(
        results, "runai.cli.config", "warn", "RUNAI_CLI_NO_PROJECT", hint_has=["`runai project list`"]
    )
    assert_result(results, "runai.cli.project", "skip", "NOT_CONFIGURED")
    results = run_cli_check(bin_dir, home, {"runai": {"project": "shared-demo"}})
    assert_result(
        results,
        "runai.cli.config",
        "warn",
        "RUNAI_CLI_NO_PROJECT",
        hint_has=["`runai project set shared-demo`"],
    )
    assert_result(results, "runai.cli.project", "pass", summary_has=["'shared-demo' (runai.project)"])


def test_project_not_visible(tmp_path: Path, home: Path, control_plane: str) -> None:
    bin_dir = install(tmp_path / "bin")
    set_up(bin_dir, env_for(home, bin_dir), control_plane)
    results = run_cli_check(bin_dir, home, {"runai": {"project": "team-x"}})
    assert_result(
        results,
        "runai.cli.project",
        "fail",
        "RUNAI_CLI_PROJECT_NOT_VISIBLE",
        summary_has=["'team-x'", CLUSTER, "yours: proj, shared-demo"],
        hint_has=["mlops@aisingapore.org", "'team-x'", "`runai project list`"],
    )


# -- Windows -----------------------------------------------------------------------------------------


def test_improved_cli_on_windows_says_wsl_is_needed(tmp_path: Path, home: Path) -> None:
    bin_dir = install(tmp_path / "bin")
    results = run_cli_check(bin_dir, home, platform="win32")
    assert rows(results) == {"runai.cli": "warn:RUNAI_CLI_NEEDS_WSL"}
    assert_result(
        results, "runai.cli", "warn", summary_has=["2.19.14", "WSL"], hint_has=["wsl --install", "Linux"]
    )


def test_windows_without_a_cli_when_the_setup_is_the_improved_cli(tmp_path: Path, home: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    results = run_cli_check(empty, home, {"runai": {"cli": "improved"}}, platform="win32")
    assert_result(results, "runai.cli", "warn", "RUNAI_CLI_NEEDS_WSL", hint_has=["wsl --install"])
    # Without the setting, the download steps as before (they mention WSL for the improved CLI).
    results = run_cli_check(empty, home, platform="win32")
    assert_result(results, "runai.cli", "warn", "RUNAI_CLI_MISSING", hint_has=["runai.exe", "WSL"])


# -- changed output of the real CLI: a warning naming the version, never a pass ----------------------


def _changed_cli(tmp_path: Path, config: str, projects: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "config.out").write_text(config)
    (bin_dir / "projects.out").write_text(projects)
    (bin_dir / "runai").write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        '  "version") echo "Version: 2.24.1";;\n'
        '  "version --wide") printf "Version: 2.24.1\\nBuildDate: 2026-01-01\\n";;\n'
        f'  "config generate --json") /bin/cat {bin_dir}/config.out;;\n'
        f'  "project list --json") /bin/cat {bin_dir}/projects.out;;\n'
        "  *) exit 3;;\n"
        "esac\n"
    )
    (bin_dir / "runai").chmod(0o755)
    return bin_dir


@pytest.mark.parametrize(
    ("config", "projects", "step"),
    [
        (
            '{"cpUrl": "x", "cluster": "c", "project": "p"}',
            '{"organisation": {"units": []}}',
            "runai.cli.login",
        ),
        (
            '{"cpUrl": "x", "cluster": "c", "project": "p"}',
            "NAME   STATUS\nproj   Ready\n",
            "runai.cli.login",
        ),
        ("controlPlane:\n  url: x\n", '[{"name": "p"}]', "runai.cli.config"),
        ('{"profiles": {"default": {}}}', '[{"name": "p"}]', "runai.cli.config"),
    ],
    ids=["projects-not-a-list", "projects-as-a-table", "config-as-yaml", "config-without-known-fields"],
)
def test_changed_output_is_a_warning_naming_the_version(
    tmp_path: Path, home: Path, config: str, projects: str, step: str
) -> None:
    results = run_cli_check(_changed_cli(tmp_path, config, projects), home)
    assert_result(results, step, "warn", "RUNAI_CLI_UNRECOGNISED", summary_has=["Run:ai improved CLI 2.24.1"])
    assert "2.24.1" in (results[step].hint or "")
    order = ["runai.cli.login", "runai.cli.config", "runai.cli.project"]
    for later in order[order.index(step) + 1 :]:
        assert results[later].status is Status.SKIP and results[later].blocked_by == step


# -- the runai check with each setup -----------------------------------------------------------------


def test_improved_cli_without_kubeconfig_is_not_kubeconfig_missing(
    tmp_path: Path, home: Path, control_plane: str
) -> None:
    bin_dir = install(tmp_path / "bin")
    set_up(bin_dir, env_for(home, bin_dir), control_plane)
    ctx = make_context(
        {"timeout": 5},
        env=env_for(home, bin_dir),
        home=home,
        which=lambda n: shutil.which(n, path=str(bin_dir)),
    )
    results = run_component(ctx, "runai", skip=["vpn.*"])
    assert_result(
        results,
        "runai.kubeconfig",
        "skip",
        "NOT_CONFIGURED",
        summary_has=["none needed", "improved CLI"],
        hint_has=["runai login && runai kubeconfig set"],
    )
    for step in ("runai.login", "runai.cluster", "runai.identity", "runai.permission"):
        assert_result(results, step, "skip", "NOT_CONFIGURED")
    assert results["runai.cli.project"].status is Status.PASS
    assert not [r for r in results.values() if r.status in (Status.FAIL, Status.ERROR)]


def test_a_named_kubeconfig_that_is_missing_is_a_mistake_with_either_cli(tmp_path: Path, home: Path) -> None:
    bin_dir = install(tmp_path / "bin")
    env = {**env_for(home, bin_dir), "KUBECONFIG": str(tmp_path / "typo.yaml")}
    ctx = make_context({"timeout": 5}, env=env, home=home, which=lambda n: shutil.which(n, path=str(bin_dir)))
    results = run_component(ctx, "runai", skip=["vpn.*", "runai.cli"])
    assert_result(
        results,
        "runai.kubeconfig",
        "fail",
        "KUBECONFIG_MISSING",
        summary_has=["typo.yaml"],
        hint_has=["runai login && runai kubeconfig set"],
    )


def test_first_cli_without_kubeconfig_is_still_kubeconfig_missing(tmp_path: Path, home: Path) -> None:
    bin_dir = install(tmp_path / "bin", cli="first")
    ctx = make_context(
        {"timeout": 5},
        env=env_for(home, bin_dir),
        home=home,
        which=lambda n: shutil.which(n, path=str(bin_dir)),
    )
    results = run_component(ctx, "runai", skip=["vpn.*", "runai.cli"])
    assert_result(results, "runai.kubeconfig", "fail", "KUBECONFIG_MISSING", hint_has=["; runai login`"])


def test_the_setting_says_improved_without_asking_the_cli(tmp_path: Path, home: Path) -> None:
    ctx = make_context({"runai": {"cli": "improved"}}, home=home, which=lambda n: None)
    results = run_component(ctx, "runai", skip=["vpn.*", "runai.cli"])
    assert_result(results, "runai.kubeconfig", "skip", "NOT_CONFIGURED")


def test_end_to_end_json_with_only_the_improved_cli(tmp_path: Path, home: Path, control_plane: str) -> None:
    bin_dir = install(tmp_path / "bin", RUNAI_STANDIN_CONFIG_TOKEN="1")
    env = {
        **env_for(home, bin_dir),
        "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]),
        "AISG_CHECK_RUNAI_URL": "http://127.0.0.1:9",
        "AISG_CHECK_RUNAI_CLUSTER_URL": "https://127.0.0.1:9",
    }
    set_up(bin_dir, env, control_plane)
    token = json.loads((home / ".runai" / "config.json").read_text())["session"]["token"]
    outputs = []
    for fmt in ("json", "table"):
        out = run_cli(["runai", "--skip", "vpn.*", "--format", fmt, "-v"], env=env, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        outputs += [out.stdout, out.stderr]
    by_id = {r["id"]: r for r in json.loads(outputs[0])["results"]}
    assert by_id["runai.kubeconfig"]["code"] == "NOT_CONFIGURED"
    assert [
        by_id[i]["status"] for i in ("runai.cli", "runai.cli.login", "runai.cli.config", "runai.cli.project")
    ] == ["pass"] * 4
    # The session token the CLI printed in its configuration is in no output.
    for text in outputs:
        assert token not in text


# -- the improved CLI and kubectl: a kubeconfig only where kubectl is used, then its token as today --


@pytest.fixture(scope="module")
def kube(ca: Any) -> Iterator[Any]:
    from tests.servers.kube_api import KubeAPIServer

    server = KubeAPIServer(ca)
    yield server
    server.close()


def test_kubectl_with_the_improved_cli_needs_runai_kubeconfig_set(
    tmp_path: Path, home: Path, control_plane: str, kube: Any, ca_file: Path
) -> None:
    import base64

    bin_dir = install(tmp_path / "bin")
    env = env_for(home, bin_dir)
    set_up(bin_dir, env, control_plane)
    kc = home / ".kube" / "config"
    kc.parent.mkdir(parents=True)
    kc.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "aisg",
                        "cluster": {
                            "server": kube.url(),
                            "certificate-authority-data": base64.b64encode(ca_file.read_bytes()).decode(),
                        },
                    }
                ],
                "contexts": [{"name": "aisg", "context": {"cluster": "aisg", "user": "me"}}],
                "current-context": "aisg",
                "users": [{"name": "me", "user": {}}],
            }
        )
    )
    ctx_args = {"env": env, "home": home, "which": lambda n: shutil.which(n, path=str(bin_dir))}
    settings = {"timeout": 5, "runai": {"project": PROJECT}}
    results = run_component(make_context(settings, **ctx_args), "runai", skip=["vpn.*", "runai.cli"])
    assert_result(
        results,
        "runai.login",
        "fail",
        "RUNAI_NOT_LOGGED_IN",
        hint_has=[f"{kc}; runai login && runai kubeconfig set"],
    )
    # `runai kubeconfig set` writes the session's token into the current context's user.
    assert runai(bin_dir, env, "kubeconfig", "set").returncode == 0
    token = yaml.safe_load(kc.read_text())["users"][0]["user"]["token"]
    kube.state.tokens[token] = ("alice@aisingapore.org", ())
    for verb, group, resource in (("create", "", "pods"), ("list", "", "pods"), ("create", "batch", "jobs")):
        kube.grant("alice@aisingapore.org", f"runai-{PROJECT}", verb, resource, group)
    results = run_component(make_context(settings, **ctx_args), "runai", skip=["vpn.*", "runai.cli"])
    assert {k: r.status.value for k, r in results.items()} == {
        "runai.kubeconfig": "pass",
        "runai.login": "pass",
        "runai.cluster": "pass",
        "runai.identity": "pass",
        "runai.permission": "pass",
    }
    assert f"Bearer {token}" in kube.auth_headers()
