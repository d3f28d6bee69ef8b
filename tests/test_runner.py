"""The runner against fake checks that pass, fail, crash, hang and wait on each other."""

from __future__ import annotations

import _thread
import threading
import time
from dataclasses import replace

from aisg_check.check import Check, Recorder, Step
from aisg_check.context import Context
from aisg_check.model import Diagnosis, Status
from aisg_check.runner import run_checks, scrub_report
from tests.helpers import make_context

OOPS = Diagnosis("TEST_OOPS", "Oops", "A test failure.", "Do the thing.")


def _check(
    id: str, run, steps: tuple[str, ...] = (), needs: tuple[str, ...] = (), budget: float = 1.0
) -> Check:
    return Check(
        id=id,
        component="vpn",
        title=id,
        steps=tuple(Step(s, s) for s in (steps or (id,))),
        run=run,
        needs=needs,
        diagnoses=(OOPS,),
        budget=budget,
    )


def _ctx(timeout: float = 1.0) -> Context:
    return make_context({"timeout": timeout})


def test_layers_after_a_failure_are_skipped_and_blocked_by_it() -> None:
    def run(ctx: Context, rec: Recorder) -> None:
        rec.ok("a.one", "first layer fine")
        rec.fail("a.two", OOPS, "second layer broke", hint="run `fix --now`")

    report = run_checks(_ctx(), [_check("a", run, ("a.one", "a.two", "a.three", "a.four"))])
    by_id = {r.id: r for r in report.results}
    assert [r.id for r in report.results] == ["a.one", "a.two", "a.three", "a.four"]
    assert by_id["a.one"].status is Status.PASS and by_id["a.one"].code is None
    assert by_id["a.two"].status is Status.FAIL and by_id["a.two"].code == "TEST_OOPS"
    assert by_id["a.two"].hint == "run `fix --now`"
    assert by_id["a.two"].docs_url and by_id["a.two"].docs_url.endswith("#test_oops")
    for skipped in ("a.three", "a.four"):
        assert by_id[skipped].status is Status.SKIP
        assert by_id[skipped].blocked_by == "a.two"
        assert by_id[skipped].code == "BLOCKED" and by_id[skipped].hint
    assert report.exit_code() == 1


def test_a_crash_becomes_an_error_result_with_a_scrubbed_message() -> None:
    ctx = _ctx()
    ctx.scrubber.add("crash-canary-secret")

    def run(ctx: Context, rec: Recorder) -> None:
        rec.ok("c.one", "fine")
        raise RuntimeError("boom with crash-canary-secret inside")

    report = scrub_report(
        run_checks(ctx, [_check("c", run, ("c.one", "c.two", "c.three"))]), ctx.scrubber.scrub_value
    )
    by_id = {r.id: r for r in report.results}
    assert by_id["c.two"].status is Status.ERROR and by_id["c.two"].code == "CHECK_CRASHED"
    # The type, never the message: input text in it may hold a secret nobody registered.
    assert by_id["c.two"].summary == "The check crashed: RuntimeError"
    assert "crash-canary-secret" not in by_id["c.two"].summary
    assert by_id["c.three"].status is Status.SKIP and by_id["c.three"].blocked_by == "c.two"


def test_a_hang_hits_the_hard_deadline_and_the_rest_of_the_run_goes_on() -> None:
    release = threading.Event()

    def hang(ctx: Context, rec: Recorder) -> None:
        rec.ok("h.one", "fine")
        release.wait(30)  # a library that ignores its timeout
        rec.ok("h.two", "too late: must be dropped")

    def quick(ctx: Context, rec: Recorder) -> None:
        rec.ok("q", "quick")

    t0 = time.monotonic()
    report = run_checks(
        _ctx(timeout=0.5), [_check("h", hang, ("h.one", "h.two", "h.three")), _check("q", quick)]
    )
    elapsed = time.monotonic() - t0
    release.set()
    by_id = {r.id: r for r in report.results}
    assert elapsed < 2.5, elapsed  # budget 1 × 0.5 s + grace, not 30 s
    assert by_id["h.two"].status is Status.ERROR and by_id["h.two"].code == "CHECK_DEADLINE"
    assert by_id["h.three"].status is Status.SKIP and by_id["h.three"].blocked_by == "h.two"
    assert by_id["q"].status is Status.PASS
    time.sleep(0.05)
    assert "too late" not in str([r.summary for r in report.results])


def test_checks_run_concurrently() -> None:
    def slow(ctx: Context, rec: Recorder) -> None:
        time.sleep(0.4)
        rec.ok(rec.check.id, "done")

    checks = [_check(f"s{i}", slow) for i in range(5)]
    t0 = time.monotonic()
    report = run_checks(_ctx(), checks)
    assert time.monotonic() - t0 < 1.2
    assert [r.id for r in report.results] == [f"s{i}" for i in range(5)]  # registry order, not finish order


