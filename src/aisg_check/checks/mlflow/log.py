"""Layer 5, `mlflow.log`: a run is created (or the user's kept one found again, `reuse.py`), one
param, one metric and the attempt's tags are logged in one batch and read back, over the REST
API the client speaks (so this overlaps with the client's import).

Every request to a basic-auth tracking server pays a password-hash check on the server, so the
number of requests in a row is the cost: the run is created with its tags, its params, metrics
and tags go in one batch, and that batch (and its read-back) goes out at the same time as the
artifact upload (`artifact.py`), each in its own worker thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeGuard

from aisg_check.check import Recorder, Step
from aisg_check.checks.mlflow import artifact, rest, reuse
from aisg_check.checks.mlflow.client_env import Client
from aisg_check.checks.mlflow.diagnoses import MLFLOW_FORBIDDEN, MLFLOW_LOG_FAILED, MLFLOW_NO_TIME_LEFT
from aisg_check.checks.mlflow.experiment import Experiment, ask_for
from aisg_check.checks.mlflow.outcome import Outcome, Progress, TestRun
from aisg_check.checks.mlflow.reuse import PREFLIGHT_TAG
from aisg_check.checks.mlflow.settings import Target
from aisg_check.context import Context
from aisg_check.net.failures import Failure

if TYPE_CHECKING:
    import httpx

__all__ = ["PREFLIGHT_TAG"]

LOG = Step("mlflow.log", "Test run logged")
# Network calls (of one timeout each) that must fit before the deadline before the run is
# created, and again before the artifact: the layer's own requests and the cleanup after it.
CALLS_AHEAD = 2
# Before the run: fetching a kept one too.
RUN_CALLS_AHEAD = CALLS_AHEAD + 1


def no_time(
    ctx: Context, rec: Recorder, steps: tuple[Step, ...], what: str, calls: int = CALLS_AHEAD
) -> None:
    """Skip `steps` rather than start what could be cut off half-way (a run left behind)."""
    left = rec.remaining()
    for step in steps:
        rec.skip(
            step,
            MLFLOW_NO_TIME_LEFT,
            f"Skipped {what}: only {left:.1f}s left before the check's deadline, and it needs about "
            f"{calls * ctx.timeout:g}s (timeout {ctx.timeout:g}s) to finish and clean up",
            details={"seconds_left": round(left, 1), "timeout": ctx.timeout},
        )


def _millis(ctx: Context) -> int:
    return int(ctx.now().timestamp() * 1000)


def start(ctx: Context, rec: Recorder, target: Target, experiment: Experiment) -> TestRun:
    """The user's run an earlier check had to keep, found again; else a new one."""
    kept = reuse.find(ctx, rec, target, experiment)
    if isinstance(kept, Failure):
        raise rec.fail(
            LOG, kept.diagnosis, f"Looking for a kept preflight run in '{experiment.name}': {kept.summary}"
        )
    return kept or create(ctx, rec, target, experiment)


def create(ctx: Context, rec: Recorder, target: Target, experiment: Experiment) -> TestRun:
    """Create the run, tagged so that one left behind is recognisable at once, and found again
    by the next check of the same user (`reuse.py`)."""
    reusable = reuse.reusable(ctx, target)
    tags = {
        PREFLIGHT_TAG: reuse.REUSABLE if not ctx.settings.mlflow.keep_run else reuse.KEPT,
        "mlflow.source.name": "aisg-check",
        "mlflow.note.content": "Test run by aisg-check; deleted afterwards unless --keep-run. A user who "
        "may not delete runs keeps this one: every later aisg-check by them logs into it again.",
    }
    if target.username:
        tags.update({reuse.USER_TAG: target.username, "mlflow.user": target.username})
    response = rest.call(
        ctx,
        rec,
        target,
        "POST",
        "/api/2.0/mlflow/runs/create",
        fallback=MLFLOW_LOG_FAILED,
        json={
            "experiment_id": experiment.id,
            "user_id": target.username or "",
            "start_time": _millis(ctx),
            "run_name": f"aisg-check-preflight-{ctx.now().astimezone().strftime('%Y%m%d-%H%M%S')}",
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        },
    )
    if isinstance(response, Failure):
        raise rec.fail(LOG, response.diagnosis, f"Creating a run in '{experiment.name}': {response.summary}")
    if response.status_code == 403:
        raise rec.fail(
            LOG,
            MLFLOW_FORBIDDEN,
            f"{target.who_title} may read experiment '{experiment.name}' but not log runs to it "
            "(needs EDIT; HTTP 403)",
            hint=ask_for(target, experiment.name, "EDIT", experiment.id),
            details={"experiment": experiment.name, "experiment_id": experiment.id, "needs": "EDIT"},
        )
    info = rest.section(rest.body(response), "run", "info")
    if response.status_code != 200 or not info.get("run_id"):
        raise rec.fail(
            LOG,
            MLFLOW_LOG_FAILED,
            f"Creating a run in '{experiment.name}' failed: HTTP {response.status_code} "
            f"{rest.server_message(response)}",
        )
    run_id = str(info["run_id"])
    url = reuse.run_url(target, experiment.id, run_id)
    artifact_uri = str(info.get("artifact_uri", ""))
    marker = reuse.marker(target, experiment)  # one noting a run that is gone: replaced or removed
    return TestRun(
        run_id, artifact_uri, experiment.id, experiment.name, url, reusable=reusable, marker=marker
    )


