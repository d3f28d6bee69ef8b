"""`mlflow`: what the onboarding guide's `mlflow_test.py` does, layer by layer.

settings → server (`/health`) → authentication → experiment → a real run (params, metrics,
read back) → an artifact (upload, listed back) → cleanup (the run is deleted unless
--keep-run, also when a later layer failed).

The first layers are plain HTTP through the context's client (CA bundle, proxies, a
timeout) while the MLflow client, about a second to import, loads in a background thread;
the run and the artifact go through the MLflow client itself, so the check exercises exactly
what the user's training code will: its credentials, its artifact repositories
(`mlflow-artifacts:` proxied through the server, or `s3://` straight to ECS with
MLFLOW_S3_ENDPOINT_URL and the AWS keys).
"""

from __future__ import annotations

import configparser
import contextlib
import difflib
import logging
import math
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from aisg_check.check import Check, Recorder, Step, declared
from aisg_check.context import Context
from aisg_check.diagnoses import (
    ENDPOINT_HTTP_ERROR,
    ENDPOINT_UNEXPECTED_ANSWER,
    NETWORK_DIAGNOSES,
    TLS_UNTRUSTED_CERT,
)
from aisg_check.model import CONTACT_MLOPS, Diagnosis
from aisg_check.net.failures import classify_tls_error, find_ssl_error
from aisg_check.secrets import strip_userinfo

if TYPE_CHECKING:
    import httpx

    from aisg_check.platform.aws import Keys

MLFLOW_URI_NOT_SET = Diagnosis(
    "MLFLOW_URI_NOT_SET",
    "No MLflow tracking URI",
    "No tracking server is configured (MLFLOW_TRACKING_URI, mlflow.tracking_uri or --tracking-uri), "
    "or it is not an http(s) URL, so there is nothing to log to.",
    "Set your project's tracking server URL, as given by the MLOps team: "
    "`export MLFLOW_TRACKING_URI=https://<your-project-mlflow-server>` (Windows: "
    "`$env:MLFLOW_TRACKING_URI=...`).",
    CONTACT_MLOPS,
)
MLFLOW_URI_HAS_CREDENTIALS = Diagnosis(
    "MLFLOW_URI_HAS_CREDENTIALS",
    "Credentials inside the tracking URI",
    "The tracking URI contains a user name and password (https://user:password@host). They end up "
    "in shell history, logs and the MLflow UI's run source; the client reads them from variables.",
    "Remove them from the URI and set `export MLFLOW_TRACKING_USERNAME=<user>` and "
    "`export MLFLOW_TRACKING_PASSWORD=<password>` instead.",
)
MLFLOW_UNREACHABLE = Diagnosis(
    "MLFLOW_UNREACHABLE",
    "Tracking server unreachable",
    "The tracking server's /health endpoint did not answer over HTTP(S): wrong URL or port, the "
    "server is down, off the VPN, or a proxy is in the way.",
    "Check MLFLOW_TRACKING_URI (`aisg-check config`), connect to the NUS VPN, and bypass proxies for "
    "it (`export NO_PROXY=$NO_PROXY,<host>`); if it persists, tell the MLOps team.",
    CONTACT_MLOPS,
)
MLFLOW_AUTH_MISSING = Diagnosis(
    "MLFLOW_AUTH_MISSING",
    "No MLflow credentials",
    "The tracking server requires a user name and password (HTTP 401) and none are set.",
    "`export MLFLOW_TRACKING_USERNAME=<user>` and `export MLFLOW_TRACKING_PASSWORD=<password>` with "
    "the per-server credentials the MLOps team gave you (mlops@aisingapore.org if you have none).",
    CONTACT_MLOPS,
)
MLFLOW_AUTH_FAILED = Diagnosis(
    "MLFLOW_AUTH_FAILED",
    "MLflow credentials rejected",
    "The tracking server rejected the user name and password (HTTP 401): a typo, credentials of "
    "another project's server, or a changed password. Each server has its own credentials.",
    "Check MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD (and ~/.mlflow/credentials); the MLOps "
    "team (mlops@aisingapore.org) issues per-server credentials and can reset them.",
    CONTACT_MLOPS,
)
MLFLOW_EXPERIMENT_NOT_FOUND = Diagnosis(
    "MLFLOW_EXPERIMENT_NOT_FOUND",
    "Experiment not found",
    "The experiment does not exist on this server (or was deleted). The guide's script would "
    "silently create a new one under the mistyped name; aisg-check does not.",
    "Check the name in the MLflow UI (MLFLOW_EXPERIMENT_NAME, mlflow.experiment or --experiment); "
    "to create it on purpose, run again with --create-experiment.",
    CONTACT_MLOPS,
)
MLFLOW_FORBIDDEN = Diagnosis(
    "MLFLOW_FORBIDDEN",
    "No permission on the experiment",
    "You are signed in, but your user lacks the permission this step needs on the experiment "
    "(HTTP 403): logging runs needs EDIT, reading needs READ.",
    "Ask the MLOps team (mlops@aisingapore.org) to grant your user EDIT on the experiment.",
    CONTACT_MLOPS,
)
MLFLOW_LOG_FAILED = Diagnosis(
    "MLFLOW_LOG_FAILED",
    "Logging a run failed",
    "The server refused or failed to create the test run, store its params and metrics, or give "
    "them back unchanged.",
    "Run again with --verbose; if it persists, send the summary to the MLOps team.",
    CONTACT_MLOPS,
)
MLFLOW_ARTIFACT_ENDPOINT_NOT_SET = Diagnosis(
    "MLFLOW_ARTIFACT_ENDPOINT_NOT_SET",
    "No S3 endpoint for artifacts",
    "The experiment stores artifacts in s3:// and MLFLOW_S3_ENDPOINT_URL is not set, so the client "
    "would upload them to Amazon S3 instead of ECS. Nothing was uploaded.",
    '`export MLFLOW_S3_ENDPOINT_URL="https://necs.nus.edu.sg"` (Windows: '
    '`$env:MLFLOW_S3_ENDPOINT_URL="https://necs.nus.edu.sg"`).',
    CONTACT_MLOPS,
)
MLFLOW_ARTIFACT_CREDENTIALS = Diagnosis(
    "MLFLOW_ARTIFACT_CREDENTIALS",
    "No or wrong AWS keys for the artifact store",
    "The experiment's artifacts go straight to S3 (ECS) from this machine, and the AWS keys are "
    "missing or were rejected (or lack access to the bucket).",
    "`export AWS_ACCESS_KEY_ID=<key>` and `export AWS_SECRET_ACCESS_KEY=<secret>` with your ECS "
    "keys (or AWS_PROFILE naming a profile in ~/.aws/credentials); check them with `aisg-check ecs`.",
    CONTACT_MLOPS,
)
MLFLOW_ARTIFACT_UPLOAD_FAILED = Diagnosis(
    "MLFLOW_ARTIFACT_UPLOAD_FAILED",
    "Artifact upload failed",
    "The run was logged, but its artifact could not be stored or listed back: the artifact store "
    "(bucket, endpoint or the server's proxy) failed.",
    "Run again with --verbose and send the summary to the MLOps team; for direct S3 check "
    "MLFLOW_S3_ENDPOINT_URL and the bucket with `aisg-check ecs`.",
    CONTACT_MLOPS,
)
MLFLOW_CLEANUP_FAILED = Diagnosis(
    "MLFLOW_CLEANUP_FAILED",
    "Test run not deleted",
    "The test run (or its artifact) could not be deleted afterwards; it stays in the experiment, "
    "tagged aisg-check.preflight=true.",
    "Delete the run named in the summary in the MLflow UI.",
)
MLFLOW_NO_TIME_LEFT = Diagnosis(
    "MLFLOW_NO_TIME_LEFT",
    "Not enough time left for the test run",
    "The earlier layers (or loading the MLflow client) used most of the check's time limit, so the "
    "test run or its artifact was skipped rather than cut off half-way with a run left behind.",
    "Run again with a larger --timeout (for example `--timeout 30`); if the server is always this "
    "slow, tell the MLOps team.",
    CONTACT_MLOPS,
)

