"""Every reporter against golden files rendered from one fixed report.

Regenerate after an intended change: `UPDATE_GOLDEN=1 pytest tests/reporters`.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from aisg_check.model import CheckResult, RunReport, Status
from aisg_check.reporters import FORMATS, RenderOptions, renderer

GOLDEN = Path(__file__).parent / "golden"
DOCS = "https://docs.example/codes.md"

REPORT = RunReport(
    tool_name="aisg-check",
    tool_version="1.2.3",
    started_at="2026-11-26T08:00:00Z",
    duration_s=1.234,
    results=(
        CheckResult(
            "vpn.harbor",
            "vpn",
            "Harbor registry",
            Status.PASS,
            "registry:443 answers HTTP 401",
            details={"dns_ms": 1.5, "http_status": 401},
            duration_s=0.02,
        ),
        CheckResult(
            "vpn.status", "vpn", "NUS VPN", Status.PASS, "On the VPN: all 1 internal endpoints answer"
        ),
        CheckResult(
            "harbor.credentials",
            "harbor",
            "Docker credentials",
            Status.PASS,
            "Logged in as alice",
            details={"username": "alice"},
            duration_s=0.001,
        ),
        CheckResult(
            "harbor.username",
            "harbor",
            "Username",
            Status.FAIL,
            "Stored username alice@aisingapore.org has a domain | pipe",
            code="HARBOR_USERNAME_HAS_DOMAIN",
            hint="docker logout registry && docker login registry -u alice",
            docs_url=f"{DOCS}#harbor_username_has_domain",
            duration_s=0.0,
        ),
        CheckResult(
            "harbor.auth",
            "harbor",
            "Authenticate",
            Status.SKIP,
            "Skipped: harbor.username did not pass",
            code="BLOCKED",
            hint="Fix harbor.username first.",
            docs_url=f"{DOCS}#blocked",
            blocked_by="harbor.username",
        ),
        CheckResult(
            "tools.conda",
            "tools",
            "conda",
            Status.WARN,
            "conda not found on PATH <&>",
            code="TOOL_MISSING_OPTIONAL",
            hint="To install: brew install miniconda.",
            docs_url=f"{DOCS}#tool_missing_optional",
            duration_s=0.5,
        ),
        CheckResult(
            "tools.git",
            "tools",
            "git",
            Status.ERROR,
            "The check crashed: RuntimeError: boom",
            code="CHECK_CRASHED",
            hint="Report it.",
            docs_url=f"{DOCS}#check_crashed",
        ),
    ),
)


def _render(fmt: str, **options: bool) -> str:
    return renderer(fmt)(
        REPORT, RenderOptions(width=110, system="TestOS 1.0 (x86_64), Python 3.x", **options)
    )


CASES = [
    ("table", {}),
    ("table", {"verbose": True}),
    ("table", {"quiet": True}),
    ("json", {}),
    ("junit", {}),
    ("markdown", {}),
    ("prometheus", {}),
]


@pytest.mark.parametrize(("fmt", "options"), CASES)
def test_golden(fmt: str, options: dict[str, bool]) -> None:
    suffix = "".join(f"-{k}" for k in options)
    path = GOLDEN / f"{fmt}{suffix}.txt"
    text = _render(fmt, **options)
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_every_format_is_covered() -> None:
    assert {fmt for fmt, _ in CASES} == set(FORMATS)


def test_json_envelope_validates_against_the_documented_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from importlib import resources

    schema = json.loads(resources.files("aisg_check").joinpath("schema", "report-v1.json").read_text())
    data = json.loads(_render("json"))
    jsonschema.validate(data, schema)
    assert data["schema_version"] == 1
    assert data["summary"] == {"pass": 3, "warn": 1, "fail": 1, "skip": 1, "error": 1}


def test_junit_structure_for_gitlab() -> None:
    root = ET.fromstring(_render("junit"))
    assert root.tag == "testsuites" and root.get("tests") == "7" and root.get("failures") == "1"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["vpn", "harbor", "tools"]
    cases = {c.get("name").split(":")[0]: c for s in suites.values() for c in s.findall("testcase")}
    assert cases["harbor.username"].find("failure").get("type") == "HARBOR_USERNAME_HAS_DOMAIN"
    assert "docker login" in cases["harbor.username"].find("failure").text
    assert cases["harbor.auth"].find("skipped") is not None
    assert cases["tools.git"].find("error") is not None
    warn = cases["tools.conda"]
    assert warn.find("failure") is None and "WARNING" in warn.find("system-out").text
    assert suites["harbor"].get("failures") == "1" and suites["harbor"].get("skipped") == "1"


def test_table_shows_code_and_fix_only_for_problems() -> None:
    text = _render("table")
    assert "HARBOR_USERNAME_HAS_DOMAIN" in text and "docker login registry -u alice" in text
    assert "1 failed" in text and "1 errors" in text
    assert "dns_ms" not in text
    assert "dns_ms=1.5" in _render("table", verbose=True)
    quiet = _render("table", quiet=True)
    assert "vpn.harbor" not in quiet and "harbor.username" in quiet


def test_markdown_escapes_pipes_and_lists_problems_first() -> None:
    text = _render("markdown")
    assert "has a domain \\| pipe" in text
    assert text.index("#### Problems") < text.index("Other checks")
    assert f"[`HARBOR_USERNAME_HAS_DOMAIN`]({DOCS}#harbor_username_has_domain)" in text


def test_table_marks_what_changed_since_the_last_run() -> None:
    """history.changes → the end of the row's first line, before its hint."""
    from aisg_check.reporters.table import render_marked

    changes = {"harbor.username": "was pass on 2026-11-25", "vpn.harbor": "was fail today at 07:59"}
    options = RenderOptions(width=110, system="TestOS 1.0 (x86_64), Python 3.x")
    text = render_marked(REPORT, options, changes)
    path = GOLDEN / "table-changes.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()
    rows = text.splitlines()
    (username,) = [i for i, line in enumerate(rows) if "FAIL  harbor.username" in line]
    assert "(was pass on 2026-11-25)" in rows[username] + rows[username + 1]
    assert "docker logout" in rows[username + 1] + rows[username + 2]
    assert "(was fail today at 07:59)" in next(line for line in rows if "vpn.harbor" in line)
    assert render_marked(REPORT, options, None) == _render("table")


