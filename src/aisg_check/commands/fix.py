"""`aisg-check fix [CODE]`: apply the automatic fixes (aisg_check.fixes) for what failed.

Without a code it runs the checks that report a code with an automatic fix (narrowed by
--only/--skip) and offers a fix for each result that has one; with a code it runs the checks that
report it and fixes that one. No other check runs: those write nowhere (the ECS write test is off
whatever the config says), whereas the MLflow check, say, logs a test run on the server, and a
dry run must change nothing anywhere. Each fix shows its diff or command and asks first (`--yes`:
apply without asking; `--dry-run`: show, change nothing), backs up what it changes, and runs the
check again to prove it.

Exit code: 0 when every fix offered worked (or there was nothing to fix, or a dry run), 1 when
one was declined, refused, failed or could not be confirmed, 2 for a usage or configuration
error, 130 when interrupted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aisg_check.commands import fail_usage

if TYPE_CHECKING:
    from rich.console import Console

    from aisg_check.check import Check
    from aisg_check.context import Context
    from aisg_check.fixes.plan import Plan
    from aisg_check.fixes.session import Session
    from aisg_check.model import CheckResult

_ICON = {"pass": "✔", "warn": "!", "fail": "✖", "skip": "–", "error": "‼"}
_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim", "error": "bold magenta"}
# Whatever the config says: the checks `fix` runs write nothing on a server.
_READ_ONLY = (("ecs.write_test", False, "aisg-check fix (never a write test)"),)


class Terminal:
    """The session's `Ui` on a Rich console: plain Text throughout, so that a file's own
    brackets (`[profile x]`) are never taken for markup."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def problem(self, result: CheckResult) -> None:
        from rich.text import Text

        status = result.status.value
        self.console.print()
        self.console.print(
            Text.assemble(
                (f"{_ICON[status]} {status.upper() if status == 'fail' else status}", _STYLE[status]),
                "  ",
                (result.id, "cyan"),
                "  ",
                (f"[{result.code}]", "bold"),
            )
        )
        self.console.print(Text(f"  {result.summary}"))

    def plan(self, plan: Plan, scrub: Callable[[str], str]) -> None:
        from rich.text import Text

        self.console.print(Text(f"Fix: {scrub(plan.title)}", style="bold"))
        for change in plan.changes:
            for line in change.preview():
                style = {"+": "green", "-": "red", "@": "cyan", "$": "bold"}.get(line[:1], "")
                if line.startswith(("+++", "---")):
                    style = "bold"
                self.console.print(Text(f"  {scrub(line)}", style=style))
        for note in plan.notes:
            self.console.print(Text(f"  {scrub(note)}", style="dim"))

    def ask(self, question: str) -> bool:
        from rich.prompt import Confirm

        return Confirm.ask(question, console=self.console, default=False)

    def say(self, text: str, style: str = "") -> None:
        from rich.text import Text

        self.console.print(Text(text, style=style))


def _console(no_color: bool) -> Console:
    from rich.console import Console

    env = os.environ
    color = not (no_color or env.get("NO_COLOR")) and (
        bool(env.get("FORCE_COLOR")) or (_interactive() and env.get("TERM") != "dumb")
    )
    return Console(
        file=sys.stdout,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        emoji=False,
        soft_wrap=True,  # a diff line or a path is never folded
    )


def _context_factory(loaded: Any, env: dict[str, str]) -> Callable[[], Context]:
    def make() -> Context:
        from aisg_check.context import Context
        from aisg_check.invocation import make_scrubber

        return Context(
            settings=loaded.settings,
            env=env,
            home=Path.home(),
            scrubber=make_scrubber(loaded, env),
        )

    return make


def _known_code(code: str) -> str:
    """The code in upper case; exit 2 when no check reports it or it has no automatic fix."""
    from aisg_check import fixes, registry

    wanted = code.strip().upper()
    if wanted in fixes.CODES:
        return wanted
    diagnosis = next((d for d in registry.all_diagnoses() if d.code == wanted), None)
    with_fix = ", ".join(sorted(fixes.CODES))
    if diagnosis is None:
        raise fail_usage(f"unknown code {code!r}; codes with an automatic fix: {with_fix}")
    raise fail_usage(
        f"{wanted} has no automatic fix. What to do: {diagnosis.fix} (codes with one: {with_fix})"
    )


def _list() -> None:
    from aisg_check import fixes
    from aisg_check.commands import emit

    width = max(len(f.code) for f in fixes.FIXES)
    emit([f"{f.code:<{width}}  {f.step:<18}  {f.summary}" for f in fixes.FIXES])


