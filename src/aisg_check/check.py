"""The API a check is written against: its metadata (`Check`, `Step`) and the `Recorder`.

A check is one chain of layers (reach → TLS → authenticate → authorise → real action). Its
`run` function records one result per layer through the recorder and returns at the first
failing layer; the runner marks the layers it did not reach as skipped, blocked by that
failure. A check never prints, exits or reads globals.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aisg_check.model import CheckResult, Diagnosis, Status

if TYPE_CHECKING:
    from aisg_check.context import Context


@dataclass(frozen=True)
class Step:
    id: str
    title: str


@dataclass(frozen=True)
class Check:
    """One unit the runner schedules: a component's chain of layers (or one VPN probe)."""

    id: str
    component: str
    title: str
    steps: tuple[Step, ...]
    run: Callable[[Context, Recorder], None]
    # Checks whose outcome this one may wait on (through `Recorder.require`); selecting this
    # check selects them too, and `aisg-check list` shows them.
    needs: tuple[str, ...] = ()
    diagnoses: tuple[Diagnosis, ...] = ()
    # Hard deadline, in multiples of the configured timeout, on top of every library timeout;
    # the runner adds the budgets of the checks it needs, since it may wait for them first.
    budget: float = 3.0
    # Extra fixed seconds for a cold import of a heavy client library.
    import_allowance_s: float = 0.0
    # Only when explicitly asked for (`aisg-check <component>` or --only), not in `all`.
    explicit_only: bool = False
    help: str = ""

    def step_title(self, step_id: str) -> str | None:
        for step in self.steps:
            if step.id == step_id:
                return step.title
        return None


def _covers(step_id: str, result_id: str) -> bool:
    return result_id == step_id or result_id.startswith(step_id + ".")


class Blocked(Exception):
    """Raised by `Recorder.require` when a needed check failed; ends the check's run."""

    def __init__(self, blocked_by: str) -> None:
        super().__init__(blocked_by)
        self.blocked_by = blocked_by


@dataclass
class _State:
    results: list[CheckResult] = field(default_factory=list)
    frozen: bool = False
    last_mark: float = 0.0


