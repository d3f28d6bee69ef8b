"""Every benchmark, side by side in one run: `python -m benchmarks.run` from the repo root.

Each module's `rows()` starts its own local servers (127.0.0.1 only) and measures aisg-check
against the manual commands a user would run; the figures are ratios within this run.
"""

from __future__ import annotations

import importlib
import sys

from benchmarks.common import print_rows

MODULES = ("core", "gitlab", "runai", "harbor", "ecs", "mlflow", "platform")


def main(names: list[str]) -> int:
    missed = 0
    for name in names or MODULES:
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
        except ModuleNotFoundError:
            print(f"\n== {name}: no benchmark module")
            continue
        try:
            rows = module.rows()
        except Exception as exc:  # one broken section must not hide the others' figures
            print(f"\n== {name}: could not run: {type(exc).__name__}: {exc}")
            missed += 1
            continue
        print_rows(name, rows)
        missed += sum(not r.ok for r in rows)
    print(f"\n{missed} budget(s) missed")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
