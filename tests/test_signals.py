"""Every exit path × leftovers: Ctrl-C, SIGTERM and SIGHUP sent for real to a CLI whose checks
are slow. Each prints what finished, exits 128 + the signal, ends the children the checks
started (`ssh`, `kubectl`, credential helpers go through context.run_command) at once rather
than at their own timeout, and leaves nothing in $TMPDIR: neither its own files nor what a check
or a library made with `tempfile` (cleanup.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import LOOPBACK_PROFILE, write_config

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals and process groups")

SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"]
# The tools check runs each tool's --version (all hang here); vpn.gitlab is refused at once.
REAL_ARGS = ("all", "--only", "tools", "--only", "vpn.gitlab", "--timeout", "60", "--format", "json")
# A program that records its pid and then hangs, as ssh against a silent server or a credential
# helper waiting for a prompt would.
HANG = '#!/bin/sh\necho $$ >> "$AISG_TEST_PIDS"\nexec sleep 300\n'


@pytest.fixture()
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    write_config(home / ".config" / "aisg-check" / "config.yaml", LOOPBACK_PROFILE)
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    return {**os.environ, "TMPDIR": str(tmpdir), "AISG_TEST_PIDS": str(tmp_path / "pids")}


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:  # no /proc (macOS): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state not in ("Z", "X")


def _pids(env: dict[str, str]) -> list[int]:
    path = Path(env["AISG_TEST_PIDS"])
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _wait_until(condition: Callable[[], bool], timeout: float, proc: subprocess.Popen[str]) -> None:
    stop = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the CLI ended early ({proc.returncode}): {err[-2000:]} {out[-500:]}")
        if time.monotonic() > stop:
            proc.kill()
            pytest.fail("the slow checks did not start in time")
        time.sleep(0.05)


def _signal_and_collect(proc: subprocess.Popen[str], name: str) -> tuple[str, str, float]:
    sent = time.monotonic()
    proc.send_signal(getattr(signal, name))
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"no exit 20 s after {name}: {err[-2000:]}")
    return out, err, time.monotonic() - sent


@pytest.mark.parametrize("name", SIGNALS)
def test_a_signal_during_real_checks_reports_ends_children_and_leaves_no_temporary(
    env: dict[str, str], tmp_path: Path, name: str
) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    for tool in ("git", "ssh", "kubectl", "runai", "aws", "docker", "conda"):
        (fake_bin / tool).write_text(HANG)
        (fake_bin / tool).chmod(0o755)
    run_env = {**env, "PATH": f"{fake_bin}{os.pathsep}{env['PATH']}"}
    tmpdir = Path(env["TMPDIR"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "aisg_check", *REAL_ARGS],
        env=run_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_until(lambda: len(_pids(env)) >= 3, 30, proc)
    # The refused probes finish in milliseconds, but on a loaded machine their threads may not
    # have been scheduled yet when the hanging tools are up: give them a moment.
    time.sleep(1.0)
    assert any(p.name.startswith("aisg-check-") for p in tmpdir.iterdir())  # the run's own, while it runs
    out, err, took = _signal_and_collect(proc, name)

    assert proc.returncode == 128 + getattr(signal, name), err
    assert took < 5, f"{took:.1f} s: the children were left to their 300 s"
    assert "interrupted" in err and "Traceback" not in err
    report = json.loads(out)
    assert report["interrupted"] is True
    by_id = {r["id"]: r for r in report["results"]}
    assert by_id["vpn.gitlab"]["code"] == "VPN_CONNECT_REFUSED"  # finished before the signal
    assert by_id["tools.git"]["code"] == "INTERRUPTED"
    time.sleep(0.2)
    assert [p for p in _pids(env) if _alive(p)] == []
    assert list(tmpdir.iterdir()) == []


_SCRIPTED = """
import os, sys, tempfile
from pathlib import Path
from aisg_check import cleanup, registry
from aisg_check.check import Check, Step

