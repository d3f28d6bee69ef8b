"""Where a report goes: standard output, and the `--output` file.

`--output PATH` writes only to a regular file or a new path. A symlink is followed to the
regular file it names; a directory, FIFO, socket or device, a read-only file and a dangling
symlink are refused with one line, before the checks run (and again at the end, should the
path have changed meanwhile). The file is written in place, never through a temporary renamed
over the path: a rename replaced `/dev/full` (as root), a FIFO or a symlink with a regular file,
overwrote read-only files and left `.DIR.tmpPID` beside a directory. `-` is standard output.

The one exception is `atomic` (the prometheus format): the node exporter's textfile collector
reads `*.prom` files whenever it is scraped, and would publish a half-written one. After the
same checks, the report goes to a hidden temporary in the same directory (not ending in
`.prom`, with the mode of the file it replaces), renamed over the regular file the path leads
to (a symlink stays a link), and the temporary is removed when anything fails.

Standard output closed (`>&-`), full, or a pipe whose reader has exited (`| head -1`) is an
ordinary I/O condition: one line on stderr and exit code 2, and the `--output` file is still
written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from dataclasses import dataclass
from typing import TextIO

STDOUT = "-"


class OutputError(Exception):
    """The report cannot be written there: one line for the user, exit code 2."""


@dataclass(frozen=True)
class Destination:
    shown: str  # as the user wrote it
    target: str  # the regular file a symlink leads to, or the new path
    exists: bool


def destination(path: str, *, atomic: bool = False) -> Destination | None:
    """Check an `--output` path; None for `-` (standard output). `atomic`: the file will be
    replaced by a rename, which needs a writable directory too."""
    if path == STDOUT:
        return None
    dest = _destination(path)
    if atomic and dest.exists:
        from aisg_check.secrets import clip

        parent = os.path.dirname(dest.target)
        if not os.access(parent, os.W_OK):
            raise OutputError(
                f"cannot write the report to {dest.shown}: cannot create files in {clip(parent, 200)}"
            )
    return dest


def _destination(path: str) -> Destination:
    from aisg_check.secrets import clip

    shown = clip(path, 200)
    if path == "":
        raise OutputError("--output: the path is empty")
    try:
        st = os.stat(path)  # follows symlinks
    except FileNotFoundError:
        return _new_path(path, shown)
    except NotADirectoryError:
        raise OutputError(
            f"cannot write the report to {shown}: a part of the path is not a directory"
        ) from None
    except OSError as exc:
        raise OutputError(f"cannot write the report to {shown}: {exc.strerror or exc}") from None
    kind = _kind(st.st_mode)
    if kind is not None:
        raise OutputError(f"refusing to write the report to {shown}: it is {kind}, not a regular file")
    if not st.st_mode & 0o222:
        # Also as root, who may write anything: a read-only report is meant to stay as it is.
        raise OutputError(f"refusing to overwrite {shown}: it is read-only")
    if not os.access(path, os.W_OK):
        raise OutputError(f"cannot write the report to {shown}: permission denied")
    return Destination(shown, os.path.realpath(path), exists=True)


def _new_path(path: str, shown: str) -> Destination:
    from aisg_check.secrets import clip

    if os.path.islink(path):
        raise OutputError(f"refusing to write the report to {shown}: it is a symbolic link to a missing file")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise OutputError(
            f"cannot write the report to {shown}: the directory {clip(parent, 200)} does not exist"
        )
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write the report to {shown}: cannot create files in {clip(parent, 200)}")
    return Destination(shown, path, exists=False)


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def write_file(path: str, text: str, *, atomic: bool = False) -> None:
    """Write the report to `path`, checked again now; an OutputError says why it could not."""
    dest = destination(path, atomic=atomic)
    if dest is None:
        raise OutputError("internal: '-' is standard output")
    if atomic:
        _replace(dest, text.encode("utf-8"))
        return
    flags = (
        os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    )
    # O_NONBLOCK: opening a FIFO swapped in since the check must fail, not wait for a reader.
    flags |= getattr(os, "O_NONBLOCK", 0)
    # A new path: O_EXCL refuses whatever appeared there meanwhile (a symlink included).
    # An existing file: its real path, and O_NOFOLLOW refuses a symlink swapped in for it.
    flags |= getattr(os, "O_NOFOLLOW", 0) | (0 if dest.exists else os.O_CREAT | os.O_EXCL)
    try:
        fd = os.open(dest.target, flags, 0o666)
    except OSError as exc:
        raise OutputError(f"cannot write the report to {dest.shown}: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OutputError(f"refusing to write the report to {dest.shown}: it is not a regular file")
        os.ftruncate(fd, 0)
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data) :]
        os.close(fd)
        fd = -1
    except OSError as exc:
        if not dest.exists:  # a half-written new report is worse than none
            with contextlib.suppress(OSError):
                os.unlink(dest.target)
        raise OutputError(f"cannot write the report to {dest.shown}: {exc.strerror or exc}") from None
    finally:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


def _replace(dest: Destination, data: bytes) -> None:
    """Write `data` to a new hidden file beside dest.target and rename it over; a reader sees
    the old file or the new one, never a part."""
    from aisg_check.writes import replace_file

    def keep_mode(fd: int) -> None:
        # 0o666 less the umask for a new file; the replaced file's own mode otherwise, since the
        # collector may run as another user that could read the old file.
        if dest.exists and hasattr(os, "fchmod"):  # (not on Windows before 3.13)
            os.fchmod(fd, stat.S_IMODE(os.stat(dest.target).st_mode))

    try:  # also on Ctrl-C or SIGTERM: no temporary left beside the report
        replace_file(dest.target, data, mode=0o666, prepare=keep_mode)
    except OSError as exc:
        raise OutputError(f"cannot write the report to {dest.shown}: {exc.strerror or exc}") from None


def write_stdout(text: str) -> str | None:
    """Write the report to standard output; None, or why it could not (one line)."""
    stream = sys.stdout
    if stream is None:
        return "standard output is closed; the report was not shown"
    try:
        stream.flush()
        _write_all(stream, text)
    except BrokenPipeError:
        _park_stdout()
        return "standard output was closed by the program reading it; the report was not shown in full"
    except (OSError, ValueError) as exc:
        _park_stdout()
        reason = getattr(exc, "strerror", None) or "it is closed"
        return f"cannot write the report to standard output: {reason}"
    return None


def _write_all(stream: TextIO, text: str) -> None:
    """Through the file descriptor where there is one: a text stream over an unbuffered file
    (PYTHONUNBUFFERED, python -u) drops what a short write leaves, e.g. at a file size limit,
    where this loop gets the error instead. Windows keeps the text layer for its line endings."""
    try:
        fd = stream.fileno() if os.name != "nt" else -1
    except (OSError, ValueError):  # io.UnsupportedOperation: an in-memory stream (tests)
        fd = -1
    if fd < 0:
        stream.write(text)
        stream.flush()
        return
    data = text.encode(stream.encoding or "utf-8", stream.errors or "replace")
    while data:
        written = os.write(fd, data)
        if written <= 0:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        data = data[written:]


def _park_stdout() -> None:
    """Point fd 1 at the null device, so that the text still buffered for it cannot fail a
    later flush (and so that no file opened later can take fd 1)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def say(line: str) -> None:
    """One line on stderr; nothing when stderr is gone (a hung-up terminal)."""
    stream = sys.stderr
    if stream is None:
        return
    with contextlib.suppress(OSError, ValueError):
        stream.write(line.rstrip("\n") + "\n")
        stream.flush()
