"""The kit a check is written against: its metadata (`Check`, `Step`), the `Recorder`, and the
contracts the recorder enforces so that a slip is a visible result, not a silent wrong report.

A check is one chain of layers (reach → TLS → authenticate → authorise → real action). Its
`run` records one result per layer and stops at the first failing one, with `raise
rec.fail(...)` (or by returning); the runner marks the layers it did not reach as skipped,
blocked by that failure. A check never prints, exits or reads globals.

Contracts, each enforced here and tested over every registered check:
- a result's id is a declared `Step` of the check (or a child `<step>.<name>` of a declared
  group step); anything else is a `ContractError`, which the runner reports as CHECK_CRASHED
  naming the offending id;
- a check reports only diagnoses it declares; the declared set is derived from its package's
  `diagnoses.py` with `declared()`, never kept by hand;
- worker threads are started through `rec.parallel`, so a crash in one is the check's
  CHECK_CRASHED (scrubbed by the runner), never a traceback on stderr.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from aisg_check.diagnoses import RUNNER_DIAGNOSES
from aisg_check.model import CheckResult, Credential, Diagnosis, Status

if TYPE_CHECKING:
    from aisg_check.context import Context

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    # A group step's results are its children, one per item (`harbor.push.<project>`); a group
    # with no items configured has no row at all.
    group: bool = False


@dataclass(frozen=True)
class Check:
    """One unit the runner schedules: a component's chain of layers (or one VPN probe)."""

    id: str
    component: str
    title: str
    steps: tuple[Step, ...]
    run: Callable[[Context, Recorder], None]
    # Every diagnosis the check may report besides the runner's own: `declared(diagnoses_module)`.
    diagnoses: tuple[Diagnosis, ...]
    # Checks whose outcome this one may wait on (through `Recorder.require`); selecting this
    # check selects them too, and `aisg-check list` shows them.
    needs: tuple[str, ...] = ()
    # Hard deadline, in multiples of the configured timeout, on top of every library timeout;
    # the runner adds the budgets of the checks it needs, since it may wait for them first.
    budget: float = 3.0
    # Extra fixed seconds for a cold import of a heavy client library.
    import_allowance_s: float = 0.0
    # Only when explicitly asked for (`aisg-check <component>` or --only), not in `all`.
    explicit_only: bool = False
    # About a laptop's own setup (ssh config, local tools, the Docker daemon): in a pod
    # (`ctx.in_cluster`) the runner reports its steps as not applicable instead of running it.
    laptop_only: bool = False

    def step_for(self, result_id: str) -> Step | None:
        """The declared step a result id belongs to: the step itself, or a group's child."""
        for step in self.steps:
            if result_id == step.id or (step.group and result_id.startswith(step.id + ".")):
                return step
        return None

    def allows(self, diagnosis: Diagnosis) -> bool:
        return diagnosis in self.diagnoses or diagnosis in RUNNER_DIAGNOSES


def declared(*sources: ModuleType | Iterable[Diagnosis] | Diagnosis) -> tuple[Diagnosis, ...]:
    """Every `Diagnosis` a module defines or imports (also inside tuples), in order, once each.

    A component's `diagnoses.py` holds its own codes and imports the shared ones it reports, so
    `declared(diagnoses)` is exactly what the check may report and what the catalogue lists.
    """
    found: dict[str, Diagnosis] = {}

    def add(value: object) -> None:
        if isinstance(value, Diagnosis):
            found.setdefault(value.code, value)
        elif isinstance(value, (tuple, list, frozenset, set)):
            for item in value:
                add(item)

    for source in sources:
        if isinstance(source, ModuleType):
            for name, value in vars(source).items():
                if not name.startswith("_"):
                    add(value)
        else:
            add(source)
    return tuple(found.values())


class ContractError(Exception):
    """A check broke the kit's contract (an undeclared step or diagnosis): a bug in the check."""


