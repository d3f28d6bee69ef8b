"""The check kit's contracts, enforced at run time by the recorder and over every registered check
by walking its source: a slip in a new check is a failing test, not a wrong report."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import aisg_check
from aisg_check import registry
from aisg_check.check import Check, Recorder, Step, declared
from aisg_check.context import Context
from aisg_check.diagnoses import NOT_CONFIGURED
from aisg_check.model import Diagnosis, Status
from aisg_check.runner import run_checks
from tests.helpers import make_context

OOPS = Diagnosis("TEST_OOPS", "Oops", "A test failure.", "Do the thing.")
OTHER = Diagnosis("TEST_OTHER", "Other", "Another failure.", "Do another thing.")
SRC = Path(aisg_check.__file__).resolve().parent


def _check(run: Any, steps: tuple[Step, ...] = (Step("k.one", "One"), Step("k.two", "Two"))) -> Check:
    return Check(id="k", component="vpn", title="k", steps=steps, run=run, diagnoses=(OOPS,), budget=2.0)


def _run(run: Any, **kwargs: Any) -> dict[str, Any]:
    report = run_checks(make_context({"timeout": 1.0}), [_check(run, **kwargs)])
    return {r.id: r for r in report.results}


# -- run time ---------------------------------------------------------------------------------------


def test_a_typo_in_a_step_id_is_a_crash_naming_it_not_a_stray_row() -> None:
    def run(ctx: Context, rec: Recorder) -> None:
        rec.ok("k.one", "fine")
        rec.fail("k.tow", OOPS, "broke")

    results = _run(run)
    assert set(results) == {"k.one", "k.two"}, "no stray row for the typo"
    assert results["k.two"].status is Status.ERROR and results["k.two"].code == "CHECK_CRASHED"
    assert "'k.tow'" in results["k.two"].summary and "not a declared step" in results["k.two"].summary


def test_an_undeclared_diagnosis_is_a_crash_naming_it() -> None:
    def run(ctx: Context, rec: Recorder) -> None:
        rec.fail("k.one", OTHER, "broke")

    results = _run(run)
    assert results["k.one"].code == "CHECK_CRASHED" and "TEST_OTHER" in results["k.one"].summary
    assert results["k.two"].status is Status.SKIP and results["k.two"].blocked_by == "k.one"


def test_raise_rec_fail_stops_the_check_from_deep_inside_its_helpers() -> None:
    reached = []

    def layer(rec: Recorder) -> None:
        raise rec.fail("k.one", OOPS, "first layer broke")

    def run(ctx: Context, rec: Recorder) -> None:
        layer(rec)
        reached.append(True)

    results = _run(run)
    assert not reached
    assert results["k.one"].status is Status.FAIL and results["k.one"].code == "TEST_OOPS"
    assert results["k.two"].code == "BLOCKED" and results["k.two"].blocked_by == "k.one"


def test_a_group_step_takes_children_and_an_empty_group_has_no_row() -> None:
    steps = (Step("k.one", "One"), Step("k.items", "Items", group=True))

    def run_with(items: list[str]) -> Any:
        def run(ctx: Context, rec: Recorder) -> None:
            rec.ok("k.one", "fine")
            for item in items:
                rec.ok(f"k.items.{item}", f"{item} fine")

        return run

    assert list(_run(run_with(["a", "b"]), steps=steps)) == ["k.one", "k.items.a", "k.items.b"]
    assert list(_run(run_with([]), steps=steps)) == ["k.one"]


def test_a_crash_in_a_worker_thread_is_the_checks_crash_scrubbed_and_silent(
    capfd: pytest.CaptureFixture[str],
) -> None:
    canary = "worker-canary-Secret-42"

    def work(item: int) -> int:
        if item == 2:
            raise RuntimeError(f"password={canary}")
        return item * 10

    def run(ctx: Context, rec: Recorder) -> None:
        rec.ok("k.one", "fine")
        rec.parallel(work, [1, 2, 3])
        rec.ok("k.two", "not reached")

    results = _run(run)
    out, err = capfd.readouterr()
    assert results["k.two"].code == "CHECK_CRASHED" and results["k.two"].status is Status.ERROR
    assert "RuntimeError" in results["k.two"].summary
    assert canary not in repr(results) and canary not in out and canary not in err
    assert "Traceback" not in err


def test_parallel_keeps_the_order_of_its_items() -> None:
    seen: list[list[int | None]] = []

    def run(ctx: Context, rec: Recorder) -> None:
        seen.append(rec.parallel(lambda n: n * n, [3, 1, 2]))
        rec.ok("k.one", "fine")
        rec.ok("k.two", "fine")

    _run(run)
    assert seen == [[9, 1, 4]]


def test_ahead_hands_over_its_value_or_its_crash_in_the_checks_thread(
    capfd: pytest.CaptureFixture[str],
) -> None:
    canary = "ahead-canary-Secret-43"
    seen: list[object] = []

    def fine(ctx: Context, rec: Recorder) -> None:
        answer = rec.ahead(lambda: 6 * 7)
        rec.ok("k.one", "fine")
        seen.append(answer())
        rec.ok("k.two", "fine")

    def crashing(ctx: Context, rec: Recorder) -> None:
        answer = rec.ahead(lambda: (_ for _ in ()).throw(RuntimeError(f"token={canary}")))
        rec.ok("k.one", "fine")
        answer()
        rec.ok("k.two", "not reached")

    assert _run(fine)["k.two"].status is Status.PASS and seen == [42]
    results = _run(crashing)
    out, err = capfd.readouterr()
    assert results["k.one"].status is Status.PASS
    assert results["k.two"].code == "CHECK_CRASHED" and "RuntimeError" in results["k.two"].summary
    assert canary not in repr(results) and canary not in out and canary not in err
    assert "Traceback" not in err


def test_ahead_is_not_waited_for_when_an_earlier_layer_fails() -> None:
    """The answer of a layer never reached is never looked at: the check ends at once."""
    release = threading.Event()

    def run(ctx: Context, rec: Recorder) -> None:
        rec.ahead(lambda: release.wait(30))
        raise rec.fail("k.one", OOPS, "an earlier layer failed")

    started = time.monotonic()  # the check's deadline is 2 s away: waiting would cost that
    try:
        results = _run(run)
    finally:
        release.set()
    assert time.monotonic() - started < 1.0
    assert results["k.one"].code == "TEST_OOPS"


def test_a_crash_message_names_our_code_never_the_exceptions_words() -> None:
    def run(ctx: Context, rec: Recorder) -> None:
        # configparser quotes the raw value it choked on: a password nobody registered.
        raise ValueError("bad interpolation in 'pa%ss-unregistered-canary'")

    summary = _run(run)["k.one"].summary
    assert "unregistered-canary" not in summary
    assert summary == "The check crashed: ValueError"


def test_a_crash_in_our_code_says_where() -> None:
    def run(ctx: Context, rec: Recorder) -> None:
        rec.parallel(lambda n: 1 // n, [0])

    summary = _run(run)["k.one"].summary
    assert re.fullmatch(r"The check crashed: ZeroDivisionError at aisg_check/check\.py:\d+ \(run\)", summary)


def test_has_time_for_counts_calls_against_the_deadline() -> None:
    answers: list[bool] = []

    def run(ctx: Context, rec: Recorder) -> None:
        answers.append(rec.has_time_for(1, 0.1))
        answers.append(rec.has_time_for(100, 1.0))
        rec.ok("k.one", "fine")
        rec.ok("k.two", "fine")

    _run(run)
    assert answers == [True, False]


def test_declared_collects_diagnoses_from_modules_and_tuples_once() -> None:
    module = ModuleType("fake")
    module.A, module.B, module.GROUP, module._PRIVATE = OOPS, OTHER, (OOPS, NOT_CONFIGURED), OTHER  # type: ignore[attr-defined]
    assert [d.code for d in declared(module)] == ["TEST_OOPS", "TEST_OTHER", "NOT_CONFIGURED"]


# -- over every registered check -------------------------------------------------------------------


def _check_modules() -> Iterator[tuple[str, list[ModuleType]]]:
    """Every component and the modules its checks are written in (a package: all of them)."""
    for component in registry.COMPONENTS:
        root = importlib.import_module(component.module)
        modules = [root]
        if hasattr(root, "__path__"):
            for info in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
                modules.append(importlib.import_module(info.name))
        yield component.name, modules


def _calls_to_recorder(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("ok", "warn", "fail", "skip", "error")
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "rec"
            and node.args
        ):
            yield node


def _static_step(node: ast.expr, module: ModuleType) -> str | None:
    """The step id of a call, when it is written as a literal or a module constant."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        value = getattr(module, node.id, None)
        if isinstance(value, Step):
            return value.id
        if isinstance(value, str):
            return value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return str(node.values[0].value) + "{}"  # an f-string: its literal head names the group
    return None


