"""What a check may touch: the settings and every side effect, injected.

Checks never read `os.environ`, call `subprocess` or open sockets through a global; they go
through the context, so tests can point them at real local servers or at fakes without
patching import paths.
"""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aisg_check import cleanup
from aisg_check.config import Settings
from aisg_check.net import trust
from aisg_check.net.proxies import routing_transport
from aisg_check.secrets import Scrubber

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    not_found: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.not_found


CommandRunner = Callable[..., CommandResult]


def run_command(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    cwd: str | None = None,
) -> CommandResult:
    """Run a program with a hard timeout; never prompts (stdin is empty or `input`).

    The child gets its own process group so that a timeout kills what it started too
    (ssh's ProxyCommand, a credential helper's own children), and is registered with the
    run's cleanup, which ends it with the run (Ctrl-C, SIGTERM) instead of at its timeout.
    """
    args = tuple(str(a) for a in argv)
    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=(os.name != "nt"),
        )
    except FileNotFoundError:
        return CommandResult(args, None, "", f"{args[0]}: not found", not_found=True)
    except PermissionError as exc:
        return CommandResult(args, None, "", f"{args[0]}: {exc.strerror}", not_found=True)
    except OSError as exc:  # e.g. "Exec format error": a binary for another CPU or OS
        return CommandResult(args, None, "", f"{args[0]}: cannot run: {exc.strerror or exc}")
    cleanup.track(proc)
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_tree(proc)
        out, err = proc.communicate()
        return CommandResult(args, None, out or "", err or "", timed_out=True)
    finally:
        cleanup.untrack(proc)
    return CommandResult(args, proc.returncode, out, err)


def _kill_tree(proc: subprocess.Popen[str]) -> None:
    if os.name != "nt":
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            return
        except (ProcessLookupError, PermissionError):
            pass
    proc.kill()


@dataclass(frozen=True)
class Context:
    settings: Settings
    env: Mapping[str, str]
    home: Path
    scrubber: Scrubber = field(default_factory=Scrubber)
    verbose: bool = False
    clock: Callable[[], float] = time.monotonic
    # Wall-clock time, for what has a date (token expiry, clock skew, a run's start): the only
    # way a check reads it, so tests can move it.
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    run: CommandRunner = run_command
    which: Callable[[str], str | None] = shutil.which
    platform: str = sys.platform
    # Builds the client context with the system store loaded; cli passes a prefetched one.
    default_ssl_context: Callable[[], ssl.SSLContext] = trust.system_context
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    # Where a pod's service account is mounted (Kubernetes' fixed path); tests point it elsewhere.
    service_account_dir: Path = Path("/var/run/secrets/kubernetes.io/serviceaccount")

    @property
    def in_cluster(self) -> bool:
        """Running in a pod (fleet mode, or a workspace on the cluster): `fleet.mode: cluster`, or
        `auto` with the service account's token mounted and KUBERNETES_SERVICE_HOST set, as the
        kubernetes client's in-cluster configuration requires."""
        mode = self.settings.fleet.mode
        if mode != "auto":
            return mode == "cluster"
        return (
            bool(self.env.get("KUBERNETES_SERVICE_HOST")) and (self.service_account_dir / "token").is_file()
        )

    @property
    def timeout(self) -> float:
        return self.settings.timeout

    def ca_files(self) -> list[str]:
        """PEM files trusted on top of the system store, in the order they are added."""
        candidates = []
        if self.settings.ca_bundle:
            candidates.append(str(self.path(self.settings.ca_bundle)))
        # requests (and so the MLflow client) honours REQUESTS_CA_BUNDLE; trust what it trusts.
        # A stale variable pointing nowhere is the user's other tools' problem, not a crash here.
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
            if self.env.get(name) and os.path.isfile(self.env[name]):
                candidates.append(self.env[name])
        # The same bundle is often named by all three variables; loading it costs ~20-60 ms.
        files: list[str] = []
        seen: set[str] = set()
        for path in candidates:
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                files.append(path)
        return files

    def ssl_context(self, *, verify: bool = True) -> ssl.SSLContext:
        """A TLS client context: system store (and SSL_CERT_FILE), certifi, and our CA files."""
        key = f"ssl:{verify}"
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                return cached  # type: ignore[no-any-return]
            context = self.default_ssl_context() if verify else trust.unverified_context()
            if verify:
                if not trust.has_system_roots(context):
                    # No system store (python.org builds on macOS): fall back on certifi, httpx's own.
                    try:
                        import certifi

                        context.load_verify_locations(cafile=certifi.where())
                    except (ImportError, OSError):
                        pass
                # The system store covers its default file already (SSL_CERT_FILE of this process).
                loaded = os.path.realpath(ssl.get_default_verify_paths().cafile or "")
                for path in self.ca_files():
                    if os.path.realpath(path) != loaded:
                        try:
                            context.load_verify_locations(cafile=path)
                        except ssl.SSLError:
                            # Not PEM: ca_bundle is validated at start-up (exit 2); a stray
                            # REQUESTS_CA_BUNDLE must not take every HTTPS check down.
                            continue
            self._cache[key] = context
            return context

    def http(self, *, verify: bool = True, timeout: float | None = None, **kwargs: Any) -> httpx.Client:
        """An httpx client with our CA handling, proxies from the environment and a timeout."""
        import httpx

        from aisg_check import __version__

        ssl_context = self.ssl_context(verify=verify)
        if "proxy" not in kwargs and "transport" not in kwargs:
            kwargs["transport"] = routing_transport(self.env, verify=ssl_context)
        # trust_env=False: proxies come from our env (above), CAs from ssl_context; httpx would
        # otherwise read the process environment behind the context's back.
        return httpx.Client(
            verify=ssl_context,
            timeout=httpx.Timeout(timeout if timeout is not None else self.timeout),
            trust_env=False,
            follow_redirects=False,
            headers={"User-Agent": f"aisg-check/{__version__}"},
            **kwargs,
        )

    def run_once(self, argv: Sequence[str], *, timeout: float) -> CommandResult:
        """`run` with the context's environment, once per run: two checks asking the same
        program the same thing (`runai version` for tools and for runai) share one answer.
        A second caller waits for the first, so the program never runs twice at once."""
        key = "run:" + "\0".join(argv)
        with self._lock:
            slot = self._cache.setdefault(key, {"lock": threading.Lock()})
        with slot["lock"]:
            if "result" not in slot:
                slot["result"] = self.run(argv, timeout=timeout, env=dict(self.env))
            return slot["result"]  # type: ignore[no-any-return]

    def path(self, value: str) -> Path:
        """Expand `~` against the context's home, not the process's."""
        if value == "~" or value.startswith(("~/", "~\\")):
            return self.home / value[2:]
        return Path(value)
