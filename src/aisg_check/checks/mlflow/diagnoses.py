"""The `mlflow` component's diagnosis codes, and the shared ones it reports besides any transport
failure (`NETWORK_DIAGNOSES`, added in `__init__`). The check's declared set is derived from this
module: a code defined or imported here is one the check may report."""

from __future__ import annotations

from aisg_check.diagnoses import ENDPOINT_HTTP_ERROR, ENDPOINT_UNEXPECTED_ANSWER, TLS_UNTRUSTED_CERT
from aisg_check.model import CONTACT_MLOPS, Diagnosis

# Shared codes the check reports as they are (transport failures come from NETWORK_DIAGNOSES).
__all__ = ["ENDPOINT_HTTP_ERROR", "ENDPOINT_UNEXPECTED_ANSWER", "TLS_UNTRUSTED_CERT"]

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
MLFLOW_CREDENTIALS_FILE_INVALID = Diagnosis(
    "MLFLOW_CREDENTIALS_FILE_INVALID",
    "MLflow credentials file cannot be used",
    "~/.mlflow/credentials is there but cannot be used: a line that is neither `[section]` nor "
    "`key = value`, a duplicate key, text that is not UTF-8, or a `%` in a value. The MLflow client "
    "reads this file on every request, even when MLFLOW_TRACKING_USERNAME/PASSWORD are set, with "
    "Python's configparser, which treats `%` as the start of a reference to another value: such a "
    "file makes every client call fail. Or the path is a directory, unreadable or far too large, "
    "and the client silently ignores it.",
    "Fix the file at the line named in the result: `[mlflow]`, then "
    "`mlflow_tracking_username = <user>` and `mlflow_tracking_password = <password>`, writing each "
    "`%` in the password as `%%`. A directory or unreadable file: replace it with a readable file, "
    "or remove it and use MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD instead.",
    CONTACT_MLOPS,
)
MLFLOW_UNREACHABLE = Diagnosis(
    "MLFLOW_UNREACHABLE",
    "Tracking server unreachable",
    "Talking to the tracking server failed in a way none of the network codes (DNS, TCP, TLS, proxy, "
    "no answer) describes; the summary gives the library's own words.",
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
MLFLOW_NO_PERMISSION = Diagnosis(
    "MLFLOW_NO_PERMISSION",
    "No permission on the experiment: ask for EDIT",
    "You are signed in, but your user has no permission at all on the experiment (HTTP 403 to "
    "reading it). AISG's tracking servers give a new user nothing by default: the MLOps team grants "
    "each user a level per experiment (READ to see it, EDIT to log runs, MANAGE to delete runs too).",
    "Ask the MLOps team (mlops@aisingapore.org) to grant your MLflow user EDIT on the experiment; the "
    "result's hint is the request to send, naming the server, your user and the experiment. If the "
    "experiment is not your project's, set MLFLOW_EXPERIMENT_NAME (or --experiment) to the right one.",
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
    "The test run (or its artifact) could not be deleted afterwards, for another reason than a "
    "missing permission (the server failed or did not answer in time), or a run kept for lack of "
    "permission could not be noted on the experiment for the next check. It stays in the "
    "experiment, tagged aisg-check.preflight; a run the experiment notes is logged into again by "
    "the next aisg-check of the same user, and deleted if they may.",
    "Nothing to do if the next run cleans it up; otherwise delete the run named in the summary in "
    "the MLflow UI.",
)
MLFLOW_PREFLIGHT_RUN_KEPT = Diagnosis(
    "MLFLOW_PREFLIGHT_RUN_KEPT",
    "One preflight run kept and reused (no permission to delete)",
    "Your user may log runs to the experiment (EDIT) but not delete them (MANAGE), as AISG usually "
    "grants. The check's run cannot be deleted, so it is kept, marked finished and noted on the "
    "experiment (tag aisg-check.kept_run.<user>), and every later aisg-check by you logs into that "
    "same run again (a new param, a new metric step, the artifact overwritten) instead of leaving "
    "one more: at most one preflight run per user and experiment.",
    "Nothing to fix: logging works. To have aisg-check delete its run instead, ask the MLOps team "
    "(mlops@aisingapore.org) for MANAGE on the experiment, or ask them to delete the run named in "
    "the summary.",
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