def _ok(response: httpx.Response | Failure) -> TypeGuard[httpx.Response]:
    return not isinstance(response, Failure) and response.status_code == 200


def _problem(response: httpx.Response | Failure, what: str, run: TestRun) -> Outcome:
    """A request that did not get MLflow's 200, as the layer's failure."""
    details = {"run_id": run.run_id}
    if isinstance(response, Failure):
        return Outcome(response.diagnosis, f"{what}: {response.summary}", details=details)
    message = f"{what} failed: HTTP {response.status_code} {rest.server_message(response)}"
    return Outcome(MLFLOW_LOG_FAILED, message, details=details)


def _log_and_read_back(ctx: Context, rec: Recorder, target: Target, run: TestRun) -> Outcome:
    """Params, metrics and tags in one batch, then read back: what the training code relies on.
    A reused run gets this attempt's own param key (params are immutable) and metric step."""
    this = reuse.attempt(ctx, run)
    batch = {
        "run_id": run.run_id,
        "params": [{"key": k, "value": v} for k, v in this.params.items()],
        "metrics": [
            {"key": k, "value": v, "timestamp": _millis(ctx), "step": this.number}
            for k, v in this.metrics.items()
        ],
        "tags": [{"key": k, "value": v} for k, v in this.tags.items()],
    }
    path = "/api/2.0/mlflow/runs/"
    logged = rest.call(ctx, rec, target, "POST", path + "log-batch", fallback=MLFLOW_LOG_FAILED, json=batch)
    if not _ok(logged):
        return _problem(logged, f"Logging params and metrics to run {run.run_id}", run)
    got = rest.call(
        ctx, rec, target, "GET", path + "get", fallback=MLFLOW_LOG_FAILED, params={"run_id": run.run_id}
    )
    if not _ok(got):
        return _problem(got, f"Reading run {run.run_id} back", run)
    data = rest.section(rest.body(got), "run", "data")
    params = {p.get("key"): p.get("value") for p in rest.items(data, "params")}
    # The latest value of each metric, which must now be this attempt's step and value.
    metrics = {m.get("key"): (m.get("value"), str(m.get("step", 0))) for m in rest.items(data, "metrics")}
    tags = {t.get("key"): t.get("value") for t in rest.items(data, "tags")}
    wanted_metrics = {k: (v, str(this.number)) for k, v in this.metrics.items()}
    if (
        {k: params.get(k) for k in this.params} != this.params
        or {k: metrics.get(k) for k in this.metrics} != wanted_metrics
        or {k: tags.get(k) for k in this.tags} != this.tags
    ):
        return Outcome(
            MLFLOW_LOG_FAILED,
            f"Run {run.run_id} came back with other params, metrics or tags than were logged",
            details={"run_id": run.run_id, "params": params, "metrics": metrics},
        )
    summary = (
        f"Kept preflight run {run.run_id} logged into again (attempt {this.number + 1}): a new param, "
        f"metric step {this.number} and tags, read back intact"
        if run.reused
        else f"Run {run.run_id} logged with a param, a metric and tags, read back intact"
    )
    details = {"run_id": run.run_id, "artifact_uri": run.artifact_uri, "reused": run.reused}
    return Outcome(None, summary, details={**details, "attempt": this.number})


def log_and_store(
    ctx: Context, rec: Recorder, target: Target, client: Client, run: TestRun, progress: Progress
) -> None:
    """The params and the artifact at once; recorded in layer order, the first failure ending
    the check (the cleanup runs after it either way)."""
    with_artifact = rec.has_time_for(CALLS_AHEAD, ctx.timeout)
    jobs: list[Callable[[], Outcome]] = [lambda: _log_and_read_back(ctx, rec, target, run)]
    if with_artifact:
        jobs.append(lambda: artifact.store(ctx, rec, target, client, run, progress))
    logged, *stored = rec.parallel(lambda job: job(), jobs, name="layer")
    if logged is None:
        return  # still running at the deadline: the runner reports that
    logged.record(rec, LOG)
    if not with_artifact:
        no_time(ctx, rec, (artifact.ARTIFACT,), "the artifact upload")
        progress.complete.set()  # the run itself is complete; the cleanup still runs
        return
    if stored and stored[0] is not None:
        stored[0].record(rec, artifact.ARTIFACT)
        progress.complete.set()