class Blocked(Exception):
    """Raised by `Recorder.require` when a needed check failed; ends the check's run."""

    def __init__(self, blocked_by: str) -> None:
        super().__init__(blocked_by)
        self.blocked_by = blocked_by


class Stop(Exception):
    """Returned by `Recorder.fail`: `raise rec.fail(...)` ends the check at the failed layer,
    from however deep in its helpers."""

    def __init__(self, step: str) -> None:
        super().__init__(step)
        self.step = step


@dataclass
class _State:
    results: list[CheckResult] = field(default_factory=list)
    frozen: bool = False
    last_mark: float = 0.0


StepRef = str | Step


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
        self,
        step: StepRef,
        summary: str,
        *,
        details: Mapping[str, Any] | None = None,
        title: str = "",
        credentials: Iterable[Credential] = (),
    ) -> None:
        self._record(step, Status.PASS, summary, None, None, details, title, None, credentials)

    def warn(
        self,
        step: StepRef,
        diagnosis: Diagnosis,
        summary: str,
        *,
        hint: str | None = None,
        details: Mapping[str, Any] | None = None,
        title: str = "",
        credentials: Iterable[Credential] = (),
    ) -> None:
        self._record(step, Status.WARN, summary, diagnosis, hint, details, title, None, credentials)

    def fail(
        self,
        step: StepRef,
        diagnosis: Diagnosis,
        summary: str,
        *,
        hint: str | None = None,
        details: Mapping[str, Any] | None = None,
        title: str = "",
        credentials: Iterable[Credential] = (),
    ) -> Stop:
        """Record a failed layer; the `Stop` returned ends the check when raised."""
        step_id = self._record(step, Status.FAIL, summary, diagnosis, hint, details, title, None, credentials)
        return Stop(step_id)

    def skip(
        self,
        step: StepRef,
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
        self, step: StepRef, diagnosis: Diagnosis, summary: str, *, hint: str | None = None, title: str = ""
    ) -> None:
        self._record(step, Status.ERROR, summary, diagnosis, hint, None, title, None)

    # -- worker threads and time --------------------------------------------------------------

    def parallel(self, fn: Callable[[T], R], items: Iterable[T], *, name: str = "worker") -> list[R | None]:
        """`fn(item)` for every item at once, in threads; results in the order of `items`.

        An exception in a worker is raised here, in the check's own thread, so the runner
        reports it as this check's CHECK_CRASHED (or, for `Stop`/`Blocked`, ends the check as
        it would have in line). A worker still running at the deadline leaves None.
        """
        work = list(items)
        results: list[R | None] = [None] * len(work)
        errors: list[BaseException] = []

        def run(index: int, item: T) -> None:
            try:
                results[index] = fn(item)
            except BaseException as exc:  # handed to the check's thread below, never printed
                errors.append(exc)

        threads = [
            threading.Thread(target=run, args=(i, item), daemon=True, name=f"{self.check.id}-{name}-{i}")
            for i, item in enumerate(work)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(min(self.remaining(), 3600.0))
        if errors:
            raise errors[0]
        return results

    def ahead(self, fn: Callable[[], R], *, name: str = "ahead") -> Callable[[], R | None]:
        """Start `fn()` in a thread now, for a layer judged later: the callable returned waits
        for it (up to the deadline: None if it is still running) and returns its value, raising
        here, in the check's own thread, whatever it raised (as `parallel` does).

        For a slow read that needs nothing from the layers before it: it overlaps them, and its
        answer is looked at only once they passed. If one fails first, nobody waits for it; a
        program it started is ended with the run (cleanup.py).
        """
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = fn()
            except BaseException as exc:  # handed to the check's thread below, never printed
                box["error"] = exc

        thread = threading.Thread(target=run, daemon=True, name=f"{self.check.id}-{name}")
        thread.start()

        def collect() -> R | None:
            thread.join(min(self.remaining(), 3600.0))
            if "error" in box:
                raise box["error"]
            value: R | None = box.get("value")
            return value

        return collect

    def remaining(self) -> float:
        """Seconds left before the runner's hard deadline for this check."""
        if self._deadline_at is None:
            return float("inf")
        return max(0.0, self._deadline_at() - self._clock())

    def step_timeout(self, timeout: float) -> float:
        """The configured per-step timeout, cut short so the check ends before its deadline."""
        return max(0.05, min(timeout, self.remaining() - 0.05))

    def has_time_for(self, calls: float, timeout: float) -> bool:
        """Whether `calls` more network calls of `timeout` seconds each fit before the deadline:
        asked before anything that writes, so a write is never cut off before its cleanup."""
        return self.remaining() >= calls * timeout

    # -- needs --------------------------------------------------------------------------------

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

    # -- queries ------------------------------------------------------------------------------

    @property
    def results(self) -> tuple[CheckResult, ...]:
        """In the order of the declared steps (layers may finish out of order when concurrent)."""
        with self._lock:
            results = list(self._state.results)
        order = {step.id: index for index, step in enumerate(self.check.steps)}

        def position(result: CheckResult) -> int:
            step = self.check.step_for(result.id)
            return order[step.id] if step else len(order)

        return tuple(sorted(results, key=position))

    @property
    def failed(self) -> CheckResult | None:
        """The first result that blocks later layers (fail or error), if any."""
        for result in self.results:
            if result.status.is_problem:
                return result
        return None

    def recorded(self, step: StepRef) -> bool:
        """Whether the step has a result (a group: whether any child has one)."""
        step_id = step.id if isinstance(step, Step) else step
        return any(r.id == step_id or r.id.startswith(step_id + ".") for r in self.results)

    # -- runner side --------------------------------------------------------------------------

    def freeze(self) -> None:
        """After a deadline or Ctrl-C: whatever the abandoned thread records later is dropped."""
        with self._lock:
            self._state.frozen = True

    def docs_url(self, code: str) -> str:
        return f"{self._docs_base_url}#{code.lower()}"

    def _validate(self, step_id: str, status: Status, diagnosis: Diagnosis | None) -> Step:
        declared_step = self.check.step_for(step_id)
        if declared_step is None:
            known = ", ".join(s.id + (".*" if s.group else "") for s in self.check.steps) or "none"
            raise ContractError(
                f"result id {step_id!r} is not a declared step of check {self.check.id!r} (declared: {known})"
            )
        if status is not Status.PASS and diagnosis is None:
            raise ContractError(f"{step_id}: a {status.value} result needs a diagnosis")
        if diagnosis is not None and not self.check.allows(diagnosis):
            raise ContractError(
                f"{step_id}: diagnosis {diagnosis.code} is not declared by check {self.check.id!r}"
            )
        return declared_step

    def _record(
        self,
        step: StepRef,
        status: Status,
        summary: str,
        diagnosis: Diagnosis | None,
        hint: str | None,
        details: Mapping[str, Any] | None,
        title: str,
        blocked_by: str | None,
        credentials: Iterable[Credential] = (),
    ) -> str:
        step_id = step.id if isinstance(step, Step) else step
        declared_step = self._validate(step_id, status, diagnosis)
        now = self._clock()
        with self._lock:
            if self._state.frozen:
                return step_id
            duration = now - self._state.last_mark
            self._state.last_mark = now
            result = CheckResult(
                id=step_id,
                component=self.check.component,
                title=title or (declared_step.title if declared_step.id == step_id else step_id),
                status=status,
                summary=summary,
                code=diagnosis.code if diagnosis else None,
                hint=(hint or diagnosis.fix) if diagnosis else None,
                docs_url=self.docs_url(diagnosis.code) if diagnosis else None,
                details=dict(details or {}),
                duration_s=max(0.0, duration),
                blocked_by=blocked_by,
                credentials=tuple(credentials),
            )
            self._state.results.append(result)
        if self._on_result is not None:
            self._on_result(result)
        return step_id