class Recorder:
    """Collects a check's results as they happen (thread-safe; the runner reads them live)."""

    def __init__(
        self,
        check: Check,
        *,
        docs_base_url: str,
        clock: Callable[[], float] = time.monotonic,
        wait_for: Callable[[str, float], tuple[tuple[CheckResult, ...], bool] | None] | None = None,
        on_result: Callable[[CheckResult], None] | None = None,
        deadline_at: Callable[[], float] | None = None,
    ) -> None:
        self.check = check
        self._docs_base_url = docs_base_url
        self._clock = clock
        self._wait_for = wait_for
        self._on_result = on_result
        self._deadline_at = deadline_at
        self._lock = threading.Lock()
        self._state = _State(last_mark=clock())

    # -- recording ----------------------------------------------------------------------------

    def ok(
        self, step: str, summary: str, *, details: Mapping[str, Any] | None = None, title: str = ""
    ) -> None:
        self._record(step, Status.PASS, summary, None, None, details, title, None)

    def warn(
        self,
        step: str,
        diagnosis: Diagnosis,
        summary: str,
        *,
        hint: str | None = None,
        details: Mapping[str, Any] | None = None,
        title: str = "",
    ) -> None:
        self._record(step, Status.WARN, summary, diagnosis, hint, details, title, None)

    def fail(
        self,
        step: str,
        diagnosis: Diagnosis,
        summary: str,
        *,
        hint: str | None = None,
        details: Mapping[str, Any] | None = None,
        title: str = "",
    ) -> None:
        self._record(step, Status.FAIL, summary, diagnosis, hint, details, title, None)

    def skip(
        self,
        step: str,
        diagnosis: Diagnosis,
        summary: str,
        *,
        hint: str | None = None,
        details: Mapping[str, Any] | None = None,
        title: str = "",
        blocked_by: str | None = None,
    ) -> None:
        """Not applicable here (nothing configured), or blocked by `blocked_by`."""
        self._record(step, Status.SKIP, summary, diagnosis, hint, details, title, blocked_by)

    def error(
        self, step: str, diagnosis: Diagnosis, summary: str, *, hint: str | None = None, title: str = ""
    ) -> None:
        self._record(step, Status.ERROR, summary, diagnosis, hint, None, title, None)

    # -- queries ------------------------------------------------------------------------------

    @property
    def results(self) -> tuple[CheckResult, ...]:
        """In the order of the declared steps (layers may finish out of order when concurrent)."""
        with self._lock:
            results = list(self._state.results)
        return tuple(sorted(results, key=lambda r: self._position(r.id)))

    def _position(self, result_id: str) -> int:
        best, best_len = len(self.check.steps), -1
        for index, step in enumerate(self.check.steps):
            if _covers(step.id, result_id) and len(step.id) > best_len:
                best, best_len = index, len(step.id)
        return best

    @property
    def failed(self) -> CheckResult | None:
        """The first result that blocks later layers (fail or error), if any."""
        for result in self.results:
            if result.status.is_problem:
                return result
        return None

    def recorded(self, step: str) -> bool:
        """Whether the step has a result; a declared group step (`harbor.push`) is covered by
        the dynamic results under it (`harbor.push.myproject`)."""
        return any(_covers(step, r.id) for r in self.results)

    def remaining(self) -> float:
        """Seconds left before the runner's hard deadline for this check."""
        if self._deadline_at is None:
            return float("inf")
        return max(0.0, self._deadline_at() - self._clock())

    def step_timeout(self, timeout: float) -> float:
        """The configured per-step timeout, cut short so the check ends before its deadline."""
        return max(0.05, min(timeout, self.remaining() - 0.05))

    def require(self, check_id: str) -> tuple[CheckResult, ...]:
        """Wait for a needed check; raise `Blocked` if it failed (so this check stops here).

        A needed check that is not part of this run (the user skipped it) does not block.
        """
        if self._wait_for is None:
            return ()
        waited = self._wait_for(check_id, self.remaining())
        if waited is None:
            return ()
        results, settled = waited
        if not settled:  # our own deadline came first: do not go on as if it had passed
            raise Blocked(check_id)
        for result in results:
            if result.status.is_problem or (result.status is Status.SKIP and result.blocked_by):
                raise Blocked(result.id)
        return results

    def prior(self, check_id: str) -> tuple[CheckResult, ...]:
        """Results of a needed check without blocking on its failure."""
        if self._wait_for is None:
            return ()
        waited = self._wait_for(check_id, self.remaining())
        return waited[0] if waited else ()

    # -- runner side --------------------------------------------------------------------------

    def freeze(self) -> None:
        """After a deadline or Ctrl-C: whatever the abandoned thread records later is dropped."""
        with self._lock:
            self._state.frozen = True

    def docs_url(self, code: str) -> str:
        return f"{self._docs_base_url}#{code.lower()}"

    def _record(
        self,
        step: str,
        status: Status,
        summary: str,
        diagnosis: Diagnosis | None,
        hint: str | None,
        details: Mapping[str, Any] | None,
        title: str,
        blocked_by: str | None,
    ) -> None:
        if not (step == self.check.id or step.startswith(self.check.id + ".")):
            raise ValueError(f"result id {step!r} is outside check {self.check.id!r}")
        if status is not Status.PASS and diagnosis is None:
            raise ValueError(f"{step}: a {status.value} result needs a diagnosis")
        now = self._clock()
        with self._lock:
            if self._state.frozen:
                return
            duration = now - self._state.last_mark
            self._state.last_mark = now
            result = CheckResult(
                id=step,
                component=self.check.component,
                title=title or self.check.step_title(step) or step,
                status=status,
                summary=summary,
                code=diagnosis.code if diagnosis else None,
                hint=(hint or diagnosis.fix) if diagnosis else None,
                docs_url=self.docs_url(diagnosis.code) if diagnosis else None,
                details=dict(details or {}),
                duration_s=max(0.0, duration),
                blocked_by=blocked_by,
            )
            self._state.results.append(result)
        if self._on_result is not None:
            self._on_result(result)
