"""Layer 1, `mlflow.settings` (local): where to log, and as whom, read where the MLflow client
reads it: the tracking URI, the experiment, and the credentials from the environment, from
~/.mlflow/credentials, or from the URI itself."""

from __future__ import annotations

import configparser
import stat
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from aisg_check.check import Recorder, Step
from aisg_check.checks.mlflow.diagnoses import (
    MLFLOW_CREDENTIALS_FILE_INVALID,
    MLFLOW_URI_HAS_CREDENTIALS,
    MLFLOW_URI_NOT_SET,
)
from aisg_check.context import Context
from aisg_check.secrets import Secret, strip_userinfo

SETTINGS = Step("mlflow.settings", "MLflow settings")

DEFAULT_EXPERIMENT = "Default"  # MLflow's own, used by the client when none is named
CREDENTIALS_FILE = "~/.mlflow/credentials"
# A credentials file is two lines; anything far larger is not one and is not read whole.
MAX_CREDENTIALS_BYTES = 64 * 1024
_USER_KEY, _PASSWORD_KEY = "mlflow_tracking_username", "mlflow_tracking_password"


@dataclass(frozen=True)
class Target:
    """What the settings layer resolved: where to log, as whom."""

    uri: str  # without userinfo
    experiment: str
    username: str | None
    password: Secret | None
    token: Secret | None
    source: str  # where the credentials came from, for the details

    @property
    def who(self) -> str:
        return f"user '{self.username}'" if self.username else "the token's user"

    @property
    def who_title(self) -> str:
        return self.who[:1].upper() + self.who[1:]

    @property
    def has_credentials(self) -> bool:
        return bool((self.username and self.password) or self.token)

    def auth_header(self) -> dict[str, str]:
        """What the MLflow client sends: Basic for a user and password, else Bearer for a token."""
        if self.username and self.password:
            import base64

            raw = f"{self.username}:{self.password.reveal()}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        if self.token:
            return {"Authorization": f"Bearer {self.token.reveal()}"}
        return {}


class BadFile(Exception):
    """~/.mlflow/credentials is there but unusable: the line (never its text) and what is wrong."""

    def __init__(self, line: int | None, what: str) -> None:
        super().__init__(what)
        self.line, self.what = line, what


