"""Layer 6, `mlflow.artifact`: one small file uploaded and listed back where the user's training
code would put it: `s3://` straight to ECS through the MLflow client's own S3 repository (boto3,
MLFLOW_S3_ENDPOINT_URL and the AWS keys: what the user's code does, checked before any upload),
any other store through the client's repository for it, and a proxied store (`mlflow-artifacts:`)
through the REST calls that repository would make (`proxied.py`)."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aisg_check.check import Recorder, Step
from aisg_check.checks.mlflow import proxied, rest
from aisg_check.checks.mlflow.client_env import S3_ENDPOINT_ENV, Client
from aisg_check.checks.mlflow.diagnoses import (
    MLFLOW_ARTIFACT_CREDENTIALS,
    MLFLOW_ARTIFACT_ENDPOINT_NOT_SET,
    MLFLOW_ARTIFACT_UPLOAD_FAILED,
    MLFLOW_FORBIDDEN,
)
from aisg_check.checks.mlflow.outcome import Outcome, Progress, TestRun
from aisg_check.checks.mlflow.settings import Target
from aisg_check.context import Context
from aisg_check.net.failures import transport_failure

if TYPE_CHECKING:
    from aisg_check.platform.aws import Keys

ARTIFACT = Step("mlflow.artifact", "Artifact stored")
ARTIFACT_NAME = "aisg-check-preflight.txt"

# Whole words only: a bare "403" would also match inside the run id (hex) of the message.
CREDENTIAL_ERRORS = re.compile(
    r"\b(InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|NoCredentials|InvalidToken|ExpiredToken)\b"
    r"|Unable to locate credentials|\(403\)|\b403 Forbidden\b"
)


def needs_client(location: str) -> bool:
    """Whether artifacts under `location` go through the MLflow client (all but a proxied store)."""
    return bool(location) and not proxied.is_proxied(location)


def aws_keys(ctx: Context) -> Keys | str | None:
    """The static AWS keys boto3 would use for the upload, read without its credential chain:
    the environment, then the profile (AWS_PROFILE, else default) in ~/.aws/credentials and
    ~/.aws/config. None when there are none; a string says why they cannot be used."""
    from botocore.configloader import load_config, raw_config_parse

    from aisg_check.platform import aws

    env_keys = aws.env_keys(ctx)  # registers the secrets with the scrubber
    if env_keys is not None:
        return env_keys  # botocore's first provider: it stops here, whatever the profile says
    if ctx.env.get("AWS_WEB_IDENTITY_TOKEN_FILE") or ctx.env.get("AWS_ROLE_ARN"):
        return (
            "AWS_ROLE_ARN/AWS_WEB_IDENTITY_TOKEN_FILE ask for a role through STS, which is not "
            "supported for this check (it reads static keys only)"
        )
    files = aws.aws_files(ctx)
    try:  # read_ini registers every secret in the files with the scrubber
        creds = aws.read_ini(ctx, files.credentials, raw_config_parse) or {}
        config = (aws.read_ini(ctx, files.config, load_config) or {}).get("profiles", {})
    except aws.InvalidFile as bad:
        return f"{bad.path}{f' line {bad.line}' if bad.line else ''} cannot be read: {bad.what}"
    name = ctx.env.get("AWS_PROFILE") or "default"
    sections = [
        (creds.get(name), f"{aws.shown(ctx, files.credentials)} [{name}]"),
        (
            config.get(name),
            f"{aws.shown(ctx, files.config)} [{'default' if name == 'default' else 'profile ' + name}]",
        ),
    ]
    present = [(section, label) for section, label in sections if isinstance(section, Mapping)]
    if not present:
        if name == "default":
            return None
        where = f"{aws.shown(ctx, files.credentials)} nor {aws.shown(ctx, files.config)}"
        return f"profile '{name}' (AWS_PROFILE) is in neither {where}"
    # botocore tries these before a profile's static keys, so a profile with them is never
    # "just keys": report it instead of running a subprocess or calling STS/SSO on Amazon.
    forms = sorted({form for section, _ in present for form in aws.credential_forms(section)})
    if forms:
        return (
            f"profile '{name}' gets its keys through {', '.join(forms)}, which is not supported for this "
            "check (it reads static keys only and never runs a credential helper or calls STS/SSO)"
        )
    for section, label in present:
        found = aws.keys_in(section, label)
        if found is not None:
            return found
    return None


def _s3_precheck(ctx: Context, client: Client, artifact_uri: str) -> Outcome | None:
    """Direct S3: without an endpoint the upload would go to Amazon; stop before it does. The
    keys are read here, statically, and handed to the client (see `client_env.overrides`)."""
    bucket = "s3://" + urlsplit(artifact_uri).netloc
    details = {"artifact_uri": artifact_uri}
    if not any(ctx.env.get(name) for name in S3_ENDPOINT_ENV):
        return Outcome(
            MLFLOW_ARTIFACT_ENDPOINT_NOT_SET,
            f"Artifacts go to {bucket} but "
            "MLFLOW_S3_ENDPOINT_URL is not set: the upload would go to Amazon S3 (not attempted)",
            details=details,
        )
    keys = aws_keys(ctx)
    if keys is None:
        return Outcome(
            MLFLOW_ARTIFACT_CREDENTIALS,
            f"Artifacts go straight to {bucket} from this machine, and no AWS keys are set (not attempted)",
            details=details,
        )
    if isinstance(keys, str):
        return Outcome(
            MLFLOW_ARTIFACT_CREDENTIALS,
            f"Artifacts go straight to {bucket} from this machine, but {keys} (not attempted)",
            hint="Give the ECS keys directly: `export AWS_ACCESS_KEY_ID=<key>` and "
            "`export AWS_SECRET_ACCESS_KEY=<secret>`, or a profile in ~/.aws/credentials with "
            "`aws_access_key_id = ...` and `aws_secret_access_key = ...` (AWS_PROFILE=<name>).",
            details=details,
        )
    ctx.scrubber.add_login(keys.access_key_id, keys.secret)
    ctx.scrubber.add(keys.token)
    client.aws = keys
    return None


def status_of(exc: BaseException) -> int | None:
    """The HTTP status behind an MlflowException (RestException keeps it as an error code)."""
    code = str(getattr(exc, "error_code", "") or "")
    by_code = {"PERMISSION_DENIED": 403, "UNAUTHENTICATED": 401, "RESOURCE_DOES_NOT_EXIST": 404}
    if code in by_code:
        return by_code[code]
    text = str(exc)
    for status in (401, 403):
        if f"{status}" in text and ("Permission denied" in text or "authenticated" in text.lower()):
            return status
    return None


def _failed(
    ctx: Context, client: Client, run: TestRun, exc: BaseException, details: dict[str, Any]
) -> Outcome:
    direct_s3 = details["store"] == "s3 (direct)"
    endpoint = next((ctx.env[n] for n in S3_ENDPOINT_ENV if ctx.env.get(n)), "") if direct_s3 else ""
    failure = transport_failure(
        ctx, exc, endpoint or client.target.uri, fallback=MLFLOW_ARTIFACT_UPLOAD_FAILED
    )
    if failure.diagnosis is not MLFLOW_ARTIFACT_UPLOAD_FAILED:  # the network's own code
        return Outcome(
            failure.diagnosis, f"Uploading the artifact: {failure.summary}", rest.tls_hint(failure), details
        )
    text = rest.words(ctx, exc)
    if direct_s3 and CREDENTIAL_ERRORS.search(text):
        return Outcome(
            MLFLOW_ARTIFACT_CREDENTIALS,
            f"The S3 store rejected the AWS keys for {run.artifact_uri}: {text}",
            details=details,
        )
    if not direct_s3 and status_of(exc) == 403:
        return Outcome(
            MLFLOW_FORBIDDEN,
            f"The server refused the artifact upload for run {run.run_id} (HTTP 403)",
            details=details,
        )
    return Outcome(
        MLFLOW_ARTIFACT_UPLOAD_FAILED,
        f"Uploading the artifact to {run.artifact_uri} failed: {text}",
        details=details,
    )


def store(
    ctx: Context, rec: Recorder, target: Target, client: Client, run: TestRun, progress: Progress
) -> Outcome:
    """Upload and list back one small file (in a worker thread, beside the params)."""
    # A kept run's artifact is overwritten: same name, this attempt's text.
    content = f"aisg-check preflight artifact for run {run.run_id}, attempt {run.attempt + 1}\n"
    if proxied.is_proxied(run.artifact_uri):
        return proxied.store(ctx, rec, target, run, progress, ARTIFACT_NAME, content.encode())
    direct_s3 = run.artifact_uri.startswith(("s3://", "s3a://"))
    if direct_s3:
        refused = _s3_precheck(ctx, client, run.artifact_uri)
        if refused is not None:
            return refused
    details: dict[str, Any] = {
        "run_id": run.run_id,
        "artifact_uri": run.artifact_uri,
        "store": "s3 (direct)" if direct_s3 else "client",
    }
    try:
        repository = client.repository(run.artifact_uri)
        progress.uploading.set()
        # On disk only for the upload: the client takes a path, and names the artifact after it.
        with tempfile.TemporaryDirectory(prefix="aisg-check-artifact-") as folder:
            path = Path(folder) / ARTIFACT_NAME
            path.write_text(content, "utf-8")
            client.call(repository.log_artifact, str(path))
        listed = {f.path: f.file_size for f in client.call(repository.list_artifacts)}
    except Exception as exc:
        return _failed(ctx, client, run, exc, details)
    if listed.get(ARTIFACT_NAME) != len(content.encode()):
        return Outcome(
            MLFLOW_ARTIFACT_UPLOAD_FAILED,
            f"The artifact was uploaded but is not listed back intact under {run.artifact_uri}",
            details={**details, "listed": sorted(listed)},
        )
    return Outcome(
        None,
        f"Artifact {ARTIFACT_NAME} {run.uploaded} to {run.artifact_uri} and listed back",
        details=details,
    )


def delete(ctx: Context, rec: Recorder, target: Target, client: Client, run: TestRun) -> str | None:
    """Remove the run's files from the store: a deleted run's files stay there until the
    server's `mlflow gc`. The scrubbed error text when that failed."""
    if proxied.is_proxied(run.artifact_uri):
        return proxied.delete(ctx, rec, target, run)
    try:
        repository = client.repository(run.artifact_uri)
        client.call(repository.delete_artifacts)
    except Exception as exc:
        return rest.words(ctx, exc)
    return None
