"""Runs checks concurrently under hard deadlines and turns every outcome into results.

Learned from flutter's doctor: every check starts at once, each under a hard time limit, and
a crash or a hang becomes a result, never a dead report. Threads, because the client
libraries (boto3, kubernetes, mlflow, docker) are synchronous. A thread that overruns its
deadline cannot be killed; it is abandoned (daemon) and its recorder frozen.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from aisg_check import __version__
from aisg_check.check import Blocked, Check, ContractError, Recorder, Stop
from aisg_check.context import Context
from aisg_check.diagnoses import BLOCKED, CHECK_CRASHED, CHECK_DEADLINE, INTERRUPTED, NOT_APPLICABLE, NOT_RUN
from aisg_check.model import CheckResult, RunReport

GRACE_S = 0.5


class Events:
    """Progress callbacks; the CLI's live display implements them. Called from worker threads."""

    def started(self, check: Check) -> None: ...

    def result(self, result: CheckResult) -> None: ...

    def finished(self, check: Check) -> None: ...


@dataclass
class _Unit:
    check: Check
    recorder: Recorder
    done: threading.Event
    deadline_at: float
    thread: threading.Thread | None = None
    outcome: str = "running"  # running | done | crashed | deadline | interrupted


class Runner:
    def __init__(self, ctx: Context, checks: Sequence[Check], events: Events | None = None) -> None:
        self.ctx = ctx
        self.checks = tuple(checks)
        self.events = events or Events()
        self._units: dict[str, _Unit] = {}
        self._lock = threading.Lock()

    # -- scheduling ---------------------------------------------------------------------------

    def _deadline_for(self, check: Check, start: float) -> float:
        """Hard deadline: its own budget plus the longest chain of needs before it."""
        timeout = self.ctx.timeout

        def chain(c: Check, seen: frozenset[str]) -> float:
            own = c.budget * timeout + c.import_allowance_s + GRACE_S
            needs = [self._by_id[n] for n in c.needs if n in self._by_id and n not in seen]
            return own + max((chain(n, seen | {n.id}) for n in needs), default=0.0)

        return start + chain(check, frozenset({check.id}))

    def _wait_for(self, check_id: str, timeout: float) -> tuple[tuple[CheckResult, ...], bool] | None:
        """(results so far, whether the check has finished); None when it is not in this run."""
        unit = self._units.get(check_id)
        if unit is None:
            return None
        settled = unit.done.wait(timeout)
        return unit.recorder.results, settled

    def run(self) -> RunReport:
        started_at = datetime.now(timezone.utc)
        start = self.ctx.clock()
        self._by_id = {c.id: c for c in self.checks}
        for check in self.checks:
            unit_holder: list[_Unit] = []
            recorder = Recorder(
                check,
                docs_base_url=self.ctx.settings.docs_base_url,
                clock=self.ctx.clock,
                wait_for=self._wait_for,
                on_result=self.events.result,
                deadline_at=lambda h=unit_holder: h[0].deadline_at,  # type: ignore[misc]
            )
            unit = _Unit(check, recorder, threading.Event(), self._deadline_for(check, start))
            unit_holder.append(unit)
            self._units[check.id] = unit
        # Ctrl-C, SIGTERM and SIGHUP all arrive here as a KeyboardInterrupt (signals.py), also
        # while the threads start: what finished is kept, the rest is marked interrupted.
        interrupted = False
        try:
            for unit in self._units.values():
                unit.thread = threading.Thread(
                    target=self._work, args=(unit,), name=f"check-{unit.check.id}", daemon=True
                )
                unit.thread.start()
            self._wait_all()
        except KeyboardInterrupt:
            interrupted = True
            self._finish_pending("interrupted")
        results = tuple(self._results())
        return RunReport(
            tool_name="aisg-check",
            tool_version=__version__,
            started_at=started_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
            duration_s=self.ctx.clock() - start,
            results=results,
            interrupted=interrupted,
        )

    def _wait_all(self) -> None:
        pending = list(self._units.values())
        while pending:
            now = self.ctx.clock()
            for unit in list(pending):
                if unit.done.is_set():
                    pending.remove(unit)
                elif now >= unit.deadline_at:
                    self._abandon(unit, "deadline")
                    pending.remove(unit)
            if pending:
                nearest = min(u.deadline_at for u in pending)
                # Short waits keep Ctrl-C responsive (Event.wait blocks signals on some platforms).
                pending[0].done.wait(max(0.0, min(0.1, nearest - self.ctx.clock())))

    def _finish_pending(self, why: str) -> None:
        for unit in self._units.values():
            if not unit.done.is_set():
                self._abandon(unit, why)

    def _results(self) -> Iterable[CheckResult]:
        for check in self.checks:
            yield from self._units[check.id].recorder.results

    # -- one check ----------------------------------------------------------------------------

    def _work(self, unit: _Unit) -> None:
        check, rec = unit.check, unit.recorder
        self.events.started(check)
        try:
            if check.laptop_only and self.ctx.in_cluster:
                self._not_applicable(rec)
                return
            check.run(self.ctx, rec)
        except Blocked as blocked:
            self._skip_rest(rec, blocked.blocked_by)
        except Stop:
            self._finish(rec)
        except Exception as exc:  # the check's bug becomes a result, never a traceback
            self._crash(rec, exc)
        else:
            self._finish(rec)
        finally:
            with self._lock:
                if unit.outcome == "running":
                    unit.outcome = "done"
            unit.done.set()
            self.events.finished(check)

    def _not_applicable(self, rec: Recorder) -> None:
        for step in rec.check.steps:
            rec.skip(step.id, NOT_APPLICABLE, "Not applicable in a pod: this checks a laptop's own setup")

    def _finish(self, rec: Recorder) -> None:
        """The check returned (or raised `Stop`): what it did not reach is blocked by its first
        failure, or was not run; a group step with no items configured has no row."""
        failure = rec.failed
        if failure is not None:
            self._skip_rest(rec, failure.id)
            return
        for step in rec.check.steps:
            if not step.group and not rec.recorded(step.id):
                rec.skip(step.id, NOT_RUN, "Not run: the check ended before this step")

    def _current_step(self, rec: Recorder) -> str:
        for step in rec.check.steps:
            if not rec.recorded(step.id):
                return step.id
        return rec.check.steps[-1].id if rec.check.steps else rec.check.id

    def _skip_rest(self, rec: Recorder, blocked_by: str) -> None:
        for step in rec.check.steps:
            if not rec.recorded(step.id):
                rec.skip(
                    step.id,
                    BLOCKED,
                    f"Skipped: {blocked_by} did not pass",
                    hint=f"Fix {blocked_by} first; this step runs once it passes.",
                    blocked_by=blocked_by,
                )

    def _crash(self, rec: Recorder, exc: BaseException) -> None:
        step = self._current_step(rec)
        rec.error(step, CHECK_CRASHED, f"The check crashed: {crash_message(exc)}")
        self._skip_rest(rec, step)

    def _abandon(self, unit: _Unit, why: str) -> None:
        with self._lock:
            if unit.outcome != "running":
                return
            unit.outcome = why
        rec = unit.recorder
        step = self._current_step(rec)
        if why == "deadline":
            rec.error(
                step,
                CHECK_DEADLINE,
                f"Did not finish before its hard deadline (timeout {self.ctx.timeout:g}s per step)",
            )
            self._skip_rest(rec, step)
        else:
            for s in rec.check.steps:
                if not rec.recorded(s.id):
                    rec.skip(s.id, INTERRUPTED, "Interrupted before this step finished")
        rec.freeze()
        unit.done.set()


