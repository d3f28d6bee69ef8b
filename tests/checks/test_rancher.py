from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import assert_result, make_context, run_component
from tests.servers.faults import CATEGORIES, Fault, assert_shared_code, faults
from tests.servers.tls import HTTPServer, closed_port, ssl_server_context


def _pong(handler: Any) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Content-Length", "4")
    handler.end_headers()
    handler.wfile.write(b"pong")


def _results(url: str, ca_file: Path) -> dict[str, Any]:
    ctx = make_context({"ca_bundle": str(ca_file), "rancher": {"url": url}})
    return run_component(ctx, "rancher")


def test_rancher_answers_pong(ca: Any, ca_file: Path) -> None:
    server = HTTPServer(ssl_server_context(ca, "localhost"), routes={"/ping": _pong})
    try:
        results = _results(server.url("localhost").rstrip("/"), ca_file)
        assert_result(results, "vpn.rancher", "pass")
        assert_result(results, "rancher.dashboard", "pass", summary_has=["sign in"])
    finally:
        server.close()


def test_something_else_answers(ca: Any, ca_file: Path) -> None:
    server = HTTPServer(ssl_server_context(ca, "localhost"))  # answers "ok", not "pong"
    try:
        assert_result(
            _results(server.url("localhost"), ca_file), "rancher.dashboard", "fail", "RANCHER_NOT_RANCHER"
        )
    finally:
        server.close()


def test_unreachable_rancher_is_skipped_behind_its_probe(ca_file: Path) -> None:
    results = _results(f"https://127.0.0.1:{closed_port()}", ca_file)
    assert_result(results, "vpn.rancher", "fail", "VPN_CONNECT_REFUSED")
    assert assert_result(results, "rancher.dashboard", "skip").blocked_by == "vpn.rancher"


@pytest.fixture(scope="module")
def fault_endpoints() -> Iterator[dict[str, Fault]]:
    with faults() as found:
        yield found


@pytest.mark.parametrize("category", CATEGORIES)
def test_transport_failures_get_the_shared_codes(category: str, fault_endpoints: dict[str, Fault]) -> None:
    """Past its probe (skipped here), each way the connection fails gets the shared code; a
    refused proxy is the proxy's fault, not "not Rancher"."""
    fault = fault_endpoints[category]
    ctx = make_context(
        {"timeout": 1, "rancher": {"url": fault.url()}}, env={"HOME": "/nonexistent", **fault.env}
    )
    results = run_component(ctx, "rancher", skip=["vpn.*"])
    assert_shared_code(fault, results["rancher.dashboard"])
