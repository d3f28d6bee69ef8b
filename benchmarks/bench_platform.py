"""`aisg-check all --skip tools` against the whole local test platform (tests/servers/platform.py:
every component's servers on 127.0.0.1, all green) vs its slowest single check, side by side in
one run. Goal (DESIGN §9): all <= 1.3x its slowest check.

What "its slowest check" is measured as: each component command (`aisg-check vpn`, `... gitlab`,
`... rancher`, `... runai`, `... harbor`, `... ecs`, `... mlflow`) run on its own, as a whole
process, against the same platform; the slowest median wins. Chosen over the per-check
durations in `all`'s own JSON because
- it compares like with like: both sides pay the CLI's start-up, config loading and the
  report, and both include the lazy imports a check does (mlflow, kubernetes, boto3), which
  the JSON's step durations partly hide or charge to whichever check imported first;
- the JSON durations are measured while every other check runs concurrently, so contention
  inflates them and would flatter the ratio; alone, the slowest component is the honest lower
  bound of a fully concurrent `all`;
- a component command carries its own vpn probes, so it is the slowest check with what it
  needs before it can start.
A last row, for information, is the floor the machine sets: the CPU-seconds that one `all` run
costs across the whole machine (tool, children and every co-located server, from /proc/stat),
divided by the cores. No concurrency inside the tool brings the wall time below it; when it is
above 1.3x the slowest component, the goal cannot be met on this machine with the platform on it.
The in-process view is reported too, for information: `all`'s report `duration_s` vs the
largest report `duration_s` among the component runs, and the slowest check inside the `all`
run (its steps' durations summed).

A second budget (fleet mode, issue 14): `all --format prometheus` costs at most 1.1x
`all --format json`, both timed in the same rounds, side by side (A B B A).

Commands run interleaved (one round of every command, repeated) so drifting machine load
hits all alike; one untimed warm-up each, which must exit 0 (a run that is not green is not
timed). Loopback only: every endpoint is in the platform's config.

    python -m benchmarks.bench_platform      (from the repo root; starts the platform, 10-40 s)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import AISG, Row, print_rows, wall  # noqa: E402

GOAL = 1.3
PROMETHEUS_GOAL = 1.1
COMPONENTS = ("vpn", "gitlab", "rancher", "runai", "harbor", "ecs", "mlflow")


def _json_run(argv: list[str], env: dict[str, str]) -> dict[str, object]:
    proc = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[2:])} exited {proc.returncode}: {proc.stdout[-2000:]} {proc.stderr[-500:]}"
        )
    report: dict[str, object] = json.loads(proc.stdout)
    return report


def _metrics_run(argv: list[str], env: dict[str, str]) -> None:
    """Warm-up of the prometheus run: green, and metrics on stdout."""
    proc = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0 or "aisg_check_success{" not in proc.stdout:
        raise RuntimeError(
            f"{' '.join(argv[2:])} exited {proc.returncode}: {proc.stdout[-500:]} {proc.stderr[-500:]}"
        )


def _slowest_check_in(report: dict[str, object]) -> tuple[str, float]:
    """The check of the report whose steps took longest in total (steps of one check run in turn)."""
    from aisg_check import registry

    step_to_check = {step.id: check.id for check in registry.all_checks() for step in check.steps}
    step_to_check.update({check.id: check.id for check in registry.all_checks()})
    totals: dict[str, float] = {}
    results = report["results"]
    assert isinstance(results, list)
    for result in results:
        rid = str(result["id"])
        # Dynamic ids (harbor.user.push.team, ecs.bucket.project-1) extend a declared step's id.
        parts = rid.split(".")
        owner = next(
            (
                step_to_check[".".join(parts[:n])]
                for n in range(len(parts), 0, -1)
                if ".".join(parts[:n]) in step_to_check
            ),
            rid,
        )
        totals[owner] = totals.get(owner, 0.0) + float(result["duration_s"])
    name = max(totals, key=lambda k: totals[k])
    return name, totals[name]


def _machine_busy_s() -> float | None:
    """CPU-seconds every core of this machine has spent busy since boot (Linux's /proc/stat):
    the tool, its children and every server of the platform alike. None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    ticks = [int(value) for value in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle and iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def _machine_cpu_per_run(argv: list[str], env: dict[str, str], runs: int = 3) -> float | None:
    """Median machine-wide CPU-seconds of one run of argv, after a pause that lets the servers
    settle. With every server on this machine, CPU-seconds / cores is a floor under the wall time
    that no concurrency inside the tool can go below."""
    samples = []
    for _ in range(runs):
        time.sleep(1.0)
        before = _machine_busy_s()
        subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        after = _machine_busy_s()
        if before is None or after is None:
            return None
        samples.append(after - before)
    return statistics.median(samples)


def rows(runs: int = 5) -> list[Row]:
    from tests.servers.platform import missing, start_platform

    reason = missing()
    if reason:
        raise RuntimeError(f"cannot run: {reason}")
    with tempfile.TemporaryDirectory(prefix="bench-platform-") as tmp, start_platform(Path(tmp)) as platform:
        env = platform.env
        config = ["--config", str(platform.config), "--format", "json"]
        commands = {"all": [*AISG, "all", "--skip", "tools", *config]}
        commands.update({name: [*AISG, name, *config] for name in COMPONENTS})
        for argv in commands.values():
            _json_run(argv, env)  # warm-up, and refuse to time a run that is not green
        metrics = [*commands["all"][:-1], "prometheus"]  # the same run, the other --format
        _metrics_run(metrics, env)
        # json and prometheus side by side as A B B A in every round (twice the samples of the
        # others): the difference is tens of milliseconds, drifting load on a shared machine more.
        pair = [("all", commands["all"]), ("prometheus", metrics)]
        order = [*pair, *reversed(pair)] + [(n, argv) for n, argv in commands.items() if n != "all"]
        samples: dict[str, list[float]] = {name: [] for name, _ in order}
        for _ in range(runs):
            for name, argv in order:
                samples[name].append(wall(argv, env=env, runs=1, check=True))
        # The in-process view, from one more JSON run of each after the timed rounds.
        reports = {name: _json_run(argv, env) for name, argv in commands.items()}
        machine_cpu = _machine_cpu_per_run(commands["all"], env)
    times = {name: statistics.median(values) for name, values in samples.items()}
    slowest = max(COMPONENTS, key=lambda name: times[name])
    all_s, slowest_s = times["all"], times[slowest]
    inner = {name: float(str(report["duration_s"])) for name, report in reports.items()}
    inner_slowest = max(COMPONENTS, key=lambda name: inner[name])
    check_name, check_s = _slowest_check_in(reports["all"])
    out = [
        Row(
            "aisg-check all --skip tools",
            all_s,
            f"slowest component: aisg-check {slowest}",
            slowest_s,
            f"ratio <= {GOAL}",
            all_s <= GOAL * slowest_s,
        )
    ]
    out.append(
        Row(
            "all --skip tools --format prometheus",
            times["prometheus"],
            "all --skip tools --format json",
            all_s,
            f"ratio <= {PROMETHEUS_GOAL}",
            times["prometheus"] <= PROMETHEUS_GOAL * all_s,
        )
    )
    out += [
        Row(f"  aisg-check {name}", times[name], "aisg-check all --skip tools", all_s, "info", True)
        for name in COMPONENTS
    ]
    out += [
        Row(
            "all: report duration_s (in-process)",
            inner["all"],
            f"aisg-check {inner_slowest}: report duration_s",
            inner[inner_slowest],
            f"info (ratio <= {GOAL} wanted)",
            True,
        ),
        Row(
            "all: report duration_s (in-process)",
            inner["all"],
            f"slowest check in it: {check_name}",
            check_s,
            "info (its steps summed)",
            True,
        ),
    ]
    if machine_cpu is not None:
        cores = os.cpu_count() or 1
        out.append(
            Row(
                f"all: machine CPU {machine_cpu:.2f} s / {cores} cores",
                machine_cpu / cores,
                f"{GOAL} x aisg-check {slowest}",
                GOAL * slowest_s,
                "info (the ratio goal is out of reach when this floor is above it)",
                True,
            )
        )
    return out


if __name__ == "__main__":
    print_rows("platform: aisg-check all vs its slowest check, all green on 127.0.0.1", rows())
