"""Credentials written into the kubeconfig itself: a bearer `token` or `tokenFile`, and a
client certificate, which reaches OpenSSL without the private key touching a disk."""

from __future__ import annotations

import base64
import binascii
import os
import ssl

from aisg_check import cleanup
from aisg_check.context import Context
from aisg_check.platform import kubeconfig
from aisg_check.platform.kubeauth.base import (
    Credential,
    InvalidEntry,
    exp_of,
    name_of,
    present,
    string_field,
    type_name,
)
from aisg_check.platform.kubeconfig import FileProblem, Selection
from aisg_check.secrets import Secret, jwt_claims
from aisg_check.writes import write_all


def static_token(ctx: Context, sel: Selection) -> Credential:
    """`token`, else the content of `tokenFile` (relative to the kubeconfig that names it)."""
    token = string_field(sel, "token", sel.user.get("token"))
    if not token:
        value = string_field(sel, "tokenFile", sel.user.get("tokenFile"))
        path = kubeconfig.relative_to(sel.user_file, value)
        where = f"users['{sel.user_name}'].user.tokenFile"
        try:
            token = kubeconfig.read_text(path).strip()
        except FileNotFoundError:
            raise InvalidEntry(sel.user_file, f"{where}: {path} does not exist") from None
        except FileProblem as exc:
            raise InvalidEntry(sel.user_file, f"{where}: {exc}") from None
        if not token:
            raise InvalidEntry(sel.user_file, f"{where}: {path} is empty")
    ctx.scrubber.add(token)
    claims = jwt_claims(token)
    name = name_of(claims)
    return Credential(
        "token",
        Secret(token),
        username=name,
        details={"auth": "token", "username": name},
        expires_at=exp_of(claims),
    )


def _pem(sel: Selection, key: str) -> str:
    where = f"users['{sel.user_name}'].user.{key}"
    data = sel.user.get(f"{key}-data")
    if present(data):
        if not isinstance(data, str):
            raise InvalidEntry(sel.user_file, f"{where}-data must be a string, not {type_name(data)}")
        try:
            return base64.b64decode(data, validate=True).decode("ascii")
        except (binascii.Error, ValueError):
            raise InvalidEntry(sel.user_file, f"{where}-data is not base64 PEM") from None
    value = string_field(sel, key, sel.user.get(key))
    if not value:
        raise InvalidEntry(sel.user_file, f"{where} (or {key}-data) is not set")
    path = kubeconfig.relative_to(sel.user_file, value)
    try:
        return kubeconfig.read_text(path, encoding="ascii")
    except FileNotFoundError:
        raise InvalidEntry(sel.user_file, f"{where}: {path} does not exist") from None
    except FileProblem as exc:
        raise InvalidEntry(sel.user_file, f"{where}: {exc}") from None


def client_certificate(ctx: Context, sel: Selection) -> Credential:
    cert, key = _pem(sel, "client-certificate"), _pem(sel, "client-key")
    register_pem(ctx, key)
    return Credential(
        "client-certificate",
        cert_pem=Secret(cert),
        key_pem=Secret(key),
        details={"auth": "client-certificate"},
    )


def register_pem(ctx: Context, pem: str) -> None:
    for fragment in kubeconfig.key_fragments(pem):
        ctx.scrubber.add(fragment)


def use_client_certificate(context: ssl.SSLContext, cred: Credential, sel: Selection) -> None:
    """`context.load_cert_chain` from memory. OpenSSL reads the chain only from files: on Linux
    they are anonymous memory files (memfd), so the key never touches a disk; elsewhere a
    private (0700) temporary directory that is removed as soon as the chain is loaded."""
    assert cred.cert_pem is not None and cred.key_pem is not None
    pems = (cred.cert_pem.reveal().encode(), cred.key_pem.reveal().encode())
    try:
        if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
            _load_from_memfd(context, pems)
        else:
            _load_from_private_dir(context, pems)
    except ssl.SSLError as exc:
        raise InvalidEntry(
            sel.user_file,
            f"The client certificate of user '{sel.user_name}' is not valid PEM "
            f"({exc.reason or 'unreadable'})",
        ) from None


def _load_from_memfd(context: ssl.SSLContext, pems: tuple[bytes, bytes]) -> None:
    fds: list[int] = []
    try:
        for name, data in zip(("cert", "key"), pems, strict=True):
            fd = os.memfd_create(f"aisg-check-{name}", os.MFD_CLOEXEC)
            fds.append(fd)
            write_all(fd, data)
        context.load_cert_chain(f"/proc/self/fd/{fds[0]}", f"/proc/self/fd/{fds[1]}")
    finally:
        for fd in fds:
            os.close(fd)


def _load_from_private_dir(context: ssl.SSLContext, pems: tuple[bytes, bytes]) -> None:
    # Mode 0700, removed at the end of the block, or by the run's cleanup if it ends first.
    with cleanup.private_dir() as folder:
        paths = []
        for name, data in zip(("cert.pem", "key.pem"), pems, strict=True):
            path = os.path.join(folder, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                write_all(fd, data)
            finally:
                os.close(fd)
            paths.append(path)
        context.load_cert_chain(paths[0], paths[1])
