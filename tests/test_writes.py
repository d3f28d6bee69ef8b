"""writes.replace_file: the one atomic write of the report, the history and the edited files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from aisg_check.writes import replace_file


def test_the_new_content_replaces_the_old_with_the_mode_asked_and_nothing_beside_it(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    replace_file(target, b"new" * 100_000, mode=0o600)
    assert target.read_bytes() == b"new" * 100_000
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 & ~_umask()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_a_refusal_before_the_rename_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_text("old")
    seen: list[bytes] = []

    def refuse(temp: str) -> None:
        seen.append(Path(temp).read_bytes())  # the finished new file, not yet published
        raise ValueError("refused")

    with pytest.raises(ValueError):
        replace_file(target, b"new", mode=0o644, before_replace=refuse)
    assert seen == [b"new"] and target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config"]


def test_a_failure_while_writing_leaves_no_temporary(tmp_path: Path) -> None:
    def broken(fd: int) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        replace_file(tmp_path / "history.jsonl", b"x", mode=0o600, prepare=broken)
    assert list(tmp_path.iterdir()) == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
