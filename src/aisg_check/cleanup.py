"""What a run owns and must not leave behind: its temporary files and its child processes.

One owner for both, emptied on every exit path (the end of the run, a usage error, Ctrl-C,
SIGTERM, SIGHUP, a crash), because the CLI ends with `os._exit` (see cli.main) and so runs no
`atexit` hook, no `finally` of an abandoned check thread and no garbage collection:

- `session()`: the CLI runs each command inside it. It makes the run's private temporary
  directory (mode 0700, under $TMPDIR) and points Python's `tempfile` at it for the run, so
  that whatever `tempfile` makes meanwhile, ours or a client library's, lands inside it and is
  removed with it. A check that needs a file on disk (a kubeconfig's client key for
  `ssl.load_cert_chain`) writes it with `tempfile` or `private_dir()` and removes it itself
  when done; if the run is interrupted first, the session removes it.
- `private_dir()`: a directory only the user can read, removed at the end of the `with` and,
  should the run end first, by the session.
- `track(proc)` / `untrack(proc)`: `context.run_command` registers every child it starts;
  `end_children()` ends their process groups (SIGTERM, then SIGKILL after a short grace), so
  `ssh`, `kubectl` or a credential helper end with the run instead of at their own timeout.
  A child started once the run is ending is ended at once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

GRACE_S = 0.3  # for children to exit on SIGTERM (ssh closes its connection) before SIGKILL

_lock = threading.Lock()
_closing = False
_paths: list[str] = []
_children: set[subprocess.Popen[Any]] = set()
_previous_tempdir: list[str | None] = []


class RunEnding(RuntimeError):
    """Raised to a check that asks for a temporary directory after the run has ended."""


@contextlib.contextmanager
def session() -> Iterator[Path | None]:
    """The run's private temporary directory, `tempfile`'s default while the run lasts (None
    when $TMPDIR cannot take one: the checks that need a file then say so themselves)."""
    import tempfile

    global _closing
    with _lock:
        _closing = False
        try:
            run_dir: str | None = tempfile.mkdtemp(prefix="aisg-check-")
        except OSError:
            run_dir = None
        if run_dir is not None:
            _paths.append(run_dir)
            _previous_tempdir.append(tempfile.tempdir)
            tempfile.tempdir = run_dir
    try:
        yield Path(run_dir) if run_dir is not None else None
    finally:
        finish()


def finish(*, final: bool = False) -> None:
    """End every child and remove every temporary. Idempotent. `final` (the process is about
    to exit) keeps the run closed: a check thread still running cannot start anything more."""
    global _closing
    end_children()
    remove_all()
    if not final:
        with _lock:
            _closing = False


@contextlib.contextmanager
def private_dir(prefix: str = "aisg-check-") -> Iterator[Path]:
    """A directory readable by the user only, removed at the end of the `with` (and by the
    session if the run ends first)."""
    import tempfile

    with _lock:
        if _closing:
            raise RunEnding("the run is ending")
        path = tempfile.mkdtemp(prefix=prefix)
        _paths.append(path)
    try:
        yield Path(path)
    finally:
        with _lock:
            if path in _paths:
                _paths.remove(path)
        shutil.rmtree(path, ignore_errors=True)


def remove_all() -> None:
    """Remove every registered temporary and give `tempfile` its default back."""
    import tempfile

    global _closing
    with _lock:
        _closing = True
        paths, _paths[:] = list(_paths), []
        if _previous_tempdir:
            tempfile.tempdir = _previous_tempdir.pop()
            _previous_tempdir.clear()
    for path in reversed(paths):
        shutil.rmtree(path, ignore_errors=True)


def track(proc: subprocess.Popen[Any]) -> None:
    with _lock:
        closing = _closing
        if not closing:
            _children.add(proc)
    if closing:
        _end([proc], grace=0.0)


def untrack(proc: subprocess.Popen[Any]) -> None:
    with _lock:
        _children.discard(proc)


def end_children() -> None:
    global _closing
    with _lock:
        _closing = True
        procs = list(_children)
        _children.clear()
    _end(procs, grace=GRACE_S)


def _end(procs: list[subprocess.Popen[Any]], *, grace: float) -> None:
    alive = [p for p in procs if p.poll() is None]
    if not alive:
        return
    for proc in alive:
        _signal_group(proc, signal.SIGTERM)
    stop = time.monotonic() + grace
    while time.monotonic() < stop and any(p.poll() is None for p in alive):
        time.sleep(0.02)
    for proc in alive:
        # Also when the leader has gone: what it started (ssh's ProxyCommand) may not have.
        _signal_group(proc, getattr(signal, "SIGKILL", signal.SIGTERM))


def _signal_group(proc: subprocess.Popen[Any], signum: int) -> None:
    """run_command starts each child in its own session (process group = its pid)."""
    try:
        if os.name != "nt":
            os.killpg(proc.pid, signum)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError, OSError):
        pass