DIAGNOSES = (
    MLFLOW_URI_NOT_SET,
    MLFLOW_URI_HAS_CREDENTIALS,
    MLFLOW_UNREACHABLE,
    MLFLOW_AUTH_MISSING,
    MLFLOW_AUTH_FAILED,
    MLFLOW_EXPERIMENT_NOT_FOUND,
    MLFLOW_FORBIDDEN,
    MLFLOW_LOG_FAILED,
    MLFLOW_ARTIFACT_ENDPOINT_NOT_SET,
    MLFLOW_ARTIFACT_CREDENTIALS,
    MLFLOW_ARTIFACT_UPLOAD_FAILED,
    MLFLOW_CLEANUP_FAILED,
    MLFLOW_NO_TIME_LEFT,
)

DEFAULT_EXPERIMENT = "Default"  # MLflow's own, used by the client when none is named
PREFLIGHT_TAG = "aisg-check.preflight"
ARTIFACT_NAME = "aisg-check-preflight.txt"
PARAMS = {"aisg_check_param": "preflight"}
METRICS = {"aisg_check_metric": 0.5}

S = "mlflow.settings"
SERVER = "mlflow.server"
AUTH = "mlflow.auth"
EXPERIMENT = "mlflow.experiment"
LOG = "mlflow.log"
ARTIFACT = "mlflow.artifact"
CLEANUP = "mlflow.cleanup"