def _file_text(ctx: Context) -> str | None:
    """The file's text; None when there is none. What the client would silently skip (a
    directory, an unreadable file) is a `BadFile` here: the user meant it to hold credentials."""
    path = ctx.home / ".mlflow" / "credentials"
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise BadFile(None, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if stat.S_ISDIR(info.st_mode):
        raise BadFile(None, "is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise BadFile(None, "is not a regular file")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CREDENTIALS_BYTES + 1)
    except OSError as exc:
        raise BadFile(None, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if len(data) > MAX_CREDENTIALS_BYTES:
        raise BadFile(None, f"is larger than {MAX_CREDENTIALS_BYTES // 1024} KiB, not a credentials file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadFile(None, "is not UTF-8 text") from None


def _parse_error(error: configparser.Error) -> BadFile:
    """Line and kind of a parse error, never the line's text: it may hold the password."""
    if isinstance(error, configparser.MissingSectionHeaderError):
        return BadFile(error.lineno, "has a line before any [section] header")
    if isinstance(error, configparser.ParsingError):
        lines = [int(e[0]) for e in getattr(error, "errors", []) if e]
        return BadFile(lines[0] if lines else None, "has a line that is neither [section] nor key = value")
    if isinstance(error, configparser.DuplicateSectionError):
        return BadFile(error.lineno, f"has section [{error.section}] twice")
    if isinstance(error, configparser.DuplicateOptionError):
        return BadFile(error.lineno, f"has key '{error.option}' twice in [{error.section}]")
    return BadFile(None, f"cannot be parsed ({type(error).__name__})")


def _key_line(text: str, key: str) -> int | None:
    section = ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip()
        elif section == "mlflow" and stripped.partition("=")[0].partition(":")[0].strip().lower() == key:
            return number
    return None


def file_credentials(ctx: Context) -> tuple[str | None, str | None]:
    """~/.mlflow/credentials, as the MLflow client reads it (which it does on every request,
    even when the variables are set): configparser with its `%` interpolation.

    Parsed first without interpolation, so that a `%` never crashes here and the raw password
    is registered with the scrubber before anything could quote it; then each value is
    interpolated as the client would, and a value the client would choke on is a `BadFile`.
    """
    text = _file_text(ctx)
    if text is None:
        return None, None
    raw = configparser.RawConfigParser()
    try:
        raw.read_string(text)
    except configparser.Error as exc:
        raise _parse_error(exc) from None
    if not raw.has_section("mlflow"):
        return None, None
    user, password = (
        raw.get("mlflow", _USER_KEY, fallback=None),
        raw.get("mlflow", _PASSWORD_KEY, fallback=None),
    )
    ctx.scrubber.add_login(user, password)
    client_view = configparser.ConfigParser()
    client_view.read_string(text)
    values = []
    for key in (_USER_KEY, _PASSWORD_KEY):
        try:
            values.append(client_view["mlflow"].get(key))
        except configparser.InterpolationError:
            raise BadFile(
                _key_line(text, key),
                f"has a '%' in {key} that the MLflow client cannot read (configparser takes it for "
                "a reference to another value): write each % as %%",
            ) from None
    ctx.scrubber.add_login(values[0], values[1])
    return values[0], values[1]


def _credentials(
    ctx: Context, uri_user: str | None, uri_password: str | None
) -> tuple[str | None, str | None, str]:
    """The user and password the client uses, and where they came from: each of the two from the
    environment, else from the file (the client takes them one by one); else from the URI."""
    file_user, file_password = file_credentials(ctx)
    env_user = ctx.env.get("MLFLOW_TRACKING_USERNAME") or None
    env_password = ctx.env.get("MLFLOW_TRACKING_PASSWORD") or None
    ctx.scrubber.add_login(env_user, env_password)
    user, password = env_user or file_user, env_password or file_password
    if user or password:
        from_env = "MLFLOW_TRACKING_USERNAME/PASSWORD" if env_user or env_password else ""
        from_file = CREDENTIALS_FILE if (user and not env_user) or (password and not env_password) else ""
        return user, password, " and ".join(part for part in (from_env, from_file) if part)
    if uri_user or uri_password:
        return uri_user, uri_password, "the tracking URI"
    return None, None, "MLFLOW_TRACKING_TOKEN" if ctx.env.get("MLFLOW_TRACKING_TOKEN") else "none"


def resolve(ctx: Context, rec: Recorder) -> Target:
    raw = (ctx.settings.mlflow.tracking_uri or "").strip()
    split = urlsplit(raw)
    if not raw or split.scheme.lower() not in ("http", "https") or not split.hostname:
        summary = (
            "No MLflow tracking URI set (MLFLOW_TRACKING_URI, mlflow.tracking_uri or --tracking-uri)"
            if not raw
            else f"The tracking URI '{strip_userinfo(raw)}' is not an http(s) URL"
        )
        raise rec.fail(SETTINGS, MLFLOW_URI_NOT_SET, summary)
    uri_user = unquote(split.username) if split.username else None
    uri_password = unquote(split.password) if split.password else None
    ctx.scrubber.add_login(uri_user, uri_password)
    netloc = split.netloc.rpartition("@")[2]
    uri = urlunsplit((split.scheme, netloc, split.path.rstrip("/"), split.query, "")).rstrip("/")
    token = ctx.env.get("MLFLOW_TRACKING_TOKEN") or None
    ctx.scrubber.add(token)
    try:
        user, password, source = _credentials(ctx, uri_user, uri_password)
    except BadFile as bad:
        where = f"{CREDENTIALS_FILE}{f' line {bad.line}' if bad.line else ''}"
        raise rec.fail(
            SETTINGS,
            MLFLOW_CREDENTIALS_FILE_INVALID,
            f"{where} {bad.what}",
            details={"file": CREDENTIALS_FILE, "line": bad.line},
        ) from None
    experiment = ctx.settings.mlflow.experiment or DEFAULT_EXPERIMENT
    target = Target(
        uri,
        experiment,
        user or None,
        Secret(password) if password else None,
        Secret(token) if token else None,
        source,
    )
    details = {"tracking_uri": uri, "experiment": experiment, "credentials": source, "username": user}
    if uri_user or uri_password:
        rec.warn(
            SETTINGS,
            MLFLOW_URI_HAS_CREDENTIALS,
            f"The tracking URI {uri} has credentials inside it (not shown)",
            hint=f"Use `export MLFLOW_TRACKING_URI={uri}` and put the user name and password in "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD.",
            details=details,
        )
    else:
        who = f" as {user}" if user else (" with a token" if token else " without credentials")
        rec.ok(SETTINGS, f"Logging to experiment '{experiment}' at {uri}{who}", details=details)
    return target
