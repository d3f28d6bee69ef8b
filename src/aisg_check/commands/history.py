"""`aisg-check history`: the last recorded runs, oldest first (the file: aisg_check.history)."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aisg_check.commands import emit, fail_usage

if TYPE_CHECKING:
    from aisg_check.history import Run

_STATUSES = ("pass", "warn", "fail", "skip", "error")


class HistoryFormat(str, Enum):
    table = "table"
    json = "json"


def show_history(
    fmt: Annotated[
        HistoryFormat, typer.Option("--format", "-f", help="Output format.")
    ] = HistoryFormat.table,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, metavar="N", help="The last N runs.")] = 20,
    check: Annotated[
        str | None, typer.Option("--check", metavar="ID", help="Only the runs of this result id.")
    ] = None,
    config: Annotated[str | None, typer.Option("--config", "-c", metavar="FILE", help="Config file.")] = None,
) -> None:
    """List the last runs: when, which version, how many passed and failed, and the problems."""
    import json

    from aisg_check import history
    from aisg_check.invocation import UsageError, load

    env = dict(os.environ)
    try:
        recording = bool(load(env, config, ()).settings.history)
    except UsageError as exc:
        raise fail_usage(str(exc)) from None
    path = history.history_path(env, Path.home())
    loaded = history.load(path)
    if loaded.problem:
        raise fail_usage(f"history: {path} cannot be read ({loaded.problem})")
    if loaded.bad_lines:
        from aisg_check.output import say

        say(f"aisg-check: history: ignored {loaded.bad_lines} damaged line(s) in {path}")
    runs = [r for r in loaded.runs if check is None or check in r.results][-limit:]
    if fmt is HistoryFormat.json:
        data = {"path": str(path), "recording": recording, "runs": [r.to_dict() for r in runs]}
        emit([json.dumps(data, indent=2)])
        return
    state = "on" if recording else "off (history: false)"
    head = f"history: {path} ({len(loaded.runs)} runs recorded; recording is {state})"
    if not runs:
        emit([head, "No runs recorded yet." if check is None else f"No recorded run has {check}."])
        return
    emit([head, *(_table(runs) if check is None else _one_check(runs, check))])


def _when(run: Run) -> str:
    return f"{run.when().astimezone():%Y-%m-%d %H:%M}"


def _table(runs: list[Run]) -> list[str]:
    lines = [f"{'when':<16}  {'version':<10} " + " ".join(f"{s:>5}" for s in _STATUSES) + "  problems"]
    for run in runs:
        counts = run.counts()
        codes = run.problems()
        shown = ", ".join(codes[:3]) + (f" (+{len(codes) - 3})" if len(codes) > 3 else "")
        interrupted = " (interrupted)" if run.interrupted else ""
        numbers = " ".join(f"{counts[s]:>5}" for s in _STATUSES)
        lines.append(f"{_when(run):<16}  {run.version:<10} {numbers}  {shown}{interrupted}".rstrip())
    return lines


def _one_check(runs: list[Run], check: str) -> list[str]:
    lines = [f"{'when':<16}  {'version':<10} {check}"]
    for run in runs:
        status, code = run.results[check]
        lines.append(f"{_when(run):<16}  {run.version:<10} {status}" + (f" {code}" if code else ""))
    return lines


def register(app: typer.Typer) -> None:
    app.command("history")(show_history)