def crash_message(exc: BaseException) -> str:
    """What a crash says: the exception's type and where in our code it was raised, never its
    message. A library's message can quote the input it choked on (a configparser error quotes
    the raw value, password and all), and no scrubber knows a secret the run never got to read.
    A broken contract is our own words (the offending step id or code), so it is said in full."""
    if isinstance(exc, ContractError):
        return f"{type(exc).__name__}: {exc}"
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        parts = frame.filename.replace("\\", "/").split("/aisg_check/")
        if len(parts) > 1 and parts[-1] != "runner.py":
            where = f" at aisg_check/{parts[-1]}:{frame.lineno} ({frame.name})"
            break
    return f"{type(exc).__name__}{where}"


def run_checks(ctx: Context, checks: Sequence[Check], events: Events | None = None) -> RunReport:
    return Runner(ctx, checks, events).run()


def scrub_report(report: RunReport, scrub: Callable[[object], object]) -> RunReport:
    """Pass every string of every result through the scrubber (the last gate before output)."""
    from dataclasses import replace

    cleaned = []
    for r in report.results:
        cleaned.append(
            replace(
                r,
                title=str(scrub(r.title)),
                summary=str(scrub(r.summary)),
                hint=None if r.hint is None else str(scrub(r.hint)),
                details=scrub(dict(r.details)),  # type: ignore[arg-type]
                credentials=tuple(
                    replace(
                        c,
                        name=str(scrub(c.name)),
                        source=str(scrub(c.source)),
                        owner=None if c.owner is None else str(scrub(c.owner)),
                    )
                    for c in r.credentials
                ),
            )
        )
    return replace(report, results=tuple(cleaned))
