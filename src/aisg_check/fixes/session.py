"""One `aisg-check fix`: run the checks, and for each result an automatic fix exists for, show the
change, ask (unless --yes), apply it, and run the check again to prove it. When the check still
reports the code, the change is undone: a fix that did not work leaves the file as it was.

A fix can reveal the next problem of the same check (the port set, the key's mode is the next
layer's complaint); those are offered too, each (step, code) at most once. The terminal is the
caller's (`Ui`): this module only decides.

What is changed is recorded the moment it is made (`applied`), not once the check has proven it:
Ctrl-C while the check runs again leaves the change in place, and the caller can say so
truthfully (`changed`, and `unchecked`: what no check has looked at since).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from aisg_check import edits
from aisg_check.fixes import Fix, find
from aisg_check.fixes.plan import Applied, Plan, Refused, uninterrupted
from aisg_check.model import CheckResult, Status

if TYPE_CHECKING:
    from aisg_check.check import Check
    from aisg_check.context import Context


class State(str, enum.Enum):
    FIXED = "fixed"
    PLANNED = "planned"  # --dry-run
    DECLINED = "declined"
    REFUSED = "refused"  # no automatic fix for this case
    FAILED = "failed"  # could not be applied, or the check still reports the code (undone)
    UNCONFIRMED = "unconfirmed"  # applied, but the check could not get as far as that step


class Ui(Protocol):
    def problem(self, result: CheckResult) -> None: ...

    def plan(self, plan: Plan, scrub: Callable[[str], str]) -> None: ...

    def ask(self, question: str) -> bool: ...

    def say(self, text: str, style: str = "") -> None: ...


@dataclass(frozen=True)
class Attempt:
    step: str
    code: str
    state: State


Results = dict[str, CheckResult]


@dataclass
class Session:
    make_context: Callable[[], Context]
    select: Callable[[Sequence[str]], Sequence[Check]]  # check ids → the checks to run, with their needs
    ui: Ui
    yes: bool = False
    dry_run: bool = False
    now: Callable[[], datetime] = datetime.now
    applied: list[Applied] = field(default_factory=list)  # every change made and not undone, in order
    checked: int = 0  # how many of `applied` a check has run again since

    @property
    def changed(self) -> list[Path]:
        """Every file changed or made and still so, backups included."""
        return [path for done in self.applied for path in done.paths]

    @property
    def unchecked(self) -> list[Path]:
        """The files changed that no check has run again since (interrupted before it could);
        their backups are not named here, only the files themselves."""
        return [path for done in self.applied[self.checked :] for path in done.paths[:1]]

    def run(self, check_ids: Sequence[str]) -> tuple[Context, Results]:
        from aisg_check.runner import run_checks, scrub_report
        from aisg_check.secrets import clip_value

        ctx = self.make_context()  # a fresh one each time: nothing cached from before the fix
        report = run_checks(ctx, self.select(check_ids))
        if report.interrupted:  # Ctrl-C while the checks ran: stop here, as a run would
            raise KeyboardInterrupt
        report = scrub_report(report, lambda value: clip_value(ctx.scrubber.scrub_value(value)))
        return ctx, {r.id: r for r in report.results}

    def fix_all(self, ctx: Context, results: Results, code: str | None = None) -> list[Attempt]:
        def fixable(found: Mapping[str, CheckResult], where: Context) -> list[tuple[Fix, CheckResult]]:
            pairs = ((find(where, r), r) for r in found.values())
            return [(f, r) for f, r in pairs if f is not None and (code is None or f.code == code)]

        queue = fixable(results, ctx)
        tried: set[tuple[str, str]] = set()
        attempts: list[Attempt] = []
        while queue:
            fix, result = queue.pop(0)
            if (result.id, fix.code) in tried:
                continue
            tried.add((result.id, fix.code))
            state, rerun = self.attempt(ctx, fix, result, results)
            attempts.append(Attempt(result.id, fix.code, state))
            if rerun is not None:
                ctx, after = rerun
                results = {**results, **after}
                queue += [(f, r) for f, r in fixable(after, ctx) if (r.id, f.code) not in tried]
        return attempts

    def attempt(
        self, ctx: Context, fix: Fix, result: CheckResult, results: Results
    ) -> tuple[State, tuple[Context, Results] | None]:
        say = self.ui.say
        self.ui.problem(result)
        try:
            plan = fix.plan(ctx, result, results)
        except Refused as exc:
            say(f"No automatic fix for this case: {ctx.scrubber.scrub(str(exc))}.", "yellow")
            return State.REFUSED, None
        self.ui.plan(plan, ctx.scrubber.scrub)
        if self.dry_run:
            say("Dry run: nothing changed.", "dim")
            return State.PLANNED, None
        if not self.yes and not self.ui.ask("Apply this fix?"):
            say("Left as it is.", "dim")
            return State.DECLINED, None
        try:
            applied = plan.apply(self.now(), self.applied)
        except (edits.EditError, OSError) as exc:
            say(f"Not applied: {ctx.scrubber.scrub(str(exc))}", "red")
            return State.FAILED, None
        for done in applied:
            for line in done.lines:
                say(f"  {line}")
        say(f"Checking again: {fix.check} …", "dim")
        after_ctx, after = self.run([fix.check])
        return self._judge(fix, result, applied, after_ctx, after)

    def _judge(
        self, fix: Fix, before: CheckResult, applied: list[Applied], ctx: Context, after: Results
    ) -> tuple[State, tuple[Context, Results] | None]:
        say = self.ui.say
        now = after.get(before.id)
        if now is not None and now.code == fix.code and now.status in (Status.FAIL, Status.WARN):
            with uninterrupted():  # undone whole: a file half put back would be the worst case
                for done in reversed(applied):
                    line = done.undo()
                    self.applied = [a for a in self.applied if a is not done]
                    if line:
                        say(f"  {line}")
            self.checked = len(self.applied)
            say(f"The check still says {fix.code}: {now.summary}. The change is undone.", "red")
            return State.FAILED, None
        self.checked = len(self.applied)
        if now is None or now.status in (Status.SKIP, Status.ERROR):
            why = f"{now.status.value}: {now.summary}" if now else "the step did not run"
            say(f"Applied, but the check could not confirm it ({why}).", "yellow")
            return State.UNCONFIRMED, (ctx, after)
        if now.status is Status.PASS:
            say(f"Fixed: {now.id} passes: {now.summary}", "green")
        else:
            say(f"Fixed {fix.code}; {now.id} now says {now.code}: {now.summary}", "yellow")
        return State.FIXED, (ctx, after)
