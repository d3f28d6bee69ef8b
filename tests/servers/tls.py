"""Small TLS and TCP listeners on 127.0.0.1 for the network layers: a good HTTPS server, one
with a certificate for the wrong name, one signed by an unknown CA, one that accepts and
never answers, and a port with no listener at all."""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import trustme


def ssl_server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


class StandInHandler(http.server.BaseHTTPRequestHandler):
    """Base of every Python stand-in server: quiet, and answering as Go's net/http does
    (Harbor, Kubernetes, Distribution): TCP_NODELAY, headers and body in one write. Otherwise
    Nagle holds each reply behind TLS 1.3's session tickets until the client's delayed ACK:
    40 ms per request that no real server has, and the benchmarks would measure the stand-in."""

    disable_nagle_algorithm = True
    wbufsize = 65536

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Quiet(StandInHandler):
    routes: ClassVar[dict[str, Callable[[http.server.BaseHTTPRequestHandler], None]]] = {}

    def _dispatch(self) -> None:
        handler = self.routes.get(self.path.split("?")[0])
        if handler is None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(b"ok")
            return
        handler(self)

    do_GET = do_HEAD = do_POST = _dispatch


class HTTPServer:
    """A threaded HTTP(S) server on 127.0.0.1 with optional per-path handlers."""

    def __init__(
        self,
        context: ssl.SSLContext | None = None,
        routes: dict[str, Callable[[http.server.BaseHTTPRequestHandler], None]] | None = None,
    ) -> None:
        handler = type("Handler", (_Quiet,), {"routes": dict(routes or {})})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        if context is not None:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, host: str = "localhost", path: str = "/") -> str:
        scheme = "https" if isinstance(self.httpd.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class SilentServer:
    """Accepts TCP connections and never sends a byte: a hung service or a black-holing proxy."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_ca(ca: trustme.CA, path: Path) -> Path:
    ca.cert_pem.write_to_path(str(path))
    return path
