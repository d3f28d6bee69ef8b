"""Ctrl-C, SIGTERM and SIGHUP end a run the same way: the runner stops waiting, the report
shows what finished, every child and temporary goes (cleanup.py), and the exit code is
128 + the signal's number (130, 143, 129), as a shell reports a process the signal ended.

By default Python turns only SIGINT into an exception; SIGTERM and SIGHUP killed the process
with no report and left the kubeconfig's client key and the `ssh`/`kubectl` children behind.
The handlers raise `Interrupted`, a KeyboardInterrupt, in the main thread: every place that
already handles Ctrl-C (the runner's wait) handles the others too. Installed by cli.main only,
never on import: a test that runs the CLI in process keeps its own handlers.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

NAMES = ("SIGINT", "SIGTERM", "SIGHUP")

_received: list[int] = []
_shield = threading.Event()


class Interrupted(KeyboardInterrupt):
    def __init__(self, signum: int) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum


def install() -> None:
    """Our handler for each of NAMES, except one the parent set to be ignored: `nohup` ignores
    SIGHUP, a shell ignores SIGINT for a background job, and that choice stands."""
    _received.clear()
    for name in NAMES:
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _handle)


def _handle(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    if not _shield.is_set():
        raise Interrupted(signum)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """While removing temporaries: a signal is noted (its exit code wins) but does not cut the
    cleanup short."""
    _shield.set()
    try:
        yield
    finally:
        _shield.clear()


def received() -> int | None:
    """The first signal of the run, if any."""
    return _received[0] if _received else None


def exit_code(default: int = 130) -> int:
    signum = received()
    return 128 + signum if signum is not None else default


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
