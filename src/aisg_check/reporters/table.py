"""The human view: one Rich table per component, problems with their code and fix."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from aisg_check.model import CheckResult, RunReport, Status
from aisg_check.reporters import RenderOptions

_ICONS = {Status.PASS: "✔", Status.WARN: "!", Status.FAIL: "✖", Status.SKIP: "–", Status.ERROR: "‼"}
_ASCII = {Status.PASS: "ok", Status.WARN: "!!", Status.FAIL: "XX", Status.SKIP: "--", Status.ERROR: "ER"}
_STYLE = {
    Status.PASS: "green",
    Status.WARN: "yellow",
    Status.FAIL: "bold red",
    Status.SKIP: "dim",
    Status.ERROR: "bold magenta",
}
_LABEL = {
    Status.PASS: "pass",
    Status.WARN: "warn",
    Status.FAIL: "FAIL",
    Status.SKIP: "skip",
    Status.ERROR: "ERROR",
}


def _detail_text(result: CheckResult) -> str:
    parts = []
    for key, value in result.details.items():
        if isinstance(value, (list, tuple)):
            value = ", ".join(map(str, value))
        parts.append(f"{key}={value}")
    return "  ".join(parts)


def _body(result: CheckResult, options: RenderOptions) -> Text:
    text = Text(result.summary)
    if result.status in (Status.FAIL, Status.ERROR, Status.WARN):
        if result.code:
            text.append(f"  [{result.code}]", style="bold")
        if result.hint:
            text.append("\n→ " if options.unicode else "\n-> ", style="cyan")
            text.append(result.hint)
        if result.docs_url and options.verbose:
            text.append(f"\n  docs: {result.docs_url}", style="dim")
    elif result.status is Status.SKIP and options.verbose and result.code:
        text.append(f"  [{result.code}]", style="dim")
    if options.verbose and result.details:
        text.append(f"\n  {_detail_text(result)}", style="dim")
    return text


def render(report: RunReport, options: RenderOptions) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=options.color,
        no_color=not options.color,
        color_system="standard" if options.color else None,
        width=options.width,
        highlight=False,
        emoji=False,
        legacy_windows=False,
    )
    icons = _ICONS if options.unicode else _ASCII
    for component in report.components():
        results = [r for r in report.results if r.component == component]
        if options.quiet:
            results = [r for r in results if r.status in (Status.FAIL, Status.ERROR, Status.WARN)]
            if not results:
                continue
        table = Table(
            title=Text(component, style="bold"),
            title_justify="left",
            show_header=False,
            box=None,
            pad_edge=False,
            padding=(0, 1),
            expand=False,
        )
        table.add_column("status", no_wrap=True)
        table.add_column("check", no_wrap=True, style="cyan")
        table.add_column("result", overflow="fold")
        if options.verbose:
            table.add_column("time", justify="right", style="dim", no_wrap=True)
        for result in results:
            status = Text(f"{icons[result.status]} {_LABEL[result.status]}", style=_STYLE[result.status])
            row: list[Text | str] = [status, result.id, _body(result, options)]
            if options.verbose:
                row.append(f"{result.duration_s:.2f}s")
            table.add_row(*row)
        console.print(table)
        console.print()
    s = report.summary
    line = Text()
    line.append(f"{s.passed} passed", style="green")
    line.append(", ")
    line.append(f"{s.warned} warnings", style="yellow" if s.warned else "")
    line.append(", ")
    line.append(f"{s.failed} failed", style="bold red" if s.failed else "")
    line.append(", ")
    line.append(f"{s.skipped} skipped")
    line.append(", ")
    line.append(f"{s.errored} errors", style="bold magenta" if s.errored else "")
    line.append(f" in {report.duration_s:.1f}s")
    if report.interrupted:
        line.append(" (interrupted)", style="bold")
    console.print(line)
    if (s.failed or s.errored) and not options.verbose:
        console.print("Each code links to its fix: run with --verbose for the docs links.", style="dim")
    # Rich pads every cell to the table width; trailing blanks only get in the way of pasting.
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
