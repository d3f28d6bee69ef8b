"""`aisg-check init`: write the user config file, asking only what cannot be found.

The endpoints are the embedded profile's; what is the user's own is the project: its name, its
MLflow server and experiment, its Harbor projects, its ECS buckets and AWS profile, its Run:ai
project. Each question offers a default, best first: a value already in the config file, what
the machine says (MLFLOW_TRACKING_URI, the profiles in ~/.aws, the kubeconfig's namespace
`runai-<project>`, the registries in Docker's config.json), then the project name. An AWS
profile or a Harbor registry the machine names without doubt is taken without asking.

The file is written once, at the end, atomically, after a backup of the old one (edits.py), and
only once the tool itself has loaded it: Ctrl-C or Ctrl-D before then writes nothing. Credentials
are never asked for nor shown: a URL with a user or password in it is refused, and a credential
the old file holds (`gitlab.token`) stays there, masked in what is shown, with advice to move it.
Settings already in the file are kept as they are. `--no-input` takes flags and defaults, for scripts.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aisg_check.commands import fail_usage
from aisg_check.secrets import MASK, Scrubber  # standard library only: cheap for `--help`

if TYPE_CHECKING:
    from rich.console import Console

    from aisg_check.found import Found

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_REGISTRY = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$")
CLEAR = "-"  # typed at a prompt: leave the setting unset


class Invalid(ValueError):
    """An answer that cannot be used; the message says why."""


# ---------------------------------------------------------------------------------------------
# answers


def check_url(text: str) -> str:
    from urllib.parse import urlsplit

    try:
        split = urlsplit(text)
        split.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise Invalid(f"{text!r} is not a URL") from None
    if split.scheme not in ("http", "https") or not split.hostname:
        raise Invalid("expected an http:// or https:// URL with a host name")
    if split.username or split.password:
        raise Invalid(
            "no user or password in the URL: they belong in MLFLOW_TRACKING_USERNAME and "
            "MLFLOW_TRACKING_PASSWORD (never in this file)"
        )
    return text.rstrip("/")


def check_name(text: str) -> str:
    if not _NAME.match(text):
        raise Invalid(f"{text!r}: use letters, digits, '.', '_' and '-' (no spaces), up to 63 characters")
    return text


def check_registry(text: str) -> str:
    if not _REGISTRY.match(text):
        raise Invalid(f"{text!r}: expected a registry host, e.g. registry.aisingapore.net or host:5000")
    return text


def check_text(text: str) -> str:
    """Any name on one line: an MLflow experiment may have spaces ("Vision Baseline")."""
    if not text.strip() or any(ch in text for ch in "\r\n\0"):
        raise Invalid("expected a name on one line")
    return text.strip()


def check_names(text: str) -> list[str]:
    return [check_name(item.strip()) for item in text.split(",") if item.strip()]


@dataclass(frozen=True)
class Question:
    key: str  # the config key; "project" is not one: it only feeds the other defaults
    prompt: str
    parse: Callable[[str], Any]
    derived: bool = False  # defaults to the project name when nothing better is found


QUESTIONS = (
    Question("project", "Project name", check_name),
    Question("mlflow.tracking_uri", "MLflow tracking URI", check_url),
    Question("mlflow.experiment", "MLflow experiment", check_text, derived=True),
    Question("harbor.projects", "Harbor projects (comma-separated)", check_names, derived=True),
    Question("harbor.registry", "Harbor registry", check_registry),
    Question("ecs.profile", "AWS profile for ECS", check_name),
    Question("ecs.buckets", "ECS buckets (comma-separated)", check_names, derived=True),
    Question("runai.project", "Run:ai project", check_name, derived=True),
)


def _shown(value: Any) -> str:
    return ", ".join(value) if isinstance(value, (list, tuple)) else str(value)


def defaults(key: str, existing: Mapping[str, Any], found: Found, profile_registry: str) -> Any:
    """The best default for a key, and None when there is none (the project name fills in later)."""
    if key in existing:
        return existing[key]
    namespace = found.namespace or ""
    guessed: dict[str, Any] = {
        "project": existing.get("runai.project")
        or (namespace.removeprefix("runai-") if namespace.startswith("runai-") else None),
        "mlflow.tracking_uri": found.tracking_uri,
        "mlflow.experiment": found.experiment,
        "runai.project": namespace.removeprefix("runai-") if namespace.startswith("runai-") else None,
        "ecs.profile": found.aws_profile or (found.aws_profiles[0] if len(found.aws_profiles) == 1 else None),
        "harbor.registry": profile_registry,
    }
    return guessed.get(key)


def needs_asking(key: str, existing: Mapping[str, Any], found: Found, profile_registry: str) -> bool:
    """The AWS profile and the registry are asked only when the machine leaves a doubt."""
    if key == "ecs.profile":
        return key not in existing and not found.aws_profile and len(found.aws_profiles) != 1
    if key == "harbor.registry":
        return key not in existing and bool(found.registries) and profile_registry not in found.registries
    return True


# ---------------------------------------------------------------------------------------------
# the file


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def credentials_in(existing: Mapping[str, Any]) -> dict[str, str]:
    """The credentials (Secret-typed settings: gitlab.token) a file holds, by key."""
    from aisg_check.config import KEYS_BY_PATH

    secret = {spec.path for spec in KEYS_BY_PATH.values() if spec.secret}
    return {key: str(value) for key, value in existing.items() if key in secret and value not in (None, "")}


def variable(key: str) -> str:
    """Where a credential belongs instead of the file: the other tool's variable (GITLAB_TOKEN)."""
    from aisg_check.config import KEYS_BY_PATH

    return KEYS_BY_PATH[key].env[0] if KEYS_BY_PATH[key].env else KEYS_BY_PATH[key].env_name


