"""End to end in a private network namespace: the embedded profile unchanged, real hostnames,
no network. Nothing here can reach or even query anything off this machine."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from tests.conftest import require
from tests.netns import clean_env, netns_problem, run_in_netns

REAL_NAMES = (
    "gitlab.aisingapore.net",
    "rancher.aisingapore.net",
    "aisingapore.run.ai",
    "runai-cluster.aisingapore.net",
    "registry.aisingapore.net",
    "necs.nus.edu.sg",
)


@pytest.fixture(autouse=True)
def _needs_netns() -> None:
    problem = netns_problem()
    require(problem is None, problem or "")


def test_default_profile_off_the_network_fails_fast_with_codes_and_hints(home: Path, tmp_path: Path) -> None:
    result = run_in_netns(["all", "--format", "json"], hosts={}, env=clean_env(home), tmp=tmp_path)
    assert result.returncode == 1, result.stderr
    timeout = 5  # the embedded profile's
    assert result.elapsed_s <= timeout + 1, result.elapsed_s
    data = json.loads(result.stdout)
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(resources.files("aisg_check").joinpath("schema", "report-v1.json").read_text())
    jsonschema.validate(data, schema)
    network = [r for r in data["results"] if r["component"] != "tools"]
    assert network, "no network results"
    for r in network:
        # Nothing off the network may pass; a local layer may warn (e.g. no GitLab token, which
        # SSH-only users do not need) but still says what to do.
        assert r["status"] in ("fail", "skip", "warn"), r
        assert r["code"] and r["hint"], r
    by_id = {r["id"]: r for r in data["results"]}
    assert by_id["vpn.status"]["code"] == "VPN_NOT_CONNECTED"
    for probe in (
        "vpn.gitlab",
        "vpn.gitlab-ssh",
        "vpn.rancher",
        "vpn.runai",
        "vpn.cluster",
        "vpn.harbor",
        "vpn.ecs",
    ):
        assert by_id[probe]["code"] == "VPN_DNS_FAILED", by_id[probe]
    assert by_id["rancher.dashboard"]["blocked_by"] == "vpn.rancher"
    assert "Traceback" not in result.stderr


def test_real_names_resolving_to_a_closed_port_are_told_apart_from_dns_failure(
    home: Path, tmp_path: Path
) -> None:
    # Half the names resolve (as with a split-tunnel VPN); nothing listens inside the namespace.
    hosts = {name: "127.0.0.1" for name in REAL_NAMES[:3]}
    result = run_in_netns(["vpn", "--format", "json"], hosts=hosts, env=clean_env(home), tmp=tmp_path)
    assert result.returncode == 1
    by_id = {r["id"]: r for r in json.loads(result.stdout)["results"]}
    assert by_id["vpn.gitlab"]["code"] == "VPN_CONNECT_REFUSED"
    assert by_id["vpn.gitlab"]["details"]["port"] == 443
    assert by_id["vpn.gitlab-ssh"]["code"] == "VPN_CONNECT_REFUSED"
    assert by_id["vpn.gitlab-ssh"]["details"]["port"] == 2222
    assert by_id["vpn.rancher"]["code"] == "VPN_CONNECT_REFUSED"
    assert by_id["vpn.harbor"]["code"] == "VPN_DNS_FAILED"
    # Nothing answers at all (some names resolve, none connects): a failure, not "partial".
    assert by_id["vpn.status"]["code"] == "VPN_UNREACHABLE"
    assert by_id["vpn.status"]["status"] == "fail"


def test_table_output_off_the_vpn_says_so(home: Path, tmp_path: Path) -> None:
    result = run_in_netns(["vpn"], hosts={}, env=clean_env(home), tmp=tmp_path)
    assert result.returncode == 1
    assert "Off the NUS VPN" in result.stdout and "Connect to the NUS VPN" in result.stdout
