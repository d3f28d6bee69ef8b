"""The whole command tree through the real entry point (subprocess: real exit codes, stdout
and stderr kept apart), with every endpoint on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aisg_check import __version__
from tests.helpers import LOOPBACK_PROFILE, own_ssh, run_cli, run_cli_stderr_on_a_terminal, write_config
from tests.servers.tls import HTTPServer, SilentServer


@pytest.fixture()
def env(home: Path) -> dict[str, str]:
    """The user's config file points every endpoint at a closed port on loopback."""
    write_config(home / ".config" / "aisg-check" / "config.yaml", LOOPBACK_PROFILE)
    return dict(os.environ)


@pytest.fixture(scope="module")
def http_ok() -> Iterator[HTTPServer]:
    server = HTTPServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def http_502() -> Iterator[HTTPServer]:
    def broken(handler: Any) -> None:
        handler.send_response(502)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    server = HTTPServer(routes={"/": broken})
    yield server
    server.close()


def _no_traceback(result: Any) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_version_and_help(env: dict[str, str]) -> None:
    result = run_cli(["--version"], env=env)
    assert result.returncode == 0 and result.stdout.strip() == f"aisg-check {__version__}"
    result = run_cli(["--help"], env=env)
    assert result.returncode == 0
    for command in (
        "all",
        "vpn",
        "tools",
        "gitlab",
        "rancher",
        "runai",
        "harbor",
        "ecs",
        "mlflow",
        "list",
        "config",
    ):
        assert f"  {command} " in result.stdout
    result = run_cli(["harbor", "--help"], env=env)
    assert "--robot-file" in result.stdout and "--format" in result.stdout and "--strict" in result.stdout


def test_list_shows_ids_titles_and_dependencies(env: dict[str, str]) -> None:
    result = run_cli(["list"], env=env)
    assert result.returncode == 0
    assert (
        "vpn.status" in result.stdout
        and "rancher" in result.stdout
        and "depends on: vpn.rancher" in result.stdout
    )
    data = json.loads(run_cli(["list", "--format", "json"], env=env).stdout)
    by_id = {c["id"]: c for c in data}
    assert by_id["rancher"]["depends_on"] == ["vpn.rancher"]
    assert [s["id"] for s in by_id["tools"]["steps"]][:2] == ["tools.git", "tools.ssh"]


def test_config_shows_values_sources_and_hides_secrets(env: dict[str, str], home: Path) -> None:
    env = {
        **env,
        "GITLAB_TOKEN": "glpat-CANARY-cfg-123",
        "AISG_CHECK_HARBOR_PROJECTS": "p1,p2",
        "MLFLOW_TRACKING_URI": "https://bob:pw-CANARY-uri@127.0.0.1:5000",
    }
    result = run_cli(["config", "--set", "ecs.profile=team", "--timeout", "3"], env=env)
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "flag --timeout" in lines["timeout"]
    assert "flag --set ecs.profile" in lines["ecs.profile"]
    assert (
        "env AISG_CHECK_HARBOR_PROJECTS" in lines["harbor.projects"]
        and "[p1, p2]" in lines["harbor.projects"]
    )
    assert "env GITLAB_TOKEN" in lines["gitlab.token"] and "***" in lines["gitlab.token"]
    assert "profile aisg" in lines["gitlab.ssh_user"]
    assert f"file {home}/.config/aisg-check/config.yaml" in lines["gitlab.host"]
    for fmt in ("table", "json", "yaml"):
        out = run_cli(["config", "--format", fmt], env=env)
        assert "CANARY" not in out.stdout + out.stderr
    data = json.loads(run_cli(["config", "--format", "json"], env=env).stdout)
    assert data["settings"]["gitlab.token"] == {"value": "***", "source": "env GITLAB_TOKEN"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["vpn", "--timeout", "0"], "'timeout' must be a number of seconds greater than 0"),
        (["vpn", "--timeout", "-2"], "greater than 0"),
        (["vpn", "--only", "nothing.here"], "'nothing.here' names no check"),
        (["vpn", "--set", "timeout"], "expected KEY=VALUE"),
        (["vpn", "--set", "harbor.projets=a"], "did you mean 'harbor.projects'"),
        (["vpn", "--ca-bundle", "/nonexistent/ca.pem"], "is not a file"),
        (["vpn", "--config", "/nonexistent/config.yaml"], "config file not found"),
    ],
)
def test_usage_errors_exit_2_with_one_clear_line(env: dict[str, str], args: list[str], message: str) -> None:
    result = run_cli(args, env=env)
    assert result.returncode == 2, result
    assert message in result.stderr
    assert result.stdout == ""
    _no_traceback(result)


