"""The mlflow check on AISG's permission model, against the real basic-auth server: no permission
by default, EDIT to log runs (not delete them), MANAGE to delete them too. Any number of checks by
an EDIT user leave one run (logged into again each time), a MANAGE user's none, and a user with no
permission is told the exact request to send the MLOps team."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from aisg_check.checks.mlflow import reuse
from aisg_check.checks.mlflow.artifact import ARTIFACT_NAME
from aisg_check.checks.mlflow.reuse import (
    ATTEMPTS_TAG,
    PARAM_PREFIX,
    PREFLIGHT_TAG,
    USER_TAG,
    Attempt,
    marker_key,
)
from aisg_check.checks.mlflow.settings import Target
from aisg_check.model import CheckResult, Status
from tests.checks import test_mlflow as base
from tests.checks.test_mlflow import (
    ARTIFACT,
    BUCKET,
    CLEANUP,
    EXPERIMENT,
    LOG,
    _all_pass,
    _env,
    _objects,
    _run,
    _s3_env,
)
from tests.helpers import assert_result, make_context
from tests.servers.mlflow_server import FaultProxy

RUNS = 5
# The same server as test_mlflow.py's (started once for both), and its bucket on moto.
mlflow_platform = base.mlflow_platform
bucket = base.bucket


def _fresh(server: Any, level: str, *, location: str | None = None) -> tuple[str, str, str]:
    """A new experiment and a new user holding `level` on it: each test starts from nothing."""
    tag = uuid.uuid4().hex[:8]
    name, user, password = f"reuse-{tag}", f"user-{tag}", f"Canary-Pass-{tag}-77"
    experiment_id = server.experiment(name, artifact_location=location)
    server.create_user(user, password)
    if level != "NO_PERMISSIONS":
        server.grant(user, experiment_id, level)
    server.ids[name] = experiment_id
    return name, user, password


def _runs(server: Any, name: str, *, deleted: bool = False) -> list[dict[str, Any]]:
    """Every run of the experiment (not only the check's: nothing else may appear either)."""
    return server.runs(server.ids[name], deleted=deleted)


def _tags(run: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["data"].get("tags", [])}


def _history(server: Any, run_id: str) -> list[tuple[int, float]]:
    answer = server.call(
        "GET", "/api/2.0/mlflow/metrics/get-history", params={"run_id": run_id, "metric_key": reuse.METRIC}
    )
    return sorted((int(m["step"]), float(m["value"])) for m in answer["metrics"])


def _stored(server: Any, name: str, run_id: str) -> str:
    path = server.workdir / "artifacts" / server.ids[name] / run_id / "artifacts" / ARTIFACT_NAME
    return path.read_text()


def _check(server: Any, name: str, user: str, password: str, **env: str) -> dict[str, CheckResult]:
    return _run(server.url, name, _env(user, password, **env))


def _notes(server: Any, name: str) -> dict[str, str]:
    """The experiment's notes of kept runs, by tag key."""
    found = server.call("GET", "/api/2.0/mlflow/experiments/get", params={"experiment_id": server.ids[name]})
    tags = found["experiment"].get("tags", [])
    return {t["key"]: t["value"] for t in tags if t["key"].startswith(reuse.MARKER_PREFIX)}


def _note(server: Any, name: str, user: str, run_id: str) -> None:
    """Note a run for `user` on the experiment, as a check that had to keep it does."""
    body = {"experiment_id": server.ids[name], "key": marker_key(user), "value": run_id}
    server.call("POST", "/api/2.0/mlflow/experiments/set-experiment-tag", body)


# -- EDIT: one run, logged into again -------------------------------------------------------------


def test_five_checks_by_an_editor_leave_exactly_one_run(mlflow_platform: Any) -> None:
    name, user, password = _fresh(mlflow_platform, "EDIT")
    run_ids = []
    for attempt in range(RUNS):
        results = _check(mlflow_platform, name, user, password)
        log = assert_result(results, LOG, "pass")
        assert_result(results, ARTIFACT, "pass")
        cleanup = assert_result(
            results, CLEANUP, "warn", "MLFLOW_PREFLIGHT_RUN_KEPT", summary_has=["MANAGE", "marked finished"]
        )
        run_id = log.details["run_id"]
        run_ids.append(run_id)
        # The warning names the run (its id and its page) and says it is the only one.
        assert run_id in cleanup.summary and cleanup.details["url"] in cleanup.summary
        assert "instead of leaving another" in cleanup.summary
        assert log.details["attempt"] == attempt and log.details["reused"] is (attempt > 0)
        if attempt:
            assert "logged into again" in log.summary and f"attempt {attempt + 1}" in log.summary
            assert "uploaded again" in results[ARTIFACT].summary
        runs = _runs(mlflow_platform, name)
        assert [r["info"]["run_id"] for r in runs] == [run_id], f"after check {attempt + 1}"
        assert _notes(mlflow_platform, name) == {marker_key(user): run_id}
    assert len(set(run_ids)) == 1
    assert _runs(mlflow_platform, name, deleted=True) == []
    (kept,) = _runs(mlflow_platform, name)
    # Params are immutable: each attempt logged its own key, every earlier one left as it was.
    params = {p["key"]: p["value"] for p in kept["data"]["params"]}
    assert sorted(params) == sorted(f"{PARAM_PREFIX}{n}" for n in range(RUNS))
    assert len(set(params.values())) <= RUNS
    # One metric step per attempt; tags hold what changes for the run as a whole.
    assert _history(mlflow_platform, run_ids[0]) == [(n, n + 0.5) for n in range(RUNS)]
    tags = _tags(kept)
    assert tags[ATTEMPTS_TAG] == str(RUNS) and tags[USER_TAG] == user and tags[PREFLIGHT_TAG] == "true"
    assert kept["info"]["status"] == "FINISHED"
    # The artifact was overwritten by the last attempt.
    assert f"attempt {RUNS}" in _stored(mlflow_platform, name, run_ids[0])
    assert password not in json.dumps([r.to_dict() for r in results.values()])


def test_an_editor_on_direct_s3_also_leaves_one_run(
    mlflow_platform: Any, moto_server: Any, bucket: str
) -> None:
    location = f"s3://{BUCKET}/reuse-{uuid.uuid4().hex[:6]}"
    name, user, password = _fresh(mlflow_platform, "EDIT", location=location)
    for attempt in range(3):
        results = _check(mlflow_platform, name, user, password, **_s3_env(moto_server.url))
        assert_result(results, ARTIFACT, "pass", summary_has=["uploaded again"] if attempt else [])
        assert_result(results, CLEANUP, "warn", "MLFLOW_PREFLIGHT_RUN_KEPT")
    (kept,) = _runs(mlflow_platform, name)
    run_id = kept["info"]["run_id"]
    assert kept["info"]["artifact_uri"].startswith(location)
    # A reused run keeps its artifact: only a deleted run's is removed.
    assert [k for k in _objects(moto_server.url) if run_id in k and k.endswith(ARTIFACT_NAME)]


def test_two_editors_each_keep_their_own_run(mlflow_platform: Any) -> None:
    name, first, first_password = _fresh(mlflow_platform, "EDIT")
    second, second_password = f"other-{uuid.uuid4().hex[:8]}", "other-Canary-Pass-2211"
    mlflow_platform.create_user(second, second_password)
    mlflow_platform.grant(second, mlflow_platform.ids[name], "EDIT")
    for user, password in ((first, first_password), (second, second_password), (first, first_password)):
        assert_result(
            _check(mlflow_platform, name, user, password), CLEANUP, "warn", "MLFLOW_PREFLIGHT_RUN_KEPT"
        )
    by_user = {_tags(r)[USER_TAG]: r for r in _runs(mlflow_platform, name)}
    assert sorted(by_user) == sorted([first, second])
    # Never another user's run: the second editor's run had one attempt, the first's two.
    assert _tags(by_user[first])[ATTEMPTS_TAG] == "2"
    assert _tags(by_user[second])[ATTEMPTS_TAG] == "1"


def test_the_kept_run_is_deleted_once_the_user_may_delete(mlflow_platform: Any) -> None:
    name, user, password = _fresh(mlflow_platform, "EDIT")
    kept = assert_result(_check(mlflow_platform, name, user, password), LOG, "pass").details["run_id"]
    mlflow_platform.grant(user, mlflow_platform.ids[name], "MANAGE")
    results = _check(mlflow_platform, name, user, password)
    assert results[LOG].details["run_id"] == kept and results[LOG].details["reused"] is True
    assert_result(
        results, CLEANUP, "pass", summary_has=["an earlier check had to keep", kept, "its artifact"]
    )
    assert _runs(mlflow_platform, name) == []
    assert [r["info"]["run_id"] for r in _runs(mlflow_platform, name, deleted=True)] == [kept]
    assert _notes(mlflow_platform, name) == {}
    assert (
        not (mlflow_platform.workdir / "artifacts" / mlflow_platform.ids[name] / kept)
        .joinpath("artifacts", ARTIFACT_NAME)
        .exists()
    )


def test_a_run_kept_on_request_is_never_reused(mlflow_platform: Any) -> None:
    name, user, password = _fresh(mlflow_platform, "MANAGE")
    kept = _run(mlflow_platform.url, name, _env(user, password), keep_run=True)[LOG].details["run_id"]
    results = _check(mlflow_platform, name, user, password)
    _all_pass(results)
    assert results[LOG].details["run_id"] != kept and results[LOG].details["reused"] is False
    (left,) = _runs(mlflow_platform, name)
    assert left["info"]["run_id"] == kept
    assert [p["key"] for p in left["data"]["params"]] == [f"{PARAM_PREFIX}0"]


# -- MANAGE: nothing left ---------------------------------------------------------------------------


def test_checks_by_a_manager_leave_no_run_and_cost_no_search(mlflow_platform: Any) -> None:
    name, user, password = _fresh(mlflow_platform, "MANAGE")
    proxy = FaultProxy(mlflow_platform.url)
    try:
        for _ in range(RUNS):
            results = _run(proxy.url, name, _env(user, password))
            _all_pass(results)
            assert results[LOG].details["reused"] is False
            assert _runs(mlflow_platform, name) == []
    finally:
        proxy.stop()
    assert len(_runs(mlflow_platform, name, deleted=True)) == RUNS
    # No note on the experiment, so no request for a kept run: a manager pays nothing for reuse
    # (the one run fetched per check is the read-back).
    assert proxy.seen.count("/api/2.0/mlflow/runs/get") == RUNS
    assert not [p for p in proxy.seen if "experiment-tag" in p]
    assert _notes(mlflow_platform, name) == {}


# -- no permission at all ---------------------------------------------------------------------------


def test_no_permission_names_the_experiment_and_the_level(mlflow_platform: Any) -> None:
    name, user, password = _fresh(mlflow_platform, "NO_PERMISSIONS")
    results = _check(mlflow_platform, name, user, password)
    assert_result(results, "mlflow.auth", "pass")
    result = assert_result(
        results,
        EXPERIMENT,
        "fail",
        "MLFLOW_NO_PERMISSION",
        hint_has=[
            f"Ask the MLOps team (mlops@aisingapore.org): \"Please grant MLflow user '{user}' EDIT on "
            f"experiment '{name}' on the tracking server {mlflow_platform.url}.\"",
        ],
    )
    assert result.details == {
        "experiment": name,
        "username": user,
        "tracking_uri": mlflow_platform.url,
        "needs": "EDIT",
        "http_status": 403,
    }
    assert results[LOG].blocked_by == EXPERIMENT
    assert _runs(mlflow_platform, name) == []


def test_no_permission_on_the_default_experiment_says_to_set_yours(mlflow_platform: Any) -> None:
    _, user, password = _fresh(mlflow_platform, "NO_PERMISSIONS")
    results = _run(mlflow_platform.url, None, _env(user, password))
    assert_result(
        results,
        EXPERIMENT,
        "fail",
        "MLFLOW_NO_PERMISSION",
        summary_has=["'Default'"],
        hint_has=["MLFLOW_EXPERIMENT_NAME", "EDIT on experiment 'Default'"],
    )


# -- the search for the kept run ---------------------------------------------------------------------


def test_a_managers_note_of_a_missing_run_is_removed(mlflow_platform: Any) -> None:
    name, user, password = _fresh(mlflow_platform, "MANAGE")
    _note(mlflow_platform, name, user, "0" * 32)
    proxy = FaultProxy(mlflow_platform.url)
    try:
        results = _run(proxy.url, name, _env(user, password))
    finally:
        proxy.stop()
    _all_pass(results)
    assert results[LOG].details["reused"] is False
    assert proxy.seen.count("/api/2.0/mlflow/runs/get") == 2  # the noted run, then the read-back
    assert _runs(mlflow_platform, name) == []
    assert _notes(mlflow_platform, name) == {}


@pytest.mark.parametrize("gone", ["never-existed", "in-the-trash"])
def test_a_note_of_a_run_that_is_gone_is_replaced(mlflow_platform: Any, gone: str) -> None:
    """The MLOps team deleted the kept run: the editor's next check keeps a new one, noted."""
    name, user, password = _fresh(mlflow_platform, "EDIT")
    if gone == "in-the-trash":
        first = _check(mlflow_platform, name, user, password)[LOG].details["run_id"]
        mlflow_platform.call("POST", "/api/2.0/mlflow/runs/delete", {"run_id": first})
    else:
        _note(mlflow_platform, name, user, "0" * 32)
    results = _check(mlflow_platform, name, user, password)
    assert results[LOG].details["reused"] is False
    assert_result(results, CLEANUP, "warn", "MLFLOW_PREFLIGHT_RUN_KEPT")
    (kept,) = _runs(mlflow_platform, name)
    assert _notes(mlflow_platform, name) == {marker_key(user): kept["info"]["run_id"]}
    again = _check(mlflow_platform, name, user, password)
    assert again[LOG].details["run_id"] == kept["info"]["run_id"] and again[LOG].details["reused"]


def test_only_a_named_user_without_keep_run_keeps_a_run_for_reuse() -> None:
    def target(user: str | None) -> Target:
        return Target("http://127.0.0.1:9", "e", user, None, None, "test")

    ctx = make_context({"mlflow": {"tracking_uri": "http://127.0.0.1:9"}})
    assert reuse.reusable(ctx, target("o'brien"))
    assert not reuse.reusable(ctx, target(None))  # a token, or no credentials: nothing to tag
    keep = make_context({"mlflow": {"tracking_uri": "http://127.0.0.1:9", "keep_run": True}})
    assert not reuse.reusable(keep, target("alice"))


def test_the_next_attempt_follows_the_metric_and_the_params() -> None:
    assert marker_key("alice") == "aisg-check.kept_run.alice"
    assert marker_key("a.b@x/../y") == "aisg-check.kept_run.a_b_x____y"
    assert reuse.next_attempt({}) == 0
    assert reuse.next_attempt({"metrics": [{"key": reuse.METRIC, "step": 3}]}) == 4
    assert reuse.next_attempt({"metrics": [{"key": reuse.METRIC, "step": "2"}]}) == 3
    params = [{"key": f"{PARAM_PREFIX}6", "value": "x"}, {"key": "other_9", "value": "y"}]
    assert reuse.next_attempt({"metrics": [{"key": reuse.METRIC, "step": 1}], "params": params}) == 7
    this = Attempt(2, "2025-01-02T03:04:05+00:00")
    assert this.params == {f"{PARAM_PREFIX}2": "2025-01-02T03:04:05+00:00"}
    assert this.tags[ATTEMPTS_TAG] == "3"


def test_a_note_naming_another_users_run_is_not_followed(mlflow_platform: Any) -> None:
    """Anyone with EDIT may set the experiment's tags: the noted run's own tags must name us."""
    name, user, password = _fresh(mlflow_platform, "MANAGE")
    tags = [{"key": PREFLIGHT_TAG, "value": "true"}, {"key": USER_TAG, "value": "someone"}]
    body = {"experiment_id": mlflow_platform.ids[name], "tags": tags}
    other = mlflow_platform.call("POST", "/api/2.0/mlflow/runs/create", body)["run"]["info"]["run_id"]
    _note(mlflow_platform, name, user, other)
    results = _check(mlflow_platform, name, user, password)
    _all_pass(results)
    assert results[LOG].details["run_id"] != other and results[LOG].details["reused"] is False
    (left,) = _runs(mlflow_platform, name)
    assert left["info"]["run_id"] == other and left["data"].get("params", []) == []
    assert all(r.status is not Status.ERROR for r in results.values())
