"""The bundle as one `.tar.gz`, and where it goes.

Members are regular files under one top directory, with fixed names made here (never a name
from the user's files, which could carry a secret or a `..`), owned by nobody in particular
(uid/gid 0, no user or group name: the archive does not carry the sender's login) and readable
only by whoever unpacks it.

The destination follows the `--output` rules of the reports (output.py): a regular file or a
new path, never a directory, FIFO, socket or device, checked before the run and again when
written, and written in place (a new file is created with O_EXCL and mode 0600, and removed
again should the write fail).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import tarfile
from collections.abc import Mapping
from datetime import datetime

from aisg_check import output

_MEMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")


def default_name(moment: datetime) -> str:
    return f"aisg-check-bundle-{moment.strftime('%Y%m%d-%H%M%S')}.tar.gz"


def destination(path: str | None, moment: datetime) -> str:
    """The path to write to, checked now; `OutputError` with one line when it cannot be used."""
    explicit = path is not None
    if path is None:
        name = default_name(moment)
        # Two bundles in one second: the second is numbered, never written over the first.
        for n in range(2, 100):
            if not os.path.lexists(name):
                break
            name = default_name(moment).replace(".tar.gz", f"-{n}.tar.gz")
        path = name
    if path == output.STDOUT:
        raise output.OutputError("--output: the bundle is a binary archive; name a file (e.g. bundle.tar.gz)")
    try:
        output.destination(path)
    except output.OutputError as exc:
        where = "" if explicit else "; name another place with --output"
        raise output.OutputError(str(exc).replace("the report", "the bundle") + where) from None
    return path


def check_name(name: str) -> str:
    """A member name that unpacks where it should: relative, no `..`, plain characters."""
    if not _MEMBER.fullmatch(name):
        raise ValueError(f"internal: not a safe member name: {name!r}")
    return name


def pack(top: str, members: Mapping[str, str], mtime: float) -> bytes:
    """A gzip-compressed tar of `members` (name → text) under the directory `top`."""
    check_name(top)
    buffer = io.BytesIO()
    # fileobj without a name: gzip's header then carries no file name either.
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_info(top, tarfile.DIRTYPE, 0o700, 0, mtime))
        directories = sorted({name.rsplit("/", 1)[0] for name in members if "/" in name})
        for directory in directories:
            tar.addfile(_info(f"{top}/{check_name(directory)}", tarfile.DIRTYPE, 0o700, 0, mtime))
        for name, text in members.items():
            data = text.encode("utf-8")
            info = _info(f"{top}/{check_name(name)}", tarfile.REGTYPE, 0o600, len(data), mtime)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _info(name: str, kind: bytes, mode: int, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, int(mtime)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write(path: str, data: bytes) -> None:
    """Write the archive to `path`, checked again now (output.write_file's rules, for bytes)."""
    dest = output.destination(path)
    if dest is None:
        raise output.OutputError("internal: '-' is standard output")
    flags = (
        os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    )
    # O_NONBLOCK: a FIFO swapped in since the check fails instead of waiting for a reader.
    # O_NOFOLLOW on the real path of an existing file, O_EXCL for a new one: nothing swapped in
    # meanwhile (a symlink included) is written through.
    flags |= getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    flags |= 0 if dest.exists else os.O_CREAT | os.O_EXCL
    shown = dest.shown
    try:
        fd = os.open(dest.target, flags, 0o600)
    except OSError as exc:
        raise output.OutputError(f"cannot write the bundle to {shown}: {exc.strerror or exc}") from None
    written = False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise output.OutputError(f"refusing to write the bundle to {shown}: it is not a regular file")
        os.ftruncate(fd, 0)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.close(fd)
        fd = -1
        written = True
    except OSError as exc:
        raise output.OutputError(f"cannot write the bundle to {shown}: {exc.strerror or exc}") from None
    finally:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)
        if not written and not dest.exists:  # half an archive (a full disk, Ctrl-C) is worse than none
            with contextlib.suppress(OSError):
                os.unlink(dest.target)
