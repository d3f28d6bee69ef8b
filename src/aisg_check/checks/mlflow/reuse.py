"""The one preflight run a user keeps per experiment when they may not delete runs.

AISG grants users EDIT on their experiment: they may log runs but not delete them (MANAGE). A
check that created a new run every time would leave one more behind every time. So every run
the check creates is tagged with the user; when its delete is refused, the run stays and the
experiment gets a tag noting it (`aisg-check.kept_run.<user>`, EDIT may set experiment tags).
The sign-in's lookup of the experiment returns its tags, so the next check knows at no cost
whether this user keeps a run: only then does it fetch that run (one request, in place of the
new run's creation), check that its tags name it a preflight run of this user, and log into it
again instead of creating another. Any number of checks leave at
most one run per user and experiment, and none for a user who may delete runs (the check
deletes whichever run it used, and the note with it); such a user pays no request for this.

Each check is one *attempt* on the run, numbered from 0. MLflow params are immutable (a new
value for a logged key is HTTP 400 "Changing param values is not allowed"), so an attempt logs
its own param key, `aisg_check_param_<n>`: a real param write, as a new run's would be, and
read back. What changes for the run as a whole (how many attempts, when the last) goes in tags,
which may be overwritten; the metric gets step n; the artifact is uploaded again over the old.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import timezone
from typing import TYPE_CHECKING, Any

from aisg_check.check import Recorder
from aisg_check.checks.mlflow import rest
from aisg_check.checks.mlflow.diagnoses import MLFLOW_CLEANUP_FAILED, MLFLOW_LOG_FAILED
from aisg_check.checks.mlflow.outcome import TestRun
from aisg_check.checks.mlflow.settings import Target
from aisg_check.context import Context
from aisg_check.net.failures import Failure

if TYPE_CHECKING:
    from aisg_check.checks.mlflow.experiment import Experiment

PREFLIGHT_TAG = "aisg-check.preflight"
MARKER_PREFIX = "aisg-check.kept_run."
USER_TAG = "aisg-check.user"
ATTEMPTS_TAG = "aisg-check.attempts"
LAST_TAG = "aisg-check.last_attempt"
PARAM_PREFIX = "aisg_check_param_"
METRIC = "aisg_check_metric"
# The preflight tag's value: REUSABLE on a run the check means to delete (found and logged into
# again should it stay), KEPT on one the user asked to keep (--keep-run): never touched again.
REUSABLE, KEPT = "true", "kept"


@dataclass(frozen=True)
class Attempt:
    """What one check logs to its run, in one batch."""

    number: int
    at: str  # ISO 8601, UTC, to the second

    @property
    def params(self) -> dict[str, str]:
        return {f"{PARAM_PREFIX}{self.number}": self.at}

    @property
    def metrics(self) -> dict[str, float]:
        return {METRIC: self.number + 0.5}

    @property
    def tags(self) -> dict[str, str]:
        return {ATTEMPTS_TAG: str(self.number + 1), LAST_TAG: self.at}


def attempt(ctx: Context, run: TestRun) -> Attempt:
    return Attempt(run.attempt, ctx.now().astimezone(timezone.utc).isoformat(timespec="seconds"))


def run_url(target: Target, experiment_id: str, run_id: str) -> str:
    return f"{target.uri}/#/experiments/{experiment_id}/runs/{run_id}"


def reusable(ctx: Context, target: Target) -> bool:
    """Whether the check's run may be kept and found again: not with --keep-run (a new run, kept
    on purpose), nor without a user name to tag it with (a token, or no credentials)."""
    return not ctx.settings.mlflow.keep_run and bool(target.username)


def marker_key(user: str) -> str:
    """The experiment tag noting a user's kept run. MLflow allows few characters in tag keys
    (and no `..`): the others become `_`. Two names that become the same key cost a request, not
    a wrong run: the run's own tags must name the exact user."""
    return MARKER_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "_", user)


def marker(target: Target, experiment: Experiment) -> str | None:
    """The run id the experiment notes for this user, if any."""
    return (experiment.tags.get(marker_key(target.username)) or None) if target.username else None


def note(ctx: Context, rec: Recorder, target: Target, run: TestRun, *, keep: bool) -> str | None:
    """Set (`keep`) or remove the experiment's note of this user's kept run; what went wrong."""
    key = marker_key(target.username or "")
    path, body = (
        ("set-experiment-tag", {"experiment_id": run.experiment_id, "key": key, "value": run.run_id})
        if keep
        else ("delete-experiment-tag", {"experiment_id": run.experiment_id, "key": key})
    )
    response = rest.call(
        ctx,
        rec,
        target,
        "POST",
        f"/api/2.0/mlflow/experiments/{path}",
        fallback=MLFLOW_CLEANUP_FAILED,
        json=body,
    )
    if isinstance(response, Failure):
        return response.summary
    if response.status_code != 200:
        return f"HTTP {response.status_code} {rest.server_message(response)}"
    return None


def _number(value: Any) -> int | None:
    text = str(value)
    return int(text) if text.isdigit() else None


def next_attempt(data: dict[str, Any]) -> int:
    """One more than the last attempt the run holds (its metric's latest step, or its params)."""
    numbers = [-1]
    for metric in rest.items(data, "metrics"):
        if metric.get("key") == METRIC and (step := _number(metric.get("step", 0))) is not None:
            numbers.append(step)
    for param in rest.items(data, "params"):
        key = str(param.get("key", ""))
        if key.startswith(PARAM_PREFIX) and (number := _number(key[len(PARAM_PREFIX) :])) is not None:
            numbers.append(number)
    return max(numbers) + 1


def _kept(found: dict[str, Any], noted: str, target: Target, experiment: Experiment) -> TestRun | None:
    """The run the note names, checked to be this user's preflight run, still in the experiment."""
    info, data = rest.section(found, "info"), rest.section(found, "data")
    tags = {tag.get("key"): tag.get("value") for tag in rest.items(data, "tags")}
    if not (
        info.get("run_id") == noted
        and str(info.get("experiment_id")) == experiment.id
        and info.get("lifecycle_stage", "active") == "active"
        and tags.get(PREFLIGHT_TAG) == REUSABLE
        and tags.get(USER_TAG) == target.username
    ):
        return None
    run_id = str(info["run_id"])
    return TestRun(
        run_id,
        str(info.get("artifact_uri", "")),
        experiment.id,
        experiment.name,
        run_url(target, experiment.id, run_id),
        attempt=next_attempt(data),
        reused=True,
        reusable=True,
    )


def find(ctx: Context, rec: Recorder, target: Target, experiment: Experiment) -> TestRun | Failure | None:
    """The user's run an earlier check had to leave in the experiment, if it notes one.

    Any answer but a usable 200 is "none" (a run deleted or purged since, a note that is not
    a run id): the new run's creation right after reports what is wrong with the server, and a
    missing reuse costs one run, not the check."""
    noted = marker(target, experiment)
    if noted is None or not reusable(ctx, target):
        return None
    response = rest.call(
        ctx,
        rec,
        target,
        "GET",
        "/api/2.0/mlflow/runs/get",
        fallback=MLFLOW_LOG_FAILED,
        params={"run_id": noted},
    )
    if isinstance(response, Failure) or response.status_code != 200:
        return response if isinstance(response, Failure) else None
    kept = _kept(rest.section(rest.body(response), "run"), noted, target, experiment)
    return replace(kept, marker=noted) if kept else None
