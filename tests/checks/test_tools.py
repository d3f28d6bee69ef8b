"""Tools: found or not, version parsing, minimums; fakes for `which` and the process runner,
plus one run against real programs on a PATH of stand-in scripts."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from aisg_check import registry
from aisg_check.checks.tools import parse_version
from aisg_check.context import CommandResult
from aisg_check.model import Status
from aisg_check.runner import run_checks
from tests.helpers import make_context, run_cli

VERSIONS = {
    "git": "git version 2.43.0",
    "ssh": "OpenSSH_9.6p1 Ubuntu-3ubuntu13, OpenSSL 3.0.13 30 Jan 2024",
    "python3": "Python 3.11.7",
    "conda": "conda 24.9.2",
    "kubectl": "Client Version: v1.31.1\nKustomize Version: v5.4.2",
    "runai": "Version: 2.18.4\nBuildDate: 2024-06-01",
    "aws": "aws-cli/2.17.0 Python/3.11.9 Linux/6.8 exe/x86_64",
    "docker": "Docker version 27.3.1, build ce12230",
}


def _fakes(versions: Mapping[str, str], broken: Sequence[str] = ()) -> dict[str, Any]:
    def which(name: str) -> str | None:
        return f"/usr/bin/{name}" if name in versions else None

    def run(argv: Sequence[str], *, timeout: float, **_: Any) -> CommandResult:
        name = argv[0]
        if name in broken:
            return CommandResult(tuple(argv), None, "", "", timed_out=True)
        text = versions[name]
        # ssh prints its version on stderr.
        return CommandResult(tuple(argv), 0, "" if name == "ssh" else text, text if name == "ssh" else "")

    return {"which": which, "run": run}


def _run(versions: Mapping[str, str], broken: Sequence[str] = (), platform: str = "linux") -> dict[str, Any]:
    ctx = make_context(**_fakes(versions, broken), platform=platform)
    return {r.id: r for r in run_checks(ctx, registry.select(["tools"])).results}


def test_all_present_and_recent() -> None:
    results = _run(VERSIONS)
    assert {r.status for r in results.values()} == {Status.PASS}
    assert results["tools.kubectl"].details["version"] == "1.31.1"
    assert results["tools.ssh"].details["version"] == "9.6"
    assert list(results) == [
        f"tools.{n}" for n in ("git", "ssh", "python", "conda", "kubectl", "runai", "aws", "docker")
    ]


def test_missing_required_fails_and_missing_optional_warns_with_an_install_hint() -> None:
    versions = {k: v for k, v in VERSIONS.items() if k not in ("git", "runai")}
    results = _run(versions, platform="darwin")
    assert results["tools.git"].status is Status.FAIL and results["tools.git"].code == "TOOL_MISSING"
    assert "brew install git" in results["tools.git"].hint
    assert (
        results["tools.runai"].status is Status.WARN
        and results["tools.runai"].code == "TOOL_MISSING_OPTIONAL"
    )
    assert "Help" in results["tools.runai"].hint


def test_windows_hints_and_python_fallback() -> None:
    versions = {k: v for k, v in VERSIONS.items() if k not in ("python3", "docker")}
    versions["python"] = "Python 3.12.1"
    results = _run(versions, platform="win32")
    assert results["tools.python"].status is Status.PASS
    assert results["tools.python"].details["command"] == "python --version"
    assert "winget" in results["tools.docker"].hint


def test_outdated_and_broken_tools_warn() -> None:
    versions = {**VERSIONS, "python3": "Python 3.8.10", "git": "git version 2.17.1"}
    results = _run(versions, broken=["kubectl"])
    assert results["tools.python"].code == "TOOL_OUTDATED" and "3.10" in results["tools.python"].summary
    assert results["tools.git"].code == "TOOL_OUTDATED"
    assert results["tools.kubectl"].code == "TOOL_BROKEN" and results["tools.kubectl"].status is Status.WARN


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("OpenSSH_for_Windows_8.1p1, LibreSSL 3.0.2", (8, 1)),
        ("Client Version: v1.30.2", (1, 30, 2)),
        ("conda 24.1.2", (24, 1, 2)),
        ("nothing here", None),
    ],
)
def test_parse_version(text: str, version: tuple[int, ...] | None) -> None:
    assert parse_version(text) == version


def test_real_programs_on_path(tmp_path: Path, home: Path) -> None:
    """The real runner and which, with stand-in programs: what a user's machine does."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in VERSIONS.items():
        script = bin_dir / name
        stream = ">&2" if name == "ssh" else ""
        script.write_text(f"#!/bin/sh\nprintf '%s\\n' '{text}' {stream}\n")
        script.chmod(0o755)
    env = {**os.environ, "PATH": str(bin_dir)}
    result = run_cli(["tools", "--format", "json"], env=env)
    data = result.json()
    assert result.returncode == 0, result.stderr
    assert {r["status"] for r in data["results"]} == {"pass"}
    (bin_dir / "git").unlink()
    result = run_cli(["tools", "--format", "json"], env=env)
    assert result.returncode == 1
    assert [r["code"] for r in result.json()["results"] if r["id"] == "tools.git"] == ["TOOL_MISSING"]


def test_a_failing_python3_stub_falls_back_to_python() -> None:
    versions = {**VERSIONS, "python": "Python 3.12.1"}
    results = _run(versions, broken=["python3"], platform="win32")
    assert results["tools.python"].status is Status.PASS
    assert results["tools.python"].details["command"] == "python --version"
