"""The mlflow check against a real `mlflow server --app-name basic-auth` (sqlite, proxied
artifacts) and the shared moto S3 server for experiments whose artifacts go straight to S3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aisg_check.checks import mlflow as check
from aisg_check.model import CheckResult, Status
from aisg_check.runner import run_checks
from tests.conftest import require
from tests.helpers import LOOPBACK_PROFILE, make_context, run_cli, write_config

WRITER, WRITER_PASSWORD = "writer", "writer-Canary-Pass-9183"
READER, READER_PASSWORD = "reader", "reader-Canary-Pass-4471"
EDITOR, EDITOR_PASSWORD = "editor", "editor-Canary-Pass-7730"
AWS_KEY, AWS_SECRET = "AKIAAISGCHECKTEST01", "aws-Canary-Secret-5521"
PROXIED, DIRECT, NO_BUCKET = "preflight", "direct-s3", "no-bucket"
BUCKET = "aisg-mlflow-direct"


@pytest.fixture(scope="session")
def mlflow_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One basic-auth MLflow server per run: a writer (MANAGE: may delete runs too), an editor
    (EDIT: logs runs but may not delete them) and a reader (READ, the server's default)."""
    import importlib.metadata
    import importlib.util

    try:
        installed = importlib.metadata.version("mlflow")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    # Not imported here: the server stack is heavy and only the server process needs it.
    require(
        installed is not None and importlib.util.find_spec("flask_wtf") is not None,
        "mlflow[auth] is not installed (pip install 'mlflow[auth]==3.17.2')",
    )
    from tests.servers.mlflow_server import MlflowServer

    try:
        server = MlflowServer(tmp_path_factory.mktemp("mlflow"))
    except RuntimeError as exc:
        require(False, f"mlflow server did not start: {exc}")
    try:
        server.create_user(WRITER, WRITER_PASSWORD)
        server.create_user(READER, READER_PASSWORD)
        server.create_user(EDITOR, EDITOR_PASSWORD)
        server.ids = {
            PROXIED: server.experiment(PROXIED),
            DIRECT: server.experiment(DIRECT, artifact_location=f"s3://{BUCKET}/mlflow"),
            NO_BUCKET: server.experiment(NO_BUCKET, artifact_location="s3://no-such-bucket/mlflow"),
        }
        for experiment_id in server.ids.values():
            server.grant(WRITER, experiment_id, "MANAGE")
            server.grant(EDITOR, experiment_id, "EDIT")
        yield server
    finally:
        server.stop()


@pytest.fixture()
def bucket(moto_server: Any) -> str:
    """A fresh moto (the ECS tests share it and may leave it enforcing IAM) with our bucket."""
    import boto3

    moto_server.reset()

    s3 = boto3.client(
        "s3",
        endpoint_url=moto_server.url,
        aws_access_key_id=AWS_KEY,
        aws_secret_access_key=AWS_SECRET,
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket=BUCKET)
    return BUCKET


def _objects(moto_url: str) -> list[str]:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=moto_url,
        aws_access_key_id=AWS_KEY,
        aws_secret_access_key=AWS_SECRET,
        region_name="us-east-1",
    )
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def _env(user: str | None = WRITER, password: str | None = WRITER_PASSWORD, **extra: str) -> dict[str, str]:
    from tests.servers.mlflow_server import QUIET_ENV

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_"))}
    env.update(QUIET_ENV)
    if user is not None:
        env["MLFLOW_TRACKING_USERNAME"] = user
    if password is not None:
        env["MLFLOW_TRACKING_PASSWORD"] = password
    env.update(extra)
    return env


def _s3_env(moto_url: str, **extra: str) -> dict[str, str]:
    return {
        "MLFLOW_S3_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": AWS_KEY,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        **extra,
    }


def _run(
    uri: str | None, experiment: str | None = PROXIED, env: dict[str, str] | None = None, **mlflow: Any
) -> dict[str, CheckResult]:
    ctx = make_context(
        {"timeout": 5, "mlflow": {"tracking_uri": uri, "experiment": experiment, **mlflow}},
        env=env if env is not None else _env(),
    )
    report = run_checks(ctx, list(check.CHECKS))
    return {r.id: r for r in report.results}


