"""`aisg-check bundle`, from its options to the archive: plan → copy the files → run → pack.

The run is `all` (narrowed by --only/--skip), planned and executed exactly as a run command
does (invocation.py), but neither recorded in the history nor pushed to a Pushgateway (those
belong to delivering a run's report): a bundle changes nothing but the archive it writes.
The files are copied before the checks run, so that every credential a redactor removes is
known to the run's scrubber and masked in the reports as well; every member then goes through
that scrubber once more on its way into the archive.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aisg_check import effective, invocation, output
from aisg_check.bundle import archive, collect, report, versions
from aisg_check.model import CONTACT_MLOPS, RunReport
from aisg_check.secrets import Scrubber


@dataclass(frozen=True)
class Options:
    output: str | None
    only: Sequence[str]
    skip: Sequence[str]
    config: str | None
    sets: Sequence[str]
    timeout: float | None
    ca_bundle: str | None
    quiet: bool
    no_color: bool


@dataclass(frozen=True)
class Outcome:
    path: str
    size: int
    run_report: RunReport
    entries: tuple[report.FileEntry, ...]
    scrubber: Scrubber


def _run_options(opts: Options) -> invocation.RunOptions:
    return invocation.RunOptions(
        fmt=None,
        output=None,
        verbose=False,
        quiet=opts.quiet,
        timeout=opts.timeout,
        strict=False,
        no_color=opts.no_color,
        only=opts.only,
        skip=opts.skip,
        config=opts.config,
        sets=opts.sets,
        ca_bundle=opts.ca_bundle,
    )


def make(opts: Options) -> Outcome | None:
    """Write the bundle; None when the run was interrupted (nothing is written then).
    `invocation.UsageError` before anything runs, `output.OutputError` when it cannot be written."""
    from aisg_check.net import trust
    from aisg_check.prefetch import prefetched

    default_ssl_context = prefetched(trust.system_context)
    run_options = _run_options(opts)
    env = dict(os.environ)
    # The values with their sources (the plan keeps only the settings).
    loaded = invocation.load(
        env, opts.config, invocation.overrides(opts.timeout, opts.ca_bundle, opts.sets, ())
    )
    plan = invocation.plan(None, run_options, (), default_ssl_context)
    moment = plan.ctx.now().astimezone()
    try:
        path = archive.destination(opts.output, moment)
    except output.OutputError as exc:
        raise invocation.UsageError(str(exc)) from None
    entries, copies = collect.files(plan.ctx, plan.scrubber)
    run_report = invocation.execute(plan, run_options)
    if run_report.interrupted:
        return None
    members = _members(
        plan.scrubber,
        run_report,
        entries,
        copies,
        {
            "versions.json": versions.collect(plan.ctx),
            "settings.json": effective.settings(loaded),
        },
    )
    top = archive.default_name(moment).removesuffix(".tar.gz")
    data = archive.pack(top, members, moment.timestamp())
    archive.write(path, data)
    return Outcome(path, len(data), run_report, tuple(entries), plan.scrubber)


def _members(
    scrubber: Scrubber,
    run_report: RunReport,
    entries: Sequence[report.FileEntry],
    copies: dict[str, str],
    data: dict[str, Any],
) -> dict[str, str]:
    """Every member's text, each passed through the run's scrubber (JSON values before they are
    written out too, so a mask cannot break the document)."""
    from aisg_check.reporters import RenderOptions, renderer

    options = RenderOptions(verbose=True, color=False, width=120, unicode=True, system=versions.system_line())
    members = {
        "README.md": _readme(run_report, entries),
        "report.json": renderer("json")(run_report, options),
        "report.md": renderer("markdown")(run_report, options),
        **{name: json.dumps(scrubber.scrub_value(value), indent=2) + "\n" for name, value in data.items()},
        "redactions.json": report.to_json(entries),
        "redactions.md": report.to_markdown(entries),
        **copies,
    }
    return {name: scrubber.scrub(text) for name, text in members.items()}


def _readme(run_report: RunReport, entries: Sequence[report.FileEntry]) -> str:
    s = run_report.summary
    lines = [
        "# aisg-check support bundle",
        "",
        f"Made by aisg-check {run_report.tool_version} at {run_report.started_at}",
        f"on {versions.system_line()}.",
        f"Checks: {s.passed} passed, {s.warned} warnings, {s.failed} failed, {s.skipped} skipped, "
        f"{s.errored} errors.",
        "",
        "- `report.md`, `report.json`: the report of `aisg-check all` (with details)",
        "- `versions.json`: the operating system, Python, aisg-check, its libraries and the tools",
        "- `settings.json`: the effective settings and where each came from (secrets as `***`)",
        "- `files/`: redacted copies of the files the checks read",
        "- `redactions.md`, `redactions.json`: what was removed from each file, and which were not copied",
        "",
        "Files:",
        "",
        *(f"- {report.summary_line(e)}" for e in entries),
        "",
        f"For {CONTACT_MLOPS}. Look inside before sending it: every member is text.",
        "",
    ]
    return "\n".join(lines)


def summary(outcome: Outcome) -> list[str]:
    """What the terminal shows once the bundle is written."""
    s = outcome.run_report.summary
    size = f"{outcome.size / 1024:.0f} KiB" if outcome.size >= 1024 else f"{outcome.size} bytes"
    lines = [
        f"Support bundle written: {outcome.path} ({size})",
        f"Checks: {s.passed} passed, {s.warned} warnings, {s.failed} failed, {s.skipped} skipped, "
        f"{s.errored} errors",
        "Files:",
        *(f"  {report.summary_line(e)}" for e in outcome.entries),
        f"Look inside before you send it (tar -xzf {outcome.path}): redactions.md says what was removed.",
        f"Send it to {CONTACT_MLOPS} with what you were trying to do.",
    ]
    return [outcome.scrubber.scrub(line) for line in lines]
