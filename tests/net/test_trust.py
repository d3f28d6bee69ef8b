"""net.trust: the system store read on demand from a hashed directory, with real handshakes
against a local TLS server; the eager way where the directory cannot stand in for the bundle."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from aisg_check.net import trust
from tests.conftest import require
from tests.servers.tls import HTTPServer, ssl_server_context, write_ca


@pytest.fixture()
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture()
def server(ca: trustme.CA) -> Iterator[HTTPServer]:
    web = HTTPServer(ssl_server_context(ca, "localhost"))
    yield web
    web.close()


def hashed_store(ca: trustme.CA, directory: Path) -> Path:
    """A store laid out as update-ca-certificates lays out /etc/ssl/certs: hash links."""
    require(shutil.which("openssl") is not None, "the openssl command makes the hash links")
    directory.mkdir()
    write_ca(ca, directory / "test-ca.pem")
    subprocess.run(["openssl", "rehash", str(directory)], check=True, capture_output=True, timeout=30)
    assert any(trust._HASH_LINK.fullmatch(p.name) for p in directory.iterdir())
    return directory


def handshake(context: ssl.SSLContext, port: int) -> None:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost"),
    ):
        pass


def test_a_hashed_directory_is_read_on_demand_and_verifies(
    ca: trustme.CA, server: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "absent.pem"))  # a store that is a directory only
    monkeypatch.setenv("SSL_CERT_DIR", str(hashed_store(ca, tmp_path / "certs")))
    context = trust.system_context()
    assert context.cert_store_stats()["x509_ca"] == 0, "nothing read before a handshake"
    assert trust.has_system_roots(context)
    handshake(context, server.port)  # the issuer is found in the directory when needed
    other = HTTPServer(ssl_server_context(trustme.CA(), "localhost"))
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            handshake(trust.system_context(), other.port)
    finally:
        other.close()


def test_an_ssl_cert_file_of_the_users_own_is_read_whole(
    ca: trustme.CA, server: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = write_ca(trustme.CA(), tmp_path / "own.pem")
    monkeypatch.setenv("SSL_CERT_FILE", str(own))
    monkeypatch.setenv("SSL_CERT_DIR", str(hashed_store(ca, tmp_path / "certs")))
    context = trust.system_context()
    assert context.cert_store_stats()["x509_ca"] >= 1, "the user's bundle, loaded whole"


def test_a_directory_of_the_users_own_adds_to_the_bundle_and_does_not_replace_it(
    ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSL_CERT_DIR naming a corporate directory: the eager way trusts it and the distribution's
    bundle together, so the directory alone would lose the public roots."""
    if not os.path.isfile(ssl.get_default_verify_paths().openssl_cafile):
        pytest.skip("this machine has no distribution bundle file")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", str(hashed_store(ca, tmp_path / "corporate")))
    assert trust.lazy_directory() is None
    assert trust.system_context().cert_store_stats()["x509_ca"] > 1, "the bundle, read whole"


def test_a_directory_without_hash_links_is_not_used_on_demand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "pki"
    plain.mkdir()
    (plain / "ca-bundle.crt").write_text("")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", str(plain))
    assert trust.lazy_directory() is None  # Fedora's layout: the bundle is read whole


def test_an_unverified_context_loads_no_store() -> None:
    context = trust.unverified_context()
    assert context.verify_mode is ssl.CERT_NONE and not context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0