def _statuses(results: dict[str, CheckResult]) -> list[str]:
    """For assertion messages: the results that did not pass, with their codes and summaries."""
    return [
        f"{k}: {v.status.value} {v.code} {v.summary}"
        for k, v in results.items()
        if v.status is not Status.PASS
    ]


def _preflight_runs(server: Any, experiment: str, *, deleted: bool = False) -> list[dict[str, Any]]:
    runs = server.runs(server.ids[experiment], deleted=deleted)
    return [
        r for r in runs if any(t["key"] == check.PREFLIGHT_TAG for t in r.get("data", {}).get("tags", []))
    ]


# -- pass ---------------------------------------------------------------------------------------


def test_pass_proxied_logs_and_deletes_the_run(mlflow_platform: Any) -> None:
    before = {r["info"]["run_id"] for r in _preflight_runs(mlflow_platform, PROXIED, deleted=True)}
    results = _run(mlflow_platform.url)
    assert all(r.status is Status.PASS for r in results.values()), _statuses(results)
    assert set(results) == {s.id for s in check.CHECKS[0].steps}
    run_id = results[check.LOG].details["run_id"]
    assert results[check.EXPERIMENT].details["experiment_id"] == mlflow_platform.ids[PROXIED]
    assert results[check.ARTIFACT].details["store"] == "proxied"
    # Gone from the experiment, in the trash, and its artifact removed from the store.
    assert run_id not in {r["info"]["run_id"] for r in _preflight_runs(mlflow_platform, PROXIED)}
    deleted = {r["info"]["run_id"] for r in _preflight_runs(mlflow_platform, PROXIED, deleted=True)}
    assert run_id in deleted - before
    assert not _stored_artifact(mlflow_platform, PROXIED, run_id).exists()
    # The client's settings and the context's credentials were put in os.environ only meanwhile.
    for name in (
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
        "MLFLOW_HTTP_REQUEST_TIMEOUT",
        "MLFLOW_TRACKING_PASSWORD",
    ):
        assert name not in os.environ


def _stored_artifact(server: Any, experiment: str, run_id: str) -> Path:
    """Where the server's proxied store keeps the check's artifact."""
    return server.workdir / "artifacts" / server.ids[experiment] / run_id / "artifacts" / check.ARTIFACT_NAME


def test_keep_run_leaves_a_finished_run_with_everything(mlflow_platform: Any) -> None:
    results = _run(mlflow_platform.url, keep_run=True)
    assert all(r.status is Status.PASS for r in results.values()), _statuses(results)
    run_id = results[check.LOG].details["run_id"]
    kept = {r["info"]["run_id"]: r for r in _preflight_runs(mlflow_platform, PROXIED)}
    assert run_id in kept
    assert kept[run_id]["info"]["status"] == "FINISHED"
    assert {p["key"]: p["value"] for p in kept[run_id]["data"]["params"]} == check.PARAMS
    assert f"/#/experiments/{mlflow_platform.ids[PROXIED]}/runs/{run_id}" in results[check.CLEANUP].summary
    listed = mlflow_platform.call("GET", "/api/2.0/mlflow/artifacts/list", params={"run_id": run_id})
    assert [f["path"] for f in listed["files"]] == [check.ARTIFACT_NAME]
    assert _stored_artifact(mlflow_platform, PROXIED, run_id).is_file()


def test_pass_direct_s3_and_artifact_removed(mlflow_platform: Any, moto_server: Any, bucket: str) -> None:
    results = _run(mlflow_platform.url, DIRECT, _env(**_s3_env(moto_server.url)))
    assert all(r.status is Status.PASS for r in results.values()), _statuses(results)
    run_id = results[check.LOG].details["run_id"]
    assert results[check.ARTIFACT].details["artifact_uri"].startswith(f"s3://{BUCKET}/")
    assert not [k for k in _objects(moto_server.url) if run_id in k]


