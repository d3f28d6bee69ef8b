"""Layers 2 and 3: `mlflow.server` (`GET /health`, no credentials needed) and `mlflow.auth` (the
experiment looked up by name with the user's credentials: one answer tells who we are and, for
the next layer, what exists).

Both requests go out at once (`ask`) and are judged in layer order: the lookup's answer counts
only once /health has passed. One round trip fewer on the check's longest chain; the lookup
travels over the same verified TLS as /health, so sending it early exposes nothing more."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aisg_check.check import Recorder, Step
from aisg_check.checks.mlflow import rest
from aisg_check.checks.mlflow.diagnoses import (
    ENDPOINT_HTTP_ERROR,
    MLFLOW_AUTH_FAILED,
    MLFLOW_AUTH_MISSING,
    MLFLOW_UNREACHABLE,
)
from aisg_check.checks.mlflow.settings import Target
from aisg_check.context import Context
from aisg_check.net.failures import Failure

if TYPE_CHECKING:
    import httpx

SERVER = Step("mlflow.server", "Tracking server")
AUTH = Step("mlflow.auth", "MLflow sign-in")


def ask(ctx: Context, rec: Recorder, target: Target) -> tuple[httpx.Response | Failure, ...] | None:
    """/health and the experiment lookup, at once; None when the deadline came first."""
    requests: tuple[tuple[str, dict[str, Any]], ...] = (
        ("/health", {}),
        ("/api/2.0/mlflow/experiments/get-by-name", {"params": {"experiment_name": target.experiment}}),
    )
    answers = rec.parallel(
        lambda request: rest.call(
            ctx, rec, target, "GET", request[0], fallback=MLFLOW_UNREACHABLE, **request[1]
        ),
        requests,
        name="server",
    )
    if any(answer is None for answer in answers):
        return None
    return tuple(answer for answer in answers if answer is not None)


def health(ctx: Context, rec: Recorder, target: Target, response: httpx.Response | Failure) -> None:
    url = f"{target.uri}/health"
    if isinstance(response, Failure):
        raise rec.fail(
            SERVER, response.diagnosis, response.summary, hint=rest.tls_hint(response), details={"url": url}
        )
    details = {"url": url, "http_status": response.status_code}
    if response.status_code >= 500:
        raise rec.fail(
            SERVER,
            ENDPOINT_HTTP_ERROR,
            f"The tracking server at {target.uri} answers HTTP {response.status_code}",
            details=details,
        )
    rec.ok(
        SERVER, f"The tracking server at {target.uri} answers (HTTP {response.status_code})", details=details
    )


@dataclass(frozen=True)
class Lookup:
    """The experiment lookup's answer, checked to come from MLflow."""

    status: int
    body: dict[str, Any]


def _is_mlflow_answer(status: int, body: dict[str, Any] | None) -> bool:
    """Whether the experiment lookup was answered by MLflow itself (not a portal or a proxy)."""
    if status == 403:
        return True  # the basic-auth app answers 403 in plain text
    if body is None:
        return False
    if status == 200:
        return isinstance(body.get("experiment"), dict)
    if status == 404:
        return body.get("error_code") == "RESOURCE_DOES_NOT_EXIST"
    return bool(body.get("error_code"))


def sign_in(ctx: Context, rec: Recorder, target: Target, response: httpx.Response | Failure) -> Lookup:
    """The experiment looked up by name: the answer tells both who we are and what exists."""
    if isinstance(response, Failure):
        raise rec.fail(
            AUTH, response.diagnosis, f"The tracking API at {target.uri} did not answer: {response.summary}"
        )
    details = {"http_status": response.status_code, "credentials": target.source, "username": target.username}
    if response.status_code == 401:
        if target.has_credentials:
            raise rec.fail(
                AUTH,
                MLFLOW_AUTH_FAILED,
                f"{target.uri} rejected {target.who} (HTTP 401; credentials from {target.source})",
                details=details,
            )
        raise rec.fail(
            AUTH,
            MLFLOW_AUTH_MISSING,
            f"{target.uri} requires credentials (HTTP 401) and none are set",
            details=details,
        )
    if response.status_code >= 500:
        raise rec.fail(
            AUTH,
            ENDPOINT_HTTP_ERROR,
            f"The tracking API answers HTTP {response.status_code}: {rest.server_message(response)}",
            details=details,
        )
    body = rest.body(response)
    if not _is_mlflow_answer(response.status_code, body):
        raise rest.unexpected(rec, AUTH, target, response, "the experiment lookup")
    if target.has_credentials:
        rec.ok(AUTH, f"Signed in to {target.uri} as {target.who}", details=details)
    else:
        rec.ok(AUTH, f"{target.uri} accepts requests without credentials", details=details)
    return Lookup(response.status_code, body or {})
