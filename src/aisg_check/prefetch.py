"""Work started early in a background thread, collected where it is needed.

Light on purpose (threading and contextlib only): the CLI starts a prefetch before it imports
the rest of the tool, so that the two overlap.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def prefetched(factory: Callable[[], T]) -> Callable[[], T]:
    """Start `factory()` in a background thread now; the callable returned hands that result
    over once (waiting for it if need be), and builds a fresh one on later calls.

    For the TLS trust store where it is read whole (net/trust.py; 35-40 ms for Debian's bundle),
    OpenSSL parses it without holding the GIL, so started first thing it runs on another core
    while Python imports the rest of the tool. A failure surfaces where the value is asked for,
    as without prefetching.
    """
    box: dict[str, T] = {}

    def work() -> None:
        # Any exception is left for take(): the fresh call repeats it in the asking thread.
        with contextlib.suppress(Exception):
            box["value"] = factory()

    thread = threading.Thread(target=work, daemon=True, name="prefetch")
    thread.start()
    lock = threading.Lock()

    def take() -> T:
        with lock:
            thread.join()
            if "value" in box:
                return box.pop("value")
        return factory()

    return take