def test_create_experiment_on_request(mlflow_platform: Any) -> None:
    name = f"created-{uuid.uuid4().hex[:8]}"
    results = _run(mlflow_platform.url, name, create_experiment=True)
    assert results[check.EXPERIMENT].status is Status.PASS
    assert results[check.EXPERIMENT].details["created"] is True
    found = mlflow_platform.call(
        "GET", "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": name}
    )
    assert found["experiment"]["experiment_id"] == results[check.EXPERIMENT].details["experiment_id"]


# -- settings -------------------------------------------------------------------------------------


def test_uri_not_set_blocks_everything() -> None:
    results = _run(None)
    assert results[check.S].status is Status.FAIL
    assert results[check.S].code == "MLFLOW_URI_NOT_SET"
    assert "MLFLOW_TRACKING_URI" in (results[check.S].hint or "")
    assert results[check.SERVER].status is Status.SKIP and results[check.SERVER].blocked_by == check.S


def test_uri_not_http_is_rejected_with_the_settings() -> None:
    # The settings refuse it before any check runs (the check would say MLFLOW_URI_NOT_SET).
    from aisg_check.config import ConfigError

    with pytest.raises(ConfigError, match=r"mlflow\.tracking_uri"):
        _run("file:///tmp/mlruns")


def test_credentials_in_uri_warn_and_are_never_shown(mlflow_platform: Any) -> None:
    uri = mlflow_platform.url.replace("http://", f"http://{WRITER}:{WRITER_PASSWORD}@")
    ctx = make_context(
        {"timeout": 5, "mlflow": {"tracking_uri": uri, "experiment": PROXIED}}, env=_env(None, None)
    )
    report = run_checks(ctx, list(check.CHECKS))
    results = {r.id: r for r in report.results}
    assert results[check.S].status is Status.WARN
    assert results[check.S].code == "MLFLOW_URI_HAS_CREDENTIALS"
    # The URI's credentials are used (the guide's users do get signed in), and never printed.
    assert results[check.AUTH].status is Status.PASS, _statuses(results)
    assert results[check.CLEANUP].status is Status.PASS, _statuses(results)
    from aisg_check.runner import scrub_report

    text = json.dumps([r.to_dict() for r in scrub_report(report, ctx.scrubber.scrub_value).results])
    assert WRITER_PASSWORD not in text


# -- server ---------------------------------------------------------------------------------------


def test_unreachable_is_fast() -> None:
    from tests.servers.tls import closed_port

    started = time.monotonic()
    results = _run(f"http://127.0.0.1:{closed_port()}")
    assert results[check.SERVER].code == "MLFLOW_UNREACHABLE"
    assert results[check.AUTH].blocked_by == check.SERVER
    assert time.monotonic() - started < 5


def test_hanging_server_ends_within_the_timeout() -> None:
    from tests.servers.tls import SilentServer

    server = SilentServer()
    try:
        started = time.monotonic()
        ctx = make_context(
            {"timeout": 1, "mlflow": {"tracking_uri": f"http://127.0.0.1:{server.port}"}}, env=_env()
        )
        results = {r.id: r for r in run_checks(ctx, list(check.CHECKS)).results}
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert results[check.SERVER].code == "MLFLOW_UNREACHABLE"
    assert elapsed < 3


def test_untrusted_certificate(ca: Any) -> None:
    import trustme

    from tests.servers.tls import HTTPServer, ssl_server_context

    other_ca = trustme.CA()  # the server's CA is not the one the context trusts
    server = HTTPServer(ssl_server_context(other_ca, "127.0.0.1"))
    try:
        results = _run(server.url("127.0.0.1"))
    finally:
        server.close()
    assert results[check.SERVER].code == "TLS_UNTRUSTED_CERT"
    assert "MLFLOW_TRACKING_SERVER_CERT_PATH" in (results[check.SERVER].hint or "")


# -- authentication -------------------------------------------------------------------------------


def test_auth_missing(mlflow_platform: Any) -> None:
    results = _run(mlflow_platform.url, env=_env(None, None))
    assert results[check.AUTH].code == "MLFLOW_AUTH_MISSING"
    assert "MLFLOW_TRACKING_PASSWORD" in (results[check.AUTH].hint or "")


