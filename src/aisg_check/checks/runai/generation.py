"""Which Run:ai CLI is installed: the first one (a kubeconfig whose oidc user `runai login`
fills; it has `runai whoami`) or the improved one (clusters 2.18+: logs in to the control plane,
keeps its own state under ~/.runai/, no `runai whoami`). Decided from `runai version`'s output,
asked once per run (the tools check asks the same).

What the documentation says, and so what this relies on:
- the first CLI (run-ai/runai-cli, cmd/arena/commands/version.go) prints `Version: X` followed by
  BuildDate, GitCommit, GoVersion, Compiler and Platform lines; only `--short` prints the version
  line alone;
- the improved CLI (docs: Researcher/cli-reference/new-cli/runai_version.md) prints "the current
  version of the CLI", and full details only with `--wide`, a flag the first CLI does not have.
So the first CLI's block says "first"; a version alone is asked again with `--wide`: the improved
CLI answers with more, the first one refuses the flag (and a program that ignores it answers the
same). Anything else (no version at all, an improved CLI older than 2.18) is "unknown", which the
checks report as such, naming what the CLI printed, never as a pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aisg_check.checks.tools import parse_version
from aisg_check.context import CommandResult, Context

FIRST = "first"
IMPROVED = "improved"
UNKNOWN = "unknown"
MISSING = "missing"
BROKEN = "broken"

# Clusters (and so CLIs) from this version on have the improved CLI.
IMPROVED_SINCE = (2, 18)
_FIRST_BLOCK = re.compile(r"^\s*(BuildDate|GitCommit|GoVersion|Compiler|Platform)\s*:", re.I | re.M)
TITLES = {FIRST: "Run:ai CLI", IMPROVED: "Run:ai improved CLI", UNKNOWN: "Run:ai CLI"}


@dataclass(frozen=True)
class Installed:
    generation: str  # first | improved | unknown | missing | broken
    path: str | None = None
    version: str | None = None
    output: str = ""  # what `runai version` printed, scrubbed and clipped
    result: CommandResult | None = None

    @property
    def label(self) -> str:
        """ "Run:ai improved CLI 2.19.14", naming the version (or saying it is unknown)."""
        return f"{TITLES.get(self.generation, 'Run:ai CLI')} {self.version or '(version unknown)'}"

    def details(self) -> dict[str, Any]:
        return {"path": self.path, "version": self.version, "cli": self.generation}


def _text(ctx: Context, result: CommandResult) -> str:
    return ctx.scrubber.scrub_external((result.stdout + "\n" + result.stderr).strip())


def _lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip())


def detect(ctx: Context, timeout: float) -> Installed:
    path = ctx.which("runai")
    if path is None:
        return Installed(MISSING)
    result = ctx.run_once(["runai", "version"], timeout=timeout)
    output = _text(ctx, result)
    if not result.ok:
        return Installed(BROKEN, path, None, output, result)
    numbers = parse_version(output)
    version = ".".join(map(str, numbers)) if numbers else None
    forced = ctx.settings.runai.cli
    if forced in (FIRST, IMPROVED):
        return Installed(forced, path, version, output, result)
    if numbers is None:
        return Installed(UNKNOWN, path, None, output, result)
    if _FIRST_BLOCK.search(output):
        return Installed(FIRST, path, version, output, result)
    wide = ctx.run_once(["runai", "version", "--wide"], timeout=timeout)
    wide_text = _text(ctx, wide)
    answers_more = wide.ok and _lines(wide_text) > _lines(output) and parse_version(wide_text) == numbers
    if not answers_more:
        return Installed(FIRST, path, version, output, result)
    generation = IMPROVED if numbers[:2] >= IMPROVED_SINCE else UNKNOWN
    return Installed(generation, path, version, output, result)


def of_user(ctx: Context, timeout: float) -> str:
    """The CLI the user works with, as far as a hint needs to know: the setting when it says,
    else the installed one (first when none is installed or it cannot be told)."""
    forced = ctx.settings.runai.cli
    if forced in (FIRST, IMPROVED):
        return forced
    found = detect(ctx, timeout).generation
    return IMPROVED if found == IMPROVED else FIRST
