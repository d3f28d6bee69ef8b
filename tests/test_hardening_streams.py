"""Output streams as ordinary I/O conditions: standard output closed, full, or read by a program
that has exited is one clear line on stderr and exit code 2, and the --output file is still
written; NO_COLOR holds on a terminal; an unreadable CA bundle is called unreadable."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.helpers import LOOPBACK_PROFILE, run_cli_stderr_on_a_terminal, write_config

ARGS = ["vpn", "--only", "vpn.gitlab", "--format", "json"]
SGR = re.compile(r"\x1b\[[0-9;]*m")  # a colour or another text attribute


@pytest.fixture()
def env(home: Path) -> dict[str, str]:
    write_config(home / ".config" / "aisg-check" / "config.yaml", LOOPBACK_PROFILE)
    return dict(os.environ)


def _cli(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "aisg_check", *args]


def _one_clear_line(stderr: str, words: str) -> None:
    assert words in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr


@pytest.mark.skipif(os.name == "nt", reason="closing fd 1 of a child from a POSIX shell")
def test_stdout_closed_is_one_line_exit_2_and_the_file_is_written(
    env: dict[str, str], tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    proc = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", *_cli([*ARGS, "--output", str(report)])],
        env=env,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    _one_clear_line(proc.stderr, "standard output is closed")
    assert json.loads(report.read_text())["results"][0]["code"] == "VPN_CONNECT_REFUSED"


@pytest.mark.parametrize("args", [["--output", "REPORT"], []], ids=["with-output", "without"])
def test_a_reader_that_has_exited_is_one_line_exit_2_and_the_file_is_written(
    env: dict[str, str], tmp_path: Path, args: list[str]
) -> None:
    """`aisg-check all | head -1` once head has gone: the pipe's read end is closed."""
    report = tmp_path / "report.json"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            _cli([*ARGS, *[str(report) if a == "REPORT" else a for a in args]]),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 2
    _one_clear_line(proc.stderr, "standard output was closed by the program reading it")
    if args:
        assert json.loads(report.read_text())["results"][0]["id"] == "vpn.gitlab"


@pytest.mark.skipif(not hasattr(os, "setpgid"), reason="RLIMIT_FSIZE is POSIX")
@pytest.mark.parametrize("unbuffered", ["1", ""], ids=["PYTHONUNBUFFERED", "buffered"])
def test_stdout_that_cannot_take_the_report_is_one_line_exit_2(
    env: dict[str, str], tmp_path: Path, unbuffered: str
) -> None:
    """A file size limit stands in for a full disk: the write fails part-way (EFBIG). With
    PYTHONUNBUFFERED the text layer used to drop what a short write left, silently."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))

    with open(tmp_path / "stdout.txt", "wb") as out:
        proc = subprocess.run(
            _cli(["vpn", "--only", "vpn.gitlab"]),
            env={**env, "PYTHONUNBUFFERED": unbuffered},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            preexec_fn=limit,  # only sets a resource limit
        )
    assert proc.returncode == 2, proc.stderr
    _one_clear_line(proc.stderr, "cannot write the report to standard output: File too large")


def _namespace_problem() -> str | None:
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("unshare"):
        return "needs root, Linux and unshare (a full tmpfs in a private mount namespace)"
    if subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True).returncode:
        return "unshare -m is not permitted here"
    return None


def test_stdout_on_a_full_device_still_writes_the_output_file(env: dict[str, str], tmp_path: Path) -> None:
    """A real ENOSPC, on a tiny tmpfs filled up inside a private mount namespace."""
    problem = _namespace_problem()
    if problem:
        pytest.skip(problem)
    full, report = tmp_path / "full", tmp_path / "report.xml"
    full.mkdir()
    script = (
        'mount -t tmpfs -o size=16k tmpfs "$D" && (cat /dev/zero > "$D/filler" 2>/dev/null; true) && '
        '"$PY" -m aisg_check vpn --only vpn.gitlab --output "$R" > "$D/stdout.txt"; echo "rc=$?"'
    )
    proc = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
        env={**env, "D": str(full), "R": str(report), "PY": sys.executable},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "rc=2" in proc.stdout, proc
    _one_clear_line(proc.stderr, "No space left on device")
    assert report.read_text().startswith("<?xml")


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal")
def test_no_color_on_a_terminal_sends_no_colour_codes_to_stderr(env: dict[str, str]) -> None:
    _out, shown = run_cli_stderr_on_a_terminal(
        ["vpn", "--only", "vpn.gitlab"],
        env={**env, "TERM": "xterm-256color", "NO_COLOR": "1", "FORCE_COLOR": ""},
    )
    assert "checking" in shown  # the progress line was there
    assert not SGR.findall(shown), SGR.findall(shown)[:5]


def test_an_unreadable_ca_bundle_is_reported_as_unreadable(tmp_path: Path) -> None:
    """Root reads a mode-000 file, so as root the CLI runs as `nobody` (setpriv), in a directory
    nobody may enter (tmp_path's parents are private to root)."""
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if as_root and not shutil.which("setpriv"):
        pytest.skip("as root, needs setpriv to run the CLI as another user")
    if os.name == "nt":
        pytest.skip("POSIX file modes")
    folder = Path(tempfile.mkdtemp(prefix="aisg-check-test-"))
    try:
        folder.chmod(0o755)
        home = folder / "home"
        write_config(home / ".config" / "aisg-check" / "config.yaml", LOOPBACK_PROFILE)
        for path in (home, home / ".config", home / ".config" / "aisg-check"):
            path.chmod(0o755)
        (home / ".config" / "aisg-check" / "config.yaml").chmod(0o644)
        ca = folder / "ca.pem"
        ca.write_text("-----BEGIN CERTIFICATE-----\n")
        ca.chmod(0o000)
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if as_root else []
        proc = subprocess.run(
            [*prefix, *_cli(["vpn", "--ca-bundle", str(ca)])],
            env={**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=folder,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert proc.returncode == 2, proc
    _one_clear_line(proc.stderr, f"{ca} cannot be read (Permission denied)")
    assert "no PEM certificate" not in proc.stderr
