"""JUnit XML for GitLab's `artifacts:reports:junit`: one testsuite per component, one
testcase per result; fail → <failure>, error → <error>, skip → <skipped>, and a warning
passes with its hint in <system-out> (GitLab shows system-out in the test's details)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from aisg_check.model import CheckResult, RunReport, Status
from aisg_check.reporters import RenderOptions


def _text(result: CheckResult) -> str:
    lines = [result.summary]
    if result.code:
        lines.append(f"code: {result.code}")
    if result.hint:
        lines.append(f"fix: {result.hint}")
    if result.fix:
        lines.append(f"automatic fix: {result.fix}")
    if result.docs_url:
        lines.append(f"docs: {result.docs_url}")
    if result.blocked_by:
        lines.append(f"blocked by: {result.blocked_by}")
    return "\n".join(lines)


def render(report: RunReport, options: RenderOptions) -> str:
    summary = report.summary
    root = ET.Element(
        "testsuites",
        {
            "name": "aisg-check",
            "tests": str(len(report.results)),
            "failures": str(summary.failed),
            "errors": str(summary.errored),
            "skipped": str(summary.skipped),
            "time": f"{report.duration_s:.3f}",
        },
    )
    for component in report.components():
        results = [r for r in report.results if r.component == component]
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": component,
                "tests": str(len(results)),
                "failures": str(sum(r.status is Status.FAIL for r in results)),
                "errors": str(sum(r.status is Status.ERROR for r in results)),
                "skipped": str(sum(r.status is Status.SKIP for r in results)),
                "time": f"{sum(r.duration_s for r in results):.3f}",
                "timestamp": report.started_at,
            },
        )
        for result in results:
            case = ET.SubElement(
                suite,
                "testcase",
                {
                    "name": f"{result.id}: {result.title}",
                    "classname": f"aisg-check.{result.component}",
                    "time": f"{result.duration_s:.3f}",
                },
            )
            message = f"{result.code}: {result.summary}" if result.code else result.summary
            if result.status is Status.FAIL:
                ET.SubElement(
                    case, "failure", {"message": message, "type": result.code or "FAIL"}
                ).text = _text(result)
            elif result.status is Status.ERROR:
                ET.SubElement(
                    case, "error", {"message": message, "type": result.code or "ERROR"}
                ).text = _text(result)
            elif result.status is Status.SKIP:
                ET.SubElement(case, "skipped", {"message": message})
            out = _text(result)
            if result.status is Status.WARN:
                out = "WARNING " + out
            if result.status is not Status.SKIP:
                ET.SubElement(case, "system-out").text = out
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
