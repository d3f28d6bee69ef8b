"""Changing one of the user's files: the one way `init` and `fix` write (checks never do).

The new content goes to a temporary file beside the target (the same directory, so the rename
cannot cross file systems), is flushed to disk, gets the old file's mode (and owner, under
sudo), and is renamed over the target in one step: ssh, git or aws reading the file meanwhile,
a full disk, a crash or Ctrl-C see the old file or the new one, never half of either. The old
content is first copied to a backup beside it (`config.aisg-check-20250101-093000.bak`, private
to the user), so every change can be undone by hand as well as by `restore`.

Not output.write_file: a report is written in place on purpose (a FIFO, a device), while here
the target is a file other programs read, which must never be seen half-written. A symlink
(dotfiles kept in a repository) is followed: the file it names is replaced, the link stays.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aisg_check.bounds import read_bytes
from aisg_check.writes import replace_file, write_all

NEW_FILE_MODE = 0o600  # what a new config file gets: ssh and aws want theirs private
NEW_DIR_MODE = 0o700  # ~/.ssh must not be writable by others, or ssh refuses its config


class EditError(Exception):
    """The file cannot be changed: one line naming it and why. Nothing was written."""


@dataclass(frozen=True)
class Written:
    """What `replace` did: the file written (a symlink's target), its backup, and whether it is new."""

    path: Path
    backup: Path | None  # None: the file did not exist, or nothing changed
    created: bool
    changed: bool = True


def target_of(path: Path) -> Path:
    """The regular file to write for `path`: the file a symlink names; EditError for anything
    else that is not a regular file or a new path."""
    if path.is_symlink():
        real = Path(os.path.realpath(path))
        if not real.exists():
            raise EditError(f"{path} is a symbolic link to a missing file ({real}); not following it")
        path = real
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise EditError(f"{path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise EditError(f"{path} is not a regular file; not changing it")
    return path


def current(path: Path) -> bytes | None:
    """The file's content (size-capped), or None when there is no file."""
    try:
        return read_bytes(target_of(path))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise EditError(f"{path} cannot be read: {exc.strerror or exc}") from None


def backup_path(path: Path, now: datetime) -> Path:
    """A name beside `path` that does not exist yet: `<name>.aisg-check-<time>.bak`."""
    stamp = now.strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.aisg-check-{stamp}.bak")
    number = 1
    while candidate.exists() or candidate.is_symlink():
        candidate = path.with_name(f"{path.name}.aisg-check-{stamp}-{number}.bak")
        number += 1
    return candidate


def backup(path: Path, now: datetime | None = None) -> Path | None:
    """Copy the file to a new backup beside it (mode 0600: it may hold what the user keeps
    private); None when there is no file to copy."""
    data = current(path)
    if data is None:
        return None
    target = target_of(path)
    dest = backup_path(target, now or datetime.now())
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(dest, flags, 0o600)
    except OSError as exc:
        raise EditError(f"cannot back up {target} to {dest}: {exc.strerror or exc}") from None
    try:
        write_all(fd, data)
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(dest)
        raise EditError(f"cannot back up {target} to {dest}: {exc.strerror or exc}") from None
    os.close(fd)
    return dest


def replace(
    path: Path,
    content: str | bytes,
    *,
    now: datetime | None = None,
    validate: Callable[[Path], None] | None = None,
    make_backup: bool = True,
) -> Written:
    """Write `content` to `path` atomically, after backing up what is there. `validate(temp)` may
    refuse the new file (raise EditError) before it replaces anything. Unchanged content is not
    written at all (so running a fix twice changes nothing the second time)."""
    target = target_of(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    old = current(target)
    if old == data:
        return Written(target, None, created=False, changed=False)
    _make_parent(target.parent)
    info = target.stat() if old is not None else None
    mode = stat.S_IMODE(info.st_mode) if info else NEW_FILE_MODE
    saved: list[Path | None] = [None]

    def own(fd: int) -> None:
        if hasattr(os, "fchmod"):  # (not on Windows before 3.13, where the mode at creation holds)
            os.fchmod(fd, mode)
        if info is not None and hasattr(os, "fchown") and os.geteuid() == 0:
            with contextlib.suppress(OSError):  # root editing a user's file: it stays theirs
                os.fchown(fd, info.st_uid, info.st_gid)

    def check_and_back_up(temp: str) -> None:
        if validate is not None:
            validate(Path(temp))
        saved[0] = backup(target, now) if (old is not None and make_backup) else None

    try:
        replace_file(target, data, mode=mode, prepare=own, before_replace=check_and_back_up)
    except OSError as exc:
        raise EditError(f"cannot write {target}: {exc.strerror or exc}") from None
    _sync_dir(target.parent)
    return Written(target, saved[0], created=old is None)


def restore(written: Written) -> None:
    """Undo `replace`: the backup's content back in place (atomically), or the new file removed."""
    if not written.changed:
        return
    if written.backup is None:
        with contextlib.suppress(FileNotFoundError):
            written.path.unlink()
        return
    replace(written.path, read_bytes(written.backup), make_backup=False)


def _make_parent(directory: Path) -> None:
    try:
        directory.mkdir(mode=NEW_DIR_MODE, parents=True, exist_ok=True)
    except OSError as exc:
        raise EditError(f"cannot create {directory}: {exc.strerror or exc}") from None


def _sync_dir(directory: Path) -> None:
    """The rename itself on disk (POSIX: fsync the directory); best effort."""
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
