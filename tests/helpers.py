"""Helpers shared by the tests: run the CLI, build a context, write config files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aisg_check import config as config_module
from aisg_check.context import Context
from aisg_check.model import CheckResult, Status
from aisg_check.secrets import Scrubber

# The embedded profile points at real hostnames; tests that do not mean to test those
# point every endpoint at a closed port on loopback instead.
LOOPBACK_PROFILE: dict[str, Any] = {
    "timeout": 2,
    "gitlab": {"host": "127.0.0.1", "ssh_port": 9, "url": "http://127.0.0.1:9"},
    "rancher": {"url": "http://127.0.0.1:9"},
    "runai": {"url": "http://127.0.0.1:9", "cluster_url": "https://127.0.0.1:9"},
    "harbor": {"registry": "127.0.0.1:9"},
    "ecs": {"endpoint_url": "http://127.0.0.1:9"},
    "mlflow": {"tracking_uri": None},
}


def write_config(path: Path, data: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(data), sort_keys=False))
    return path


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in base.items()}
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def make_context(
    settings: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    **kwargs: Any,
) -> Context:
    """A real Context from the loopback profile plus `settings`, as the CLI would build it."""
    env = dict(env if env is not None else os.environ)
    data = merge(LOOPBACK_PROFILE, settings or {})
    overrides = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            for name, inner in value.items():
                overrides.append((f"{key}.{name}", _as_flag(inner), "test"))
        else:
            overrides.append((key, _as_flag(value), "test"))
    loaded = config_module.load(
        env={k: v for k, v in env.items() if k != "AISG_CHECK_CONFIG"}, config_file=None, overrides=overrides
    )
    scrubber = Scrubber(s.reveal() for s in loaded.secrets())
    return Context(
        settings=loaded.settings,
        env=env,
        home=home or Path(env.get("HOME", "/nonexistent")),
        scrubber=scrubber,
        **kwargs,
    )


def _as_flag(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if value is None:
        return ""
    return value


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
) -> CliResult:
    """Run the real entry point in a subprocess: real exit codes, real stdout/stderr split."""
    proc = subprocess.run(
        [sys.executable, "-m", "aisg_check", *args],
        env=dict(env if env is not None else os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


# -- running a component and asserting on its results (shared by every component's tests) ---------


def own_ssh(home: Path) -> list[str]:
    """`--set gitlab.ssh_config=…` naming a config in the test's HOME (made, with an IdentityFile
    there, when there is none): ssh takes `~` from the password database, not $HOME, so a CLI run
    of `all` would otherwise have `ssh -G` read the machine's real ~/.ssh and its keys."""
    config = home / ".ssh" / "config"
    if not config.exists():
        config.parent.mkdir(mode=0o700, exist_ok=True)
        config.write_text(f"Host *\n    IdentityFile {home / '.ssh' / 'id_test'}\n")
    return ["--set", f"gitlab.ssh_config={config}"]


PREFLIGHT_SCRIPT = Path(__file__).resolve().parent.parent / "ci" / "preflight.sh"


def run_preflight(
    cwd: Path, env: Mapping[str, str], *, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`sh ci/preflight.sh`, the CI job's script, in `cwd` with exactly `env`."""
    return subprocess.run(
        ["sh", str(PREFLIGHT_SCRIPT)],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def run_component(
    ctx: Context,
    components: str | Sequence[str] | None,
    *,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
) -> dict[str, CheckResult]:
    """Run what `aisg-check <component> --only … --skip …` would, in process; results by id.

    The component's VPN probes run too unless skipped (`skip=["vpn.*"]`), as on the command line.
    """
    from aisg_check import registry
    from aisg_check.runner import run_checks

    names = [components] if isinstance(components, str) else components
    report = run_checks(ctx, registry.select(names, only=only, skip=skip))
    return {r.id: r for r in report.results}


def assert_result(
    results: Mapping[str, CheckResult],
    result_id: str,
    status: Status | str,
    code: str | None = None,
    *,
    hint_has: Sequence[str] = (),
    summary_has: Sequence[str] = (),
) -> CheckResult:
    """One result's status and code, and the words of its hint and summary a user acts on."""
    assert result_id in results, f"no result {result_id}; got {sorted(results)}"
    result = results[result_id]
    wanted = Status(status)
    assert result.status is wanted, f"{result_id}: {result.status.value} {result.code} {result.summary}"
    if code is not None:
        assert result.code == code, f"{result_id}: {result.code} {result.summary}"
    for words in hint_has:
        assert words in (result.hint or ""), f"{result_id} hint lacks {words!r}: {result.hint}"
    for words in summary_has:
        assert words in result.summary, f"{result_id} summary lacks {words!r}: {result.summary}"
    return result


def run_cli_stderr_on_a_terminal(
    args: Sequence[str], *, env: Mapping[str, str], timeout: float = 60
) -> tuple[bytes, str]:
    """Run the CLI with stderr on a pseudo-terminal (stdout piped): (stdout, what the terminal showed)."""
    import pty

    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aisg_check", *args],
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=follower,
            stdin=subprocess.DEVNULL,
        )
        os.close(follower)
        out, _ = proc.communicate(timeout=timeout)
        chunks = []
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # EIO once the child has closed its end
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(leader)
    return out, b"".join(chunks).decode(errors="replace")
