"""`harbor.daemon`: whether a Docker daemon answers (a warning only: pushing needs one, the
login does not)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from aisg_check.check import Recorder
from aisg_check.checks.harbor import DAEMON
from aisg_check.checks.harbor.diagnoses import DOCKER_DAEMON_UNAVAILABLE
from aisg_check.context import Context
from aisg_check.net.probe import Budget, Outcome, Target, connect, proxy_for
from aisg_check.platform.dockerconfig import scrubbed

# The SDK's defaults when DOCKER_HOST is unset (docker.constants).
DEFAULT_UNIX_SOCKET = "/var/run/docker.sock"
# Docker Desktop's own sockets: macOS links /var/run/docker.sock to the first only when
# "Allow the default Docker socket to be used" is on; Linux never does for the second.
DESKTOP_SOCKETS = {
    "darwin": Path(".docker", "run", "docker.sock"),
    "linux": Path(".docker", "desktop", "docker.sock"),
}


def _desktop_hint(ctx: Context) -> str:
    relative = DESKTOP_SOCKETS.get(ctx.platform)
    desktop = ctx.home / relative if relative else None
    try:
        if desktop is None or not desktop.exists():
            return ""
    except OSError:
        return ""
    setting = (
        " or turn on 'Allow the default Docker socket to be used' (Settings, Advanced)"
        if ctx.platform == "darwin"
        else ""
    )
    return f"; Docker Desktop listens at {desktop}: set DOCKER_HOST=unix://{desktop}{setting}"


def _daemon_unreachable(ctx: Context, host: str, timeout: float) -> str | None:
    """Reach, before the SDK: why nothing can answer at `host`, or None to let the SDK ping.

    Most laptops checked here have no daemon running; telling that from a missing socket or a
    refused port spares importing the SDK (requests, urllib3) for an answer known already.
    Only what the SDK would certainly fail on too is decided here; a path we may not inspect,
    a proxied TCP daemon, ssh://, npipe:// and anything unusual go to the SDK.
    """
    scheme, _, rest = host.strip().partition("://")  # the SDK strips DOCKER_HOST too
    if scheme in ("unix", "http+unix"):
        path = Path("/" + rest.lstrip("/"))
        try:
            if path.exists():
                return None
        except OSError:  # a directory we may not search: the SDK's error will say more
            return None
        hint = _desktop_hint(ctx) if str(path) == DEFAULT_UNIX_SOCKET else ""
        return f"no socket at {path}{hint}"
    if scheme in ("tcp", "http", "https"):
        try:
            _, name, port, _ = Target("docker", f"tcp://{rest}").parts
        except ValueError:  # not a URL the SDK accepts either; let it word the error
            return None
        if not name or not port:
            return None  # the SDK has its own defaults and its own error for these
        # requests (under the SDK) sends an http:// daemon through HTTP_PROXY; we would not.
        if proxy_for(ctx, "https" if scheme == "https" else "http", name):
            return None
        reached = connect(name, port, Budget(timeout), {})
        if isinstance(reached, Outcome):
            return reached.summary
        reached.close()
    return None


def _sdk_api_version() -> str:
    """The API version the SDK's ping names (docker.constants), read without importing docker."""
    import importlib.util
    import re

    spec = importlib.util.find_spec("docker")  # a top-level package: located, not executed
    if spec is not None and spec.submodule_search_locations:
        constants = Path(next(iter(spec.submodule_search_locations))) / "constants.py"
        with contextlib.suppress(OSError):
            found = re.search(r"DEFAULT_DOCKER_API_VERSION\s*=\s*['\"]([\d.]+)['\"]", constants.read_text())
            if found:
                return found.group(1)
    return "1.44"


def _ping_directly(ctx: Context, host: str, timeout: float) -> tuple[bool, str | None] | None:
    """`GET /_ping`, as the SDK's `ping()` sends it, for a local socket or a plain tcp:// daemon:
    (answered OK, why not). None leaves it to the SDK: TLS (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH),
    ssh://, npipe://, a proxied daemon. The SDK brings requests, urllib3 and its own models
    (~0.5 s of CPU); in `all` that CPU is taken from every other check."""
    if ctx.env.get("DOCKER_TLS_VERIFY") or ctx.env.get("DOCKER_CERT_PATH"):
        return None
    scheme, _, rest = host.strip().partition("://")
    import httpx

    path = f"/v{_sdk_api_version()}/_ping"
    if scheme in ("unix", "http+unix"):
        url, transport = f"http://docker{path}", httpx.HTTPTransport(uds="/" + rest.lstrip("/"))
    elif scheme in ("tcp", "http") and rest and not proxy_for(ctx, "http", rest.split(":")[0]):
        url, transport = f"http://{rest.rstrip('/')}{path}", httpx.HTTPTransport()
    else:
        return None
    try:
        with ctx.http(timeout=timeout, transport=transport) as client:
            response = client.get(url)
    except httpx.InvalidURL:
        return None  # not a URL we can use: the SDK words its own error
    except httpx.HTTPError as exc:
        return False, scrubbed(ctx, f"{type(exc).__name__}: {exc}")
    return response.status_code == 200 and response.text.strip() == "OK", None


def run(ctx: Context, rec: Recorder) -> None:
    """Ping the daemon the docker CLI would use (DOCKER_HOST, else the default socket)."""
    configured = ctx.env.get("DOCKER_HOST")
    host = configured or "the default socket"
    details = {"docker_host": host}
    if configured or ctx.platform != "win32":  # Windows' default is a named pipe: the SDK's
        default = f"unix://{DEFAULT_UNIX_SOCKET}"
        why = _daemon_unreachable(ctx, configured or default, rec.step_timeout(ctx.timeout))
        if why is not None:
            rec.warn(
                DAEMON,
                DOCKER_DAEMON_UNAVAILABLE,
                f"No Docker daemon answers: {why}",
                details=details,
            )
            return
    timeout = rec.step_timeout(ctx.timeout)  # what the reach step left
    pinged = _ping_directly(ctx, configured or f"unix://{DEFAULT_UNIX_SOCKET}", timeout)
    if pinged is not None:
        answered, problem = pinged
        if problem is None and answered:
            rec.ok(DAEMON, f"A Docker daemon answers at {host}", details=details)
        else:
            why = problem or "it did not answer its ping"
            rec.warn(
                DAEMON,
                DOCKER_DAEMON_UNAVAILABLE,
                f"No Docker daemon answers at {host}: {why}",
                details=details,
            )
        return
    import docker
    from docker.constants import DEFAULT_DOCKER_API_VERSION
    from docker.utils import kwargs_from_env

    try:
        # A fixed API version: "auto" would ask the daemon for its version before the ping.
        client = docker.APIClient(
            version=DEFAULT_DOCKER_API_VERSION, timeout=timeout, **kwargs_from_env(environment=dict(ctx.env))
        )
        try:
            answered = client.ping()
        finally:
            client.close()
    except Exception as exc:
        message = scrubbed(ctx, f"{type(exc).__name__}: {exc}")
        rec.warn(
            DAEMON,
            DOCKER_DAEMON_UNAVAILABLE,
            f"No Docker daemon answers at {host}: {message}",
            details=details,
        )
        return
    if not answered:
        rec.warn(
            DAEMON,
            DOCKER_DAEMON_UNAVAILABLE,
            f"The Docker daemon at {host} did not answer its ping",
            details=details,
        )
        return
    rec.ok(DAEMON, f"A Docker daemon answers at {host}", details=details)