def test_every_step_id_a_check_records_is_declared() -> None:
    checks = registry.all_checks()
    for component, modules in _check_modules():
        steps = [s for c in checks if c.component == component for s in c.steps]
        for module in modules:
            tree = ast.parse(inspect.getsource(module))
            for call in _calls_to_recorder(tree):
                step = _static_step(call.args[0], module)
                if step is None:
                    continue  # a variable: covered by the run-time contract and the component's tests
                if step.endswith("{}"):
                    head = step[:-2]
                    ok = any(s.group and head.startswith(s.id + ".") for s in steps) or any(
                        s.id.startswith(head) for s in steps
                    )
                else:
                    ok = any(s.id == step or (s.group and step.startswith(s.id + ".")) for s in steps)
                assert ok, f"{module.__name__}:{call.lineno} records undeclared step {step!r}"


def _diagnoses_used(module: ModuleType) -> set[str]:
    tree = ast.parse(inspect.getsource(module))
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            value = getattr(module, node.id, None)
            # A tuple of codes passed on as a whole (a probe's outcome carries any network code).
            for item in value if isinstance(value, tuple) and node.id != "DECLARED" else (value,):
                if isinstance(item, Diagnosis):
                    used.add(item.code)
    return used


def test_each_component_declares_exactly_the_diagnoses_its_code_uses() -> None:
    """Derived, not kept by hand: what a component's modules use is what it declares, so the
    catalogue names the right components for every code."""
    checks = registry.all_checks()
    for component, modules in _check_modules():
        declared_codes = {d.code for c in checks if c.component == component for d in c.diagnoses}
        used = set().union(*(_diagnoses_used(m) for m in modules))
        assert used <= declared_codes, f"{component} uses undeclared {sorted(used - declared_codes)}"
        assert declared_codes <= used, f"{component} declares unused {sorted(declared_codes - used)}"


