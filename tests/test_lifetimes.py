"""Credential lifetimes in one shared form, judged against `expiry_warning_days` with the
context's clock; laptop-only checks in a pod; fleet.mode validated."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from aisg_check.check import Check, Recorder, Step
from aisg_check.config import ConfigError
from aisg_check.context import Context
from aisg_check.lifetimes import Verdict, judge
from aisg_check.model import Credential, Diagnosis
from aisg_check.runner import run_checks
from tests.helpers import make_context

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def _ctx(**settings: Any) -> Context:
    return make_context(settings, now=lambda: NOW)


@pytest.mark.parametrize(
    ("left", "verdict"),
    [
        (timedelta(days=-1), Verdict.EXPIRED),
        (timedelta(days=3), Verdict.SOON),
        (timedelta(days=30), Verdict.VALID),
    ],
)
def test_judged_against_the_window_with_the_contexts_clock(left: timedelta, verdict: Verdict) -> None:
    assert judge(_ctx(), NOW + left).verdict is verdict


def test_the_window_is_a_setting_and_no_expiry_is_never() -> None:
    assert judge(_ctx(expiry_warning_days=2), NOW + timedelta(days=3)).verdict is Verdict.VALID
    assert judge(_ctx(), None).verdict is Verdict.NEVER and judge(_ctx(), None).phrase() == "does not expire"
    assert judge(_ctx(), NOW + timedelta(days=5)).phrase() == "expires in 5 days"
    assert judge(_ctx(), NOW - timedelta(hours=5)).phrase() == "expired 5 hours ago"


def test_a_credential_reaches_the_json_report_in_the_shared_form() -> None:
    token = Credential("test_token", "Test token", NOW + timedelta(days=3), "TEST_TOKEN", owner="alice")

    def run(ctx: Context, rec: Recorder) -> None:
        rec.ok("k.one", "fine", credentials=[token])

    check = Check("k", "vpn", "k", (Step("k.one", "One"),), run, diagnoses=())
    report = run_checks(_ctx(), [check])
    (result,) = report.results
    assert result.credentials == (token,)
    assert result.to_dict()["credentials"] == [
        {
            "kind": "test_token",
            "name": "Test token",
            "owner": "alice",
            "expires_at": "2026-12-04T12:00:00Z",
            "source": "TEST_TOKEN",
        }
    ]


def test_laptop_only_checks_are_not_applicable_in_a_pod(tmp_path: Path) -> None:
    ran: list[bool] = []

    def run(ctx: Context, rec: Recorder) -> None:
        ran.append(True)
        rec.ok("k.one", "fine")

    check = Check("k", "vpn", "k", (Step("k.one", "One"),), run, diagnoses=(), laptop_only=True)
    in_pod = run_checks(_ctx(fleet={"mode": "cluster"}), [check]).results
    assert not ran and in_pod[0].code == "NOT_APPLICABLE" and in_pod[0].status.value == "skip"
    assert run_checks(_ctx(fleet={"mode": "laptop"}), [check]).results[0].status.value == "pass"
    # auto: a mounted service-account token and KUBERNETES_SERVICE_HOST make it a pod.
    (tmp_path / "token").write_text("x")
    auto = make_context({}, env={"KUBERNETES_SERVICE_HOST": "127.0.0.1"}, service_account_dir=tmp_path)
    assert auto.in_cluster
    assert not make_context({}, env={}, service_account_dir=tmp_path).in_cluster


def test_an_unknown_fleet_mode_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match=r"fleet\.mode"):
        _ctx(fleet={"mode": "kubernetes"})


def test_the_report_schema_accepts_credentials_and_fixes() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from importlib import resources

    schema = json.loads(resources.files("aisg_check").joinpath("schema", "report-v1.json").read_text())
    token = Credential("test_token", "Test token", NOW, "TEST_TOKEN")
    diagnosis = Diagnosis("TEST_SOON", "Soon", "It expires.", "Renew it.")

    def run(ctx: Context, rec: Recorder) -> None:
        rec.warn("k.one", diagnosis, "expires soon", credentials=[token])

    check = Check("k", "vpn", "k", (Step("k.one", "One"),), run, diagnoses=(diagnosis,))
    report = run_checks(_ctx(), [check])
    from aisg_check.reporters import RenderOptions, renderer

    jsonschema.validate(json.loads(renderer("json")(report, RenderOptions())), schema)


def test_one_hour_is_singular() -> None:
    assert judge(_ctx(), NOW + timedelta(hours=1)).phrase() == "expires in 1 hour"


def test_the_ssh_port_probe_is_not_applicable_in_a_pod() -> None:
    from tests.helpers import run_component

    results = run_component(_ctx(fleet={"mode": "cluster"}), "vpn", only=["vpn.gitlab-ssh", "vpn.status"])
    assert results["vpn.gitlab-ssh"].code == "NOT_APPLICABLE"
    assert "vpn.gitlab-ssh" not in results["vpn.status"].summary
