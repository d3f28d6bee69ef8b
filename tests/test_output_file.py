"""`--output PATH` writes only to a regular file or a new path, in place, and leaves nothing
beside it. Never tested against a real device: a FIFO, symlinks and a read-only file in
tmp_path, and a device node only inside a private mount namespace (root, `unshare -m`)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import LOOPBACK_PROFILE, run_cli, write_config

ARGS = ["vpn", "--only", "vpn.gitlab"]  # refused at once: a report in a fraction of a second


@pytest.fixture()
def env(home: Path) -> dict[str, str]:
    write_config(home / ".config" / "aisg-check" / "config.yaml", LOOPBACK_PROFILE)
    return dict(os.environ)


@pytest.fixture()
def place(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def _listing(folder: Path) -> dict[str, str]:
    return {p.name: stat.filemode(p.lstat().st_mode) for p in folder.iterdir()}


def _dir(folder: Path) -> Path:
    (folder / "reports").mkdir()
    return folder / "reports"


def _fifo(folder: Path) -> Path:
    os.mkfifo(folder / "pipe")
    return folder / "pipe"


def _read_only(folder: Path) -> Path:
    path = folder / "kept.json"
    path.write_text("keep me\n")
    path.chmod(0o444)
    return path


def _link_to_read_only(folder: Path) -> Path:
    target = _read_only(folder)
    (folder / "link").symlink_to(target.name)
    return folder / "link"


def _link_to_fifo(folder: Path) -> Path:
    (folder / "link").symlink_to(_fifo(folder).name)
    return folder / "link"


def _link_to_dir(folder: Path) -> Path:
    (folder / "link").symlink_to(_dir(folder).name)
    return folder / "link"


def _dangling(folder: Path) -> Path:
    (folder / "link").symlink_to("nowhere.json")
    return folder / "link"


def _no_parent(folder: Path) -> Path:
    return folder / "missing" / "report.json"


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (_dir, "it is a directory"),
        (_fifo, "it is a FIFO"),
        (_read_only, "it is read-only"),
        (_link_to_read_only, "it is read-only"),
        (_link_to_fifo, "it is a FIFO"),
        (_link_to_dir, "it is a directory"),
        (_dangling, "symbolic link to a missing file"),
        (_no_parent, "does not exist"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_refused_destinations_exit_2_before_running_and_stay_as_they_were(
    env: dict[str, str], place: Path, make: Callable[[Path], Path], says: str
) -> None:
    path = make(place)
    before = _listing(place)
    contents = {p: p.read_bytes() for p in place.iterdir() if p.is_file() and not p.is_symlink()}
    result = run_cli([*ARGS, "--output", str(path)], env=env, timeout=30)
    assert result.returncode == 2, result
    assert says in result.stderr and str(path) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""  # refused before any check ran
    assert _listing(place) == before  # nothing replaced, nothing left beside it
    assert {p: p.read_bytes() for p in contents} == contents
    assert sorted(_listing(place.parent)) == ["out"]


def test_a_new_path_gets_the_report_and_nothing_else(env: dict[str, str], place: Path) -> None:
    result = run_cli([*ARGS, "--output", str(place / "report.json")], env=env)
    assert result.returncode == 1, result.stderr
    assert json.loads((place / "report.json").read_text())["results"][0]["id"] == "vpn.gitlab"
    assert sorted(_listing(place)) == ["report.json"]


def test_an_existing_file_is_rewritten_in_place(env: dict[str, str], place: Path) -> None:
    """Same inode, same mode, hard links still shared: no temporary renamed over it."""
    path = place / "report.xml"
    path.write_text("old content that is longer than nothing\n" * 200)
    path.chmod(0o640)
    os.link(path, place / "hardlink.xml")
    inode = path.stat().st_ino
    result = run_cli([*ARGS, "--output", str(path)], env=env)
    assert result.returncode == 1, result.stderr
    assert path.stat().st_ino == inode and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.read_text().startswith("<?xml") and "old content" not in path.read_text()
    assert (place / "hardlink.xml").read_text() == path.read_text()
    assert sorted(_listing(place)) == ["hardlink.xml", "report.xml"]


def test_a_symlink_to_a_regular_file_is_followed_and_kept(env: dict[str, str], place: Path) -> None:
    (place / "real.md").write_text("old\n")
    (place / "latest.md").symlink_to("real.md")
    result = run_cli([*ARGS, "--output", str(place / "latest.md")], env=env)
    assert result.returncode == 1, result.stderr
    assert (place / "latest.md").is_symlink() and os.readlink(place / "latest.md") == "real.md"
    assert (place / "real.md").read_text().startswith("### aisg-check")
    assert sorted(_listing(place)) == ["latest.md", "real.md"]


def test_dash_is_standard_output(env: dict[str, str], place: Path) -> None:
    result = run_cli([*ARGS, "--format", "json", "--output", "-"], cwd=place, env=env)
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["results"][0]["id"] == "vpn.gitlab"
    assert _listing(place) == {}  # no file named "-"


def test_a_directory_as_output_leaves_no_temporary_in_its_parent(env: dict[str, str], place: Path) -> None:
    """Today: `--output DIR` left `.DIR.tmpPID` in the parent (for --output /tmp, in /)."""
    target = _dir(place)
    run_cli([*ARGS, "--output", str(target)], env=env)
    run_cli([*ARGS, "--output", str(target) + "/"], env=env)
    assert sorted(_listing(place)) == ["reports"] and _listing(target) == {}


def test_a_fifo_with_a_reader_is_still_refused(env: dict[str, str], place: Path) -> None:
    """A reader waiting on the FIFO must not receive a report, nor the FIFO be replaced."""
    fifo = _fifo(place)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    try:
        result = run_cli([*ARGS, "--output", str(fifo)], env=env, timeout=30)
    finally:
        with open(fifo, "wb"):
            pass  # let the reader finish
        out, _ = reader.communicate(timeout=10)
    assert result.returncode == 2 and "FIFO" in result.stderr
    assert out == b"" and stat.S_ISFIFO(fifo.lstat().st_mode)


# -- a device, in a private mount namespace only ------------------------------------------------------


def _namespace_problem() -> str | None:
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return "needs root on Linux (a device node in a private mount namespace)"
    if not shutil.which("unshare"):
        return "needs unshare (util-linux)"
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True)
    if probe.returncode != 0:
        return "unshare -m is not permitted here"
    return None


def test_a_device_is_refused_and_stays_a_device(env: dict[str, str], tmp_path: Path) -> None:
    """As root, the old rename replaced /dev/full with a regular file. Here: a private tmpfs
    mounted as the namespace's own /dev-like directory, with its own null and full nodes."""
    problem = _namespace_problem()
    if problem:
        pytest.skip(problem)
    devdir = tmp_path / "dev"
    devdir.mkdir()
    script = (
        'set -e; mount -t tmpfs -o mode=755 tmpfs "$D"; mknod "$D/full" c 1 7; mknod "$D/null" c 1 3; '
        'for n in full null; do "$PY" -m aisg_check vpn --only vpn.gitlab -o "$D/$n" >/dev/null 2>"$D/$n.err"'
        ' && echo "$n rc=0" || echo "$n rc=$?"; stat -c "$n %F" "$D/$n"; cat "$D/$n.err"; done; '
        'echo $(ls -A "$D")'
    )
    proc = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        env={**env, "D": str(devdir), "PY": sys.executable},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "full rc=2" in out and "null rc=2" in out, out
    assert "full character special file" in out and "null character special file" in out, out
    assert out.count("it is a device, not a regular file") == 2, out
    assert out.strip().splitlines()[-1].split() == ["full", "full.err", "null", "null.err"], out
    assert list(devdir.iterdir()) == []  # the tmpfs went with the namespace