def test_no_check_starts_its_own_threads_or_reads_the_clock() -> None:
    """Threads through rec.parallel (a crash there is CHECK_CRASHED) and time through the context."""
    forbidden = re.compile(
        r"threading\.Thread\(|ThreadPoolExecutor|\btime\.time\(|\btime\.monotonic\(|"
        r"datetime\.now\(|datetime\.utcnow\(|date\.today\("
    )
    for folder in ("checks", "platform"):
        for path in sorted((SRC / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if forbidden.search(line.split("#", 1)[0]):
                    pytest.fail(f"{path.relative_to(SRC)}:{number}: {line.strip()}")


_CREDENTIAL_FIELD = re.compile(r"(password|passwd|secret|token|auth|key)$", re.I)
_NOT_CREDENTIALS = {"key_id", "access_key_id", "kind", "auth_kind", "token_kind", "key"}


def test_every_field_that_can_hold_a_credential_is_a_secret() -> None:
    modules = [m for _name, ms in _check_modules() for m in ms]
    for info in pkgutil.walk_packages([str(SRC / "platform")], "aisg_check.platform."):
        modules.append(importlib.import_module(info.name))
    for module in modules:
        for _name, cls in vars(module).items():
            if (
                not (dataclasses.is_dataclass(cls) and isinstance(cls, type))
                or cls.__module__ != module.__name__
            ):
                continue
            for field in dataclasses.fields(cls):
                if field.name in _NOT_CREDENTIALS or not _CREDENTIAL_FIELD.search(field.name):
                    continue
                annotation = str(field.type)
                assert "Secret" in annotation, f"{cls.__module__}.{cls.__name__}.{field.name}: {annotation}"