def test_auth_failed(mlflow_platform: Any) -> None:
    results = _run(mlflow_platform.url, env=_env(WRITER, "not-the-password"))
    assert results[check.AUTH].code == "MLFLOW_AUTH_FAILED"
    assert "mlops@aisingapore.org" in (results[check.AUTH].hint or "")
    assert results[check.EXPERIMENT].blocked_by == check.AUTH


def test_credentials_file_is_used(mlflow_platform: Any, home: Path) -> None:
    (home / ".mlflow").mkdir()
    (home / ".mlflow" / "credentials").write_text(
        f"[mlflow]\nmlflow_tracking_username = {READER}\nmlflow_tracking_password = wrong-password\n"
    )
    results = _run(mlflow_platform.url, env=_env(None, None))
    assert results[check.AUTH].code == "MLFLOW_AUTH_FAILED"
    assert "~/.mlflow/credentials" in results[check.AUTH].summary


# -- experiment and permissions --------------------------------------------------------------------


def test_experiment_not_found_is_not_created(mlflow_platform: Any) -> None:
    results = _run(mlflow_platform.url, "preflite")
    assert results[check.EXPERIMENT].code == "MLFLOW_EXPERIMENT_NOT_FOUND"
    assert "'preflight'" in results[check.EXPERIMENT].summary
    assert "--create-experiment" in (results[check.EXPERIMENT].hint or "")
    from tests.servers.mlflow_server import MlflowError

    with pytest.raises(MlflowError):
        mlflow_platform.call(
            "GET", "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "preflite"}
        )


def test_read_only_user_is_forbidden_to_log(mlflow_platform: Any) -> None:
    before = len(_preflight_runs(mlflow_platform, PROXIED)) + len(
        _preflight_runs(mlflow_platform, PROXIED, deleted=True)
    )
    results = _run(mlflow_platform.url, env=_env(READER, READER_PASSWORD))
    assert results[check.EXPERIMENT].status is Status.PASS
    assert results[check.LOG].code == "MLFLOW_FORBIDDEN"
    assert "EDIT" in results[check.LOG].summary and PROXIED in results[check.LOG].summary
    assert "mlops@aisingapore.org" in (results[check.LOG].hint or "")
    after = len(_preflight_runs(mlflow_platform, PROXIED)) + len(
        _preflight_runs(mlflow_platform, PROXIED, deleted=True)
    )
    assert after == before


def test_editor_logs_but_cannot_delete_the_run(mlflow_platform: Any) -> None:
    results = _run(mlflow_platform.url, env=_env(EDITOR, EDITOR_PASSWORD))
    assert results[check.ARTIFACT].status is Status.PASS, _statuses(results)
    cleanup = results[check.CLEANUP]
    assert cleanup.status is Status.WARN and cleanup.code == "MLFLOW_CLEANUP_FAILED"
    assert "MANAGE" in cleanup.summary
    kept = {r["info"]["run_id"]: r for r in _preflight_runs(mlflow_platform, PROXIED)}
    assert kept[cleanup.details["run_id"]]["info"]["status"] == "FINISHED"


# -- logging and artifacts ------------------------------------------------------------------------


def test_log_failure_is_reported_without_retries_and_cleaned_up(mlflow_platform: Any) -> None:
    from tests.servers.mlflow_server import FaultProxy

    proxy = FaultProxy(mlflow_platform.url)
    proxy.faults["/api/2.0/mlflow/runs/log-batch"] = (503, '{"error_code": "TEMPORARILY_UNAVAILABLE"}')
    try:
        started = time.monotonic()
        results = _run(proxy.url)
        elapsed = time.monotonic() - started
    finally:
        proxy.stop()
    assert results[check.LOG].code == "MLFLOW_LOG_FAILED", _statuses(results)
    # The client's defaults would retry a 503 for minutes.
    assert elapsed < 10
    assert results[check.ARTIFACT].blocked_by == check.LOG
    assert results[check.CLEANUP].status is Status.PASS
    run_id = results[check.LOG].details["run_id"]
    assert run_id not in {r["info"]["run_id"] for r in _preflight_runs(mlflow_platform, PROXIED)}