def document(existing: Mapping[str, Any], answers: Mapping[str, Any], project: str | None) -> str:
    """The config file: the old file's keys, then the answers (an empty answer removes a key)."""
    import yaml

    merged = {**existing, **{k: v for k, v in answers.items() if k != "project"}}
    nested: dict[str, Any] = {}
    for key, value in merged.items():
        if value in (None, "", [], ()):
            continue
        section, _, name = key.rpartition(".")
        target = nested.setdefault(section, {}) if section else nested
        target[name] = list(value) if isinstance(value, tuple) else value
    moves = ", ".join(f"{key} (to {variable(key)})" for key in credentials_in(merged))
    header = (
        f"# aisg-check settings{f' for project {project}' if project else ''}, "
        "written by `aisg-check init`.\n# `aisg-check config` shows every setting and where it comes from. "
        + (
            f"This file holds a\n# credential kept from the old file: move {moves} and delete it here.\n"
            if moves
            else "No credentials here:\n# they stay where the tools keep them (docker login, "
            "~/.aws/credentials, MLFLOW_TRACKING_*).\n"
        )
    )
    return header + (yaml.safe_dump(nested, sort_keys=False, allow_unicode=True) if nested else "")


@dataclass(frozen=True)
class Content:
    """The new file, and what of it may be shown: a credential's value masked, then the text
    scrubbed of it too (should YAML have written it in another form, or elsewhere)."""

    # The file as written and the credentials kept from the old one (key → value): never in a repr.
    text: str = field(repr=False)
    shown: str
    credentials: Mapping[str, str] = field(repr=False)

    @classmethod
    def of(cls, existing: Mapping[str, Any], answers: Mapping[str, Any]) -> Content:
        project, credentials = answers.get("project"), credentials_in(existing)
        masked = document({**existing, **dict.fromkeys(credentials, MASK)}, answers, project)
        shown = Scrubber(credentials.values()).scrub(masked)
        return cls(document(existing, answers, project), shown, credentials)

    def scrub(self, text: str) -> str:
        return Scrubber(self.credentials.values()).scrub(text)

    def advice(self, shown_path: str) -> str:
        """For a credential kept: where it belongs instead."""
        return "".join(
            f"{key} is a credential, kept in {shown_path} because it was there: set {variable(key)} "
            "instead and delete the line (the file and its backups are copies of it).\n"
            for key in self.credentials
        ).rstrip("\n")


def _validate(path: Path) -> None:
    from aisg_check import config
    from aisg_check.edits import EditError

    try:
        config.load(env={}, config_file=path)
    except config.ConfigError as exc:
        raise EditError(str(exc).replace(str(path), "the new config")) from None