def test_require_blocks_dependents_at_once_when_the_probe_fails() -> None:
    def probe(ctx: Context, rec: Recorder) -> None:
        rec.fail("vpn.x", OOPS, "does not resolve")

    def component(ctx: Context, rec: Recorder) -> None:
        rec.ok("comp.local", "local layer runs even off the VPN")
        rec.require("vpn.x")
        rec.ok("comp.remote", "must not run")

    report = run_checks(
        _ctx(), [_check("vpn.x", probe), _check("comp", component, ("comp.local", "comp.remote"), ("vpn.x",))]
    )
    by_id = {r.id: r for r in report.results}
    assert by_id["comp.local"].status is Status.PASS
    assert by_id["comp.remote"].status is Status.SKIP and by_id["comp.remote"].blocked_by == "vpn.x"


def test_require_of_a_check_not_in_the_run_does_not_block() -> None:
    def component(ctx: Context, rec: Recorder) -> None:
        rec.require("vpn.absent")
        rec.ok("comp", "ran")

    report = run_checks(_ctx(), [_check("comp", component)])
    assert report.results[0].status is Status.PASS


def test_unrecorded_steps_after_a_clean_return_are_marked_not_run() -> None:
    def partial(ctx: Context, rec: Recorder) -> None:
        rec.ok("p.one", "fine")

    report = run_checks(_ctx(), [_check("p", partial, ("p.one", "p.two"))])
    assert report.results[1].status is Status.SKIP and report.results[1].code == "NOT_RUN"


def test_results_outside_the_check_or_without_a_diagnosis_are_bugs() -> None:
    def stray(ctx: Context, rec: Recorder) -> None:
        rec.ok("other.thing", "wrong id")

    def undiagnosed(ctx: Context, rec: Recorder) -> None:
        rec.fail("u", None, "no code")  # type: ignore[arg-type]

    report = run_checks(_ctx(), [_check("s", stray), _check("u", undiagnosed)])
    assert [r.code for r in report.results] == ["CHECK_CRASHED", "CHECK_CRASHED"]


def test_ctrl_c_keeps_what_finished_and_marks_the_rest() -> None:
    def quick(ctx: Context, rec: Recorder) -> None:
        rec.ok("q", "finished before Ctrl-C")

    def interrupter(ctx: Context, rec: Recorder) -> None:
        time.sleep(0.3)
        _thread.interrupt_main()
        time.sleep(10)

    report = run_checks(_ctx(timeout=5), [_check("q", quick), _check("i", interrupter, ("i.one", "i.two"))])
    assert report.interrupted and report.exit_code() == 130
    by_id = {r.id: r for r in report.results}
    assert by_id["q"].status is Status.PASS
    assert by_id["i.one"].code == "INTERRUPTED" and by_id["i.two"].code == "INTERRUPTED"


def test_durations_are_per_layer() -> None:
    def run(ctx: Context, rec: Recorder) -> None:
        time.sleep(0.2)
        rec.ok("d.one", "slow layer")
        rec.ok("d.two", "fast layer")

    report = run_checks(_ctx(), [_check("d", run, ("d.one", "d.two"))])
    assert report.results[0].duration_s >= 0.18
    assert report.results[1].duration_s < 0.1
    assert replace(report, results=()).summary.passed == 0


def test_sigterm_and_sighup_stop_the_run_like_ctrl_c() -> None:
    """With the CLI's handlers (signals.install), a real SIGTERM reaches the runner's wait as an
    Interrupted (a KeyboardInterrupt): what finished is kept, the rest marked."""
    import os
    import signal

    from aisg_check import signals

    def quick(ctx: Context, rec: Recorder) -> None:
        rec.ok("q", "finished before the signal")

    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name)

        def sender(ctx: Context, rec: Recorder, signum: int = signum) -> None:
            time.sleep(0.3)
            os.kill(os.getpid(), signum)
            time.sleep(10)

        previous = signal.signal(signum, signals._handle)
        try:
            t0 = time.monotonic()
            report = run_checks(_ctx(timeout=5), [_check("q", quick), _check("s", sender, ("s.one",))])
        finally:
            signal.signal(signum, previous)
        assert time.monotonic() - t0 < 3
        assert report.interrupted, name
        by_id = {r.id: r for r in report.results}
        assert by_id["q"].status is Status.PASS and by_id["s.one"].code == "INTERRUPTED"
    try:
        assert signals.received() == signal.SIGTERM  # the first one decides the exit code
        assert signals.exit_code() == 128 + signal.SIGTERM
    finally:
        signals._received.clear()