def test_artifact_endpoint_not_set_uploads_nothing(
    mlflow_platform: Any, moto_server: Any, bucket: str
) -> None:
    env = _s3_env(moto_server.url)
    del env["MLFLOW_S3_ENDPOINT_URL"]
    before = _objects(moto_server.url)
    results = _run(mlflow_platform.url, DIRECT, _env(**env))
    assert results[check.ARTIFACT].code == "MLFLOW_ARTIFACT_ENDPOINT_NOT_SET", _statuses(results)
    assert "MLFLOW_S3_ENDPOINT_URL" in (results[check.ARTIFACT].hint or "")
    assert results[check.CLEANUP].status is Status.PASS
    assert _objects(moto_server.url) == before
    run_id = results[check.LOG].details["run_id"]
    assert run_id not in {r["info"]["run_id"] for r in _preflight_runs(mlflow_platform, DIRECT)}


def test_artifact_without_aws_keys(mlflow_platform: Any, moto_server: Any, bucket: str) -> None:
    results = _run(mlflow_platform.url, DIRECT, _env(MLFLOW_S3_ENDPOINT_URL=moto_server.url))
    assert results[check.ARTIFACT].code == "MLFLOW_ARTIFACT_CREDENTIALS", _statuses(results)
    assert "AWS_ACCESS_KEY_ID" in (results[check.ARTIFACT].hint or "")


def test_artifact_with_wrong_aws_keys(mlflow_platform: Any, moto_server: Any, bucket: str) -> None:
    moto_server.enforce_auth()
    try:
        results = _run(mlflow_platform.url, DIRECT, _env(**_s3_env(moto_server.url)))
    finally:
        moto_server.reset()
    assert results[check.ARTIFACT].code == "MLFLOW_ARTIFACT_CREDENTIALS", _statuses(results)
    assert AWS_SECRET not in results[check.ARTIFACT].summary
    assert results[check.CLEANUP].status in (Status.PASS, Status.WARN)


def test_artifact_upload_failed_for_a_missing_bucket(
    mlflow_platform: Any, moto_server: Any, bucket: str
) -> None:
    results = _run(mlflow_platform.url, NO_BUCKET, _env(**_s3_env(moto_server.url)))
    assert results[check.ARTIFACT].code == "MLFLOW_ARTIFACT_UPLOAD_FAILED", _statuses(results)
    assert "NoSuchBucket" in results[check.ARTIFACT].summary


# -- the CLI, end to end, and the secret canary -----------------------------------------------------


