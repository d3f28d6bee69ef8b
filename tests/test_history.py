"""The run history (aisg_check.history, `aisg-check history`): where it lives, what a line holds,
trimming, damaged and unreadable files, concurrent runs, the table's "was pass on" marks, the
opt-outs, and no secret in it ever."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import timezone
from pathlib import Path

import pytest

from aisg_check import history
from aisg_check.history import Run, changes, entry, history_path, load, record, state_dir
from aisg_check.model import CheckResult, RunReport, Status
from tests.helpers import LOOPBACK_PROFILE, merge, own_ssh, run_cli, write_config
from tests.servers.tls import HTTPServer


def _report(at: str, **statuses: str) -> RunReport:
    """Results from `id="status"` or `id="status CODE"` (ids with _ for .)."""
    results = []
    for key, value in statuses.items():
        status, _, code = value.partition(" ")
        rid = key.replace("_", ".")
        results.append(
            CheckResult(rid, rid.split(".")[0], rid, Status(status), f"summary of {rid}", code=code or None)
        )
    return RunReport("aisg-check", "1.0.0", at, 1.0, tuple(results))


def _same(text: str) -> str:
    return text


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


# -- where ---------------------------------------------------------------------------------------


def test_state_dir_is_platformdirs_user_state_dir(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    assert state_dir(dict(os.environ), home) == Path(
        platformdirs.user_state_dir("aisg-check", appauthor=False)
    )
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "elsewhere"))
    assert state_dir(dict(os.environ), home) == Path(
        platformdirs.user_state_dir("aisg-check", appauthor=False)
    )
    assert state_dir({}, home) == home / ".local" / "state" / "aisg-check"
    assert state_dir({"XDG_STATE_HOME": "relative"}, home) == home / ".local" / "state" / "aisg-check"
    assert state_dir({}, home, "darwin") == home / "Library" / "Application Support" / "aisg-check"


# -- what a line holds ---------------------------------------------------------------------------


def test_a_line_holds_time_version_status_and_code_only(tmp_path: Path) -> None:
    path = tmp_path / "state" / "history.jsonl"
    report = _report("2026-11-30T08:00:00Z", vpn_gitlab="fail VPN_DNS_FAILED", tools_git="pass")
    previous, note = record(path, entry(report, _same), _same)
    assert previous == () and note is None
    (line,) = _lines(path)
    assert json.loads(line) == {
        "v": 1,
        "at": "2026-11-30T08:00:00Z",
        "version": "1.0.0",
        "interrupted": False,
        "results": {"vpn.gitlab": ["fail", "VPN_DNS_FAILED"], "tools.git": ["pass"]},
    }
    assert "summary" not in line
    assert oct(path.stat().st_mode & 0o777) == oct(0o600) and oct(path.parent.stat().st_mode & 0o777) == oct(
        0o700
    )
    (run,) = load(path).runs
    assert run.results == {"vpn.gitlab": ("fail", "VPN_DNS_FAILED"), "tools.git": ("pass", None)}
    assert run.counts() == {"pass": 1, "warn": 0, "fail": 1, "skip": 0, "error": 0}


def test_ids_and_the_line_pass_the_scrubber(tmp_path: Path) -> None:
    from aisg_check.secrets import Scrubber

    scrubber = Scrubber(["topsecret"])
    path = tmp_path / "history.jsonl"
    report = _report("2026-11-30T08:00:00Z", ecs_bucket_topsecret="fail ECS_BUCKET_DENIED")
    record(path, entry(report, scrubber.scrub), scrubber.scrub)
    text = path.read_text()
    assert "topsecret" not in text and "ecs.bucket.***" in text


# -- bounded -------------------------------------------------------------------------------------


def test_trimmed_to_the_last_runs_atomically(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    for n in range(40):
        record(path, entry(_report(f"2026-11-30T08:{n:02d}:00Z", tools_git="pass"), _same), _same, keep=10)
        assert len(_lines(path)) <= 20  # keep + slack (at most keep again)
    runs = load(path).runs
    assert runs[-1].at == "2026-11-30T08:39:00Z"
    assert [r.at for r in runs] == sorted(r.at for r in runs)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".history.jsonl.lock",
        "history.jsonl",
    ]  # no temporary left


def test_a_huge_file_is_read_from_its_tail_and_trimmed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history, "MAX_BYTES", 4096)
    path = tmp_path / "history.jsonl"
    line = history.encode(entry(_report("2026-11-01T08:00:00Z", tools_git="pass"), _same), _same)
    assert line is not None
    path.write_text(f"{line}\n" * 400)
    previous, note = record(path, entry(_report("2026-11-30T08:00:00Z", tools_git="fail X"), _same), _same)
    assert note is None and 0 < len(previous) < 400
    assert len(_lines(path)) <= history.KEEP and load(path).runs[-1].at == "2026-11-30T08:00:00Z"


# -- damaged, unreadable, unwritable -------------------------------------------------------------


def test_damaged_lines_are_ignored_said_once_and_removed(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    good = history.encode(entry(_report("2026-11-29T08:00:00Z", tools_git="pass"), _same), _same)
    path.write_bytes(
        b"not json\n"
        + f"{good}\n".encode()
        + b'{"v": 1, "at": "x"}\n\xff\xfe\n[1,2]\n'
        + b'{"v":1,"at":"2026'
    )
    previous, note = record(path, entry(_report("2026-11-30T08:00:00Z", tools_git="fail X"), _same), _same)
    assert note is not None and "ignored 5 damaged line(s)" in note and str(path) in note
    assert [r.at for r in previous] == ["2026-11-29T08:00:00Z"]
    assert [json.loads(x)["at"] for x in _lines(path)] == ["2026-11-29T08:00:00Z", "2026-11-30T08:00:00Z"]
    assert load(path).bad_lines == 0


def test_lines_of_a_later_format_are_kept_not_shown(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text('{"v": 2, "whatever": true}\n')
    previous, note = record(path, entry(_report("2026-11-30T08:00:00Z", tools_git="pass"), _same), _same)
    assert previous == () and note is None
    assert _lines(path)[0] == '{"v": 2, "whatever": true}' and len(load(path).runs) == 1


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_history_path_that_is_not_a_file_is_ignored(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "history.jsonl"
    if kind == "directory":
        path.mkdir()
    else:
        os.mkfifo(path)  # opening it for reading must not wait for a writer
    previous, note = record(path, entry(_report("2026-11-30T08:00:00Z", tools_git="pass"), _same), _same)
    assert previous == () and note is not None and "cannot be read" in note and "not recorded" in note


def _history_env(home: Path, **extra: str) -> dict[str, str]:
    write_config(home / ".config" / "aisg-check" / "config.yaml", LOOPBACK_PROFILE)
    return {**os.environ, "HOME": str(home), **extra}


def test_a_damaged_or_unwritable_history_never_breaks_a_run(home: Path, tmp_path: Path) -> None:
    env = _history_env(home)
    path = history_path(env, home)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage\n")
    result = run_cli(["vpn", "--only", "vpn.gitlab", "--format", "json"], env=env)
    assert result.returncode == 1 and result.json()["results"]
    assert result.stderr.count("\n") == 1 and "ignored 1 damaged line(s)" in result.stderr
    assert len(load(path).runs) == 1 and load(path).bad_lines == 0
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_cli(["vpn", "--only", "vpn.gitlab"], env={**env, "XDG_STATE_HOME": str(blocker)})
    assert result.returncode == 1 and "VPN_CONNECT_REFUSED" in result.stdout
    assert result.stderr.count("\n") == 1 and "cannot record this run" in result.stderr
    assert "Traceback" not in result.stderr


# -- concurrent runs -----------------------------------------------------------------------------

_WRITER = """
import sys
from pathlib import Path
from aisg_check import history
from aisg_check.model import CheckResult, RunReport, Status
path, worker, count, keep = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for n in range(count):
    results = tuple(
        CheckResult(f"c.{i}", "c", "t", Status.PASS, "s") for i in range(40)
    ) + (CheckResult(f"w.{worker}.{n}", "w", "t", Status.FAIL, "s", code="X"),)
    report = RunReport("aisg-check", "1", f"2026-11-30T08:00:{n % 60:02d}Z", 0.1, results)
    runs, note = history.record(path, history.entry(report, str), str, keep=keep)
    assert note is None, note
