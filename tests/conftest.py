"""Test guards and shared fixtures.

- Loopback only: pytest-socket refuses connections to anything but 127.0.0.1/::1 (see
  pyproject addopts), and name resolution of anything but loopback names fails here
  before a query could leave the machine.
- Never the real home: every test gets its own HOME, and an audit hook fails a test that
  opens a file under the real home directory (outside the Python installation).
- A test that needs a server skips with a reason locally and fails in CI (CI=true).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REAL_HOME = Path(os.path.expanduser("~")).resolve()

# Variables of the tools we honour; a developer's own must not leak into a test.
_SCRUBBED_ENV_PREFIXES = ("AWS_", "MLFLOW_", "AISG_CHECK_", "DOCKER_", "KUBE", "GIT_", "SSH_", "XDG_")
_SCRUBBED_ENV = {
    "KUBECONFIG",
    "GITLAB_TOKEN",
    "CI_JOB_TOKEN",
    "HARBOR_DOCKER_CONFIG_JSON",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "all_proxy",
    "no_proxy",
    "NO_COLOR",
    "FORCE_COLOR",
}


def require(condition: bool, reason: str) -> None:
    """Skip (locally) or fail (in CI) when a test's server or tool is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


# -- loopback-only name resolution ---------------------------------------------------------------

_real_getaddrinfo = socket.getaddrinfo
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _is_loopback(host: Any) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode()
    host = str(host).strip("[]")
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_loopback(host):
        raise socket.gaierror(
            socket.EAI_NONAME, f"test guard: resolving {host!r} is not allowed (loopback only)"
        )
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _loopback_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)


# -- real home guard --------------------------------------------------------------------------------

_ALLOWED_UNDER_HOME = tuple(
    str(Path(p).resolve())
    for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.join(str(REAL_HOME), ".pyenv")}
)
_home_reads: list[str] = []
_guard_active = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _guard_active or event != "open" or not args:
        return
    path = args[0]
    if not isinstance(path, (str, bytes, os.PathLike)):
        return
    text = os.fsdecode(path)
    if not os.path.isabs(text):
        return
    if text.startswith(str(REAL_HOME) + os.sep) and not text.startswith(_ALLOWED_UNDER_HOME):
        _home_reads.append(text)


sys.addaudithook(_audit)


@pytest.fixture(autouse=True)
def home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh HOME for every test, and an environment free of the developer's own settings."""
    global _guard_active
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name in _SCRUBBED_ENV or name.startswith(_SCRUBBED_ENV_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    _home_reads.clear()
    _guard_active = True
    try:
        yield home
    finally:
        _guard_active = False
    assert not _home_reads, f"test opened files under the real home directory: {_home_reads[:5]}"


# -- TLS ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ca() -> Any:
    trustme = pytest.importorskip("trustme")
    return trustme.CA()


@pytest.fixture()
def ca_file(ca: Any, tmp_path: Path) -> Path:
    path = tmp_path / "test-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


# -- shared servers -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One moto S3/IAM server per test run (ECS and MLflow tests share it)."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        require(False, "moto[server] is not installed (pip install 'moto[server]')")
    from tests.servers.s3 import MotoServer

    server = MotoServer(tmp_path_factory.mktemp("moto"))
    try:
        yield server
    finally:
        server.stop()