def _cli_env(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    config = write_config(tmp_path / "config.yaml", {**LOOPBACK_PROFILE, "timeout": 5})
    return {**env, "AISG_CHECK_CONFIG": str(config)}


def test_cli_json_end_to_end(mlflow_platform: Any, tmp_path: Path) -> None:
    result = run_cli(
        ["mlflow", "--tracking-uri", mlflow_platform.url, "--experiment", PROXIED, "--format", "json"],
        env=_cli_env(tmp_path, _env()),
    )
    assert result.returncode == 0, result.stderr
    report = result.json()
    by_id = {r["id"]: r for r in report["results"]}
    assert by_id["vpn.mlflow"]["status"] == "pass"
    assert all(by_id[s.id]["status"] == "pass" for s in check.CHECKS[0].steps)
    assert report["summary"]["fail"] == 0


@pytest.mark.parametrize("fmt", ["table", "json", "junit", "markdown"])
def test_secrets_never_in_any_output(
    mlflow_platform: Any, moto_server: Any, bucket: str, tmp_path: Path, fmt: str
) -> None:
    # The password sits in the URI (a warning) and in the environment, the AWS secret in the
    # environment; the run fails at the artifact (a missing bucket), so that the secrets are
    # near as many messages as possible.
    env = _cli_env(tmp_path, _env(WRITER, WRITER_PASSWORD, **_s3_env(moto_server.url)))
    uri = mlflow_platform.url.replace("http://", f"http://{WRITER}:{WRITER_PASSWORD}@")
    result = run_cli(
        ["mlflow", "--tracking-uri", uri, "--experiment", NO_BUCKET, "--format", fmt, "--verbose"], env=env
    )
    assert result.returncode == 1, result.stderr
    assert "MLFLOW_ARTIFACT_UPLOAD_FAILED" in result.stdout, result.stdout
    assert "MLFLOW_URI_HAS_CREDENTIALS" in result.stdout, result.stdout
    for secret in (WRITER_PASSWORD, AWS_SECRET):
        assert secret not in result.stdout and secret not in result.stderr


def test_import_does_not_load_mlflow() -> None:
    code = "import sys, aisg_check.registry; sys.exit('mlflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


# -- review fixes: answers that are not MLflow's ----------------------------------------------------

GET_BY_NAME = "/api/2.0/mlflow/experiments/get-by-name"
CREATE = "/api/2.0/mlflow/experiments/create"
SEARCH = "/api/2.0/mlflow/experiments/search"


def _answer(status: int, body: bytes, ctype: str, **headers: str) -> Any:
    def handler(h: Any) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        for name, value in headers.items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    return handler


_HTML = b"<!doctype html><html><body><form>Sign in</form></body></html>"
_NOT_FOUND = json.dumps({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "nope"}).encode()


def _html(status: int) -> Any:
    return _answer(status, _HTML, "text/html; charset=utf-8")


def _run_against(routes: dict[str, Any], **mlflow: Any) -> dict[str, CheckResult]:
    from tests.servers.tls import HTTPServer

    server = HTTPServer(routes=routes)
    try:
        ctx = make_context(
            {"timeout": 2, "mlflow": {"tracking_uri": server.url("127.0.0.1").rstrip("/"), **mlflow}},
            env=_env(),
        )
        return {r.id: r for r in run_checks(ctx, list(check.CHECKS)).results}
    finally:
        server.close()


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (_html(200), "an HTML page (HTTP 200)"),
        (_html(404), "an HTML page (HTTP 404)"),
        (
            _answer(302, b"", "text/plain", Location="http://127.0.0.1:9/login?next=%2F&token=x"),
            "a redirect (HTTP 302 to http://127.0.0.1:9/login)",
        ),
        (_answer(404, b'{"detail": "Not Found"}', "application/json"), "HTTP 404 without MLflow's JSON"),
    ],
    ids=["html-200", "html-404", "redirect-302", "json-404-not-mlflow"],
)
def test_not_an_mlflow_server_is_an_unexpected_answer(answer: Any, said: str) -> None:
    results = _run_against({GET_BY_NAME: answer})
    auth = results[check.AUTH]
    assert auth.code == "ENDPOINT_UNEXPECTED_ANSWER", _statuses(results)
    assert said in auth.summary and "token" not in auth.summary
    assert "mlflow.tracking_uri" in (auth.hint or "") and "not an MLflow tracking server" in (auth.hint or "")
    assert results[check.EXPERIMENT].blocked_by == check.AUTH
    assert not any(r.code == "CHECK_CRASHED" for r in results.values())


def test_create_experiment_answered_with_html_is_not_a_crash() -> None:
    results = _run_against(
        {GET_BY_NAME: _answer(404, _NOT_FOUND, "application/json"), CREATE: _html(200)},
        experiment="new-one",
        create_experiment=True,
    )
    assert results[check.AUTH].status is Status.PASS, _statuses(results)
    assert results[check.EXPERIMENT].code == "ENDPOINT_UNEXPECTED_ANSWER", _statuses(results)
    assert "mlflow.tracking_uri" in (results[check.EXPERIMENT].hint or "")


def test_experiment_search_answered_with_html_still_reports_not_found() -> None:
    results = _run_against(
        {GET_BY_NAME: _answer(404, _NOT_FOUND, "application/json"), SEARCH: _html(200)}, experiment="x"
    )
    assert results[check.EXPERIMENT].code == "MLFLOW_EXPERIMENT_NOT_FOUND", _statuses(results)
    assert "did you mean" not in results[check.EXPERIMENT].summary


# -- review fixes: static AWS keys only, never the credential chain ---------------------------------


