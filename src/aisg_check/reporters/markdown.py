"""Markdown: a block to paste into a support ticket; problems first, with code, fix and link."""

from __future__ import annotations

from aisg_check.model import CheckResult, RunReport, Status
from aisg_check.reporters import RenderOptions

_ICON = {Status.PASS: "✅", Status.WARN: "⚠️", Status.FAIL: "❌", Status.SKIP: "⏭️", Status.ERROR: "💥"}


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _row(r: CheckResult) -> str:
    code = f"[`{r.code}`]({r.docs_url})" if r.code and r.docs_url else (f"`{r.code}`" if r.code else "")
    fix = r.hint or ""
    if r.fix:
        fix = f"{fix} Automatic fix: `{r.fix}`".strip()
    if r.blocked_by:
        fix = f"blocked by `{r.blocked_by}`"
    return f"| {_ICON[r.status]} {r.status.value} | `{r.id}` | {_cell(r.summary)} | {code} | {_cell(fix)} |"


def _next_steps(report: RunReport) -> list[str]:
    """The root causes in the order to fix them (next_steps.plan), then "run again"."""
    from aisg_check.next_steps import AGAIN, plan

    steps = plan(report)
    if not steps:
        return []
    items = [f"{n}. `{step.code}`: {step.action}" for n, step in enumerate(steps, start=1)]
    return ["#### Next steps, in order", "", *items, "", AGAIN, ""]


def render(report: RunReport, options: RenderOptions) -> str:
    s = report.summary
    lines = [
        f"### aisg-check {report.tool_version} report",
        "",
        f"- when: {report.started_at} ({report.duration_s:.1f} s)",
        f"- system: {options.system or 'unknown'}",
        f"- result: {s.passed} passed, {s.warned} warnings, {s.failed} failed, "
        f"{s.skipped} skipped, {s.errored} errors" + (" (interrupted)" if report.interrupted else ""),
        "",
    ]
    problems = [r for r in report.results if r.status in (Status.FAIL, Status.ERROR, Status.WARN)]
    rest = [r for r in report.results if r not in problems]
    header = ["| status | check | summary | code | fix |", "|---|---|---|---|---|"]
    if problems:
        lines += ["#### Problems", "", *header, *(_row(r) for r in problems), ""]
    else:
        lines += ["No problems found.", ""]
    lines += _next_steps(report)
    if rest and not options.quiet:
        lines += [
            "<details><summary>Other checks</summary>",
            "",
            *header,
            *(_row(r) for r in rest),
            "",
            "</details>",
            "",
        ]
    return "\n".join(lines)