def fix(
    code: Annotated[
        str | None, typer.Argument(help="The diagnosis code to fix (default: every fixable one).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply every fix without asking.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Show what would change; change nothing.")
    ] = False,
    list_fixes: Annotated[
        bool, typer.Option("--list", help="List the codes that have an automatic fix.")
    ] = False,
    only: Annotated[list[str], typer.Option("--only", metavar="ID", help="Run only these checks.")] = [],  # noqa: B006
    skip: Annotated[list[str], typer.Option("--skip", metavar="ID", help="Do not run these checks.")] = [],  # noqa: B006
    config: Annotated[str | None, typer.Option("--config", "-c", metavar="FILE", help="Config file.")] = None,
    sets: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE", help="Override a key.")] = [],  # noqa: B006
    timeout: Annotated[float | None, typer.Option("--timeout", metavar="SECONDS")] = None,
    ca_bundle: Annotated[str | None, typer.Option("--ca-bundle", metavar="FILE")] = None,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colours (also: NO_COLOR=1).")] = False,
) -> None:
    """Fix what failed, where a safe local fix exists: shows each change, asks, backs up, re-checks."""
    from aisg_check import cleanup, registry, signals
    from aisg_check.fixes.session import Session, State
    from aisg_check.invocation import UsageError, load, overrides

    if list_fixes:
        _list()
        return
    wanted = _known_code(code) if code else None
    if not (yes or dry_run) and not _interactive():
        raise fail_usage("fix asks before each change and there is no terminal: pass --yes or --dry-run")
    env = dict(os.environ)
    try:
        loaded = load(env, config, overrides(timeout, ca_bundle, sets, _READ_ONLY))

        def select(check_ids: Any) -> Any:
            return registry.select(None, only=check_ids)

        first = _first(wanted, only, skip)
    except (UsageError, registry.SelectionError) as exc:
        raise fail_usage(str(exc)) from None
    terminal = Terminal(_console(no_color))
    if not first:
        with_one = ", ".join(_fixable())
        terminal.say(
            f"Nothing to fix automatically: no check selected has an automatic fix (those: {with_one})."
        )
        return
    session = Session(_context_factory(loaded, env), select, terminal, yes=yes, dry_run=dry_run)
    try:
        with cleanup.session():
            terminal.say(f"Running {len(first)} check(s): {', '.join(c.id for c in first)} …", "dim")
            ctx, results = session.run([c.id for c in first])
            attempts = session.fix_all(ctx, results, wanted)
            remains = _closing(terminal, results, attempts, wanted)
    except KeyboardInterrupt:
        terminal.say(_interrupted(session))
        raise typer.Exit(signals.exit_code(130)) from None
    ok = all(a.state in (State.FIXED, State.PLANNED) for a in attempts) and not remains
    raise typer.Exit(0 if ok else 1)


def _fixable() -> list[str]:
    from aisg_check import fixes

    return list(dict.fromkeys(f.check for f in fixes.FIXES))


def _first(code: str | None, only: list[str], skip: list[str]) -> list[Check]:
    """The checks to run first: those that report CODE; without one, those that report a code
    with an automatic fix, narrowed by --only/--skip (and what they need, the VPN probes)."""
    from aisg_check import fixes, registry

    if code:
        return registry.select(None, only=[f.check for f in fixes.fixes_for(code)])
    ids = _fixable()
    if only:  # --only names checks (or steps, globs): the fixable ones among them
        asked = {c.id for c in registry.select(None, only=only, skip=skip)}
        ids = [i for i in ids if i in asked]
    return registry.select(None, only=ids, skip=skip) if ids else []


def _interrupted(session: Session) -> str:
    """What Ctrl-C leaves: every file changed and still so, and which of them no check has
    looked at again (the check was running when the signal came)."""
    from aisg_check.fixes.plan import display

    home = Path.home()
    changed = ", ".join(display(p, home) for p in session.changed) or "none"
    line = f"aisg-check: interrupted; files changed and kept: {changed}"
    if session.unchecked:
        unchecked = ", ".join(display(p, home) for p in session.unchecked)
        line += f" (not yet checked again: {unchecked}; `aisg-check fix` checks it and offers the rest)"
    return line


def _interactive() -> bool:
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _closing(terminal: Terminal, results: dict[str, CheckResult], attempts: Any, code: str | None) -> bool:
    """The last lines; True when `fix CODE` found the code reported but no automatic fix for it."""
    from collections import Counter

    from aisg_check.model import Status

    terminal.say("")
    remains = False
    if attempts:
        counts = Counter(a.state.value for a in attempts)
        terminal.say(", ".join(f"{n} {state}" for state, n in counts.items()) + ".", "bold")
    elif code is None:
        terminal.say("Nothing to fix automatically.", "green")
    else:
        remains = _nothing_for(terminal, results, code)
    tried = {a.step for a in attempts}
    others = [r for r in results.values() if r.status in (Status.FAIL, Status.ERROR) and r.id not in tried]
    if code is None and others:
        terminal.say(
            f"{len(others)} other problem(s) have no automatic fix: `aisg-check all` shows each with its fix."
        )
    if any(a.state.value == "fixed" for a in attempts):
        terminal.say("Then run `aisg-check all` again.")
    elif code is None:
        terminal.say("Only the checks with an automatic fix ran: `aisg-check all` runs every check.", "dim")
    return remains


def _nothing_for(terminal: Terminal, results: dict[str, CheckResult], code: str) -> bool:
    from aisg_check.model import Status

    problems = (Status.FAIL, Status.ERROR, Status.WARN)
    reported = [r for r in results.values() if r.code == code and r.status in problems]
    if not reported:
        terminal.say(f"Nothing to fix: no check reports {code} now.", "green")
        return False
    for result in reported:
        terminal.problem(result)
        terminal.say(f"No automatic fix for this case. {result.hint or ''}".rstrip(), "yellow")
    return True


def register(app: typer.Typer) -> None:
    app.command("fix")(fix)
