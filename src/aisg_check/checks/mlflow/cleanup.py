"""Layer 7, `mlflow.cleanup`: the test run is deleted (MLflow moves it to the experiment's trash)
and its artifact removed from the store, both at once; also when a later layer failed. With
--keep-run the run is marked finished instead and its URL given."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aisg_check.check import Recorder, Step
from aisg_check.checks.mlflow import artifact, rest
from aisg_check.checks.mlflow.client_env import Client
from aisg_check.checks.mlflow.diagnoses import MLFLOW_CLEANUP_FAILED
from aisg_check.checks.mlflow.log import PREFLIGHT_TAG
from aisg_check.checks.mlflow.outcome import Progress, TestRun
from aisg_check.checks.mlflow.settings import Target
from aisg_check.context import Context
from aisg_check.model import CONTACT_MLOPS
from aisg_check.net.failures import Failure

CLEANUP = Step("mlflow.cleanup", "Test run cleanup")
_RUNS = "/api/2.0/mlflow/runs/"


def _terminate(ctx: Context, rec: Recorder, target: Target, run: TestRun, status: str) -> str | None:
    """Mark the run ended (so that a kept one does not look like a hung training job); what went
    wrong, if anything. Over REST: the client's own call would print the run's URL on stdout."""
    body = {"run_id": run.run_id, "status": status, "end_time": int(ctx.now().timestamp() * 1000)}
    response = rest.call(
        ctx, rec, target, "POST", _RUNS + "update", fallback=MLFLOW_CLEANUP_FAILED, json=body
    )
    if isinstance(response, Failure):
        return response.summary
    if response.status_code != 200:
        return f"HTTP {response.status_code} {rest.server_message(response)}"
    return None


def _keep(ctx: Context, rec: Recorder, target: Target, run: TestRun, progress: Progress) -> None:
    details = {"run_id": run.run_id, "url": run.url}
    problem = _terminate(ctx, rec, target, run, "FINISHED" if progress.complete.is_set() else "FAILED")
    if problem:
        rec.warn(
            CLEANUP,
            MLFLOW_CLEANUP_FAILED,
            f"Kept run {run.run_id}, but could not mark it finished: {problem}",
            details=details,
        )
        return
    rec.ok(CLEANUP, f"Kept the test run, as --keep-run asked: {run.url}", details=details)


def clean(
    ctx: Context, rec: Recorder, target: Target, client: Client, run: TestRun, progress: Progress
) -> None:
    if ctx.settings.mlflow.keep_run:
        _keep(ctx, rec, target, run, progress)
        return
    jobs: list[Callable[[], Any]] = [
        lambda: rest.call(
            ctx,
            rec,
            target,
            "POST",
            _RUNS + "delete",
            fallback=MLFLOW_CLEANUP_FAILED,
            json={"run_id": run.run_id},
        )
    ]
    # Only when an upload was attempted: never send a request to a store nothing went to.
    if progress.uploading.is_set():
        jobs.append(lambda: artifact.delete(ctx, rec, target, client, run))
    deleted, *artifact_problem = rec.parallel(lambda job: job(), jobs, name="cleanup")
    details = {"run_id": run.run_id, "url": run.url}
    if deleted is None or isinstance(deleted, Failure) or deleted.status_code != 200:
        _refused(ctx, rec, target, run, deleted)
        return
    if artifact_problem and artifact_problem[0]:
        rec.warn(
            CLEANUP,
            MLFLOW_CLEANUP_FAILED,
            f"Deleted test run {run.run_id}, but not its artifact: {artifact_problem[0]}",
            details=details,
        )
        return
    what = " and its artifact" if artifact_problem else ""
    rec.ok(CLEANUP, f"Deleted the test run {run.run_id}{what}", details={"run_id": run.run_id})


def _refused(ctx: Context, rec: Recorder, target: Target, run: TestRun, answer: Any) -> None:
    """The run stays: at least mark it finished, so it does not look like a hung training job."""
    _terminate(ctx, rec, target, run, "FINISHED")
    details = {"run_id": run.run_id, "url": run.url}
    if answer is not None and not isinstance(answer, Failure) and answer.status_code == 403:
        # The basic-auth server lets EDIT log runs but only MANAGE delete them.
        rec.warn(
            CLEANUP,
            MLFLOW_CLEANUP_FAILED,
            f"{target.who_title} may log runs to '{run.experiment}' but not delete them (needs "
            f"MANAGE): the test run {run.run_id} stays, tagged {PREFLIGHT_TAG}",
            hint=f"Delete it in the MLflow UI ({run.url}) or ask {CONTACT_MLOPS}; logging works, nothing "
            "else to fix.",
            details={**details, "needs": "MANAGE"},
        )
        return
    if answer is None:
        why = "the request did not finish in time"
    elif isinstance(answer, Failure):
        why = answer.summary
    else:
        why = f"HTTP {answer.status_code} {rest.server_message(answer)}"
    rec.warn(
        CLEANUP,
        MLFLOW_CLEANUP_FAILED,
        f"Could not delete test run {run.run_id}: {why}",
        hint=f"Delete it in the MLflow UI: {run.url}",
        details=details,
    )
