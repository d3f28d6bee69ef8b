"""Layer 4, `mlflow.experiment`: the sign-in's lookup gives the experiment's id and artifact
location. A missing experiment is never created behind the user's back (the guide's
`set_experiment` would silently create a mistyped one), only with --create-experiment."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from aisg_check.check import Recorder, Step
from aisg_check.checks.mlflow import rest
from aisg_check.checks.mlflow.diagnoses import (
    MLFLOW_EXPERIMENT_NOT_FOUND,
    MLFLOW_FORBIDDEN,
    MLFLOW_LOG_FAILED,
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
        raise rec.fail(
            EXPERIMENT,
            MLFLOW_FORBIDDEN,
            f"{target.who_title} may not read experiment '{name}' (needs READ; EDIT to log runs)",
            hint=f"Ask {CONTACT_MLOPS} to grant {target.who} EDIT on experiment '{name}'.",
            details={"experiment": name, "http_status": 403},
        )
    body: dict[str, Any] = lookup.body.get("experiment", {}) if lookup.status == 200 else {}
    if body and body.get("lifecycle_stage", "active") == "active":
        found = Experiment(str(body.get("experiment_id")), name, str(body.get("artifact_location", "")))
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
            hint=f"Ask {CONTACT_MLOPS} to create experiment '{name}' and grant your user EDIT on it.",
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
