"""Writing a file so that a reader sees the old content or the new, never a part of it: one
way for the report (`--output`), the run history and the user files `fix` and `init` edit."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

_NEW_FILE = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL  # a fresh name of our own: never an existing file, nor a link planted there
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def write_all(fd: int, data: bytes) -> None:
    """All of `data` to the descriptor (`os.write` may write less than it is given)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def replace_file(
    target: str | os.PathLike[str],
    data: bytes,
    *,
    mode: int,
    prepare: Callable[[int], None] | None = None,
    before_replace: Callable[[str], None] | None = None,
) -> None:
    """Write `data` to a new hidden file beside `target` (created with `mode`, less the umask),
    flush it to disk, and rename it over `target`.

    `prepare(fd)` may set the new file's mode or owner before it is published; `before_replace
    (path)` may look at the finished file and refuse it by raising. Whatever is raised (OSError,
    a refusal, Ctrl-C) leaves no temporary behind and `target` untouched."""
    import secrets  # only when writing: hmac, hashlib and random are not worth every run's start

    folder, name = os.path.split(os.fspath(target))
    temporary = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.aisg-check.tmp")
    fd = os.open(temporary, _NEW_FILE, mode)
    done = False
    try:
        try:
            if prepare is not None:
                prepare(fd)
            write_all(fd, data)
            os.fsync(fd)  # the rename must not publish a file whose blocks are not on disk yet
        finally:
            os.close(fd)
        if before_replace is not None:
            before_replace(temporary)
        os.replace(temporary, target)
        done = True
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
