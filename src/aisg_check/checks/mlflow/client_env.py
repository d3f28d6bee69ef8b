"""The MLflow client as the artifact layer uses it: imported in the background, and run in the
environment the user's training code would give it, with the check's own limits on top.

The client (and boto3 under it) reads its settings from os.environ at call time and has no
other way to take them, so for each client call os.environ is made to match the context's
environment (a no-op in the CLI, where both are the process's own), plus:
- the credentials the settings layer resolved (also those from the tracking URI);
- one attempt within the step timeout instead of minutes of retries;
- trust in the same CAs as every other check (`ctx.ssl_context`): requests and boto3 would
  otherwise use certifi's roots alone, and a private CA in `ca_bundle` or the system store
  would pass the HTTP layers and then fail the artifact with CERTIFICATE_VERIFY_FAILED;
- MLflow's documented switch that keeps its "View run at" lines off our stdout.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import ssl
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aisg_check import cleanup as temporaries
from aisg_check.check import Recorder
from aisg_check.checks.mlflow.settings import Target
from aisg_check.context import Context
from aisg_check.net import trust
from aisg_check.prefetch import prefetched

if TYPE_CHECKING:
    from aisg_check.platform.aws import Keys

# Variables the MLflow client and boto3 read from os.environ, passed through from ctx.env.
CLIENT_ENV = (
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_INSECURE_TLS",
    "MLFLOW_TRACKING_SERVER_CERT_PATH",
    "MLFLOW_TRACKING_CLIENT_CERT_PATH",
    "MLFLOW_S3_ENDPOINT_URL",
    "MLFLOW_S3_IGNORE_TLS",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
)
S3_ENDPOINT_ENV = ("MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
# os.environ is process-wide and checks run in threads. This lock only serialises MLflow client
# calls with each other (an abandoned check may still be inside one); other checks never read
# these variables from os.environ (they use the context's env), which is why each window is one
# client call, kept as short as possible.
ENV_LOCK = threading.Lock()
_BUNDLE_NAME = "ca-bundle.pem"


class ClientBusy(RuntimeError):
    """The client's environment stayed taken for a whole step timeout: not a network timeout."""


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def overrides(
    ctx: Context, target: Target, timeout: float, aws: Keys | None = None, bundle: str | None = None
) -> dict[str, str | None]:
    """What os.environ must say while the client runs (None: unset)."""
    wanted: dict[str, str | None] = {name: ctx.env.get(name) for name in CLIENT_ENV}
    # The client takes each of the two from the environment before ~/.mlflow/credentials; the
    # settings layer resolved them the same way, and from the URI, which the client never sees.
    if target.username and target.password:
        wanted["MLFLOW_TRACKING_USERNAME"] = target.username
        wanted["MLFLOW_TRACKING_PASSWORD"] = target.password.reveal()
    if bundle is not None:
        wanted["REQUESTS_CA_BUNDLE"] = bundle
        if not _truthy(wanted["MLFLOW_TRACKING_INSECURE_TLS"]):
            wanted["MLFLOW_TRACKING_SERVER_CERT_PATH"] = bundle
        if not _truthy(wanted["MLFLOW_S3_IGNORE_TLS"]):
            wanted["AWS_CA_BUNDLE"] = bundle
    # boto3 reads the same aws files the check read (`~` is the context's home).
    wanted["AWS_SHARED_CREDENTIALS_FILE"] = str(
        ctx.path(wanted["AWS_SHARED_CREDENTIALS_FILE"] or "~/.aws/credentials")
    )
    wanted["AWS_CONFIG_FILE"] = str(ctx.path(wanted["AWS_CONFIG_FILE"] or "~/.aws/config"))
    if aws is not None:
        # The static keys the check resolved, as variables: boto3 takes them first and never
        # runs the rest of its credential chain (credential_process, STS, SSO).
        wanted["AWS_ACCESS_KEY_ID"] = aws.access_key_id
        wanted["AWS_SECRET_ACCESS_KEY"] = aws.secret.reveal()
        wanted["AWS_SESSION_TOKEN"] = aws.token.reveal() if aws.token else None
    wanted.update(
        # By default a call to a dead server is retried 7 times with back-off factor 2 and a
        # 120 s timeout (minutes): one attempt within the step timeout, so the check reports
        # the failure itself; the runner's deadline stays on top.
        MLFLOW_HTTP_REQUEST_TIMEOUT=str(max(1, math.ceil(timeout))),
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR="0",
        MLFLOW_HTTP_REQUEST_BACKOFF_JITTER="0",
        # MLflow writes "🏃 View run … at: …" to stdout, which is the report's (JSON, JUnit).
        MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT="true",
        # Already set process-wide by the CLI before any check thread starts (MLflow starts its
        # telemetry on import); repeated here for callers that run the check without the CLI.
        MLFLOW_DISABLE_TELEMETRY="true",
        # boto3 (direct S3 artifacts): one attempt, and never the EC2 metadata service, which a
        # laptop does not have and which is not on loopback.
        AWS_MAX_ATTEMPTS="1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return wanted


@contextlib.contextmanager
def environment(wanted: Mapping[str, str | None], lock_timeout: float) -> Iterator[None]:
    """Apply `wanted` to os.environ for one client call and put back what was there.

    Changes only what differs, under `ENV_LOCK`, taken with a timeout: a check the runner
    abandoned at its deadline may still sit inside a call, and a later call must fail in time
    rather than wait on it forever. MLflow's own logger is quietened meanwhile so that its
    warnings do not reach the terminal around the report.
    """
    if not ENV_LOCK.acquire(timeout=max(0.0, lock_timeout)):
        raise ClientBusy(
            "another MLflow client call (an abandoned check?) still holds the client environment"
        )
    try:
        saved = {name: os.environ.get(name) for name in wanted}
        logger = logging.getLogger("mlflow")
        level = logger.level
        try:
            _apply(wanted)
            logger.setLevel(logging.ERROR)
            yield
        finally:
            logger.setLevel(level)
            _apply(saved)
    finally:
        ENV_LOCK.release()


def _apply(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        elif os.environ.get(name) != value:
            os.environ[name] = value


def needs_bundle(ctx: Context, target: Target) -> bool:
    """Whether the client talks TLS at all: to the tracking server, or to S3 directly."""
    endpoints = [target.uri, *(ctx.env.get(name) or "" for name in S3_ENDPOINT_ENV)]
    return any(url.lower().startswith("https://") for url in endpoints)


def trusted_pem(ctx: Context) -> str:
    """Every CA the context's TLS checks trust, as one PEM text for requests and boto3 (which
    take one file): the system store (or certifi), `ca_bundle`, REQUESTS_CA_BUNDLE and the like
    as `ctx.ssl_context` loaded them; and the files the user gave the client itself."""
    context = ctx.ssl_context()
    pems = [ssl.DER_cert_to_PEM_cert(der) for der in context.get_ca_certs(binary_form=True)]
    defaults = ssl.get_default_verify_paths()
    bundle = defaults.cafile if defaults.cafile and os.path.isfile(defaults.cafile) else None
    if bundle and trust.lazy_directory() is not None:
        # The system store is read on demand from its hashed directory (net/trust.py), so it is
        # not listed above: the bundle file the directory mirrors holds the same certificates.
        with contextlib.suppress(OSError, UnicodeDecodeError), open(bundle, "rb") as handle:
            pems.append(handle.read(4 * 1024 * 1024).decode("ascii"))
    elif not bundle and defaults.capath:
        # A store that is only a hashed directory is loaded lazily and not listed above.
        with contextlib.suppress(OSError), os.scandir(defaults.capath) as found:
            for entry in sorted(found, key=lambda e: e.name)[:2000]:
                with contextlib.suppress(OSError, UnicodeDecodeError):
                    if entry.is_file() and entry.stat().st_size < 64 * 1024:
                        pems.append(Path(entry.path).read_text("ascii"))
    for name in ("MLFLOW_TRACKING_SERVER_CERT_PATH", "AWS_CA_BUNDLE"):
        path = ctx.env.get(name)
        if path and os.path.isfile(path):
            with contextlib.suppress(OSError, UnicodeDecodeError), open(path, "rb") as handle:
                pems.append(handle.read(4 * 1024 * 1024).decode("ascii"))
    return "\n".join(pem.strip() for pem in pems if "BEGIN CERTIFICATE" in pem) + "\n"


def _load_repositories() -> Callable[..., Any]:
    """The client's artifact repositories (about a second to import: pandas, protobuf, …)."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    return get_artifact_repository


class Client:
    """The MLflow client for one check run: loaded in the background once it is known to be
    needed (beside the run's first requests instead of after them); each call in its own short
    os.environ window with the step timeout left at that moment; the CA bundle it needs written
    once, in a private temporary directory removed when the `with` ends (and by the run's
    cleanup should the run end first)."""

    def __init__(self, ctx: Context, rec: Recorder, target: Target) -> None:
        self.ctx, self.rec, self.target = ctx, rec, target
        self.aws: Keys | None = None  # the static keys for a direct S3 store, once resolved
        self._take: Callable[[], Callable[..., Any]] | None = None
        self._factory: Callable[..., Any] | None = None
        self._files = contextlib.ExitStack()
        self._bundle: str | None = None
        self._closed = False
        self._fresh = False  # boto3's process-wide caches dropped for this check (see call)
        self._lock = threading.Lock()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._lock:
            self._closed = True
            self._files.close()

    def preload(self) -> Callable[[], Callable[..., Any]]:
        """Start importing the client now, in the background, to overlap with other requests."""
        with self._lock:
            if self._take is None:
                self._take = prefetched(_load_repositories)
            return self._take

    def repository(self, artifact_uri: str) -> Any:
        """The artifact repository the client would use for this run's artifacts."""
        take = self.preload()
        with self._lock:
            if self._factory is None:
                self._factory = take()
        return self.call(self._factory, artifact_uri, tracking_uri=self.target.uri)

    def _bundle_path(self) -> str | None:
        if not needs_bundle(self.ctx, self.target):
            return None
        with self._lock:
            if self._closed:  # a worker the deadline left behind: nothing new on disk
                raise ClientBusy("the check has ended")
            if self._bundle is None:
                folder = self._files.enter_context(temporaries.private_dir("aisg-check-mlflow-ca-"))
                path = folder / _BUNDLE_NAME
                path.write_text(trusted_pem(self.ctx), "ascii")
                self._bundle = str(path)
            return self._bundle

    def call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        timeout = self.rec.step_timeout(self.ctx.timeout)
        wanted = overrides(self.ctx, self.target, timeout, self.aws, self._bundle_path())
        with environment(wanted, timeout):
            if not self._fresh:
                forget_s3_clients()
                self._fresh = True
            return fn(*args, **kwargs)


def forget_s3_clients() -> None:
    """Drop the S3 clients and the boto3 session an earlier check left in this process.

    MLflow caches its S3 client by endpoint and TLS setting only (not by profile or credentials
    file), and boto3's default session keeps the ~/.aws files it parsed first: a second check in
    the same process (a test run, a fleet loop) would otherwise upload with the first one's
    credentials, or fail with ProfileNotFound for a profile its own files hold. Dropped inside
    the os.environ window, the client is built from this check's environment, as a fresh
    process (the user's training code) builds it. Only modules already loaded are touched.
    """
    repo = sys.modules.get("mlflow.store.artifact.s3_artifact_repo")
    cached = getattr(repo, "_cached_get_s3_client", None)
    if cached is not None and hasattr(cached, "cache_clear"):
        cached.cache_clear()
    boto3 = sys.modules.get("boto3")
    if boto3 is not None:
        setattr(boto3, "DEFAULT_SESSION", None)  # noqa: B010 (a module found at run time)