def target_path(env: Mapping[str, str], explicit: str | None) -> Path:
    """Where the tool reads its user file: --config, else AISG_CHECK_CONFIG, else the default."""
    from aisg_check.config import CONFIG_ENV, user_config_path

    if explicit:
        return Path(explicit).expanduser()
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    return user_config_path(env)


def read_existing(path: Path) -> dict[str, Any]:
    """The keys of the current file (checked as the tool would load it); {} when there is none."""
    import yaml

    from aisg_check import config
    from aisg_check.bounds import YAML_LOADER, read_text

    if not path.exists():
        return {}
    try:
        config.load(env={}, config_file=path)
        data = yaml.load(read_text(path), Loader=YAML_LOADER)
    except config.ConfigError as exc:
        if "the file is empty" in str(exc):
            return {}
        raise fail_usage(f"{exc}; fix it or move it away, then run `aisg-check init` again") from None
    return flatten(data) if isinstance(data, dict) else {}


# ---------------------------------------------------------------------------------------------
# the command


def _profile_registry() -> str:
    import pkgutil

    import yaml

    data = yaml.safe_load(pkgutil.get_data("aisg_check", "profiles/aisg.yaml") or b"") or {}
    return str((data.get("harbor") or {}).get("registry") or "")


def _choices(key: str, found: Found) -> str:
    """What the machine offers for a question whose answer it could not settle."""
    names = {"ecs.profile": found.aws_profiles, "harbor.registry": found.registries}.get(key, ())
    return f" (found: {', '.join(names)})" if names else ""


def _ask(console: Console, question: Question, default: Any, found: Found) -> Any:
    from rich.prompt import Prompt
    from rich.text import Text

    shown = _shown(default) if default not in (None, "", [], ()) else ""
    prompt = Text(question.prompt + _choices(question.key, found))  # Text: a name in [] is not markup
    while True:
        text = Prompt.ask(prompt, console=console, default=shown, show_default=bool(shown)).strip()
        if text in ("", CLEAR):
            return None
        if shown and text == shown:  # the default as it is: a value of the file is not re-judged
            return default
        try:
            return question.parse(text)
        except Invalid as exc:
            console.print(Text(f"  {exc}", style="red"))


def _usable(question: Question, default: Any, existing: Mapping[str, Any]) -> Any:
    """A default only when it would pass as an answer (a stray variable must not end up written).
    A value already in the file is the user's own: kept as it is, never replaced by a guess."""
    if default in (None, "", [], ()):
        return None
    if question.key in existing:
        return default
    try:
        return question.parse(_shown(default))
    except Invalid:
        return None


def _answers(
    console: Console | None, flags: Mapping[str, Any], existing: Mapping[str, Any], found: Found
) -> dict[str, Any]:
    """Every question's answer: its flag, else (with a terminal) the user's, else the default."""
    registry = _profile_registry()
    answers: dict[str, Any] = {}
    for question in QUESTIONS:
        default = _usable(question, defaults(question.key, existing, found, registry), existing)
        if default in (None, "", [], ()) and question.derived and answers.get("project"):
            default = [answers["project"]] if question.parse is check_names else answers["project"]
        flag = flags.get(question.key)
        if flag not in (None, []):
            text = ",".join(flag) if isinstance(flag, list) else str(flag)
            try:
                answers[question.key] = question.parse(text)
            except Invalid as exc:
                raise fail_usage(f"{question.prompt}: {exc}") from None
        elif console is None or not needs_asking(question.key, existing, found, registry):
            answers[question.key] = default
        else:
            answers[question.key] = _ask(console, question, default, found)
    if answers.get("harbor.registry") == registry and "harbor.registry" not in existing:
        answers["harbor.registry"] = None  # the profile's own: nothing to write
    return answers


def _write(console: Console, path: Path, content: Content, *, home: Path, confirm: bool) -> None:
    from rich.prompt import Confirm
    from rich.text import Text

    from aisg_check import edits
    from aisg_check.fixes.plan import display

    shown = display(path, home)
    if confirm:
        console.print(Text(f"\n{shown}:", style="bold"))
        console.print(Text(content.shown))
        if not Confirm.ask(f"Write {shown}?", console=console, default=True):
            console.print(Text("Nothing was written."))
            raise typer.Exit(1)
    try:
        written = edits.replace(path, content.text, validate=_validate)
    except edits.EditError as exc:
        raise fail_usage(content.scrub(f"nothing was written: {exc}")) from None
    if not written.changed:
        console.print(Text(f"{shown} already says this: unchanged."))
    else:
        saved = f" (the old one is kept as {display(written.backup, home)})" if written.backup else ""
        console.print(Text(f"Wrote {shown}{saved}.", style="green"))
        if not confirm:
            console.print(Text(content.shown))
    if content.credentials:
        console.print(Text(content.advice(shown), style="yellow"))
    if written.changed:
        console.print(Text("Next: run `aisg-check all`; `aisg-check config` shows every setting."))


