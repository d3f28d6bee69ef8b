"""stdout holds the report and nothing else (issue 13 §1): for every component and for `all`,
against the whole test platform (tests/servers/platform.py, started once per session and
shared with tests/test_platform.py), `--format json` prints exactly one JSON document and
`--format junit` exactly one XML document, for a passing and for a failing run.

A library that writes to our stdout (MLflow's "🏃 View run … at: …" lines, a progress bar, a
deprecation notice printed instead of logged) breaks `aisg-check … --format json | jq` and
every CI consumer; any such text makes one of these parses fail. The failing runs break one
thing per component the way a user does (a wrong project, bucket or password, a closed port),
so the failure paths, where libraries like to talk, are covered too.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from aisg_check import registry
from tests.helpers import CliResult, run_cli
from tests.servers.tls import closed_port

if TYPE_CHECKING:
    # Imported for real by pytest_plugins below, so that pytest rewrites it as a plugin.
    from tests.servers.platform import Platform

pytestmark = pytest.mark.server
# The session fixture `test_platform`: one platform for this module and tests/test_platform.py.
pytest_plugins = ("tests.servers.platform",)

COMPONENTS = tuple(c.name for c in registry.COMPONENTS)
TARGETS = (*COMPONENTS, "all")


# -- how each component is broken for its failing run --------------------------------------------------

Settings = dict[str, Any]
Env = dict[str, str]


def _break_vpn(platform: Platform, settings: Settings, env: Env) -> None:
    settings["vpn"] = {**settings["vpn"], "extra": [f"https://127.0.0.1:{closed_port()}"]}


def _break_tools(platform: Platform, settings: Settings, env: Env) -> None:
    env["PATH"] = str(platform.home / "no-tools-here")  # git, ssh, python: not found


def _break_gitlab(platform: Platform, settings: Settings, env: Env) -> None:
    web = platform.servers["gitlab_web"]
    settings["gitlab"] = {**settings["gitlab"], "repo": f"{web.url}/mlops/no-such-project.git"}


def _break_rancher(platform: Platform, settings: Settings, env: Env) -> None:
    # Something answers there, but not Rancher: the Run:ai dashboard stand-in has no /ping.
    settings["rancher"] = {**settings["rancher"], "url": settings["runai"]["url"]}


def _break_runai(platform: Platform, settings: Settings, env: Env) -> None:
    settings["runai"] = {**settings["runai"], "project": "no-such-project"}


def _break_harbor(platform: Platform, settings: Settings, env: Env) -> None:
    settings["harbor"] = {**settings["harbor"], "projects": ["no-such-project"]}


def _break_ecs(platform: Platform, settings: Settings, env: Env) -> None:
    settings["ecs"] = {**settings["ecs"], "buckets": ["no-such-bucket"]}


def _break_mlflow(platform: Platform, settings: Settings, env: Env) -> None:
    from tests.servers.platform import MLFLOW_USER

    env["MLFLOW_TRACKING_USERNAME"] = MLFLOW_USER
    env["MLFLOW_TRACKING_PASSWORD"] = "not-the-password"


BREAK: dict[str, Callable[[Platform, Settings, Env], None]] = {
    "vpn": _break_vpn,
    "tools": _break_tools,
    "gitlab": _break_gitlab,
    "rancher": _break_rancher,
    "runai": _break_runai,
    "harbor": _break_harbor,
    "ecs": _break_ecs,
    "mlflow": _break_mlflow,
}
# `all` fails in every component at once, except tools: without PATH nothing else would run.
BROKEN_IN_ALL = tuple(name for name in BREAK if name != "tools")


def test_every_component_is_covered() -> None:
    assert set(BREAK) == set(COMPONENTS), "a new component needs a way to fail here"


def _run(platform: Platform, tmp_path: Path, target: str, outcome: str, fmt: str) -> CliResult:
    settings, env = copy.deepcopy(platform.settings), dict(platform.env)
    if outcome == "fail":
        for name in BROKEN_IN_ALL if target == "all" else (target,):
            BREAK[name](platform, settings, env)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings, sort_keys=False))
    return run_cli([target, "--config", str(config), "--format", fmt], env=env, timeout=120)


def _polluted(out: CliResult, what: str) -> str:
    return (
        f"stdout is not one {what} document; it starts with:\n{out.stdout[:600]}\n"
        f"--- stderr:\n{out.stderr[-800:]}"
    )


def _expect_outcome(target: str, outcome: str, returncode: int, statuses: list[tuple[str, str]]) -> None:
    """A passing run passes and a failing run fails where it was broken: the runs are real."""
    failed = {component for component, status in statuses if status in ("fail", "error")}
    if outcome == "pass":
        if target != "tools":  # the machine's own tools may be missing or old; nothing to break
            assert returncode == 0 and not failed, statuses
        return
    assert returncode == 1, statuses
    expected = set(BROKEN_IN_ALL) if target == "all" else {target}
    assert expected <= failed, f"not failing as broken: {sorted(expected - failed)}"


@pytest.mark.parametrize("outcome", ["pass", "fail"])
@pytest.mark.parametrize("target", TARGETS)
def test_json_stdout_is_one_document(
    test_platform: Platform, tmp_path: Path, target: str, outcome: str
) -> None:
    out = _run(test_platform, tmp_path, target, outcome, "json")
    try:
        report = json.loads(out.stdout)  # one document: any text before or after it fails here
    except json.JSONDecodeError:
        pytest.fail(_polluted(out, "JSON"))
    results = report["results"]
    components = {r["component"] for r in results}
    if target == "all":
        assert components == set(COMPONENTS)
    else:
        assert target in components and components <= {target, "vpn"}
    _expect_outcome(target, outcome, out.returncode, [(r["component"], r["status"]) for r in results])


@pytest.mark.parametrize("outcome", ["pass", "fail"])
@pytest.mark.parametrize("target", TARGETS)
def test_junit_stdout_is_one_document(
    test_platform: Platform, tmp_path: Path, target: str, outcome: str
) -> None:
    out = _run(test_platform, tmp_path, target, outcome, "junit")
    try:
        root = ET.fromstring(out.stdout)  # one document: text around the root element fails here
    except ET.ParseError:
        pytest.fail(_polluted(out, "XML"))
    assert root.tag == "testsuites"
    statuses = []
    for suite in root.iter("testsuite"):
        for case in suite.iter("testcase"):
            failed = case.find("failure") is not None or case.find("error") is not None
            statuses.append((str(suite.get("name")), "fail" if failed else "pass"))
    suites = {component for component, _ in statuses}
    assert suites == set(COMPONENTS) if target == "all" else target in suites
    _expect_outcome(target, outcome, out.returncode, statuses)
