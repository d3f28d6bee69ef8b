"""TLS client contexts that trust the system store without parsing all of it on every run.

`ssl.create_default_context()` has OpenSSL read the system bundle file whole: 144 certificates
on Debian 12, about 35-40 ms of CPU, on every run of every check that speaks TLS, to verify one
or two servers. Where the system store is also a hashed directory (`c_rehash`/`openssl rehash`
links, as update-ca-certificates writes them on Debian and Ubuntu), OpenSSL can instead look up
the one issuer it needs, at verification time, for about 2 ms. The directory and the bundle are
written together from the same certificates, so the trust is the same.

The eager way stays wherever that is not known to hold: Windows and macOS (other stores), a
directory without hash links (Fedora's /etc/pki), and an SSL_CERT_FILE or SSL_CERT_DIR that
names a bundle or directory other than the distribution's own (the user's choice: a corporate
directory must add to the public bundle, not stand in for it).
"""

from __future__ import annotations

import os
import re
import ssl
import sys

_HASH_LINK = re.compile(r"[0-9a-f]{8}\.\d+")


def system_context() -> ssl.SSLContext:
    """A verifying client context that trusts the system store."""
    directory = lazy_directory()
    if directory is None:
        return ssl.create_default_context()
    return ssl.create_default_context(capath=directory)


def unverified_context() -> ssl.SSLContext:
    """A client context that verifies nothing (a kubeconfig's insecure-skip-tls-verify, a probe
    that only reads what a server presents): no store to load at all."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def has_system_roots(context: ssl.SSLContext) -> bool:
    """Whether the context trusts a system store: certificates loaded, or the hashed directory
    OpenSSL reads them from on demand (it loads none before the first handshake)."""
    return bool(context.cert_store_stats().get("x509_ca")) or lazy_directory() is not None


def lazy_directory() -> str | None:
    """The hashed directory system_context looks issuers up in, or None when it reads the bundle
    whole. When it is a directory, the context lists no CA (`get_ca_certs`) before a handshake."""
    if sys.platform.startswith("win") or sys.platform == "darwin":
        return None
    # The eager way trusts the bundle file and the directory together (SSL_CERT_FILE and
    # SSL_CERT_DIR when set, each None when missing); the directory alone is the same trust only
    # when there is no bundle file, or when both are the distribution's own pair.
    paths = ssl.get_default_verify_paths()
    directory = paths.capath
    if not directory or not _has_hash_links(directory):
        return None
    if paths.cafile is None:
        return directory  # no bundle file: the eager way reads nothing more
    same = os.path.realpath(paths.cafile) == os.path.realpath(paths.openssl_cafile) and (
        os.path.realpath(directory) == os.path.realpath(paths.openssl_capath)
    )
    # Otherwise the user named a bundle or a directory of their own: read the bundle whole.
    return directory if same else None


def _has_hash_links(directory: str) -> bool:
    try:
        with os.scandir(directory) as entries:
            return any(_HASH_LINK.fullmatch(entry.name) for entry in entries)
    except OSError:
        return False