def quick(ctx, rec):
    rec.ok("quick", "finished before the signal")

def slow(ctx, rec):
    # What checks and client libraries do: a key file from mkstemp, a TemporaryDirectory whose
    # `with` is never left, and the kit's private directory, then a child that hangs.
    fd, key = tempfile.mkstemp(prefix="key-", suffix=".pem")
    os.write(fd, b"-----BEGIN PRIVATE KEY-----")
    os.close(fd)
    held = tempfile.TemporaryDirectory(prefix="library-")
    Path(held.name, "ca.pem").write_text("ca")
    with cleanup.private_dir() as folder:
        (folder / "cert.pem").write_text("cert")
        ctx.run(["sh", "-c", 'echo $$ >> "$AISG_TEST_PIDS"; exec sleep 300'], timeout=300, env=dict(ctx.env))
    rec.ok("slow", "too late")

checks = [
    Check("quick", "vpn", "quick", (Step("quick", "quick"),), quick, ()),
    Check("slow", "tools", "slow", (Step("slow", "slow"),), slow, (), budget=5.0),
]
registry.select = lambda *args, **kwargs: checks
sys.argv = ["aisg-check", "all", "--format", "json", "--timeout", "60", "--output", os.environ["REPORT"]]
from aisg_check.cli import main
main()
"""


@pytest.mark.parametrize("name", SIGNALS)
def test_temporaries_made_by_checks_and_libraries_go_with_the_run(
    env: dict[str, str], tmp_path: Path, name: str
) -> None:
    tmpdir = Path(env["TMPDIR"])
    report_path = tmp_path / "report.json"
    proc = subprocess.Popen(
        [sys.executable, "-c", _SCRIPTED],
        env={**env, "REPORT": str(report_path)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_until(lambda: bool(_pids(env)), 30, proc)
    made = sorted(p.name for p in tmpdir.rglob("*"))
    assert any(n.startswith("key-") for n in made) and "ca.pem" in made and "cert.pem" in made, made
    out, err, took = _signal_and_collect(proc, name)

    assert proc.returncode == 128 + getattr(signal, name), err
    assert took < 5
    results = {r["id"]: r for r in json.loads(out)["results"]}
    assert results["quick"]["status"] == "pass" and results["slow"]["code"] == "INTERRUPTED"
    assert json.loads(report_path.read_text()) == json.loads(out)  # the --output file too
    time.sleep(0.2)
    assert [p for p in _pids(env) if _alive(p)] == []
    assert list(tmpdir.iterdir()) == []


def test_a_normal_end_and_a_usage_error_leave_nothing_either(env: dict[str, str], tmp_path: Path) -> None:
    tmpdir = Path(env["TMPDIR"])
    ok = subprocess.run(
        [sys.executable, "-c", _SCRIPTED.replace("exec sleep 300", "exit 0")],
        env={**env, "REPORT": str(tmp_path / "r.json")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "aisg_check", "vpn", "--timeout", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert list(tmpdir.iterdir()) == []


def test_a_signal_the_parent_ignores_stays_ignored(env: dict[str, str], tmp_path: Path) -> None:
    """`nohup aisg-check all`: SIGHUP is ignored as the user asked; SIGTERM still ends the run."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "git").write_text(HANG)
    (fake_bin / "git").chmod(0o755)
    proc = subprocess.Popen(
        [sys.executable, "-m", "aisg_check", *REAL_ARGS],
        env={**env, "PATH": f"{fake_bin}{os.pathsep}{env['PATH']}"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),  # what nohup does
    )
    _wait_until(lambda: bool(_pids(env)), 30, proc)
    proc.send_signal(signal.SIGHUP)
    time.sleep(1.0)
    assert proc.poll() is None, "SIGHUP ended a run started under nohup"
    out, err, _took = _signal_and_collect(proc, "SIGTERM")
    assert proc.returncode == 143 and json.loads(out)["interrupted"] is True, err
