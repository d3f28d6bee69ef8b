from __future__ import annotations

from pathlib import Path
from typing import Any

from aisg_check import registry
from aisg_check.model import Status
from aisg_check.runner import run_checks
from tests.helpers import make_context
from tests.servers.tls import HTTPServer, closed_port, ssl_server_context


def _pong(handler: Any) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Content-Length", "4")
    handler.end_headers()
    handler.wfile.write(b"pong")


def _results(url: str, ca_file: Path) -> dict[str, Any]:
    ctx = make_context({"ca_bundle": str(ca_file), "rancher": {"url": url}})
    return {r.id: r for r in run_checks(ctx, registry.select(["rancher"])).results}


def test_rancher_answers_pong(ca: Any, ca_file: Path) -> None:
    server = HTTPServer(ssl_server_context(ca, "localhost"), routes={"/ping": _pong})
    try:
        results = _results(server.url("localhost").rstrip("/"), ca_file)
        assert results["vpn.rancher"].status is Status.PASS
        assert results["rancher.dashboard"].status is Status.PASS
        assert "sign in" in results["rancher.dashboard"].summary
    finally:
        server.close()


def test_something_else_answers(ca: Any, ca_file: Path) -> None:
    server = HTTPServer(ssl_server_context(ca, "localhost"))  # answers "ok", not "pong"
    try:
        results = _results(server.url("localhost"), ca_file)
        assert results["rancher.dashboard"].status is Status.FAIL
        assert results["rancher.dashboard"].code == "RANCHER_NOT_RANCHER"
    finally:
        server.close()


def test_unreachable_rancher_is_skipped_behind_its_probe(ca_file: Path) -> None:
    results = _results(f"https://127.0.0.1:{closed_port()}", ca_file)
    assert results["vpn.rancher"].code == "VPN_CONNECT_REFUSED"
    assert results["rancher.dashboard"].status is Status.SKIP
    assert results["rancher.dashboard"].blocked_by == "vpn.rancher"