# The options, as types: the signature of `init` stays readable.
_NoInput = Annotated[bool, typer.Option("--no-input", help="Ask nothing: flags and defaults only.")]
_Project = Annotated[str | None, typer.Option("--project", metavar="NAME", help="Project name.")]
_TrackingUri = Annotated[str | None, typer.Option("--tracking-uri", metavar="URL", help="MLflow URI.")]
_Experiment = Annotated[str | None, typer.Option("--experiment", metavar="NAME", help="MLflow experiment.")]
_HarborProjects = Annotated[
    list[str], typer.Option("--harbor-project", metavar="NAME", help="Harbor project (repeatable).")
]
_Registry = Annotated[str | None, typer.Option("--registry", metavar="HOST", help="Harbor registry.")]
_AwsProfile = Annotated[str | None, typer.Option("--aws-profile", metavar="NAME", help="AWS profile.")]
_Buckets = Annotated[list[str], typer.Option("--bucket", metavar="NAME", help="ECS bucket (repeatable).")]
_RunaiProject = Annotated[str | None, typer.Option("--runai-project", metavar="NAME", help="Run:ai project.")]
_ConfigFile = Annotated[str | None, typer.Option("--config", "-c", metavar="FILE", help="File to write.")]


def init(
    no_input: _NoInput = False,
    project: _Project = None,
    tracking_uri: _TrackingUri = None,
    experiment: _Experiment = None,
    harbor_project: _HarborProjects = [],  # noqa: B006
    registry: _Registry = None,
    aws_profile: _AwsProfile = None,
    bucket: _Buckets = [],  # noqa: B006
    runai_project: _RunaiProject = None,
    config: _ConfigFile = None,
) -> None:
    """Write your config file: asks your project's names, offers what it finds as defaults."""
    from rich.console import Console
    from rich.text import Text

    from aisg_check import signals
    from aisg_check.found import find

    if not no_input and not _interactive():
        raise fail_usage("init asks questions and there is no terminal: pass --no-input (and flags)")
    env, home = dict(os.environ), Path.home()
    path = target_path(env, config)
    existing = read_existing(path)
    found = find(env, home)
    values = (project, tracking_uri, experiment, harbor_project, registry, aws_profile, bucket, runai_project)
    flags = dict(zip((q.key for q in QUESTIONS), values, strict=True))  # QUESTIONS' order
    color = not env.get("NO_COLOR") and _interactive()
    console = Console(file=sys.stdout, highlight=False, no_color=not color, soft_wrap=True)
    try:
        if not no_input:
            _greet(console, path, home, found)
        answers = _answers(None if no_input else console, flags, existing, found)
        _write(console, path, Content.of(existing, answers), home=home, confirm=not no_input)
    except KeyboardInterrupt:
        console.print(Text("\naisg-check: interrupted; nothing was written."))
        raise typer.Exit(signals.exit_code(130)) from None
    except EOFError:
        console.print(Text("\naisg-check: end of input; nothing was written."))
        raise typer.Exit(1) from None


def _greet(console: Console, path: Path, home: Path, found: Found) -> None:
    from rich.text import Text

    from aisg_check.fixes.plan import display

    state = "exists: it is backed up first" if path.exists() else "new"
    console.print(Text(f"aisg-check init writes {display(path, home)} ({state}).", style="bold"))
    if found.lines():
        console.print(Text("Found on this machine:\n" + "\n".join(found.lines())))
    how = "Enter takes the value in parentheses; '-' leaves a setting unset; Ctrl-C stops without writing"
    console.print(Text(how + " anything.", style="dim"))


def _interactive() -> bool:
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def register(app: typer.Typer) -> None:
    app.command("init")(init)
