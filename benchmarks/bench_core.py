"""Run from the repository root: `python -m benchmarks.bench_core`.

Core budgets (DESIGN.md §9), side by side in one run:

- `aisg-check --help` vs a bare `python -c "import typer"`: goal ratio ≤ 1.5.
- `aisg-check all` when every endpoint accepts connections and never answers: goal wall
  time ≤ the configured timeout + 1 s.
- `aisg-check vpn` against reachable endpoints vs the same probe done by hand with curl.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from tests.servers.tls import SilentServer

from benchmarks.common import AISG, PYTHON, Row, bench_env, interleaved, print_rows, wall

HANG_TIMEOUT = 2.0


def _hanging_config(path: Path, port: int) -> Path:
    url = f"https://127.0.0.1:{port}"
    path.write_text(
        yaml.safe_dump(
            {
                "timeout": HANG_TIMEOUT,
                "gitlab": {"host": "127.0.0.1", "ssh_port": port, "url": url, "repo": f"{url}/g/r.git"},
                "rancher": {"url": url},
                "runai": {"url": url, "cluster_url": url},
                "harbor": {"registry": f"127.0.0.1:{port}", "projects": ["p"]},
                "ecs": {"endpoint_url": url},
                "mlflow": {"tracking_uri": url, "experiment": "e"},
                "vpn": {"extra": [f"127.0.0.1:{port}"]},
            }
        )
    )
    return path


def rows() -> list[Row]:
    out: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = bench_env(home)
        # In turns: two blocks of runs one after the other would charge drifting load to one side.
        times = interleaved(
            {"typer": ([PYTHON, "-c", "import typer"], env), "help": ([*AISG, "--help"], env)}, runs=15
        )
        typer_s, help_s = times["typer"], times["help"]
        out.append(
            Row(
                "aisg-check --help",
                help_s,
                "python -c 'import typer'",
                typer_s,
                "ratio <= 1.5",
                help_s / typer_s <= 1.5,
            )
        )

        silent = SilentServer()
        try:
            cfg = _hanging_config(home / "hang.yaml", silent.port)
            all_s = wall([*AISG, "all", "--config", str(cfg), "--format", "json"], env=env, runs=3)
        finally:
            silent.close()
        out.append(
            Row(
                "aisg-check all, every endpoint hangs",
                all_s,
                f"timeout {HANG_TIMEOUT:g} s + 1 s",
                HANG_TIMEOUT + 1,
                f"<= {HANG_TIMEOUT + 1:g} s",
                all_s <= HANG_TIMEOUT + 1,
            )
        )
    return out


if __name__ == "__main__":
    print_rows("core", rows())