def test_credential_process_profile_is_not_run(
    mlflow_platform: Any, moto_server: Any, bucket: str, home: Path
) -> None:
    marker = home / "credential-process-ran"
    helper = home / "helper.py"
    helper.write_text(f"open({str(marker)!r}, 'w').close()\nraise SystemExit(1)\n")
    (home / ".aws").mkdir()
    (home / ".aws" / "config").write_text(
        f"[profile helper]\ncredential_process = {sys.executable} {helper}\nregion = us-east-1\n"
    )
    env = _env(MLFLOW_S3_ENDPOINT_URL=moto_server.url, AWS_PROFILE="helper", AWS_DEFAULT_REGION="us-east-1")
    before = _objects(moto_server.url)
    results = _run(mlflow_platform.url, DIRECT, env)
    artifact = results[check.ARTIFACT]
    assert artifact.code == "MLFLOW_ARTIFACT_CREDENTIALS", _statuses(results)
    assert "credential_process" in artifact.summary and "not supported" in artifact.summary
    assert not marker.exists(), "the credential_process helper was run"
    assert _objects(moto_server.url) == before
    assert results[check.CLEANUP].status is Status.PASS


def test_role_arn_profile_is_not_followed(
    mlflow_platform: Any, moto_server: Any, bucket: str, home: Path
) -> None:
    from tests.servers.tls import closed_port

    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text(
        f"[base]\naws_access_key_id = {AWS_KEY}\naws_secret_access_key = {AWS_SECRET}\n"
    )
    (home / ".aws" / "config").write_text(
        "[profile assumed]\nrole_arn = arn:aws:iam::123456789012:role/preflight\nsource_profile = base\n"
    )
    # Should anything try STS anyway, it gets a closed loopback port, never amazonaws.com.
    dead = f"http://127.0.0.1:{closed_port()}"
    env = _env(
        MLFLOW_S3_ENDPOINT_URL=moto_server.url,
        AWS_PROFILE="assumed",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=dead,
        AWS_ENDPOINT_URL_STS=dead,
    )
    results = _run(mlflow_platform.url, DIRECT, env)
    artifact = results[check.ARTIFACT]
    assert artifact.code == "MLFLOW_ARTIFACT_CREDENTIALS", _statuses(results)
    assert "role_arn" in artifact.summary and "not supported" in artifact.summary
    assert AWS_SECRET not in json.dumps([r.to_dict() for r in results.values()])


def test_static_keys_from_a_profile_in_the_contexts_home(
    mlflow_platform: Any, moto_server: Any, bucket: str, home: Path
) -> None:
    (home / "keys.ini").write_text(
        f"[ecs]\naws_access_key_id = {AWS_KEY}\naws_secret_access_key = {AWS_SECRET}\n"
    )
    env = _env(
        MLFLOW_S3_ENDPOINT_URL=moto_server.url,
        AWS_PROFILE="ecs",
        AWS_SHARED_CREDENTIALS_FILE="~/keys.ini",
        AWS_DEFAULT_REGION="us-east-1",
    )
    ctx = make_context(
        {"timeout": 5, "mlflow": {"tracking_uri": mlflow_platform.url, "experiment": DIRECT}}, env=env
    )
    results = {r.id: r for r in run_checks(ctx, list(check.CHECKS)).results}
    assert all(r.status is Status.PASS for r in results.values()), _statuses(results)
    assert AWS_SECRET not in ctx.scrubber.scrub(f"x {AWS_SECRET} y")
    run_id = results[check.LOG].details["run_id"]
    assert not [k for k in _objects(moto_server.url) if run_id in k]


# -- review fixes: os.environ and the lock ------------------------------------------------------------


