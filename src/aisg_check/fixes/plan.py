"""What a fix will change, shown before it is asked for and undone if the check still fails.

Three kinds of change, each with a preview and an undo:

- `FileEdit`: new content for a file: a unified diff before, `edits.replace` (backup, atomic
  rename) to apply, the backup put back to undo.
- `ModeChange`: a file's permissions (`chmod 600` on a private key). No copy is made: a backup
  of a private key that others could read would be one more copy of the key lying about; the
  old mode is printed instead, and the undo sets it back.
- `GitConfig`: one `git config --global KEY VALUE`, written by git itself (it locks the file and
  renames the new one into place); the file is backed up first and put back to undo.

Previews never show a secret: they pass through the run's scrubber, and any line whose key
reads like a credential (aws_secret_access_key = …) shows `***` for its value.

Ctrl-C (or SIGTERM, SIGHUP) never leaves a plan half made: each change is made whole under the
signal shield, recorded in the caller's list the moment it is made, and a signal then undoes the
plan's changes made so far before it goes on (`Plan.apply`).
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from aisg_check import edits, signals
from aisg_check.context import CommandResult

_SECRET_LINE = re.compile(
    r"^(?P<key>[-+ ]?\s*[\w.-]*(?:secret|token|passw|_key_id|credential|auth)[\w.-]*\s*[=:]\s*)"
    r"(?P<value>\S.*)$",
    re.IGNORECASE,
)


class Refused(Exception):
    """No automatic fix for this case (the reason says why, and what to do by hand)."""


def redact(line: str) -> str:
    """A line of a config file with a credential-looking value masked."""
    match = _SECRET_LINE.match(line)
    return f"{match.group('key')}***" if match else line


@dataclass(frozen=True)
class Applied:
    """What applying a change did: lines for the user, the paths it changed or made, its undo."""

    lines: tuple[str, ...]
    paths: tuple[Path, ...]  # the file changed (or made) first, then any backup of it
    undo: Callable[[], str]


class Change(Protocol):
    def preview(self) -> list[str]: ...

    def apply(self, now: datetime) -> Applied: ...


@dataclass(frozen=True)
class FileEdit:
    path: Path
    shown: str  # as the user knows it: ~/.ssh/config
    before: str | None  # None: the file does not exist yet
    after: str
    home: Path  # for naming the backup the way the file is named

    def preview(self) -> list[str]:
        old = (self.before or "").splitlines(keepends=True)
        new = self.after.splitlines(keepends=True)
        source = self.shown if self.before is not None else "/dev/null"
        diff = difflib.unified_diff(old, new, fromfile=source, tofile=f"{self.shown} (fixed)")
        return [redact(line.rstrip("\r\n")) for line in diff]

    def apply(self, now: datetime) -> Applied:
        current = edits.current(self.path)
        if current != (self.before.encode("utf-8") if self.before is not None else None):
            # Edited meanwhile (while the question waited): the diff shown no longer holds.
            raise edits.EditError(
                f"{self.shown} changed since it was read; nothing written: run the fix again"
            )
        written = edits.replace(self.path, self.after, now=now)
        if not written.changed:
            return Applied((f"{self.shown} already says so: unchanged",), (), lambda: "")
        lines = []
        if written.backup is not None:
            lines.append(f"backed up {self.shown} to {display(written.backup, self.home)}")
        lines.append(f"{'created' if written.created else 'wrote'} {self.shown}")
        paths = (written.path,) + ((written.backup,) if written.backup else ())

        def undo() -> str:
            edits.restore(written)
            if written.created:
                return f"removed {self.shown} again"
            if written.backup is not None:  # the file is as it was: its copy has done its job
                written.backup.unlink(missing_ok=True)
            return f"restored {self.shown} as it was"

        return Applied(tuple(lines), paths, undo)


@dataclass(frozen=True)
class ModeChange:
    path: Path
    shown: str
    before: int
    after: int

    def preview(self) -> list[str]:
        return [f"$ chmod {self.after:o} {self.shown}    (now {self.before:04o})"]

    def apply(self, now: datetime) -> Applied:
        try:
            current = stat.S_IMODE(self.path.stat().st_mode)
            if current == self.after:
                return Applied((f"{self.shown} is already mode {self.after:04o}",), (), lambda: "")
            os.chmod(self.path, self.after)
        except OSError as exc:
            raise edits.EditError(f"cannot chmod {self.shown}: {exc.strerror or exc}") from None

        def undo() -> str:
            os.chmod(self.path, current)
            return f"set {self.shown} back to mode {current:04o}"

        undo_command = f"chmod {current:o} {self.shown}"
        line = f"chmod {self.after:o} {self.shown} (was {current:04o}; `{undo_command}` undoes it)"
        return Applied((line,), (self.path,), undo)


Runner = Callable[..., CommandResult]


@dataclass(frozen=True)
class GitConfig:
    key: str
    value: str
    file: Path  # the global git config file git will write
    shown_file: str
    home: Path
    run: Runner
    env: Mapping[str, str] = field(default_factory=dict)

    def preview(self) -> list[str]:
        return [
            f"$ git config --global {_quote(self.key)} {_quote(self.value)}    (writes {self.shown_file})"
        ]

    def apply(self, now: datetime) -> Applied:
        existed = edits.current(self.file) is not None
        saved = edits.backup(self.file, now)
        result = self.run(["git", "config", "--global", self.key, self.value], timeout=20, env=dict(self.env))
        if not result.ok:
            if saved is not None:
                saved.unlink(missing_ok=True)
            message = (result.stderr or result.stdout).strip().splitlines()
            raise edits.EditError(f"git config failed: {message[-1] if message else 'no output'}")
        lines = []
        if saved is not None:
            lines.append(f"backed up {self.shown_file} to {display(saved, self.home)}")
        lines.append(f"{'wrote' if existed else 'created'} {self.shown_file}: {self.key} = {self.value}")

        def undo() -> str:
            if saved is None:
                self.file.unlink(missing_ok=True)
                return f"removed {self.shown_file} again"
            edits.replace(self.file, saved.read_bytes(), make_backup=False)
            saved.unlink(missing_ok=True)
            return f"restored {self.shown_file} as it was"

        return Applied(tuple(lines), (self.file,) + ((saved,) if saved else ()), undo)


@dataclass(frozen=True)
class Plan:
    """One fix: what it does (a sentence), the changes, and anything the user should know."""

    title: str
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = ()

    def apply(self, now: datetime, done: list[Applied] | None = None) -> list[Applied]:
        """Every change, in order, each appended to `done` (the caller's record of what is
        changed) as soon as it is made; returns this plan's. Should one fail, or a signal arrive,
        the ones made are undone (and taken off `done`) before the exception goes on."""
        done = [] if done is None else done
        start = len(done)
        try:
            for change in self.changes:
                with uninterrupted():
                    done.append(change.apply(now))
        except (edits.EditError, OSError, KeyboardInterrupt):
            with uninterrupted():
                while len(done) > start:
                    done[-1].undo()
                    done.pop()
            raise
        return done[start:]


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """A step made whole: a signal meanwhile (with cli's handlers) is held until it is done, then
    raised. Without those handlers (Python's own Ctrl-C) this cannot hold one back: the callers
    undo on KeyboardInterrupt as well."""
    before = signals.received()
    with signals.shielded():
        yield
    signum = signals.received()
    if before is None and signum is not None:
        raise signals.Interrupted(signum)


def display(path: Path, home: Path) -> str:
    """`~/.ssh/config` for a file under the home directory, else the full path."""
    try:
        return "~/" + path.relative_to(home).as_posix()
    except ValueError:
        return str(path)


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