"""


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
@pytest.mark.parametrize("keep", [1000, 15])
def test_concurrent_runs_never_damage_or_lose_lines(tmp_path: Path, keep: int) -> None:
    path = tmp_path / "history.jsonl"
    workers, count = 6, 25
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(w), str(count), str(keep)])
        for w in range(workers)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * workers
    loaded = load(path)
    assert loaded.bad_lines == 0
    if keep >= workers * count:
        # Nothing trimmed: every run of every worker is there, once.
        names = sorted(i for r in loaded.runs for i in r.results if i.startswith("w."))
        assert names == sorted(f"w.{w}.{n}" for w in range(workers) for n in range(count))
    else:
        assert keep <= len(loaded.runs) <= 2 * keep
    assert sorted(p.name for p in tmp_path.iterdir()) == [".history.jsonl.lock", "history.jsonl"]


# -- what changed --------------------------------------------------------------------------------


def _runs(*reports: RunReport) -> list[Run]:
    return [entry(r, _same) for r in reports]


def test_changes_mark_status_and_code_against_the_last_run_of_each_check() -> None:
    before = _runs(
        _report("2026-11-28T08:00:00Z", a_x="pass", a_y="fail Y_OLD", a_z="pass", a_s="pass"),
        _report("2026-11-30T03:00:00Z", a_x="skip BLOCKED", a_w="warn W"),
    )
    now = _report(
        "2026-11-30T09:30:00Z",
        a_x="fail X",  # last ran (not skipped) on the 28th
        a_y="fail Y_NEW",  # the same status, another code
        a_z="pass",  # unchanged
        a_s="skip BLOCKED",  # skipped now: not marked
        a_w="pass",  # earlier today
        a_n="fail N",  # never ran before
    )
    assert changes(now, before, tz=timezone.utc) == {
        "a.x": "was pass on 2026-11-28",
        "a.y": "was Y_OLD on 2026-11-28",
        "a.w": "was warn today at 03:00",
    }


def test_the_table_marks_what_changed_since_the_last_run(home: Path) -> None:
    server = HTTPServer()
    try:
        env = _history_env(home, TZ="UTC")
        ok = ["vpn", "--only", "vpn.extra", "--set", f"vpn.extra={server.url('127.0.0.1')}"]
        first = run_cli(ok, env=env)
        assert first.returncode == 0 and "(was" not in first.stdout
        server.close()
        second = run_cli(ok, env=env)
        assert second.returncode == 1, second.stdout
        (row,) = [line for line in second.stdout.splitlines() if "vpn.extra.1" in line]
        assert "(was pass today at " in row
        third = run_cli([*ok, "--no-history"], env=env)
        assert "(was" not in third.stdout  # no history read either
    finally:
        server.close()
    listed = run_cli(["history", "--format", "json"], env=env)
    runs = listed.json()["runs"]
    assert [r["results"]["vpn.extra.1"]["status"] for r in runs] == ["pass", "fail"]
    assert listed.json()["recording"] is True and runs[1]["summary"]["fail"] == 1


# -- opting out, and `aisg-check history` --------------------------------------------------------


@pytest.mark.parametrize("how", [["--no-history"], ["--set", "history=false"], "env", "file"])
def test_opting_out_records_nothing(home: Path, how: list[str] | str) -> None:
    env = _history_env(home)
    args = ["vpn", "--only", "vpn.gitlab"]
    if how == "env":
        env["AISG_CHECK_HISTORY"] = "false"
    elif how == "file":
        write_config(
            home / ".config" / "aisg-check" / "config.yaml", merge(LOOPBACK_PROFILE, {"history": False})
        )
    else:
        args += list(how)
    assert run_cli(args, env=env).returncode == 1
    assert not history_path(env, home).exists()
    if how == "file":
        assert "recording is off" in run_cli(["history"], env=env).stdout


def test_history_command_lists_the_last_runs(home: Path) -> None:
    env = _history_env(home, TZ="UTC")
    empty = run_cli(["history"], env=env)
    assert empty.returncode == 0 and "No runs recorded yet." in empty.stdout
    for _ in range(3):
        assert run_cli(["vpn", "--only", "vpn.gitlab", "--only", "vpn.rancher"], env=env).returncode == 1
    listed = run_cli(["history", "--limit", "2"], env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert str(history_path(env, home)) in lines[0] and "3 runs recorded; recording is on" in lines[0]
    assert lines[1].split() == ["when", "version", "pass", "warn", "fail", "skip", "error", "problems"]
    assert len(lines) == 4 and all("VPN_CONNECT_REFUSED" in line for line in lines[2:])
    one = run_cli(["history", "--check", "vpn.rancher"], env=env).stdout.splitlines()
    assert one[1].split()[-1] == "vpn.rancher" and one[2].endswith("fail VPN_CONNECT_REFUSED")
    data = run_cli(["history", "-f", "json", "-n", "1"], env=env).json()
    assert (
        len(data["runs"]) == 1 and data["runs"][0]["results"]["vpn.gitlab"]["code"] == "VPN_CONNECT_REFUSED"
    )
    history_path(env, home).unlink()
    history_path(env, home).mkdir()
    broken = run_cli(["history"], env=env)
    assert broken.returncode == 2 and "cannot be read" in broken.stderr


# -- secrets ---------------------------------------------------------------------------------------

CANARIES = {
    "config_token": "glpat-CANARYhistcfg7f3a",
    "env_token": "glpat-CANARYhistenv91bd",
    "mlflow_password": "CANARY-hist-mlflow-pw",
    "aws_secret": "CANARY/hist+aws/secret0123456789",
    "url_password": "CANARY-hist-url-pw",
    "extra_password": "CANARY-hist-extra-pw",
    "ci_token": "CANARY-hist-ci-job",
    "docker_password": "CANARY-hist-docker-pw",
    "robot_secret": "CANARY-hist-robot-secret",
    "id_token": "CANARY-hist-id-token",
    "refresh_token": "CANARY-hist-refresh-token",
    "ca_key": "CANARY-hist-harbor-auth-json",
}


def _secret_forms(value: str) -> list[str]:
    encoded = base64.b64encode(value.encode()).decode().rstrip("=")
    return [value, encoded[:-2], base64.b64encode(f"user:{value}".encode()).decode()[:-4]]


def _populate_with_canaries(home: Path, tmp_path: Path) -> dict[str, str]:
    c = CANARIES
    docker_auth = base64.b64encode(f"alice:{c['docker_password']}".encode()).decode()
    (home / ".docker").mkdir()
    (home / ".docker" / "config.json").write_text(
        json.dumps({"auths": {"127.0.0.1:9": {"auth": docker_auth}}})
    )
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id = AKIACANARYHIST\naws_secret_access_key = {c['aws_secret']}\n"
    )
    (home / ".kube").mkdir()
    (home / ".kube" / "config").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster:\n"
        "    server: https://127.0.0.1:9\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
        "users:\n- name: u\n  user:\n    auth-provider:\n      name: oidc\n      config:\n"
        "        client-id: runai-cli\n        idp-issuer-url: http://127.0.0.1:9/auth/realms/x\n"
        f"        id-token: {c['id_token']}\n        refresh-token: {c['refresh_token']}\n"
    )
    robot = tmp_path / "robot.json"
    robot.write_text(json.dumps({"name": "robot$team+ci", "secret": c["robot_secret"]}))
    ci_auth = tmp_path / "ci-docker.json"
    ci_auth.write_text(
        json.dumps(
            {
                "auths": {
                    "127.0.0.1:9": {
                        "auth": base64.b64encode(f"robot$team+ci:{c['ca_key']}".encode()).decode()
                    }
                }
            }
        )
    )
    profile = merge(
        LOOPBACK_PROFILE,
        {
            "gitlab": {"token": c["config_token"]},
            "mlflow": {"tracking_uri": f"http://alice:{c['url_password']}@127.0.0.1:9", "experiment": "e"},
            "vpn": {"extra": [f"https://bob:{c['extra_password']}@127.0.0.1:9/"]},
            "harbor": {"robot_file": str(robot), "projects": ["team"], "auth_file": str(ci_auth)},
            "ecs": {"buckets": ["data"]},
            "runai": {"project": "team"},
        },
    )
    write_config(home / ".config" / "aisg-check" / "config.yaml", profile)
    return {
        **os.environ,
        "HOME": str(home),
        "GITLAB_TOKEN": c["env_token"],
        "MLFLOW_TRACKING_USERNAME": "alice",
        "MLFLOW_TRACKING_PASSWORD": c["mlflow_password"],
        "AWS_SECRET_ACCESS_KEY": c["aws_secret"],
        "CI_JOB_TOKEN": c["ci_token"],
    }


def test_no_secret_from_any_input_lands_in_the_history(home: Path, tmp_path: Path) -> None:
    env = _populate_with_canaries(home, tmp_path)
    for args in (["all", "--skip", "tools"], ["all", "--skip", "tools", "--verbose"], ["harbor"]):
        result = run_cli([*args, "--format", "json", *own_ssh(home)], env=env)
        assert result.returncode in (0, 1) and result.json()["results"], result.stderr
    text = history_path(env, home).read_text()
    assert len(load(history_path(env, home)).runs) == 3
    listed = run_cli(["history", "--format", "json"], env=env).stdout + run_cli(["history"], env=env).stdout
    for name, value in CANARIES.items():
        for form in _secret_forms(value):
            assert form not in text, f"canary {name} in the history file"
            assert form not in listed, f"canary {name} in `aisg-check history`"


def test_a_bug_in_the_history_costs_one_line_not_the_report(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from types import SimpleNamespace

    from aisg_check import invocation
    from aisg_check.secrets import Scrubber
    from tests.helpers import make_context

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret-ish message")

    monkeypatch.setattr(history, "record", broken)
    plan = SimpleNamespace(ctx=make_context(env=dict(os.environ), home=home), scrubber=Scrubber())
    report = _report("2026-11-30T08:00:00Z", tools_git="pass")
    marks = invocation._record_history(plan, SimpleNamespace(no_history=False), report)  # type: ignore[arg-type]
    assert marks == {}
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "history: not recorded: RuntimeError" in err
    assert "secret-ish" not in err


def test_a_history_held_by_another_process_is_given_up_on_not_waited_for(tmp_path: Path) -> None:
    import fcntl
    import time

    from aisg_check import history

    path = tmp_path / "history.jsonl"
    lock = path.with_name(f".{path.name}.lock")
    holder = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        started = time.monotonic()
        with pytest.raises(OSError, match="locked by another"), history._locked(path, exclusive=True):
            pass
        assert time.monotonic() - started < history.LOCK_WAIT_S + 1
    finally:
        os.close(holder)
    with history._locked(path, exclusive=True):  # free again: taken at once
        pass
