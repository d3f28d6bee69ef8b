"""The human view: one Rich table per component, problems with their code and fix."""

from __future__ import annotations

import io
from collections.abc import Mapping

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
        if result.fix:  # a safe local fix exists: say so, with the command
            text.append("\n⚙ " if options.unicode else "\n* ", style="green")
            text.append("automatic fix: ", style="green")
            text.append(result.fix, style="bold")
        if result.docs_url and options.verbose:
            text.append(f"\n  docs: {result.docs_url}", style="dim")
    elif result.status is Status.SKIP and options.verbose and result.code:
        text.append(f"  [{result.code}]", style="dim")
    if options.verbose and result.details:
        text.append(f"\n  {_detail_text(result)}", style="dim")
    return text


def _credentials_section(report: RunReport, options: RenderOptions) -> Table | None:
    """Every credential with a lifetime the run saw, once, soonest first: its name (and whose)
    and how long it has left at the end of the run, judged as the checks judge it
    (lifetimes.judge against expiry_warning_days). Quiet: only the expired and expiring ones."""
    from datetime import datetime, timedelta, timezone
    from pathlib import Path

    from aisg_check.context import Context
    from aisg_check.lifetimes import Verdict, judge
    from aisg_check.settings import Settings

    seen = list(dict.fromkeys(c for r in report.results for c in r.credentials))
    if not seen:
        return None
    try:
        started = datetime.fromisoformat(report.started_at.replace("Z", "+00:00"))
        moment = started.replace(tzinfo=started.tzinfo or timezone.utc) + timedelta(seconds=report.duration_s)
    except ValueError:
        moment = datetime.now(timezone.utc)
    # judge reads the clock and the warning window from a context: the run's end, not the render's.
    ctx = Context(
        settings=Settings(expiry_warning_days=options.expiry_warning_days),
        env={},
        home=Path("/"),
        now=lambda: moment,
    )
    as_status = {
        Verdict.EXPIRED: Status.FAIL,
        Verdict.SOON: Status.WARN,
        Verdict.VALID: Status.PASS,
        Verdict.NEVER: Status.SKIP,
    }
    far = datetime.max.replace(tzinfo=timezone.utc)
    table = Table(
        title=Text("Credentials", style="bold"),
        title_justify="left",
        show_header=False,
        box=None,
        pad_edge=False,
        padding=(0, 1),
        expand=False,
    )
    for _ in range(3 + options.verbose):
        table.add_column(overflow="fold")
    icons = _ICONS if options.unicode else _ASCII
    for credential in sorted(seen, key=lambda c: c.expires_at or far):
        lifetime = judge(ctx, credential.expires_at)
        status = as_status[lifetime.verdict]
        if options.quiet and status not in (Status.FAIL, Status.WARN):
            continue
        name = credential.name
        if credential.owner and credential.owner not in name:
            name = f"{name} ({credential.owner})"
        style = _STYLE[status]
        row = [Text(icons[status], style=style), Text(name), Text(lifetime.phrase(), style=style)]
        if options.verbose:
            row.append(Text(f"from {credential.source}", style="dim"))
        table.add_row(*row)
    return table if table.row_count else None


def _marked(body: Text, change: str | None) -> Text:
    """`was pass on 2026-11-30` (history.changes) at the end of the row's first line."""
    if not change:
        return body
    end = body.plain.find("\n")
    end = len(body.plain) if end < 0 else end
    return body[:end] + Text(f"  ({change})", style="italic") + body[end:]


def _next_steps(console: Console, report: RunReport) -> None:
    """The root causes in the order to fix them (next_steps.plan), then "run again"."""
    from aisg_check.next_steps import AGAIN, plan

    steps = plan(report)
    if not steps:
        return
    grid = Table(
        title=Text("Next steps, in order", style="bold"),
        title_justify="left",
        show_header=False,
        box=None,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        expand=False,
    )
    grid.add_column("n", justify="right", no_wrap=True)
    grid.add_column("step", overflow="fold")
    for number, step in enumerate(steps, start=1):
        grid.add_row(f"{number}.", Text.assemble((step.code, "bold"), ": ", step.action))
    console.print()
    console.print(grid)
    console.print(AGAIN)


def render(report: RunReport, options: RenderOptions) -> str:
    return render_marked(report, options, None)


def render_marked(report: RunReport, options: RenderOptions, changes: Mapping[str, str] | None) -> str:
    """The tables; `changes`: what differs from the last run of each check (history.changes)."""
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
            body = _marked(_body(result, options), (changes or {}).get(result.id))
            row: list[Text | str] = [status, result.id, body]
            if options.verbose:
                row.append(f"{result.duration_s:.2f}s")
            table.add_row(*row)
        console.print(table)
        console.print()
    credentials = _credentials_section(report, options)
    if credentials is not None:
        console.print(credentials)
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
    _next_steps(console, report)
    # Rich pads every cell to the table width; trailing blanks only get in the way of pasting.
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
