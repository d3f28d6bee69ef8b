"""Loopback endpoints that fail in each of the ways a network can, for the table-driven tests
of the one transport classifier: every library, and every check that talks HTTP, must give
each of these failures the same code.

- dns: a name under `.invalid` (RFC 6761; the test guard refuses it like a resolver would)
- refused: a port with no listener
- timeout: a listener that accepts and never answers
- reset: a listener that accepts and resets the connection (RST) before answering
- tls: an HTTPS server whose certificate no trusted CA signed
- proxy: HTTPS_PROXY naming a port with no listener
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import trustme

from tests.servers.tls import HTTPServer, SilentServer, closed_port, ssl_server_context

# The code every category gets, whatever library raised it and whichever check met it.
EXPECTED = {
    "dns": "VPN_DNS_FAILED",
    "refused": "VPN_CONNECT_REFUSED",
    "timeout": "ENDPOINT_NO_ANSWER",
    "reset": "ENDPOINT_NO_ANSWER",
    "tls": "TLS_UNTRUSTED_CERT",
    "proxy": "PROXY_UNREACHABLE",
}
CATEGORIES = tuple(EXPECTED)


class ResetServer:
    """Accepts, reads nothing, and closes with SO_LINGER 0: the peer sees a reset."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._end(conn)

    def _end(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    def close(self) -> None:
        self.sock.close()


class HangUpServer(ResetServer):
    """Reads the request and closes cleanly (FIN) without an answer: what the reset endpoint
    looks like to a client whose request went out after the reset arrived."""

    def _end(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(2)
            conn.recv(65536)


@dataclass(frozen=True)
class Fault:
    category: str
    host: str  # host[:port] to point a setting at
    scheme: str
    env: dict[str, str]  # variables the failure needs (the proxy)

    def url(self, path: str = "") -> str:
        return f"{self.scheme}://{self.host}{path}"

    @property
    def expected(self) -> str:
        return EXPECTED[self.category]


@contextmanager
def faults() -> Iterator[dict[str, Fault]]:
    """One endpoint per category, for the length of the block."""
    silent, reset = SilentServer(), ResetServer()
    untrusted = HTTPServer(ssl_server_context(trustme.CA(), "localhost", "127.0.0.1"))
    refused, proxy_port = closed_port(), closed_port()
    try:
        yield {
            "dns": Fault("dns", "aisg-check-test.invalid", "https", {}),
            "refused": Fault("refused", f"127.0.0.1:{refused}", "https", {}),
            "timeout": Fault("timeout", f"127.0.0.1:{silent.port}", "http", {}),
            "reset": Fault("reset", f"127.0.0.1:{reset.port}", "http", {}),
            "tls": Fault("tls", f"localhost:{untrusted.port}", "https", {}),
            "proxy": Fault(
                "proxy",
                "aisg-check-proxied.example.org",
                "https",
                {
                    "HTTPS_PROXY": f"http://127.0.0.1:{proxy_port}",
                    "HTTP_PROXY": f"http://127.0.0.1:{proxy_port}",
                },
            ),
        }
    finally:
        silent.close()
        reset.close()
        untrusted.close()


def assert_shared_code(fault: Fault, result: Any) -> None:
    """The result of a check's first network step met `fault`: the shared code, the host named."""
    assert result.code == fault.expected, (fault.category, result.code, result.summary)
    assert result.status.value == "fail", (fault.category, result.status, result.summary)
