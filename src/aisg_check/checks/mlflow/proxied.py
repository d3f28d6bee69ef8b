"""A proxied artifact store (`mlflow-artifacts:`, `mlflow server --serve-artifacts`): the client's
repository for it (MlflowArtifactsRepository, an HttpArtifactRepository) does nothing but these
REST calls to the tracking server, with the same credentials: PUT a file, GET the listing,
DELETE the run's folder. The check makes them itself, through the context's HTTP client, rather
than import the whole MLflow client (over a second of CPU) to send three requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from aisg_check.check import Recorder
from aisg_check.checks.mlflow import rest
from aisg_check.checks.mlflow.diagnoses import MLFLOW_ARTIFACT_UPLOAD_FAILED, MLFLOW_FORBIDDEN
from aisg_check.checks.mlflow.outcome import Outcome, Progress, TestRun
from aisg_check.checks.mlflow.settings import Target
from aisg_check.context import Context
from aisg_check.net.failures import Failure

if TYPE_CHECKING:
    import httpx

SCHEME = "mlflow-artifacts:"
_SERVICE = "/api/2.0/mlflow-artifacts/artifacts"


def is_proxied(artifact_uri: str) -> bool:
    return artifact_uri.startswith(SCHEME)


def _where(target: Target, artifact_uri: str) -> tuple[str, str]:
    """The service's URL and the run's folder in it, as MlflowArtifactsRepository.resolve_uri
    has them: the tracking URI's scheme and path prefix, the artifact URI's host if it names one."""
    tracking, artifact = urlsplit(target.uri), urlsplit(artifact_uri)
    base = urlunsplit(
        (tracking.scheme, artifact.netloc or tracking.netloc, tracking.path.rstrip("/"), "", "")
    )
    return base + _SERVICE, artifact.path.strip("/")


def _refused(response: httpx.Response | Failure, what: str, run: TestRun, details: dict[str, Any]) -> Outcome:
    if isinstance(response, Failure):
        return Outcome(response.diagnosis, f"{what}: {response.summary}", rest.tls_hint(response), details)
    if response.status_code == 403:
        return Outcome(
            MLFLOW_FORBIDDEN,
            f"The server refused the artifact upload for run {run.run_id} (HTTP 403)",
            None,
            details,
        )
    message = f"{what} failed: HTTP {response.status_code} {rest.server_message(response)}"
    return Outcome(MLFLOW_ARTIFACT_UPLOAD_FAILED, message, None, details)


def store(
    ctx: Context, rec: Recorder, target: Target, run: TestRun, progress: Progress, name: str, content: bytes
) -> Outcome:
    """Upload `content` as the run's artifact `name` and list it back."""
    service, folder = _where(target, run.artifact_uri)
    details: dict[str, Any] = {"run_id": run.run_id, "artifact_uri": run.artifact_uri, "store": "proxied"}
    progress.uploading.set()
    put = rest.call(
        ctx,
        rec,
        target,
        "PUT",
        f"{service}/{folder}/{name}",
        fallback=MLFLOW_ARTIFACT_UPLOAD_FAILED,
        content=content,
        headers={"Content-Type": "text/plain"},
    )
    if isinstance(put, Failure) or put.status_code != 200:
        return _refused(put, f"Uploading the artifact to {run.artifact_uri}", run, details)
    listing = rest.call(
        ctx, rec, target, "GET", service, fallback=MLFLOW_ARTIFACT_UPLOAD_FAILED, params={"path": folder}
    )
    if isinstance(listing, Failure) or listing.status_code != 200:
        return _refused(listing, f"Listing the artifacts of run {run.run_id}", run, details)
    listed = {str(f.get("path")): f.get("file_size") for f in rest.items(rest.body(listing) or {}, "files")}
    if str(listed.get(name)) != str(len(content)):
        return Outcome(
            MLFLOW_ARTIFACT_UPLOAD_FAILED,
            f"The artifact was uploaded but is not listed back intact under {run.artifact_uri}",
            details={**details, "listed": sorted(listed)},
        )
    return Outcome(
        None, f"Artifact {name} {run.uploaded} to {run.artifact_uri} and listed back", details=details
    )


def delete(ctx: Context, rec: Recorder, target: Target, run: TestRun) -> str | None:
    """Remove the run's folder from the store; what went wrong, if anything."""
    service, folder = _where(target, run.artifact_uri)
    response = rest.call(
        ctx, rec, target, "DELETE", f"{service}/{folder}/", fallback=MLFLOW_ARTIFACT_UPLOAD_FAILED
    )
    if isinstance(response, Failure):
        return response.summary
    if response.status_code != 200:
        return f"HTTP {response.status_code} {rest.server_message(response)}"
    return None
