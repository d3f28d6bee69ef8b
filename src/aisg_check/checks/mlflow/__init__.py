"""`mlflow`: what the onboarding guide's `mlflow_test.py` does, layer by layer.

1. settings    the tracking URI, the experiment and the credentials, read where the MLflow
               client reads them (`settings.py`)
2. server      `GET /health`                                        (`server.py`)
3. auth        the experiment looked up by name with the credentials (`server.py`; sent
               beside /health, judged after it)
4. experiment  its id and artifact location                          (`experiment.py`)
5. log         a run created (or the user's kept one found again), a param, a metric and tags
               logged and read back                                  (`log.py`, `reuse.py`)
6. artifact    a file uploaded and listed back by the client itself  (`artifact.py`)
7. cleanup     the run and its artifact deleted unless --keep-run, also when a later layer
               failed; kept for the next check when the user may not delete runs
                                                                     (`cleanup.py`)

The layers speak the tracking server's REST API through the context's HTTP client (its CAs,
proxies, a timeout), as few requests in a row as can prove each layer: every request to a
basic-auth server pays a password hash. An artifact store other than the server's own proxy
(`s3://` on ECS, AISG's setup) is written through the MLflow client's own repository, as the
user's training code writes it; the client, over a second to import, loads in the background
meanwhile (`client_env.py`).
"""

from __future__ import annotations

from aisg_check.check import Check, Recorder, declared
from aisg_check.checks.mlflow import (
    artifact,
    cleanup,
    client_env,
    diagnoses,
    experiment,
    log,
    server,
    settings,
)
from aisg_check.checks.mlflow.outcome import Progress
from aisg_check.context import Context
from aisg_check.diagnoses import NETWORK_DIAGNOSES

STEPS = (
    settings.SETTINGS,
    server.SERVER,
    server.AUTH,
    experiment.EXPERIMENT,
    log.LOG,
    artifact.ARTIFACT,
    cleanup.CLEANUP,
)


def run(ctx: Context, rec: Recorder) -> None:
    # MLFLOW_DISABLE_TELEMETRY is set process-wide by the CLI before any check thread starts:
    # MLflow starts its telemetry on import, which `client.preload` begins in the background.
    target = settings.resolve(ctx, rec)
    with client_env.Client(ctx, rec, target) as client:
        rec.require("vpn.mlflow")
        answers = server.ask(ctx, rec, target)
        if answers is None:
            return  # still waiting at the deadline: the runner reports that
        health, lookup_answer = answers
        server.health(ctx, rec, target, health)
        lookup = server.sign_in(ctx, rec, target, lookup_answer)
        found = experiment.find(ctx, rec, target, lookup)
        if artifact.needs_client(found.artifact_location):
            client.preload()  # about a second, beside the run's first requests
        if not rec.has_time_for(log.RUN_CALLS_AHEAD, ctx.timeout):
            steps = (log.LOG, artifact.ARTIFACT, cleanup.CLEANUP)
            log.no_time(ctx, rec, steps, "the test run (none was created)", log.RUN_CALLS_AHEAD)
            return
        test_run = log.start(ctx, rec, target, found)
        progress = Progress()
        try:
            log.log_and_store(ctx, rec, target, client, test_run, progress)
        finally:
            # Also after a failure (or a crash) above: the test run must not stay behind.
            cleanup.clean(ctx, rec, target, client, test_run, progress)


# What the package's checks may report: its diagnoses module, and any transport failure.
DECLARED = declared(diagnoses, NETWORK_DIAGNOSES)

CHECKS: tuple[Check, ...] = (
    Check(
        id="mlflow",
        component="mlflow",
        title="MLflow",
        steps=STEPS,
        run=run,
        needs=("vpn.mlflow",),
        diagnoses=DECLARED,
        # About ten requests, up to eight in a row, each bounded by the timeout (the writes
        # start only with time left for their cleanup); a healthy server answers in
        # milliseconds, so this is only the ceiling for a server that is slow at every step.
        budget=7.0,
        # A cold import of the MLflow client (pandas, protobuf) takes seconds on a laptop.
        import_allowance_s=8.0,
    ),
)
