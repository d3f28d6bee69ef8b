"""Layer 7, `mlflow.cleanup`: the test run is deleted (MLflow moves it to the experiment's trash)
and its artifact removed from the store, both at once; also when a later layer failed. With
--keep-run the run is marked finished instead and its URL given.

A user who may log runs but not delete them (EDIT, what AISG grants) keeps the run, marked
finished and noted on the experiment: the next check finds it and logs into it again
(`reuse.py`), so their checks leave one run in all. A reused run is deleted, and its note
removed, should the user have been given MANAGE since."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aisg_check.check import Recorder, Step
from aisg_check.checks.mlflow import artifact, rest, reuse
from aisg_check.checks.mlflow.client_env import Client
from aisg_check.checks.mlflow.diagnoses import MLFLOW_CLEANUP_FAILED, MLFLOW_PREFLIGHT_RUN_KEPT
from aisg_check.checks.mlflow.outcome import Progress, TestRun
from aisg_check.checks.mlflow.reuse import PREFLIGHT_TAG
from aisg_check.checks.mlflow.settings import Target
from aisg_check.context import Context
from aisg_check.model import CONTACT_MLOPS
from aisg_check.net.failures import Failure

if TYPE_CHECKING:
    import httpx

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


def _delete(ctx: Context, rec: Recorder, target: Target, run: TestRun) -> httpx.Response | Failure:
    return rest.call(
        ctx,
        rec,
        target,
        "POST",
        _RUNS + "delete",
        fallback=MLFLOW_CLEANUP_FAILED,
        json={"run_id": run.run_id},
    )


def _status(progress: Progress) -> str:
    return "FINISHED" if progress.complete.is_set() else "FAILED"


def _keep(ctx: Context, rec: Recorder, target: Target, run: TestRun, progress: Progress) -> None:
    details = {"run_id": run.run_id, "url": run.url}
    problem = _terminate(ctx, rec, target, run, _status(progress))
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
    if run.reused:
        _clean_reused(ctx, rec, target, client, run, progress)
        return
    jobs: list[Callable[[], Any]] = [lambda: _delete(ctx, rec, target, run)]
    # Only when an upload was attempted: never send a request to a store nothing went to.
    if progress.uploading.is_set():
        jobs.append(lambda: artifact.delete(ctx, rec, target, client, run))
    deleted, *artifact_problem = rec.parallel(lambda job: job(), jobs, name="cleanup")
    if not _is_ok(deleted):
        status = _status(progress)
        problem, unnoted = _end_kept(
            ctx, rec, target, run, [lambda: _terminate(ctx, rec, target, run, status)]
        )
        _refused(rec, target, run, deleted, status, problem, unnoted)
        return
    if run.marker:  # a note of a run that is gone, and this user may delete runs: remove it
        reuse.note(ctx, rec, target, run, keep=False)  # left behind, it costs the next check a request
    _deleted(rec, run, artifact_problem[0] if artifact_problem else None, bool(artifact_problem))


def _end_kept(
    ctx: Context, rec: Recorder, target: Target, run: TestRun, jobs: list[Callable[[], Any]]
) -> tuple[Any, ...]:
    """`jobs` (ending the run), and noting the run on the experiment for the next check, both at
    once: the answers of `jobs`, then what went wrong noting it (None: noted, or not needed)."""
    noting = run.reusable and run.marker != run.run_id
    work: list[Callable[[], Any]] = list(jobs)
    if noting:
        work.append(lambda: reuse.note(ctx, rec, target, run, keep=True))
    answers = rec.parallel(lambda job: job(), work, name="cleanup")
    return (*answers[: len(jobs)], answers[len(jobs)] if noting else None)


def _is_ok(answer: httpx.Response | Failure | None) -> bool:
    return answer is not None and not isinstance(answer, Failure) and answer.status_code == 200


def _deleted(rec: Recorder, run: TestRun, artifact_problem: str | None, artifact_deleted: bool) -> None:
    which = "the preflight run an earlier check had to keep" if run.reused else "the test run"
    if artifact_problem:
        rec.warn(
            CLEANUP,
            MLFLOW_CLEANUP_FAILED,
            f"Deleted {which} {run.run_id}, but not its artifact: {artifact_problem}",
            details={"run_id": run.run_id, "url": run.url},
        )
        return
    what = " and its artifact" if artifact_deleted else ""
    rec.ok(CLEANUP, f"Deleted {which} {run.run_id}{what}", details={"run_id": run.run_id})


def _clean_reused(
    ctx: Context, rec: Recorder, target: Target, client: Client, run: TestRun, progress: Progress
) -> None:
    """The kept run: marked ended and deleted at once (no request more in a row than a new run's
    cleanup). The delete is refused unless the user has been given MANAGE since; if it went
    through, marking it ended comes too late for a deleted run, which does not matter."""
    status = _status(progress)
    deleted, problem, unnoted = _end_kept(
        ctx,
        rec,
        target,
        run,
        [lambda: _delete(ctx, rec, target, run), lambda: _terminate(ctx, rec, target, run, status)],
    )
    if not _is_ok(deleted):
        _refused(rec, target, run, deleted, status, problem, unnoted)
        return
    # Rare (the permission changed): its artifact only now, so that a kept run keeps it.
    jobs: list[Callable[[], Any]] = [lambda: reuse.note(ctx, rec, target, run, keep=False)]
    if progress.uploading.is_set():
        jobs.append(lambda: artifact.delete(ctx, rec, target, client, run))
    _, *artifact_problem = rec.parallel(lambda job: job(), jobs, name="cleanup")
    _deleted(rec, run, artifact_problem[0] if artifact_problem else None, bool(artifact_problem))


def _refused(
    rec: Recorder,
    target: Target,
    run: TestRun,
    answer: httpx.Response | Failure | None,
    status: str,
    problem: str | None,
    unnoted: str | None,
) -> None:
    """The run stays, marked ended with `status` (unless `problem` says why not), and noted for
    the next check (unless `unnoted` says why not)."""
    details = {"run_id": run.run_id, "url": run.url, "reused": run.reused, "attempt": run.attempt}
    unfinished = f"; it could not be marked ended: {problem}" if problem else f", marked {status.lower()}"
    if unnoted:
        details["note"] = unnoted
    if answer is not None and not isinstance(answer, Failure) and answer.status_code == 403:
        # The basic-auth server lets EDIT log runs but only MANAGE delete them.
        _kept(rec, target, run, unfinished, unnoted, details)
        return
    if answer is None:
        why = "the request did not finish in time"
    elif isinstance(answer, Failure):
        why = answer.summary
    else:
        why = f"HTTP {answer.status_code} {rest.server_message(answer)}"
    again = (
        " The next aisg-check by you finds it, logs into it and deletes it."
        if _findable(run, unnoted)
        else ""
    )
    rec.warn(
        CLEANUP,
        MLFLOW_CLEANUP_FAILED,
        f"Could not delete test run {run.run_id}: {why}{unfinished}",
        hint=f"Delete it in the MLflow UI: {run.url}.{again}",
        details=details,
    )


def _findable(run: TestRun, unnoted: str | None) -> bool:
    """Whether the next check will find the run that stays: tagged with the user, and noted."""
    return run.reusable and not unnoted


def _kept(
    rec: Recorder, target: Target, run: TestRun, unfinished: str, unnoted: str | None, details: dict[str, Any]
) -> None:
    """EDIT without MANAGE: the run stays, as the one preflight run of this user and experiment."""
    if not _findable(run, unnoted):  # the next check will not find it, and makes another
        why = (
            f": the experiment could not note it for the next check ({unnoted}), which makes another"
            if unnoted
            else f", tagged {PREFLIGHT_TAG}"
        )
        rec.warn(
            CLEANUP,
            MLFLOW_CLEANUP_FAILED,
            f"{target.who_title} may log runs to '{run.experiment}' but not delete them (needs "
            f"MANAGE): the test run {run.run_id} stays{unfinished}{why}",
            hint=f"Delete it in the MLflow UI ({run.url}) or ask {CONTACT_MLOPS}; logging works, nothing "
            "else to fix.",
            details={**details, "needs": "MANAGE"},
        )
        return
    kept = (
        f"logged into its kept preflight run {run.run_id} again (attempt {run.attempt + 1})"
        if run.reused
        else f"keeps this test run, {run.run_id}"
    )
    rec.warn(
        CLEANUP,
        MLFLOW_PREFLIGHT_RUN_KEPT,
        f"{target.who_title} may log runs to '{run.experiment}' but not delete them (needs MANAGE), so "
        f"aisg-check {kept}{unfinished}: every check by {target.who} logs into this one run instead of "
        f"leaving another: {run.url}",
        hint=f"Nothing to fix: logging works, and this one run ({run.url}) is all aisg-check leaves in "
        f"'{run.experiment}'. To have it deleted, ask {CONTACT_MLOPS} for MANAGE on experiment "
        f"'{run.experiment}' (aisg-check then deletes it) or to delete the run.",
        details={**details, "needs": "MANAGE", "noted_as": reuse.marker_key(target.username or "")},
    )
