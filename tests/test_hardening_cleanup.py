"""cleanup.py, the one owner of a run's temporaries and children, in process."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from aisg_check import cleanup
from aisg_check.context import run_command


@pytest.fixture()
def tmpdir_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_a_session_owns_what_tempfile_makes_during_it(tmpdir_env: Path) -> None:
    with cleanup.session() as run_dir:
        assert (
            run_dir is not None
            and run_dir.parent == tmpdir_env
            and oct(run_dir.stat().st_mode & 0o777) == "0o700"
        )
        fd, name = tempfile.mkstemp()
        os.close(fd)
        held = tempfile.TemporaryDirectory()  # a library's, never cleaned by its owner
        assert Path(name).parent == run_dir and Path(held.name).parent == run_dir
        with cleanup.private_dir() as private:
            (private / "key.pem").write_text("key")
            assert private.parent == run_dir
        assert not private.exists()  # removed at the end of its block already
    assert list(tmpdir_env.iterdir()) == []
    assert tempfile.gettempdir() == str(tmpdir_env)  # tempfile's own default is back
    held.cleanup()


def test_finish_removes_private_dirs_still_in_use_and_refuses_new_ones(tmpdir_env: Path) -> None:
    entered, release = threading.Event(), threading.Event()
    seen: list[Path] = []

    def worker() -> None:  # a check thread interrupted inside its `with`
        with cleanup.private_dir() as folder:
            seen.append(folder)
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    assert entered.wait(10)
    cleanup.finish(final=True)
    try:
        assert not seen[0].exists()
        with pytest.raises(cleanup.RunEnding), cleanup.private_dir():
            pass
    finally:
        release.set()
        thread.join(10)
        cleanup.finish()  # open again for the other tests
    with cleanup.private_dir() as folder:
        assert folder.exists()


def test_end_children_ends_a_running_child_and_its_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f'sleep 300 & echo $! >> "{pids}"; echo $$ >> "{pids}"; wait'
    results: list[object] = []
    thread = threading.Thread(
        target=lambda: results.append(run_command(["sh", "-c", script], timeout=300)), daemon=True
    )
    started = time.monotonic()
    thread.start()
    while not (pids.exists() and len(pids.read_text().split()) == 2):
        assert time.monotonic() - started < 10
        time.sleep(0.02)
    cleanup.end_children()
    thread.join(5)
    cleanup.finish()
    assert results and not thread.is_alive(), "run_command still waiting for its child"
    assert time.monotonic() - started < 5
    for pid in map(int, pids.read_text().split()):
        state = Path(f"/proc/{pid}/stat")
        assert not state.exists() or state.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"), pid


def test_a_child_started_while_the_run_ends_is_ended_at_once() -> None:
    cleanup.end_children()  # the run is ending; an abandoned check thread starts one more
    try:
        t0 = time.monotonic()
        result = run_command([sys.executable, "-c", "import time; time.sleep(30)"], timeout=30)
        assert time.monotonic() - t0 < 5 and result.returncode != 0
    finally:
        cleanup.finish()
    assert run_command([sys.executable, "-c", "print('fine')"], timeout=30).stdout.strip() == "fine"


def test_untracked_after_it_ends() -> None:
    run_command([sys.executable, "-c", "pass"], timeout=30)
    assert not cleanup._children
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    cleanup.track(proc)
    cleanup.untrack(proc)
    proc.wait(10)
    assert not cleanup._children


def test_a_temporary_directory_that_cannot_be_used_is_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    with cleanup.session() as run_dir:
        assert run_dir is None and tempfile.gettempdir() == str(tmp_path / "missing")
