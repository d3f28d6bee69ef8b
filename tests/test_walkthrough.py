"""CONTRIBUTING.md's "Add a component", done as a newcomer would: copy the rancher package into
a temporary tree, rename it, register it, and run it through the registry, the runner and the
catalogue. If the walk-through stops being true (a step that no longer works, a contract the copy
breaks), this fails."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import aisg_check
from aisg_check import catalogue
from aisg_check.registry import COMPONENTS, Component, Registry
from aisg_check.runner import run_checks
from tests.helpers import assert_result, make_context
from tests.servers.tls import HTTPServer, ssl_server_context

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(aisg_check.__file__).resolve().parent / "checks" / "rancher"


def rename(text: str) -> str:
    """Step 1's renames, as the walk-through words them."""
    text = text.replace("aisg_check.checks.rancher", "aisg_check_demo.demo")
    text = re.sub(r'"rancher\b', '"demo', text)
    return text.replace("RANCHER_", "DEMO_")


@pytest.fixture()
def demo_registry(tmp_path: Path) -> Iterator[Registry]:
    tree = tmp_path / "aisg_check_demo"
    tree.mkdir()
    (tree / "__init__.py").write_text("")
    shutil.copytree(PACKAGE, tree / "demo", ignore=shutil.ignore_patterns("__pycache__"))
    for path in (tree / "demo").glob("*.py"):
        path.write_text(rename(path.read_text()))
    sys.path.insert(0, str(tmp_path))
    try:
        yield Registry(
            (*COMPONENTS, Component("demo", "Demo", "A throwaway component.", "aisg_check_demo.demo"))
        )
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("aisg_check_demo")]:
            del sys.modules[name]


def test_the_walkthrough_names_the_package_it_copies() -> None:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    section = text[text.index("## Add a component") : text.index("## Start-up cost")]
    assert "cp -r src/aisg_check/checks/rancher src/aisg_check/checks/demo" in section
    assert "`RANCHER_` → `DEMO_`" in section and "`aisg_check.checks.rancher`" in section
    assert PACKAGE.is_dir() and (PACKAGE / "diagnoses.py").is_file()


def test_a_copied_component_runs_through_registry_runner_and_catalogue(
    demo_registry: Registry, ca: Any, ca_file: Path
) -> None:
    checks = demo_registry.select(["demo"])
    assert [c.id for c in checks] == ["vpn.rancher", "demo"]  # it still needs rancher's probe
    demo = checks[-1]
    assert demo.component == "demo" and [s.id for s in demo.steps] == ["demo.dashboard"]

    def pong(handler: Any) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "4")
        handler.end_headers()
        handler.wfile.write(b"pong")

    server = HTTPServer(ssl_server_context(ca, "localhost"), routes={"/ping": pong})
    try:
        ctx = make_context(
            {"ca_bundle": str(ca_file), "rancher": {"url": server.url("localhost").rstrip("/")}}
        )
        results = {r.id: r for r in run_checks(ctx, checks).results}
        assert_result(results, "demo.dashboard", "pass", summary_has=["sign in"])
    finally:
        server.close()
    other = HTTPServer(ssl_server_context(ca, "localhost"))  # answers "ok", not "pong"
    try:
        ctx = make_context(
            {"ca_bundle": str(ca_file), "rancher": {"url": other.url("localhost").rstrip("/")}}
        )
        results = {r.id: r for r in run_checks(ctx, [demo]).results}
        assert_result(results, "demo.dashboard", "fail", "DEMO_NOT_RANCHER")
    finally:
        other.close()

    page = catalogue.render(demo_registry)
    assert "## DEMO_NOT_RANCHER" in page
    block = page[page.index("## DEMO_NOT_RANCHER") :].split("\n## ", 1)[0]
    assert "reported by: demo" in block
    assert "## RANCHER_NOT_RANCHER" in page  # the original is untouched
