"""Live progress on a TTY (stderr), so stdout stays clean for the report."""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.text import Text

from aisg_check.check import Check
from aisg_check.runner import Events


class LiveProgress(Events):
    def __init__(self, total: int, *, color: bool) -> None:
        self._console = Console(stderr=True, no_color=not color)
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
        self._live.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._live.stop()
