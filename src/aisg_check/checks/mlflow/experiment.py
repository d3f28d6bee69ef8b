"""Layer 4, `mlflow.experiment`: the sign-in's lookup gives the experiment's id and artifact
location. A missing experiment is never created behind the user's back (the guide's
`set_experiment` would silently create a mistyped one), only with --create-experiment."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aisg_check.check import Recorder, Step, Stop
from aisg_check.checks.mlflow import rest
from aisg_check.checks.mlflow.diagnoses import (
    MLFLOW_EXPERIMENT_NOT_FOUND,
    MLFLOW_FORBIDDEN,
    MLFLOW_LOG_FAILED,
    MLFLOW_NO_PERMISSION,
)
from aisg_check.checks.mlflow.server import Lookup
from aisg_check.checks.mlflow.settings import Target
from aisg_check.context import Context
from aisg_check.model import CONTACT_MLOPS
from aisg_check.net.failures import Failure

EXPERIMENT = Step("mlflow.experiment", "Experiment")


@dataclass(frozen=True)
class Experiment:
    id: str
    name: str
    artifact_location: str
    created: bool = False
    # Its tags, as the lookup gave them: among them, the runs users keep (`reuse.py`).
    tags: Mapping[str, str] = field(default_factory=dict)


def ask_for(target: Target, experiment: str, level: str, experiment_id: str | None = None) -> str:
    """The request to send the MLOps team, word for word: the server, the user, the experiment
    and the level (EDIT: log runs; what AISG grants)."""
    user = f"MLflow user '{target.username}'" if target.username else "the MLflow user of my token"
    which = f"experiment '{experiment}'" + (f" (id {experiment_id})" if experiment_id else "")
    return (
        f'Ask {CONTACT_MLOPS}: "Please grant {user} {level} on {which} on the tracking server '
        f'{target.uri}." ({level} lets you log runs; MANAGE would also let aisg-check delete its test run.)'
    )


def _no_permission(ctx: Context, rec: Recorder, target: Target) -> Stop:
    """HTTP 403 to reading the experiment: the user has no permission on it at all (AISG's servers
    grant nothing by default). The basic-auth app answers 404 for a name that does not exist, so
    the experiment is there."""
    name = target.experiment
    hint = ask_for(target, name, "EDIT")
    if not ctx.settings.mlflow.experiment:
        hint = (
            f"No experiment is set, so the check used MLflow's '{name}', on which you have no "
            "permission: set "
            '`export MLFLOW_EXPERIMENT_NAME="<your project\'s experiment>"` (or --experiment) first. '
            f"If you have none yet: {hint}"
        )
    return rec.fail(
        EXPERIMENT,
        MLFLOW_NO_PERMISSION,
        f"{target.who_title} has no permission on experiment '{name}' at {target.uri} (HTTP 403): "
        "it needs EDIT to log runs",
        hint=hint,
        details={
            "experiment": name,
            "username": target.username,
            "tracking_uri": target.uri,
            "needs": "EDIT",
            "http_status": 403,
        },
    )


def _close_names(ctx: Context, rec: Recorder, target: Target) -> list[str]:
    """Experiment names this user can see that look like the one asked for (a typo's fix)."""
    response = rest.call(
        ctx,
        rec,
        target,
        "POST",
        "/api/2.0/mlflow/experiments/search",
        fallback=MLFLOW_LOG_FAILED,
        json={"max_results": 1000},
    )
    if isinstance(response, Failure) or response.status_code != 200:
        return []
    found = (rest.body(response) or {}).get("experiments")
    if not isinstance(found, list):
        return []
    names = [str(e.get("name")) for e in found if isinstance(e, dict)]
    return difflib.get_close_matches(target.experiment, names, n=3, cutoff=0.5)


def find(ctx: Context, rec: Recorder, target: Target, lookup: Lookup) -> Experiment:
    name = target.experiment
    if lookup.status == 403:
        raise _no_permission(ctx, rec, target)
    body: dict[str, Any] = lookup.body.get("experiment", {}) if lookup.status == 200 else {}
    if body and body.get("lifecycle_stage", "active") == "active":
        tags = {str(t.get("key")): str(t.get("value", "")) for t in rest.items(body, "tags")}
        found = Experiment(
            str(body.get("experiment_id")), name, str(body.get("artifact_location", "")), tags=tags
        )
        rec.ok(
            EXPERIMENT,
            f"Experiment '{name}' found (id {found.id})",
            details={"experiment_id": found.id, "artifact_location": found.artifact_location},
        )
        return found
    if lookup.status not in (200, 404):
        message = str(lookup.body.get("message") or lookup.body.get("error_code"))[:200]
        raise rec.fail(
            EXPERIMENT,
            MLFLOW_LOG_FAILED,
            f"Looking up experiment '{name}' failed: HTTP {lookup.status} {message}",
        )
    deleted = bool(body)
    if ctx.settings.mlflow.create_experiment and not deleted:
        return _create(ctx, rec, target)
    if deleted:
        summary = f"Experiment '{name}' was deleted (it is in the server's trash)"
        hint = f"Restore '{name}' in the MLflow UI (or ask {CONTACT_MLOPS}), or use another experiment."
    else:
        near = _close_names(ctx, rec, target)
        suggestion = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
        summary = f"No experiment named '{name}' on {target.uri}{suggestion}"
        hint = (
            "Use the exact name from the MLflow UI: "
            f'`export MLFLOW_EXPERIMENT_NAME="{near[0] if near else name}"`'
            " (or --experiment); to create it on purpose, add --create-experiment."
        )
    raise rec.fail(EXPERIMENT, MLFLOW_EXPERIMENT_NOT_FOUND, summary, hint=hint, details={"experiment": name})


def _create(ctx: Context, rec: Recorder, target: Target) -> Experiment:
    name = target.experiment
    response = rest.call(
        ctx,
        rec,
        target,
        "POST",
        "/api/2.0/mlflow/experiments/create",
        fallback=MLFLOW_LOG_FAILED,
        json={"name": name},
    )
    if isinstance(response, Failure):
        raise rec.fail(
            EXPERIMENT, response.diagnosis, f"Creating experiment '{name}' failed: {response.summary}"
        )
    if response.status_code == 403:
        raise rec.fail(
            EXPERIMENT,
            MLFLOW_FORBIDDEN,
            f"{target.who_title} may not create experiment '{name}' (HTTP 403)",
            hint=f"Ask {CONTACT_MLOPS} to create experiment '{name}' on {target.uri} and grant "
            f"{target.who} EDIT on it.",
        )
    if response.status_code != 200:
        raise rec.fail(
            EXPERIMENT,
            MLFLOW_LOG_FAILED,
            f"Creating experiment '{name}' failed: "
            f"HTTP {response.status_code} {rest.server_message(response)}",
        )
    created = rest.body(response)
    if created is None or not created.get("experiment_id"):
        raise rest.unexpected(rec, EXPERIMENT, target, response, "the request to create an experiment")
    experiment_id = str(created["experiment_id"])
    fetched = rest.call(
        ctx,
        rec,
        target,
        "GET",
        "/api/2.0/mlflow/experiments/get",
        fallback=MLFLOW_LOG_FAILED,
        params={"experiment_id": experiment_id},
    )
    location = ""
    if not isinstance(fetched, Failure) and fetched.status_code == 200:
        experiment = (rest.body(fetched) or {}).get("experiment")
        if isinstance(experiment, dict):
            location = str(experiment.get("artifact_location", ""))
    rec.ok(
        EXPERIMENT,
        f"Experiment '{name}' created (id {experiment_id}), as --create-experiment asked",
        details={"experiment_id": experiment_id, "artifact_location": location, "created": True},
    )
    return Experiment(experiment_id, name, location, created=True)
