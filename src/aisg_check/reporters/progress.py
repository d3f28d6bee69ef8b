"""Live progress on a TTY (stderr), so stdout stays clean for the report.

Without colour (NO_COLOR, --no-color) no style at all: Rich's `no_color` drops colours but
still sends bold and dim. A terminal that goes away (SIGHUP) must not turn the end of the
display into an error: the report and the exit code matter more than the spinner.
"""

from __future__ import annotations

import contextlib
import threading
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.text import Text

from aisg_check.check import Check
from aisg_check.runner import Events


class LiveProgress(Events):
    def __init__(self, total: int, *, color: bool) -> None:
        # force_terminal: the CLI shows progress only when stderr is a terminal; Rich's own
        # guess would drop it, e.g. for an empty FORCE_COLOR.
        self._console = Console(
            stderr=True, force_terminal=True, no_color=not color, color_system="auto" if color else None
        )
        self._lock = threading.Lock()
        self._running: dict[str, str] = {}
        self._done = 0
        self._total = total
        self._live = Live(self._render(), console=self._console, transient=True, refresh_per_second=8)

    def _render(self) -> Text:
        running = ", ".join(list(self._running.values())[:4])
        more = len(self._running) - 4
        if more > 0:
            running += f" and {more} more"
        return Text(
            f"⠿ checking… {self._done}/{self._total} done" + (f" · {running}" if running else ""), style="dim"
        )

    def started(self, check: Check) -> None:
        with self._lock:
            self._running[check.id] = check.id
            self._live.update(self._render())

    def finished(self, check: Check) -> None:
        with self._lock:
            self._running.pop(check.id, None)
            self._done += 1
            self._live.update(self._render())

    def __enter__(self) -> LiveProgress:
        with contextlib.suppress(OSError, ValueError):
            self._live.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._live.stop()
