"""`prefetched`: background work handed over once, failures surfacing where it is asked for."""

from __future__ import annotations

import threading

import pytest

from aisg_check.prefetch import prefetched


def test_value_is_built_in_the_background_and_handed_over_once() -> None:
    threads: list[str] = []
    release = threading.Event()

    def build() -> object:
        threads.append(threading.current_thread().name)
        release.wait(5)
        return object()

    take = prefetched(build)
    release.set()
    first = take()
    assert threads == ["prefetch"]  # built off the calling thread
    second = take()
    assert second is not first  # a second caller gets its own (an SSL context gets mutated)
    assert threads == ["prefetch", threading.current_thread().name]


def test_a_failure_is_raised_in_the_asking_thread() -> None:
    calls: list[int] = []

    def build() -> int:
        calls.append(1)
        raise OSError("no trust store")

    take = prefetched(build)
    with pytest.raises(OSError, match="no trust store"):
        take()
    assert len(calls) == 2  # the background failure is not lost: the ask repeats it


def test_the_cli_hands_its_prefetched_context_to_the_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Context.ssl_context builds on the factory it is given, not on ssl directly.
    import ssl

    from tests.helpers import make_context

    built: list[ssl.SSLContext] = []

    def factory() -> ssl.SSLContext:
        context = ssl.create_default_context()
        built.append(context)
        return context

    ctx = make_context(default_ssl_context=factory)
    assert ctx.ssl_context() is built[0]
    assert ctx.ssl_context() is built[0]  # cached: the store is loaded once per run
