"""Shared measuring helpers for the benchmark scripts: wall time of whole commands, side by
side in one run, reported as ratios against a baseline measured in the same run."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
AISG = [PYTHON, "-m", "aisg_check"]


def compile_bytecode() -> None:
    """Measure what an installed aisg-check costs: pip compiles a wheel's modules at install
    time, but an editable checkout under PYTHONDONTWRITEBYTECODE=1 (set on some CI images)
    would recompile every module of ours on every run, ~20 ms no user pays."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("aisg_check")
    if spec is not None and spec.origin:
        compileall.compile_dir(str(Path(spec.origin).parent), quiet=1)


compile_bytecode()


@dataclass(frozen=True)
class Row:
    name: str
    measured_s: float
    baseline_name: str
    baseline_s: float
    goal: str  # e.g. "ratio <= 1.5" or "<= 6.0 s"
    ok: bool

    @property
    def ratio(self) -> float:
        return self.measured_s / self.baseline_s if self.baseline_s else float("inf")


def wall(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    runs: int = 5,
    check: bool = False,
    cwd: Path | None = None,
) -> float:
    """Median wall time of `runs` runs (one warm-up run first, not counted)."""
    times = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        proc = subprocess.run(
            list(argv),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        elapsed = time.perf_counter() - t0
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
        if i:
            times.append(elapsed)
    return statistics.median(times)


def interleaved(
    commands: Mapping[str, tuple[Sequence[str], Mapping[str, str]]], runs: int
) -> dict[str, float]:
    """Median wall time of each (argv, env), run in turns with the order reversed every other
    round (A B C, C B A): drifting machine load hits every command alike, and no command always
    runs right after the same neighbour. Each timed run follows an untimed run of its own, and
    both must exit 0 (a run that is not green is not timed)."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    order = list(commands)
    for round_ in range(runs):
        for name in order if round_ % 2 == 0 else reversed(order):
            argv, env = commands[name]
            samples[name].append(wall(argv, env=env, runs=1, check=True))
    return {name: statistics.median(values) for name, values in samples.items()}


def bench_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment with its own HOME, as the tests use."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "MLFLOW_", "AISG_CHECK_", "KUBE", "XDG_", "DOCKER_", "GIT_", "SSH_"))
    }
    # No run history: a benchmark must not write to any state directory, and a history line
    # per run is not what is measured.
    env.update(HOME=str(home), NO_COLOR="1", AISG_CHECK_HISTORY="false", **extra)
    return env


def print_rows(title: str, rows: Sequence[Row]) -> None:
    print(f"\n== {title}")
    for r in rows:
        mark = "ok " if r.ok else "MISS"
        print(
            f"  [{mark}] {r.name:<44} {r.measured_s:7.3f} s   vs {r.baseline_name:<34} {r.baseline_s:7.3f} s"
            f"   ratio {r.ratio:5.2f}   goal {r.goal}"
        )
