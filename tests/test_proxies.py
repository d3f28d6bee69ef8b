from __future__ import annotations

from typing import Any

import pytest

from aisg_check.net.proxies import no_proxy_matches, proxy_for
from tests.helpers import make_context
from tests.servers.tls import HTTPServer, closed_port


@pytest.mark.parametrize(
    ("host", "no_proxy", "exempt"),
    [
        ("gitlab.aisingapore.net", ".aisingapore.net", True),
        ("aisingapore.net", ".aisingapore.net", False),
        ("aisingapore.net", "aisingapore.net", True),
        ("registry.aisingapore.net", "aisingapore.net", True),
        ("notaisingapore.net", "aisingapore.net", False),
        ("localhost", "localhost:8080", True),
        ("10.1.2.3", "10.0.0.0/8", True),
        ("11.1.2.3", "10.0.0.0/8", False),
        ("::1", "[::1]:8080", True),
        ("anything", "*", True),
        ("host", "http://host:3128/", True),
        ("host", "", False),
    ],
)
def test_no_proxy_rules(host: str, no_proxy: str, exempt: bool) -> None:
    assert no_proxy_matches(host, no_proxy) is exempt


def test_proxy_for_scheme_and_fallbacks() -> None:
    env = {"HTTPS_PROXY": "proxy:3128", "http_proxy": "http://p2:80", "NO_PROXY": "127.0.0.0/8"}
    assert proxy_for(env, "https", "example.org") == "http://proxy:3128"
    assert proxy_for(env, "http", "example.org") == "http://p2:80"
    assert proxy_for(env, "https", "127.0.0.1") is None
    assert proxy_for({"ALL_PROXY": "socks5://s:1080"}, "https", "x") == "socks5://s:1080"
    assert proxy_for({}, "https", "x") is None


def test_http_client_honours_no_proxy_ranges_and_ports() -> None:
    server = HTTPServer()
    try:
        dead_proxy = f"http://127.0.0.1:{closed_port()}"
        for no_proxy in ("127.0.0.0/8", "127.0.0.1:9999", "*"):
            ctx = make_context(env={"HTTP_PROXY": dead_proxy, "NO_PROXY": no_proxy})
            with ctx.http() as client:
                assert client.get(server.url("127.0.0.1")).status_code == 200
        ctx = make_context(env={"HTTP_PROXY": dead_proxy})
        import httpx

        # The server is up, so a connection error proves the request went to the dead proxy.
        with ctx.http() as client, pytest.raises((httpx.ProxyError, httpx.ConnectError)):
            client.get(server.url("127.0.0.1"))
    finally:
        server.close()


def test_a_program_that_cannot_run_is_a_result_not_a_traceback(tmp_path: Any) -> None:
    from aisg_check.context import run_command

    binary = tmp_path / "wrong-arch"
    binary.write_bytes(b"\x7fELF\x02\x01\x01garbage")
    binary.chmod(0o755)
    result = run_command([str(binary)], timeout=5)
    assert not result.ok and "cannot run" in result.stderr
