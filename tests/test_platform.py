"""End to end: `aisg-check all` against the whole local test platform (tests/servers/platform.py),
every component's servers on 127.0.0.1 at once and a HOME as onboarding leaves it. Every
result but the local tools' must pass."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CliResult, run_cli

pytestmark = pytest.mark.server
# The session fixture `test_platform`, shared with the other modules that use the platform.
pytest_plugins = ("tests.servers.platform",)

COMPONENTS = {"vpn", "tools", "gitlab", "rancher", "runai", "harbor", "ecs", "mlflow"}
# One deep layer per component: a green run must have reached these, not stopped before them.
DEEPEST = {
    "vpn.status",
    "gitlab.ssh.auth",
    "gitlab.https.git",
    "rancher.dashboard",
    "runai.permission",
    "runai.cli",
    "harbor.user.push.team",
    "harbor.robot.push.team",
    "harbor.daemon",
    "harbor.ci.push.team",
    "ecs.bucket.project-1",
    "ecs.write",
    "mlflow.artifact",
    "mlflow.cleanup",
}


def _all(platform: Any, fmt: str) -> CliResult:
    config = str(platform.config)  # never the embedded profile: every endpoint is ours
    return run_cli(["all", "--config", config, "--format", fmt], env=platform.env, timeout=120)


def _not_green(results: list[dict[str, Any]]) -> list[str]:
    return [
        f"{r['id']}: {r['status']} {r['code'] or ''} {r['summary']} {r['hint'] or ''}".rstrip()
        for r in results
        if r["component"] != "tools" and r["status"] != "pass"
    ]


def test_all_green_against_the_platform(test_platform: Any) -> None:
    out = _all(test_platform, "json")
    assert out.stdout.strip(), out.stderr
    report = out.json()
    results = report["results"]
    not_green = _not_green(results)
    if not_green:
        print("results that did not pass:\n  " + "\n  ".join(not_green))
    assert not not_green, "not green:\n" + "\n".join(not_green)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert {r["component"] for r in results} == COMPONENTS
    ids = {r["id"] for r in results}
    assert ids >= DEEPEST, f"never reached: {sorted(DEEPEST - ids)}"
    assert report["summary"]["fail"] == 0 and report["summary"]["error"] == 0
    # Every probed endpoint is one of ours, on loopback.
    probed = [
        r["details"].get("url", "") for r in results if r["id"].startswith("vpn.") and r["id"] != "vpn.status"
    ]
    assert len(probed) == 8 and all("127.0.0.1" in url for url in probed), probed


def test_junit_output_parses(test_platform: Any, tmp_path: Path) -> None:
    out = _all(test_platform, "junit")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    root = ET.fromstring(out.stdout)
    assert root.tag == "testsuites"
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert set(suites) == COMPONENTS
    cases = list(root.iter("testcase"))
    assert int(root.get("tests", "0")) == len(cases) > len(DEEPEST)
    names = {case.get("name", "").split(":", 1)[0] for case in cases}
    assert names >= DEEPEST
    assert root.get("failures") == "0" and root.get("errors") == "0"
    assert not [case for case in cases if case.find("failure") is not None or case.find("error") is not None]