def test_click_usage_errors_exit_2(env: dict[str, str]) -> None:
    for args in (["vpn", "--format", "xml"], ["nosuchcommand"], ["vpn", "--timeout", "abc"]):
        result = run_cli(args, env=env)
        assert result.returncode == 2, args
        _no_traceback(result)


@pytest.mark.parametrize(
    "text", ["timeout: [1\n", "harbor:\n  projets: [a]\n", "", "gitlab:\n  ssh_port: abc\n"]
)
def test_bad_config_file_exit_2_and_names_the_file(env: dict[str, str], home: Path, text: str) -> None:
    path = home / ".config" / "aisg-check" / "config.yaml"
    path.write_text(text)
    result = run_cli(["all"], env=env)
    assert result.returncode == 2
    assert str(path) in result.stderr and len(result.stderr.strip().splitlines()) == 1
    _no_traceback(result)


def test_pass_exits_0_and_json_goes_to_stdout_only(env: dict[str, str], http_ok: HTTPServer) -> None:
    result = run_cli(
        ["vpn", "--only", "vpn.extra", "--set", f"vpn.extra={http_ok.url('127.0.0.1')}", "--format", "json"],
        env=env,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["summary"]["pass"] == 1 and data["results"][0]["id"] == "vpn.extra.1"
    assert result.stderr == ""


def test_failure_exits_1(env: dict[str, str]) -> None:
    result = run_cli(["vpn", "--only", "vpn.gitlab"], env=env)
    assert result.returncode == 1
    assert "VPN_CONNECT_REFUSED" in result.stdout and "\x1b[" not in result.stdout


def test_warning_passes_unless_strict(env: dict[str, str], http_502: HTTPServer) -> None:
    args = ["vpn", "--only", "vpn.extra", "--set", f"vpn.extra={http_502.url('127.0.0.1')}"]
    assert run_cli(args, env=env).returncode == 0
    assert run_cli([*args, "--strict"], env=env).returncode == 1


def test_output_file_format_from_extension_and_explicit(
    env: dict[str, str], tmp_path: Path, http_ok: HTTPServer
) -> None:
    base = ["vpn", "--only", "vpn.extra", "--set", f"vpn.extra={http_ok.url('127.0.0.1')}"]
    xml_path = tmp_path / "report.xml"
    result = run_cli([*base, "--output", str(xml_path)], env=env)
    assert result.returncode == 0
    assert "vpn.extra.1" in result.stdout and not result.stdout.startswith("<?xml")
    assert ET.parse(xml_path).getroot().tag == "testsuites"
    json_path = tmp_path / "report.json"
    result = run_cli([*base, "--format", "json", "--output", str(json_path)], env=env)
    assert json.loads(json_path.read_text()) == json.loads(result.stdout)
    md = tmp_path / "ticket.md"
    run_cli([*base, "--output", str(md)], env=env)
    assert md.read_text().startswith("### aisg-check")


def test_quiet_and_verbose(env: dict[str, str], http_ok: HTTPServer) -> None:
    base = [
        "vpn",
        "--only",
        "vpn.extra",
        "--only",
        "vpn.gitlab",
        "--set",
        f"vpn.extra={http_ok.url('127.0.0.1')}",
    ]
    quiet = run_cli([*base, "--quiet"], env=env).stdout
    assert "vpn.gitlab" in quiet and "vpn.extra.1" not in quiet
    verbose = run_cli([*base, "--verbose"], env=env).stdout
    assert "http_status=200" in verbose and "docs: https://" in verbose


def test_selection_pulls_in_the_probe_a_component_needs(env: dict[str, str]) -> None:
    data = run_cli(["rancher", "--format", "json"], env=env).json()
    assert [r["id"] for r in data["results"]] == ["vpn.rancher", "rancher.dashboard"]
    data = run_cli(["rancher", "--skip", "vpn.rancher", "--format", "json"], env=env).json()
    assert [r["id"] for r in data["results"]] == ["rancher.dashboard"]


def test_all_runs_every_component_in_registry_order(env: dict[str, str], home: Path) -> None:
    result = run_cli(["all", "--format", "json", "--skip", "tools", *own_ssh(home)], env=env)
    assert result.returncode == 1
    components = []
    for r in result.json()["results"]:
        if r["component"] not in components:
            components.append(r["component"])
    assert components[0] == "vpn" and "rancher" in components and "tools" not in components
    for r in result.json()["results"]:
        assert r["status"] in ("fail", "skip", "warn"), r
        assert r["code"] and r["hint"], r


def test_ctrl_c_prints_what_finished_and_exits_130(env: dict[str, str], http_ok: HTTPServer) -> None:
    silent = SilentServer()
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aisg_check",
                "vpn",
                "--only",
                "vpn.extra",
                "--only",
                "vpn.gitlab",
                "--timeout",
                "20",
                "--set",
                f"vpn.extra=https://127.0.0.1:{silent.port}/",
                "--format",
                "json",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        silent.close()
    assert proc.returncode == 130, err
    data = json.loads(out)
    assert data["interrupted"] is True
    by_id = {r["id"]: r for r in data["results"]}
    assert by_id["vpn.gitlab"]["code"] == "VPN_CONNECT_REFUSED"  # finished before Ctrl-C
    assert "interrupted" in err
    assert "Traceback" not in err


def test_colour_is_forced_or_refused_on_request(env: dict[str, str]) -> None:
    args = ["vpn", "--only", "vpn.gitlab"]
    assert "\x1b[" in run_cli(args, env={**env, "FORCE_COLOR": "1", "NO_COLOR": ""}).stdout
    assert (
        "\x1b[" not in run_cli([*args, "--no-color"], env={**env, "FORCE_COLOR": "1", "NO_COLOR": ""}).stdout
    )
    assert "\x1b[" not in run_cli(args, env={**env, "FORCE_COLOR": "", "NO_COLOR": "1"}).stdout


def test_live_progress_only_on_a_terminal(env: dict[str, str]) -> None:
    """stderr on a pseudo-terminal shows progress; piped stderr (above) stays empty."""
    out, shown = run_cli_stderr_on_a_terminal(
        ["vpn", "--only", "vpn.gitlab"], env={**env, "TERM": "xterm"}, timeout=30
    )
    assert "checking" in shown
    assert b"checking" not in out  # the report on stdout is not mixed with progress
    quiet = subprocess.run(
        [sys.executable, "-m", "aisg_check", "vpn", "--only", "vpn.gitlab", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "checking" not in quiet.stderr


def test_a_legacy_code_page_gets_a_report_not_a_traceback(env: dict[str, str]) -> None:
    for fmt in ("table", "markdown"):
        result = run_cli(
            ["vpn", "--only", "vpn.gitlab", "--format", fmt], env={**env, "PYTHONIOENCODING": "cp1252"}
        )
        assert result.returncode == 1, result.stderr
        assert "VPN_CONNECT_REFUSED" in result.stdout
        _no_traceback(result)


def test_a_ca_bundle_that_is_not_pem_is_a_usage_error(env: dict[str, str], tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("this is not a certificate\n")
    result = run_cli(["vpn", "--ca-bundle", str(not_pem)], env=env)
    assert result.returncode == 2 and "holds no PEM certificate" in result.stderr
    _no_traceback(result)
    # The same file in REQUESTS_CA_BUNDLE (another tool's setting) is skipped, not fatal.
    result = run_cli(
        ["vpn", "--only", "vpn.gitlab", "--format", "json"], env={**env, "REQUESTS_CA_BUNDLE": str(not_pem)}
    )
    assert result.returncode == 1 and result.json()["results"][0]["code"] == "VPN_CONNECT_REFUSED"


def test_result_ids_are_unique_in_a_full_report(env: dict[str, str], home: Path) -> None:
    ids = [r["id"] for r in run_cli(["all", "--format", "json", *own_ssh(home)], env=env).json()["results"]]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_the_tree_in_process_with_clirunner(env: dict[str, str]) -> None:
    """The same tree through Typer's CliRunner (in process): fast feedback for every command."""
    from typer.testing import CliRunner

    from aisg_check.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["--version"], env=env).exit_code == 0
    listed = runner.invoke(app, ["list"], env=env)
    assert listed.exit_code == 0 and "vpn.status" in listed.stdout
    shown = runner.invoke(app, ["config", "--format", "json"], env=env)
    assert shown.exit_code == 0 and json.loads(shown.stdout)["settings"]["gitlab.ssh_port"]["value"] == 9
    failed = runner.invoke(app, ["vpn", "--only", "vpn.gitlab", "--format", "json"], env=env)
    assert failed.exit_code == 1 and json.loads(failed.stdout)["results"][0]["code"] == "VPN_CONNECT_REFUSED"
    bad = runner.invoke(app, ["vpn", "--timeout", "0"], env=env)
    assert bad.exit_code == 2 and "greater than 0" in bad.stderr


def test_a_command_parsed_by_the_lean_app_is_the_same_command(env: dict[str, str]) -> None:
    """main() parses `aisg-check NAME ...` with an app that holds NAME alone, and lists the
    commands with an app whose commands have no options (app_for): every command's help, its
    answer to a bad option, and the listing are the same as through the whole app."""
    from typer.testing import CliRunner

    from aisg_check.cli import app, app_for

    runner = CliRunner()
    names = [info.name for info in app.registered_commands]
    assert len(names) > 10 and "all" in names and "gitlab" in names
    for name in names:
        assert name is not None
        lean = app_for([name, "--help"])
        assert [info.name for info in lean.registered_commands] == [name]
        for args in ([name, "--help"], [name, "--no-such-option"]):
            whole, alone = runner.invoke(app, args, env=env), runner.invoke(lean, args, env=env)
            assert alone.exit_code == whole.exit_code, args
            assert (alone.stdout, alone.stderr) == (whole.stdout, whole.stderr), args
    for args in ([], ["--help"], ["-h"]):  # the listing: the same names and help, no options built
        listing = app_for(args)
        assert [i.name for i in listing.registered_commands] == names
        whole, alone = runner.invoke(app, args, env=env), runner.invoke(listing, args, env=env)
        assert (alone.exit_code, alone.stdout, alone.stderr) == (whole.exit_code, whole.stdout, whole.stderr)
        assert "gitlab" in whole.stdout + whole.stderr
    for args in (["--version"], ["gitlb"], ["--help", "gitlab"]):
        assert app_for(args) is app  # the version and "did you mean" need the whole app


_WARNING_RUN = """
import sys, warnings
from aisg_check import runner
real = runner.run_checks

def noisy(*args, **kwargs):
    # What a client library does on an import thread: a warning mid-run.
    warnings.warn("canary library warning", UserWarning)
    return real(*args, **kwargs)

runner.run_checks = noisy
sys.argv = ["aisg-check", "vpn", "--only", "vpn.status", "--format", "json"]
from aisg_check.cli import main
main()
"""


@pytest.mark.parametrize("warnoptions", [(), ("-W", "always")], ids=["default", "with-W"])
def test_library_warnings_stay_off_the_terminal_unless_asked_for(
    home: Path, warnoptions: tuple[str, ...]
) -> None:
    write_config(home / ".config" / "aisg-check" / "config.yaml", LOOPBACK_PROFILE)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    proc = subprocess.run(
        [sys.executable, *warnoptions, "-c", _WARNING_RUN],
        env={**env, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert '"schema_version"' in proc.stdout, proc.stderr[-800:]
    # Hidden by default; `python -W ...` (a developer debugging) still sees it.
    assert ("canary library warning" in proc.stderr) is bool(warnoptions), proc.stderr