# Variables the MLflow client (and boto3 under it) read from os.environ at call time. The
# client has no other way to take them, so for the client steps os.environ is made to match
# the context's environment (a no-op in the CLI, where both are the process's own).
_CLIENT_ENV = (
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_INSECURE_TLS",
    "MLFLOW_TRACKING_SERVER_CERT_PATH",
    "MLFLOW_TRACKING_CLIENT_CERT_PATH",
    "MLFLOW_S3_ENDPOINT_URL",
    "MLFLOW_S3_IGNORE_TLS",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
)
_S3_ENDPOINT_ENV = ("MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
# os.environ is process-wide and checks run in threads. This lock only serialises MLflow client
# calls with each other (two MLflow checks, or an abandoned one still inside a call); other
# checks never read these variables from os.environ (they use the context's env), which is why
# each window is one client call, kept as short as possible.
_ENV_LOCK = threading.Lock()
# Profile settings that make botocore run something (a subprocess, STS, SSO) to get keys: the
# check reads static keys only, and stops before the client would follow any of these.
# Before the run and before the artifact: the layer's requests and the cleanup must fit.
_TIME_FACTOR = 2.0


@dataclass(frozen=True)
class Target:
    """What the settings layer resolved: where to log, as whom (never the secret itself)."""

    uri: str  # without userinfo
    experiment: str
    username: str | None
    password: str | None
    token: str | None
    source: str  # where the credentials came from, for the details

    @property
    def who(self) -> str:
        return f"user '{self.username}'" if self.username else "the token's user"

    @property
    def who_title(self) -> str:
        return self.who[:1].upper() + self.who[1:]

    @property
    def has_credentials(self) -> bool:
        return bool((self.username and self.password) or self.token)

    def auth_header(self) -> dict[str, str]:
        if self.username and self.password:
            import base64

            raw = f"{self.username}:{self.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        return {}


@dataclass(frozen=True)
class Experiment:
    id: str
    name: str
    artifact_location: str
    created: bool = False


class _Loader:
    """Imports the MLflow client in the background: it costs about a second, which overlaps
    with the HTTP layers instead of adding to them."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._client_cls: Any = None
        threading.Thread(target=self._load, name="mlflow-import", daemon=True).start()

    def _load(self) -> None:
        try:
            from mlflow.tracking import MlflowClient

            self._client_cls = MlflowClient
        except BaseException as exc:  # re-raised in the check's own thread
            self._error = exc
        finally:
            self._done.set()

    def client_class(self, timeout: float) -> Any:
        if not self._done.wait(timeout):
            raise TimeoutError("importing the MLflow client took too long")
        if self._error is not None:
            raise self._error
        return self._client_cls


# -- layer 1: settings (local) -------------------------------------------------------------------


def _mlflow_file_credentials(ctx: Context) -> tuple[str | None, str | None]:
    """~/.mlflow/credentials, which the MLflow client reads when the variables are unset."""
    path = ctx.home / ".mlflow" / "credentials"
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, configparser.Error):
        return None, None
    if "mlflow" not in parser:
        return None, None
    section = parser["mlflow"]
    return section.get("mlflow_tracking_username"), section.get("mlflow_tracking_password")


def _settings(ctx: Context, rec: Recorder) -> Target | None:
    raw = (ctx.settings.mlflow.tracking_uri or "").strip()
    split = urlsplit(raw)
    if not raw or split.scheme.lower() not in ("http", "https") or not split.hostname:
        summary = (
            "No MLflow tracking URI set (MLFLOW_TRACKING_URI, mlflow.tracking_uri or --tracking-uri)"
            if not raw
            else f"The tracking URI '{strip_userinfo(raw)}' is not an http(s) URL"
        )
        rec.fail(S, MLFLOW_URI_NOT_SET, summary)
        return None
    uri_user = unquote(split.username) if split.username else None
    uri_password = unquote(split.password) if split.password else None
    ctx.scrubber.add(uri_password)
    netloc = split.netloc.rpartition("@")[2]
    uri = urlunsplit((split.scheme, netloc, split.path.rstrip("/"), split.query, "")).rstrip("/")

    env_user, env_password = ctx.env.get("MLFLOW_TRACKING_USERNAME"), ctx.env.get("MLFLOW_TRACKING_PASSWORD")
    token = ctx.env.get("MLFLOW_TRACKING_TOKEN") or None
    file_user, file_password = _mlflow_file_credentials(ctx)
    for secret in (env_password, token, file_password):
        ctx.scrubber.add(secret)
    if env_user or env_password:
        user, password, source = env_user, env_password, "MLFLOW_TRACKING_USERNAME/PASSWORD"
    elif file_user or file_password:
        user, password, source = file_user, file_password, "~/.mlflow/credentials"
    elif uri_user or uri_password:
        user, password, source = uri_user, uri_password, "the tracking URI"
    else:
        user, password, source = None, None, "MLFLOW_TRACKING_TOKEN" if token else "none"
    experiment = ctx.settings.mlflow.experiment or DEFAULT_EXPERIMENT
    target = Target(uri, experiment, user or None, password or None, token, source)
    details = {"tracking_uri": uri, "experiment": experiment, "credentials": source, "username": user}
    if uri_user or uri_password:
        rec.warn(
            S,
            MLFLOW_URI_HAS_CREDENTIALS,
            f"The tracking URI {uri} has credentials inside it (not shown)",
            hint=f"Use `export MLFLOW_TRACKING_URI={uri}` and put the user name and password in "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD.",
            details=details,
        )
    else:
        who = f" as {user}" if user else (" with a token" if token else " without credentials")
        rec.ok(S, f"Logging to experiment '{experiment}' at {uri}{who}", details=details)
    return target


# -- layer 2: server -------------------------------------------------------------------------


def _insecure(ctx: Context) -> bool:
    return ctx.env.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() in ("1", "true", "yes")


def _server(ctx: Context, rec: Recorder, target: Target) -> bool:
    import httpx

    url = f"{target.uri}/health"
    host = urlsplit(target.uri).hostname or target.uri
    try:
        with ctx.http(verify=not _insecure(ctx), timeout=rec.step_timeout(ctx.timeout)) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        tls = find_ssl_error(exc)
        if tls is not None:
            diagnosis, summary = classify_tls_error(host, tls)
            hint = None
            if diagnosis is TLS_UNTRUSTED_CERT:
                hint = (
                    f"{diagnosis.fix} For MLflow alone: "
                    "`export MLFLOW_TRACKING_SERVER_CERT_PATH=/path/ca.pem`."
                )
            rec.fail(SERVER, diagnosis, summary, hint=hint, details={"url": url})
            return False
        message = ctx.scrubber.scrub(f"{type(exc).__name__}: {exc}")
        rec.fail(SERVER, MLFLOW_UNREACHABLE, f"{url} did not answer: {message}", details={"url": url})
        return False
    details = {"url": url, "http_status": response.status_code}
    if response.status_code >= 500:
        rec.fail(
            SERVER,
            ENDPOINT_HTTP_ERROR,
            f"The tracking server at {target.uri} answers HTTP {response.status_code}",
            details=details,
        )
        return False
    rec.ok(
        SERVER, f"The tracking server at {target.uri} answers (HTTP {response.status_code})", details=details
    )
    return True


# -- layers 3 and 4: authentication and experiment (one request answers both) ----------------------


def _api(
    ctx: Context, rec: Recorder, target: Target, method: str, path: str, **kwargs: Any
) -> httpx.Response | str:
    """One REST call with the user's credentials; the scrubbed error text when it got no answer."""
    import httpx

    try:
        with ctx.http(verify=not _insecure(ctx), timeout=rec.step_timeout(ctx.timeout)) as client:
            return client.request(method, f"{target.uri}{path}", headers=target.auth_header(), **kwargs)
    except httpx.HTTPError as exc:
        return ctx.scrubber.scrub(f"{type(exc).__name__}: {exc}")


def _json(response: httpx.Response) -> dict[str, Any] | None:
    """The body as a JSON object: MLflow's REST API answers nothing else (errors included)."""
    try:
        body = response.json()
    except ValueError:  # an HTML page, a login form, an empty redirect
        return None
    return body if isinstance(body, dict) else None


def _server_message(response: httpx.Response) -> str:
    body = _json(response)
    text = str(body.get("message") or body) if body is not None else response.text
    return text.strip()[:200]


def _unexpected(
    ctx: Context, rec: Recorder, step: str, target: Target, response: httpx.Response, what: str
) -> None:
    """Something answered at the URL, but not an MLflow tracking server's API."""
    status = response.status_code
    ctype = response.headers.get("content-type", "").split(";")[0].strip()
    details: dict[str, Any] = {"http_status": status, "content_type": ctype or None}
    if 300 <= status < 400:
        location = response.headers.get("location", "")
        shown = urlunsplit((*urlsplit(strip_userinfo(location))[:3], "", "")) if location else "?"
        details["location"] = shown
        answer = f"a redirect (HTTP {status} to {shown})"
    elif "html" in ctype or response.text.lstrip()[:1] == "<":
        answer = f"an HTML page (HTTP {status})"
    else:
        answer = f"HTTP {status} without MLflow's JSON"
    rec.fail(
        step,
        ENDPOINT_UNEXPECTED_ANSWER,
        f"{target.uri} answered {what} with {answer}: it is not an MLflow tracking server's API",
        hint=f"{target.uri} is not an MLflow tracking server: check mlflow.tracking_uri "
        "(MLFLOW_TRACKING_URI or --tracking-uri) against the URL the MLOps team gave you: the "
        "server's base URL, not a page of its UI or a login portal.",
        details=details,
    )


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


@dataclass(frozen=True)
class _Lookup:
    """The experiment lookup's answer, checked to come from MLflow."""

    status: int
    body: dict[str, Any]


def _auth(ctx: Context, rec: Recorder, target: Target) -> _Lookup | None:
    """Look the experiment up by name: the answer tells both who we are and what exists."""
    response = _api(
        ctx,
        rec,
        target,
        "GET",
        "/api/2.0/mlflow/experiments/get-by-name",
        params={"experiment_name": target.experiment},
    )
    if isinstance(response, str):
        rec.fail(AUTH, MLFLOW_UNREACHABLE, f"The tracking API at {target.uri} did not answer: {response}")
        return None
    details = {"http_status": response.status_code, "credentials": target.source, "username": target.username}
    if response.status_code == 401:
        if target.has_credentials:
            rec.fail(
                AUTH,
                MLFLOW_AUTH_FAILED,
                f"{target.uri} rejected {target.who} (HTTP 401; credentials from {target.source})",
                details=details,
            )
        else:
            rec.fail(
                AUTH,
                MLFLOW_AUTH_MISSING,
                f"{target.uri} requires credentials (HTTP 401) and none are set",
                details=details,
            )
        return None
    if response.status_code >= 500:
        rec.fail(
            AUTH,
            ENDPOINT_HTTP_ERROR,
            f"The tracking API answers HTTP {response.status_code}: {_server_message(response)}",
            details=details,
        )
        return None
    body = _json(response)
    if not _is_mlflow_answer(response.status_code, body):
        _unexpected(ctx, rec, AUTH, target, response, "the experiment lookup")
        return None
    if target.has_credentials:
        rec.ok(AUTH, f"Signed in to {target.uri} as {target.who}", details=details)
    else:
        rec.ok(AUTH, f"{target.uri} accepts requests without credentials", details=details)
    return _Lookup(response.status_code, body or {})


def _close_names(ctx: Context, rec: Recorder, target: Target) -> list[str]:
    """Experiment names this user can see that look like the one asked for (a typo's fix)."""
    response = _api(
        ctx, rec, target, "POST", "/api/2.0/mlflow/experiments/search", json={"max_results": 1000}
    )
    if isinstance(response, str) or response.status_code != 200:
        return []
    found = (_json(response) or {}).get("experiments")
    if not isinstance(found, list):
        return []
    names = [str(e.get("name")) for e in found if isinstance(e, dict)]
    return difflib.get_close_matches(target.experiment, names, n=3, cutoff=0.5)


def _experiment(ctx: Context, rec: Recorder, target: Target, lookup: _Lookup) -> Experiment | None:
    name = target.experiment
    if lookup.status == 403:
        rec.fail(
            EXPERIMENT,
            MLFLOW_FORBIDDEN,
            f"{target.who_title} may not read experiment '{name}' (needs READ; EDIT to log runs)",
            hint=f"Ask {CONTACT_MLOPS} to grant {target.who} EDIT on experiment '{name}'.",
            details={"experiment": name, "http_status": 403},
        )
        return None
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
        rec.fail(
            EXPERIMENT,
            MLFLOW_LOG_FAILED,
            f"Looking up experiment '{name}' failed: HTTP {lookup.status} {message}",
        )
        return None
    deleted = bool(body)
    if ctx.settings.mlflow.create_experiment and not deleted:
        return _create_experiment(ctx, rec, target)
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
    rec.fail(EXPERIMENT, MLFLOW_EXPERIMENT_NOT_FOUND, summary, hint=hint, details={"experiment": name})
    return None


def _create_experiment(ctx: Context, rec: Recorder, target: Target) -> Experiment | None:
    name = target.experiment
    response = _api(ctx, rec, target, "POST", "/api/2.0/mlflow/experiments/create", json={"name": name})
    if isinstance(response, str) or response.status_code != 200:
        status = response if isinstance(response, str) else f"HTTP {response.status_code}"
        if not isinstance(response, str) and response.status_code == 403:
            rec.fail(
                EXPERIMENT,
                MLFLOW_FORBIDDEN,
                f"{target.who_title} may not create experiment '{name}' (HTTP 403)",
                hint=f"Ask {CONTACT_MLOPS} to create experiment '{name}' and grant your user EDIT on it.",
            )
        else:
            message = status if isinstance(response, str) else f"{status} {_server_message(response)}"
            rec.fail(EXPERIMENT, MLFLOW_LOG_FAILED, f"Creating experiment '{name}' failed: {message}")
        return None
    created = _json(response)
    if created is None or not created.get("experiment_id"):
        _unexpected(ctx, rec, EXPERIMENT, target, response, "the request to create an experiment")
        return None
    experiment_id = str(created["experiment_id"])
    fetched = _api(
        ctx, rec, target, "GET", "/api/2.0/mlflow/experiments/get", params={"experiment_id": experiment_id}
    )
    location = ""
    if not isinstance(fetched, str) and fetched.status_code == 200:
        experiment = (_json(fetched) or {}).get("experiment")
        if isinstance(experiment, dict):
            location = str(experiment.get("artifact_location", ""))
    rec.ok(
        EXPERIMENT,
        f"Experiment '{name}' created (id {experiment_id}), as --create-experiment asked",
        details={"experiment_id": experiment_id, "artifact_location": location, "created": True},
    )
    return Experiment(experiment_id, name, location, created=True)


# -- the MLflow client's environment ---------------------------------------------------------------


def _client_overrides(
    ctx: Context, target: Target, timeout: float, aws: Keys | None = None
) -> dict[str, str | None]:
    """What os.environ must say while the MLflow client runs (None: unset)."""
    wanted: dict[str, str | None] = {name: ctx.env.get(name) for name in _CLIENT_ENV}
    if target.source == "the tracking URI":
        # The client is given the URI without userinfo; hand it the URI's credentials instead.
        wanted["MLFLOW_TRACKING_USERNAME"] = target.username
        wanted["MLFLOW_TRACKING_PASSWORD"] = target.password
    trusted = wanted["MLFLOW_TRACKING_SERVER_CERT_PATH"] or wanted["REQUESTS_CA_BUNDLE"]
    if ctx.settings.ca_bundle and not trusted:
        wanted["MLFLOW_TRACKING_SERVER_CERT_PATH"] = str(ctx.path(ctx.settings.ca_bundle))
    # boto3 reads the same aws files the check read (`~` is the context's home).
    wanted["AWS_SHARED_CREDENTIALS_FILE"] = str(
        ctx.path(wanted["AWS_SHARED_CREDENTIALS_FILE"] or "~/.aws/credentials")
    )
    wanted["AWS_CONFIG_FILE"] = str(ctx.path(wanted["AWS_CONFIG_FILE"] or "~/.aws/config"))
    if aws is not None:
        # The static keys the check resolved, as variables: boto3 takes them first and never
        # runs the rest of its credential chain (credential_process, STS, SSO).
        wanted["AWS_ACCESS_KEY_ID"] = aws.access_key_id
        wanted["AWS_SECRET_ACCESS_KEY"] = aws.secret.reveal()
        wanted["AWS_SESSION_TOKEN"] = aws.token.reveal() if aws.token else None
    wanted.update(
        # By default a call to a dead server is retried 7 times with back-off factor 2 and a
        # 120 s timeout (minutes): one attempt within the step timeout, so the check reports
        # the failure itself; the runner's deadline stays on top.
        MLFLOW_HTTP_REQUEST_TIMEOUT=str(max(1, math.ceil(timeout))),
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR="0",
        MLFLOW_HTTP_REQUEST_BACKOFF_JITTER="0",
        # Already set process-wide by the CLI before any check thread starts (MLflow starts its
        # telemetry on import); repeated here for callers that run the check without the CLI.
        MLFLOW_DISABLE_TELEMETRY="true",
        # boto3 (direct S3 artifacts): one attempt, and never the EC2 metadata service, which a
        # laptop does not have and which is not on loopback.
        AWS_MAX_ATTEMPTS="1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return wanted


@contextlib.contextmanager
def _client_env(overrides: Mapping[str, str | None], lock_timeout: float) -> Iterator[None]:
    """Apply `overrides` to os.environ for one client call and put back what was there.

    Changes only what differs, under `_ENV_LOCK`, which only serialises MLflow with itself. It
    is taken with a timeout: a check the runner abandoned at its deadline may still sit inside
    a call, and a later call must fail in time rather than wait on it forever. mlflow's own
    logger is quietened meanwhile so its warnings do not reach the terminal around the report.
    """
    if not _ENV_LOCK.acquire(timeout=max(0.0, lock_timeout)):
        raise TimeoutError(
            "another MLflow client call (an abandoned check?) still holds the client environment"
        )
    try:
        saved = {name: os.environ.get(name) for name in overrides}
        logger = logging.getLogger("mlflow")
        level = logger.level
        try:
            for name, value in overrides.items():
                if value is None:
                    os.environ.pop(name, None)
                elif os.environ.get(name) != value:
                    os.environ[name] = value
            logger.setLevel(logging.ERROR)
            yield
        finally:
            logger.setLevel(level)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                elif os.environ.get(name) != value:
                    os.environ[name] = value
    finally:
        _ENV_LOCK.release()


class _Session:
    """The MLflow client's calls, each in its own short os.environ window, each with the step
    timeout that is left at that moment (a slow step leaves less to the next)."""

    def __init__(self, ctx: Context, rec: Recorder, target: Target) -> None:
        self.ctx, self.rec, self.target = ctx, rec, target
        self.aws: Keys | None = None  # the static keys for a direct S3 store, once resolved

    def call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        timeout = self.rec.step_timeout(self.ctx.timeout)
        with _client_env(_client_overrides(self.ctx, self.target, timeout, self.aws), timeout):
            return fn(*args, **kwargs)


def _time_left_for(ctx: Context, rec: Recorder, steps: tuple[str, ...], what: str) -> bool:
    """Whether the next layer and the cleanup fit before the hard deadline; if not, the layers
    in `steps` are skipped (a run cut off half-way would stay behind)."""
    left = rec.remaining()
    if left >= _TIME_FACTOR * ctx.timeout:
        return True
    for step in steps:
        rec.skip(
            step,
            MLFLOW_NO_TIME_LEFT,
            f"Skipped {what}: only {left:.1f}s left before the check's deadline, and it needs about "
            f"{_TIME_FACTOR * ctx.timeout:g}s (timeout {ctx.timeout:g}s) to finish and clean up",
            details={"seconds_left": round(left, 1), "timeout": ctx.timeout},
        )
    return False


def _status_of(exc: BaseException) -> int | None:
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


# -- layer 5: the run ----------------------------------------------------------------------------


def _log_run(
    ctx: Context, rec: Recorder, target: Target, experiment: Experiment, session: _Session, client: Any
) -> Any:
    """Create a run; None when the server refused (the run step has failed then)."""
    try:
        return session.call(
            client.create_run,
            experiment.id,
            tags={
                PREFLIGHT_TAG: "true",
                "mlflow.source.name": "aisg-check",
                "mlflow.note.content": "Test run by aisg-check; deleted afterwards unless --keep-run.",
            },
            run_name=f"aisg-check-preflight-{time.strftime('%Y%m%d-%H%M%S')}",
        )
    except Exception as exc:
        if _status_of(exc) == 403:
            rec.fail(
                LOG,
                MLFLOW_FORBIDDEN,
                f"{target.who_title} may read experiment '{experiment.name}' but not log runs to it "
                "(needs EDIT; HTTP 403)",
                hint=f"Ask {CONTACT_MLOPS} to grant {target.who} EDIT on experiment "
                f"'{experiment.name}' (id {experiment.id}).",
                details={"experiment": experiment.name, "experiment_id": experiment.id, "needs": "EDIT"},
            )
        else:
            rec.fail(
                LOG, MLFLOW_LOG_FAILED, f"Creating a run in '{experiment.name}' failed: {_clean(ctx, exc)}"
            )
        return None


def _log_and_read_back(ctx: Context, rec: Recorder, session: _Session, client: Any, run: Any) -> bool:
    """Params and metrics in one batch, then read back: what the training code relies on."""
    from mlflow.entities import Metric, Param

    run_id = run.info.run_id
    now = int(time.time() * 1000)
    try:
        session.call(
            client.log_batch,
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in METRICS.items()],
            params=[Param(k, v) for k, v in PARAMS.items()],
        )
        data = session.call(client.get_run, run_id).data
    except Exception as exc:
        rec.fail(
            LOG,
            MLFLOW_LOG_FAILED,
            f"Logging params and metrics to run {run_id} failed: {_clean(ctx, exc)}",
            details={"run_id": run_id},
        )
        return False
    if dict(data.params) != PARAMS or {k: data.metrics.get(k) for k in METRICS} != METRICS:
        rec.fail(
            LOG,
            MLFLOW_LOG_FAILED,
            f"Run {run_id} came back with other params or metrics than were logged",
            details={"run_id": run_id, "params": dict(data.params), "metrics": dict(data.metrics)},
        )
        return False
    rec.ok(
        LOG,
        f"Run {run_id} logged with {len(PARAMS)} param and {len(METRICS)} metric, read back intact",
        details={"run_id": run_id, "artifact_uri": run.info.artifact_uri},
    )
    return True


def _clean(ctx: Context, exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return ctx.scrubber.scrub(f"{type(exc).__name__}: {text[:300]}")


# -- layer 6: the artifact ------------------------------------------------------------------------


def _aws_keys(ctx: Context) -> Keys | str | None:
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
    try:  # _read_ini registers every secret in the files with the scrubber
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


def _s3_precheck(ctx: Context, rec: Recorder, session: _Session, artifact_uri: str) -> bool:
    """Direct S3: without an endpoint the upload would go to Amazon; stop before it does. The
    keys are read here, statically, and handed to the client (see `_client_overrides`)."""
    bucket = "s3://" + urlsplit(artifact_uri).netloc
    if not any(ctx.env.get(name) for name in _S3_ENDPOINT_ENV):
        rec.fail(
            ARTIFACT,
            MLFLOW_ARTIFACT_ENDPOINT_NOT_SET,
            f"Artifacts go to {bucket} but "
            "MLFLOW_S3_ENDPOINT_URL is not set: the upload would go to Amazon S3 (not attempted)",
            details={"artifact_uri": artifact_uri},
        )
        return False
    keys = _aws_keys(ctx)
    if keys is None:
        rec.fail(
            ARTIFACT,
            MLFLOW_ARTIFACT_CREDENTIALS,
            f"Artifacts go straight to {bucket} from this machine, and no AWS keys are set (not attempted)",
            details={"artifact_uri": artifact_uri},
        )
        return False
    if isinstance(keys, str):
        rec.fail(
            ARTIFACT,
            MLFLOW_ARTIFACT_CREDENTIALS,
            f"Artifacts go straight to {bucket} from this machine, but {keys} (not attempted)",
            hint="Give the ECS keys directly: `export AWS_ACCESS_KEY_ID=<key>` and "
            "`export AWS_SECRET_ACCESS_KEY=<secret>`, or a profile in ~/.aws/credentials with "
            "`aws_access_key_id = ...` and `aws_secret_access_key = ...` (AWS_PROFILE=<name>).",
            details={"artifact_uri": artifact_uri},
        )
        return False
    ctx.scrubber.add(keys.secret.reveal())
    if keys.token is not None:
        ctx.scrubber.add(keys.token.reveal())
    session.aws = keys
    return True


# Whole words only: a bare "403" would also match inside the run id (hex) of the message.
_CREDENTIAL_ERRORS = re.compile(
    r"\b(InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|NoCredentials|InvalidToken|ExpiredToken)\b"
    r"|Unable to locate credentials|\(403\)|\b403 Forbidden\b"
)


def _artifact(
    ctx: Context, rec: Recorder, session: _Session, client: Any, run: Any, attempted: list[bool]
) -> bool:
    """Upload and list back one small file; `attempted` tells cleanup whether anything may
    have reached the store (never delete from a store the upload did not go to)."""
    run_id, artifact_uri = run.info.run_id, str(run.info.artifact_uri)
    direct_s3 = artifact_uri.startswith(("s3://", "s3a://"))
    if direct_s3 and not _s3_precheck(ctx, rec, session, artifact_uri):
        return False
    attempted.append(True)
    details = {
        "run_id": run_id,
        "artifact_uri": artifact_uri,
        "store": "s3 (direct)" if direct_s3 else "proxied",
    }
    with tempfile.TemporaryDirectory(prefix="aisg-check-") as tmp:
        path = Path(tmp) / ARTIFACT_NAME
        content = f"aisg-check preflight artifact for run {run_id}\n"
        path.write_text(content, "utf-8")
        try:
            session.call(client.log_artifact, run_id, str(path))
            listed = {f.path: f.file_size for f in session.call(client.list_artifacts, run_id)}
        except Exception as exc:
            text = _clean(ctx, exc)
            if direct_s3 and _CREDENTIAL_ERRORS.search(text):
                rec.fail(
                    ARTIFACT,
                    MLFLOW_ARTIFACT_CREDENTIALS,
                    f"The S3 store rejected the AWS keys for {artifact_uri}: {text}",
                    details=details,
                )
            elif not direct_s3 and _status_of(exc) == 403:
                rec.fail(
                    ARTIFACT,
                    MLFLOW_FORBIDDEN,
                    f"The server refused the artifact upload for run {run_id} (HTTP 403)",
                    details=details,
                )
            else:
                rec.fail(
                    ARTIFACT,
                    MLFLOW_ARTIFACT_UPLOAD_FAILED,
                    f"Uploading the artifact to {artifact_uri} failed: {text}",
                    details=details,
                )
            return False
    if listed.get(ARTIFACT_NAME) != len(content.encode()):
        rec.fail(
            ARTIFACT,
            MLFLOW_ARTIFACT_UPLOAD_FAILED,
            f"The artifact was uploaded but is not listed back intact under {artifact_uri}",
            details={**details, "listed": sorted(listed)},
        )
        return False
    rec.ok(ARTIFACT, f"Artifact {ARTIFACT_NAME} uploaded to {artifact_uri} and listed back", details=details)
    return True


# -- layer 7: cleanup -----------------------------------------------------------------------------


def _cleanup(
    ctx: Context,
    rec: Recorder,
    target: Target,
    experiment: Experiment,
    session: _Session,
    client: Any,
    run: Any,
    finished: bool,
    uploaded: bool,
) -> None:
    run_id = run.info.run_id
    url = f"{target.uri}/#/experiments/{experiment.id}/runs/{run_id}"
    if ctx.settings.mlflow.keep_run:
        try:
            session.call(client.set_terminated, run_id, "FINISHED" if finished else "FAILED")
        except Exception as exc:
            rec.warn(
                CLEANUP,
                MLFLOW_CLEANUP_FAILED,
                f"Kept run {run_id}, but could not mark it finished: {_clean(ctx, exc)}",
                details={"run_id": run_id, "url": url},
            )
            return
        rec.ok(
            CLEANUP, f"Kept the test run, as --keep-run asked: {url}", details={"run_id": run_id, "url": url}
        )
        return
    # The artifact first: a deleted run's files stay in the store until the server's `mlflow gc`.
    # Only when the upload was attempted: never send a request to a store it did not go to.
    problem = _delete_artifact(ctx, target, session, run) if uploaded else None
    try:
        session.call(client.delete_run, run_id)
    except Exception as exc:
        _cleanup_refused(ctx, rec, target, experiment, session, client, run_id, url, exc)
        return
    if problem:
        rec.warn(
            CLEANUP,
            MLFLOW_CLEANUP_FAILED,
            f"Deleted test run {run_id}, but not its artifact: {problem}",
            details={"run_id": run_id},
        )
        return
    what = " and its artifact" if uploaded else ""
    rec.ok(CLEANUP, f"Deleted the test run {run_id}{what}", details={"run_id": run_id})


def _delete_artifact(ctx: Context, target: Target, session: _Session, run: Any) -> str | None:
    """Remove the run's artifacts; the scrubbed error text when that failed."""

    def delete() -> None:
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        repository: Any = get_artifact_repository(str(run.info.artifact_uri), tracking_uri=target.uri)
        repository.delete_artifacts()

    try:
        session.call(delete)
    except Exception as exc:
        return _clean(ctx, exc)
    return None


def _cleanup_refused(
    ctx: Context,
    rec: Recorder,
    target: Target,
    experiment: Experiment,
    session: _Session,
    client: Any,
    run_id: str,
    url: str,
    exc: BaseException,
) -> None:
    """The run stays: at least mark it finished, so it does not look like a hung training job."""
    with contextlib.suppress(Exception):
        session.call(client.set_terminated, run_id, "FINISHED")
    details = {"run_id": run_id, "url": url}
    if _status_of(exc) == 403:
        # The basic-auth server lets EDIT log runs but only MANAGE delete them.
        rec.warn(
            CLEANUP,
            MLFLOW_CLEANUP_FAILED,
            f"{target.who_title} may log runs to '{experiment.name}' but not delete them (needs "
            f"MANAGE): the test run {run_id} stays, tagged {PREFLIGHT_TAG}",
            hint=f"Delete it in the MLflow UI ({url}) or ask {CONTACT_MLOPS}; logging works, nothing else "
            "to fix.",
            details={**details, "needs": "MANAGE"},
        )
        return
    rec.warn(
        CLEANUP,
        MLFLOW_CLEANUP_FAILED,
        f"Could not delete test run {run_id}: {_clean(ctx, exc)}",
        hint=f"Delete it in the MLflow UI: {url}",
        details=details,
    )


# -- the chain ------------------------------------------------------------------------------------


def run(ctx: Context, rec: Recorder) -> None:
    # MLFLOW_DISABLE_TELEMETRY is set process-wide by the CLI before any check thread starts:
    # MLflow starts its telemetry on import, in the loader thread below.
    target = _settings(ctx, rec)
    if target is None:
        return
    loader = _Loader()
    rec.require("vpn.mlflow")
    if not _server(ctx, rec, target):
        return
    lookup = _auth(ctx, rec, target)
    if lookup is None:
        return
    experiment = _experiment(ctx, rec, target, lookup)
    if experiment is None:
        return
    client_cls = loader.client_class(rec.remaining())
    if not _time_left_for(ctx, rec, (LOG, ARTIFACT, CLEANUP), "the test run (none was created)"):
        return
    session = _Session(ctx, rec, target)
    try:
        client = session.call(client_cls, tracking_uri=target.uri)
    except Exception as exc:
        rec.fail(LOG, MLFLOW_LOG_FAILED, f"Starting the MLflow client failed: {_clean(ctx, exc)}")
        return
    _run_and_cleanup(ctx, rec, target, experiment, session, client)


def _run_and_cleanup(
    ctx: Context, rec: Recorder, target: Target, experiment: Experiment, session: _Session, client: Any
) -> None:
    run_ = _log_run(ctx, rec, target, experiment, session, client)
    if run_ is None:
        return
    finished = False
    uploaded: list[bool] = []
    try:
        logged = _log_and_read_back(ctx, rec, session, client, run_)
        if logged and not _time_left_for(ctx, rec, (ARTIFACT,), "the artifact upload"):
            finished = True  # the run itself is complete; the cleanup below still runs
        else:
            finished = logged and _artifact(ctx, rec, session, client, run_, uploaded)
    finally:
        # Also after a failure (or a crash) above: the test run must not stay behind.
        _cleanup(ctx, rec, target, experiment, session, client, run_, finished, bool(uploaded))


# Every diagnosis this module defines or imports: what its checks may report.
DECLARED = declared(sys.modules[__name__], NETWORK_DIAGNOSES)

CHECKS: tuple[Check, ...] = (
    Check(
        id="mlflow",
        component="mlflow",
        title="MLflow",
        steps=(
            Step(S, "MLflow settings"),
            Step(SERVER, "Tracking server"),
            Step(AUTH, "MLflow sign-in"),
            Step(EXPERIMENT, "Experiment"),
            Step(LOG, "Test run logged"),
            Step(ARTIFACT, "Artifact stored"),
            Step(CLEANUP, "Test run cleanup"),
        ),
        run=run,
        needs=("vpn.mlflow",),
        diagnoses=DECLARED,
        # About ten requests, each bounded by the timeout; a healthy server answers in
        # milliseconds, so this is only the ceiling for a server that is slow at every step.
        budget=6.0,
        # A cold import of the MLflow client (pandas, protobuf) takes seconds on a laptop.
        import_allowance_s=8.0,
    ),
)