def test_junit_names_the_automatic_fix() -> None:
    from dataclasses import replace

    from aisg_check.model import CheckResult, RunReport, Status
    from aisg_check.reporters import RenderOptions, renderer

    result = CheckResult(
        "gitlab.ssh.key",
        "gitlab",
        "SSH key",
        Status.FAIL,
        "key readable by others",
        code="GITLAB_SSH_KEY_PERMISSIONS",
        hint="chmod 600 ~/.ssh/id_ed25519",
    )
    report = RunReport(
        "aisg-check",
        "0",
        "2026-12-01T00:00:00Z",
        0.1,
        (replace(result, fix="aisg-check fix GITLAB_SSH_KEY_PERMISSIONS"),),
    )
    assert "automatic fix: aisg-check fix GITLAB_SSH_KEY_PERMISSIONS" in renderer("junit")(
        report, RenderOptions()
    )
    plain = RunReport("aisg-check", "0", "2026-12-01T00:00:00Z", 0.1, (result,))
    assert "automatic fix" not in renderer("junit")(plain, RenderOptions())


def test_markdown_names_the_automatic_fix() -> None:
    from aisg_check.model import CheckResult, RunReport, Status
    from aisg_check.reporters import RenderOptions, renderer

    result = CheckResult(
        "gitlab.ssh.key",
        "gitlab",
        "SSH key",
        Status.FAIL,
        "key readable by others",
        code="GITLAB_SSH_KEY_PERMISSIONS",
        hint="chmod 600 ~/.ssh/id_ed25519",
        fix="aisg-check fix GITLAB_SSH_KEY_PERMISSIONS",
    )
    report = RunReport("aisg-check", "0", "2026-12-01T00:00:00Z", 0.1, (result,))
    assert "Automatic fix: `aisg-check fix GITLAB_SSH_KEY_PERMISSIONS`" in renderer("markdown")(
        report, RenderOptions()
    )