def test_the_check_sets_nothing_process_wide(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI switches MLflow's telemetry off before any check thread starts; the check itself
    # must not write os.environ outside a client call (other checks run in threads meanwhile).
    monkeypatch.delenv("MLFLOW_DISABLE_TELEMETRY", raising=False)
    _run_against({GET_BY_NAME: _html(200)})
    assert "MLFLOW_DISABLE_TELEMETRY" not in os.environ


def test_a_held_client_lock_fails_in_time_instead_of_hanging(mlflow_platform: Any) -> None:
    # As if an MLflow check abandoned at its deadline were still inside a client call.
    assert check._ENV_LOCK.acquire(timeout=5)
    try:
        started = time.monotonic()
        ctx = make_context(
            {"timeout": 2, "mlflow": {"tracking_uri": mlflow_platform.url, "experiment": PROXIED}}, env=_env()
        )
        results = {r.id: r for r in run_checks(ctx, list(check.CHECKS)).results}
        elapsed = time.monotonic() - started
    finally:
        check._ENV_LOCK.release()
    assert results[check.LOG].code == "MLFLOW_LOG_FAILED", _statuses(results)
    assert "TimeoutError" in results[check.LOG].summary
    assert elapsed < 8


def test_client_timeout_follows_the_time_left_at_each_call(mlflow_platform: Any) -> None:
    from aisg_check.check import Recorder

    ctx = make_context({"timeout": 5, "mlflow": {"tracking_uri": mlflow_platform.url}}, env=_env())
    left = [100.0]
    rec = Recorder(
        check.CHECKS[0], docs_base_url="https://docs.invalid/", deadline_at=lambda: time.monotonic() + left[0]
    )
    target = check._settings(ctx, rec)
    assert target is not None
    session = check._Session(ctx, rec, target)
    seen = []
    for remaining in (100.0, 2.5):
        left[0] = remaining
        seen.append(session.call(lambda: os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"]))
    assert seen == ["5", "3"]
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ


# -- review fixes: the deadline --------------------------------------------------------------------------


def _run_with_deadline(uri: str, left: Any, experiment: str = PROXIED) -> dict[str, CheckResult]:
    """The check run directly with a recorder whose deadline is `left(rec)` seconds away."""
    from aisg_check.check import Recorder

    ctx = make_context({"timeout": 5, "mlflow": {"tracking_uri": uri, "experiment": experiment}}, env=_env())
    rec: Recorder
    rec = Recorder(
        check.CHECKS[0],
        docs_base_url="https://docs.invalid/",
        deadline_at=lambda: time.monotonic() + left(rec),
    )
    check.run(ctx, rec)
    return {r.id: r for r in rec.results}


def test_too_little_time_left_skips_the_run_without_creating_one(mlflow_platform: Any) -> None:
    def count() -> int:
        return len(_preflight_runs(mlflow_platform, PROXIED)) + len(
            _preflight_runs(mlflow_platform, PROXIED, deleted=True)
        )

    before = count()
    results = _run_with_deadline(mlflow_platform.url, lambda rec: 8.0)  # less than 2 x 5 s
    assert results[check.EXPERIMENT].status is Status.PASS, _statuses(results)
    for step in (check.LOG, check.ARTIFACT, check.CLEANUP):
        assert results[step].status is Status.SKIP and results[step].code == "MLFLOW_NO_TIME_LEFT"
    assert count() == before


def test_too_little_time_for_the_artifact_still_cleans_up(mlflow_platform: Any) -> None:
    results = _run_with_deadline(
        mlflow_platform.url, lambda rec: 100.0 if not rec.recorded(check.LOG) else 8.0
    )
    assert results[check.LOG].status is Status.PASS, _statuses(results)
    assert results[check.ARTIFACT].status is Status.SKIP
    assert results[check.ARTIFACT].code == "MLFLOW_NO_TIME_LEFT"
    assert results[check.CLEANUP].status is Status.PASS, _statuses(results)
    run_id = results[check.LOG].details["run_id"]
    assert run_id not in {r["info"]["run_id"] for r in _preflight_runs(mlflow_platform, PROXIED)}
    assert not _stored_artifact(mlflow_platform, PROXIED, run_id).exists()


def test_credential_errors_are_matched_as_words_not_inside_run_ids() -> None:
    # A run id is hex: "403" inside it once turned NoSuchBucket into a credentials failure.
    text = "NoSuchBucket when calling ListObjectsV2 for run 9ee0c77296a94037b9649ebc9396bf47"
    assert check._CREDENTIAL_ERRORS.search(text) is None
    assert check._CREDENTIAL_ERRORS.search("An error occurred (InvalidAccessKeyId) when calling PutObject")
    assert check._CREDENTIAL_ERRORS.search("An error occurred (403) when calling the HeadObject operation")
