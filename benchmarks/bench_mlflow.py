"""`aisg-check mlflow` against a real basic-auth MLflow server on 127.0.0.1, side by side with
the onboarding guide's plain client script (log params, metrics, an artifact) against the same
server and experiment (goal: ratio <= 0.6, the design's budget).

The server runs as MLflow ships it and as AISG's servers run: without the basic-auth app's
password cache, so that every request pays its password hash, as users' requests do. (The
test suite's server caches verified passwords to keep the suite fast; against it the guide's
script is all MLflow's import, and the ratio is smaller still.)

Three users, as AISG grants them: MANAGE (the check deletes its run), EDIT (it may not: the
check logs into the one run it keeps for that user again, `checks/mlflow/reuse.py`; the warm-up
run creates it) and the guide's script as the MANAGE user.

Run: `python -m benchmarks.run mlflow` (needs mlflow[auth]; starts its own server, 10-40 s).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.servers.mlflow_server import QUIET_ENV, MlflowServer

from benchmarks.common import AISG, PYTHON, Row, bench_env, print_rows, wall

USER, PASSWORD = "bench", "bench-Password-1234"
EDITOR, EDITOR_PASSWORD = "bench-editor", "bench-Editor-Password-1234"
EXPERIMENT = "bench-preflight"

# What the guide's `mlflow_test.py` does: the experiment by name, one run, a few params and
# metrics, one artifact.
GUIDE_SCRIPT = """\
import random, sys, tempfile, os
import mlflow

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment(sys.argv[2])
with mlflow.start_run():
    mlflow.log_param("param_1", random.randint(0, 100))
    mlflow.log_metric("metric_1", random.random())
    mlflow.log_metric("metric_2", random.random() + 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "artifact.txt")
        with open(path, "w") as f:
            f.write("hello")
        mlflow.log_artifact(path)
print("Model run:", mlflow.active_run())
"""

LOOPBACK_CONFIG = """\
timeout: 5
gitlab: {host: 127.0.0.1, ssh_port: 9, url: "http://127.0.0.1:9"}
rancher: {url: "http://127.0.0.1:9"}
runai: {url: "http://127.0.0.1:9", cluster_url: "https://127.0.0.1:9"}
harbor: {registry: "127.0.0.1:9"}
ecs: {endpoint_url: "http://127.0.0.1:9"}
"""


def rows() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-mlflow-") as tmp:
        root = Path(tmp)
        (root / "server").mkdir()
        server = MlflowServer(root / "server", auth_cache=False)
        try:
            server.create_user(USER, PASSWORD)
            server.create_user(EDITOR, EDITOR_PASSWORD)
            experiment_id = server.experiment(EXPERIMENT)
            server.grant(USER, experiment_id, "MANAGE")
            server.grant(EDITOR, experiment_id, "EDIT")
            home = root / "home"
            home.mkdir()
            script = root / "mlflow_test.py"
            script.write_text(GUIDE_SCRIPT)
            config = root / "config.yaml"
            # The loopback profile: nothing but the MLflow server is configured or contacted.
            config.write_text(LOOPBACK_CONFIG)
            env = bench_env(
                home,
                MLFLOW_TRACKING_USERNAME=USER,
                MLFLOW_TRACKING_PASSWORD=PASSWORD,
                AISG_CHECK_CONFIG=str(config),
                **QUIET_ENV,
            )
            command = [*AISG, "mlflow", "--tracking-uri", server.url, "--experiment", EXPERIMENT]
            guide = wall([PYTHON, str(script), server.url, EXPERIMENT], env=env, check=True, cwd=root)
            ours = wall([*command, "--format", "json"], env=env, check=True, cwd=root)
            ours_kept = wall([*command, "--keep-run", "--format", "json"], env=env, check=True, cwd=root)
            editor_env = {
                **env,
                "MLFLOW_TRACKING_USERNAME": EDITOR,
                "MLFLOW_TRACKING_PASSWORD": EDITOR_PASSWORD,
            }
            ours_editor = wall([*command, "--format", "json"], env=editor_env, check=True, cwd=root)
            left = [
                run
                for run in server.runs(experiment_id)
                if {"key": "aisg-check.user", "value": EDITOR} in run["data"].get("tags", [])
            ]
            if len(left) != 1:  # the warm-up and five measured runs must share one run
                raise RuntimeError(f"the EDIT user's checks left {len(left)} runs, not 1")
        finally:
            server.stop()
    return [
        Row(
            "aisg-check mlflow (run deleted)",
            ours,
            "guide's mlflow_test.py",
            guide,
            "ratio <= 0.6",
            ours <= 0.6 * guide,
        ),
        Row(
            "aisg-check mlflow, EDIT user (run reused)",
            ours_editor,
            "guide's mlflow_test.py",
            guide,
            "ratio <= 0.6",
            ours_editor <= 0.6 * guide,
        ),
        Row(
            "aisg-check mlflow --keep-run",
            ours_kept,
            "guide's mlflow_test.py",
            guide,
            "ratio <= 0.6",
            ours_kept <= 0.6 * guide,
        ),
    ]


if __name__ == "__main__":
    print_rows("mlflow: aisg-check vs the guide's client script, same server", rows())
