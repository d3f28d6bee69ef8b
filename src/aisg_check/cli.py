"""The command tree. Thin: parse → build the context → run → report → exit code.

Every run command (`all` and one per component) shares the same options; a component's
own flags are declared as data in the registry and map onto config keys, so a flag, an
environment variable and a config file line all set the same thing.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from aisg_check import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# Environment variables whose values are secrets wherever they appear.
_SECRET_ENV = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|AUTH|_KEY$|_KEY_ID$)", re.IGNORECASE)


class Format(str, Enum):
    table = "table"
    json = "json"
    junit = "junit"
    markdown = "markdown"


_EXTENSIONS = {".json": Format.json, ".xml": Format.junit, ".md": Format.markdown, ".txt": Format.table}

app = typer.Typer(
    name="aisg-check",
    help="Preflight checks for AI Singapore's MLOps platform: VPN, GitLab, Run:ai, Harbor, ECS, MLflow.\n\n"
    "Run `aisg-check all` on a new machine; every failure comes with a code, its cause and the fix.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _fail_usage(message: str) -> typer.Exit:
    typer.echo(f"aisg-check: error: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aisg-check {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Preflight checks for AI Singapore's MLOps platform."""


# ---------------------------------------------------------------------------------------------
# shared plumbing


def _load(env: dict[str, str], config: str | None, overrides: Sequence[tuple[str, Any, str]]) -> Any:
    from aisg_check import config as config_module

    try:
        loaded = config_module.load(
            env=env, config_file=Path(config) if config else None, overrides=overrides
        )
    except config_module.ConfigError as exc:
        raise _fail_usage(f"config: {exc}") from None
    ca = loaded.settings.ca_bundle
    if ca:
        import ssl

        home = Path.home()
        path = home / ca[2:] if ca.startswith("~/") else Path(ca)
        source = loaded.values["ca_bundle"].source
        if not path.is_file():
            raise _fail_usage(f"config: ca_bundle ({source}): {ca} is not a file")
        try:
            # A bare context: validating the file must not pay for loading the system store too.
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(path))
        except (ssl.SSLError, OSError, UnicodeDecodeError):
            raise _fail_usage(
                f"config: ca_bundle ({source}): {ca} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
            ) from None
    return loaded


def _overrides(
    timeout: float | None, ca_bundle: str | None, sets: Sequence[str], extra: Sequence[tuple[str, Any, str]]
) -> list[tuple[str, Any, str]]:
    from aisg_check.config import ConfigError, parse_set_option

    out: list[tuple[str, Any, str]] = []
    for item in sets:
        try:
            key, value = parse_set_option(item)
        except ConfigError as exc:
            raise _fail_usage(str(exc)) from None
        out.append((key, value, f"--set {key}"))
    if timeout is not None:
        out.append(("timeout", timeout, "--timeout"))
    if ca_bundle is not None:
        out.append(("ca_bundle", str(ca_bundle), "--ca-bundle"))
    out.extend(extra)
    return out


def _scrubber(loaded: Any, env: dict[str, str]) -> Any:
    """Seeded with every secret the run can know up front: config secrets and secret-looking
    environment variables (checks add what they read later, e.g. a docker config password)."""
    from aisg_check.secrets import Scrubber

    scrubber = Scrubber(s.reveal() for s in loaded.secrets())
    for name, value in env.items():
        if _SECRET_ENV.search(name):
            scrubber.add(value)
    return scrubber


def _use_color(no_color: bool, env: dict[str, str], stream: Any) -> bool:
    if no_color or env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)()) and env.get("TERM") != "dumb"


def _system_line() -> str:
    import platform

    return (
        f"{platform.system()} {platform.release()} ({platform.machine()}), Python {platform.python_version()}"
    )


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _run(
    components: Sequence[str] | None,
    *,
    fmt: Format | None,
    output: str | None,
    verbose: bool,
    quiet: bool,
    timeout: float | None,
    strict: bool,
    no_color: bool,
    only: Sequence[str],
    skip: Sequence[str],
    config: str | None,
    sets: Sequence[str],
    ca_bundle: str | None,
    extra: Sequence[tuple[str, Any, str]] = (),
) -> None:
    import ssl

    from aisg_check.prefetch import prefetched

    # First thing: the system trust store loads on another core while the imports below run.
    default_ssl_context = prefetched(ssl.create_default_context)

    from aisg_check import registry
    from aisg_check.context import Context
    from aisg_check.reporters import RenderOptions, renderer
    from aisg_check.runner import Events, run_checks, scrub_report

    env = dict(os.environ)
    loaded = _load(env, config, _overrides(timeout, ca_bundle, sets, extra))
    try:
        checks = registry.select(components, only, skip)
    except registry.SelectionError as exc:
        raise _fail_usage(str(exc)) from None
    if not checks:
        raise _fail_usage("nothing to run: --only/--skip left no check")

    scrubber = _scrubber(loaded, env)
    ctx = Context(
        settings=loaded.settings,
        env=env,
        home=Path.home(),
        scrubber=scrubber,
        verbose=verbose,
        default_ssl_context=default_ssl_context,
    )

    file_format = fmt
    output_path = Path(output) if output else None
    if output_path is not None and fmt is None:
        file_format = _EXTENSIONS.get(output_path.suffix.lower(), Format.table)
    stdout_format = fmt or Format.table

    color = _use_color(no_color, env, sys.stdout)
    progress: Any = None
    if not quiet and sys.stderr.isatty() and stdout_format is Format.table:
        from aisg_check.reporters.progress import LiveProgress

        progress = LiveProgress(len(checks), color=_use_color(no_color, env, sys.stderr))
    events: Events = progress or Events()
    if any(c.component == "mlflow" for c in checks):  # MLflow's telemetry, off before its import thread
        os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    if progress is not None:
        with progress:
            report = run_checks(ctx, checks, events)
    else:
        report = run_checks(ctx, checks, events)
    report = scrub_report(report, scrubber.scrub_value)

    # Piped output (CI logs, tickets) is not folded at 80 columns: URLs and commands stay whole.
    width = 160
    if sys.stdout.isatty():
        with contextlib.suppress(OSError, ValueError):
            width = max(80, os.get_terminal_size(sys.stdout.fileno()).columns)
    unicode = (getattr(sys.stdout, "encoding", "") or "").lower().replace("-", "") in ("utf8", "utf16")
    options = RenderOptions(
        verbose=verbose, quiet=quiet, color=color, width=width, unicode=unicode, system=_system_line()
    )
    # Scrub once more at the very end: a reporter's own text must not carry a secret either.
    text = scrubber.scrub(renderer(stdout_format.value)(report, options))
    sys.stdout.write(text)
    sys.stdout.flush()
    if output_path is not None:
        assert file_format is not None
        file_options = RenderOptions(
            verbose=verbose, quiet=False, color=False, width=120, unicode=True, system=_system_line()
        )
        file_text = (
            text
            if file_format is stdout_format and not color
            else scrubber.scrub(renderer(file_format.value)(report, file_options))
        )
        try:
            _write_atomic(output_path, file_text)
        except OSError as exc:
            typer.echo(f"aisg-check: error: cannot write {output}: {exc.strerror or exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
    if report.interrupted:
        typer.echo("aisg-check: interrupted; the report shows what finished.", err=True)
    raise typer.Exit(report.exit_code(strict=strict))


# ---------------------------------------------------------------------------------------------
# run commands, built from the registry's components


def _common_parameters() -> list[inspect.Parameter]:
    def opt(name: str, annotation: Any, default: Any) -> inspect.Parameter:
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)

    return [
        opt(
            "fmt",
            Annotated[Format | None, typer.Option("--format", "-f", help="Report format [default: table].")],
            None,
        ),
        opt(
            "output",
            Annotated[
                str | None,
                typer.Option(
                    "--output",
                    "-o",
                    metavar="FILE",
                    help="Also write the report to FILE (format from --format, else from the extension: "
                    ".json, .xml = JUnit, .md).",
                ),
            ],
            None,
        ),
        opt(
            "verbose",
            Annotated[bool, typer.Option("--verbose", "-v", help="Show details, timings and docs links.")],
            False,
        ),
        opt(
            "quiet",
            Annotated[bool, typer.Option("--quiet", "-q", help="Only problems; no progress display.")],
            False,
        ),
        opt(
            "timeout",
            Annotated[
                float | None,
                typer.Option(
                    "--timeout", metavar="SECONDS", help="Seconds for each network step (config: timeout)."
                ),
            ],
            None,
        ),
        opt(
            "strict", Annotated[bool, typer.Option("--strict", help="Warnings fail the run (exit 1).")], False
        ),
        opt(
            "no_color",
            Annotated[bool, typer.Option("--no-color", help="No colours (also: NO_COLOR=1).")],
            False,
        ),
        opt(
            "only",
            Annotated[
                list[str],
                typer.Option(
                    "--only", metavar="ID", help="Run only these checks (id, component or glob; repeatable)."
                ),
            ],
            [],
        ),
        opt(
            "skip",
            Annotated[
                list[str], typer.Option("--skip", metavar="ID", help="Do not run these checks (repeatable).")
            ],
            [],
        ),
        opt(
            "config",
            Annotated[
                str | None,
                typer.Option(
                    "--config",
                    "-c",
                    metavar="FILE",
                    help="Config file (default: AISG_CHECK_CONFIG, else the user config file).",
                ),
            ],
            None,
        ),
        opt(
            "sets",
            Annotated[
                list[str],
                typer.Option(
                    "--set",
                    metavar="KEY=VALUE",
                    help="Override any config key, e.g. --set harbor.projects=a,b (repeatable).",
                ),
            ],
            [],
        ),
        opt(
            "ca_bundle",
            Annotated[
                str | None,
                typer.Option(
                    "--ca-bundle", metavar="FILE", help="PEM file trusted in addition to the system store."
                ),
            ],
            None,
        ),
    ]


_COMMON_NAMES = {p.name for p in _common_parameters()}


def _flag_parameter(flag: Any) -> inspect.Parameter:
    name = "x_" + flag.name.lstrip("-").replace("-", "_")
    if flag.kind is bool:
        annotation: Any = Annotated[bool, typer.Option(flag.name, help=flag.help)]
        default: Any = False
    elif flag.kind is list:
        annotation = Annotated[
            list[str], typer.Option(flag.name, help=flag.help, metavar=flag.metavar or "VALUE")
        ]
        default = []
    else:
        annotation = Annotated[str | None, typer.Option(flag.name, help=flag.help, metavar=flag.metavar)]
        default = None
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def _make_run_command(components: Sequence[str] | None, flags: Sequence[Any]) -> Callable[..., None]:
    flag_by_param = {_flag_parameter(f).name: f for f in flags}

    def command(**kwargs: Any) -> None:
        extra: list[tuple[str, Any, str]] = []
        for param, flag in flag_by_param.items():
            value = kwargs.pop(param)
            if flag.kind is bool and value:
                extra.append((flag.key, True, flag.name))
            elif flag.kind is list and value:
                extra.append((flag.key, ",".join(value), flag.name))
            elif flag.kind is str and value is not None:
                extra.append((flag.key, value, flag.name))
        _run(components, extra=extra, **kwargs)

    params = _common_parameters() + [_flag_parameter(f) for f in flags]
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command


def _register_run_commands() -> None:
    from aisg_check.registry import COMPONENTS

    app.command(
        "all",
        help="Check every component, layer by layer, and print what to fix.",
    )(_make_run_command(None, ()))
    for component in COMPONENTS:
        app.command(component.name, help=component.help)(_make_run_command([component.name], component.flags))


_register_run_commands()


# ---------------------------------------------------------------------------------------------
# list and config


class ListFormat(str, Enum):
    table = "table"
    json = "json"


@app.command("list")
def list_checks(
    fmt: Annotated[ListFormat, typer.Option("--format", "-f", help="Output format.")] = ListFormat.table,
) -> None:
    """List every check id with its title, its steps and what it depends on."""
    import json

    from aisg_check.registry import all_checks

    CHECKS = all_checks()

    if fmt is ListFormat.json:
        data = [
            {
                "id": c.id,
                "component": c.component,
                "title": c.title,
                "steps": [{"id": s.id, "title": s.title} for s in c.steps],
                "depends_on": list(c.needs),
                "only_when_asked": c.explicit_only,
            }
            for c in CHECKS
        ]
        typer.echo(json.dumps(data, indent=2))
        return
    for c in CHECKS:
        needs = f"  (depends on: {', '.join(c.needs)})" if c.needs else ""
        typer.echo(f"{c.id:<22} {c.title}{needs}")
        for s in c.steps:
            if s.id != c.id:
                typer.echo(f"  {s.id:<28} {s.title}")


class ConfigFormat(str, Enum):
    table = "table"
    json = "json"
    yaml = "yaml"


@app.command("config")
def show_config(
    fmt: Annotated[ConfigFormat, typer.Option("--format", "-f", help="Output format.")] = ConfigFormat.table,
    config: Annotated[str | None, typer.Option("--config", "-c", metavar="FILE", help="Config file.")] = None,
    sets: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE", help="Override a key.")] = [],  # noqa: B006
    timeout: Annotated[float | None, typer.Option("--timeout", metavar="SECONDS")] = None,
    ca_bundle: Annotated[str | None, typer.Option("--ca-bundle", metavar="FILE")] = None,
) -> None:
    """Print the effective settings and where each value came from (secrets redacted)."""
    import json

    from aisg_check.config import KEYS, display_value, user_config_path

    env = dict(os.environ)
    loaded = _load(env, config, _overrides(timeout, ca_bundle, sets, ()))
    scrubber = _scrubber(loaded, env)

    def echo(text: str) -> None:
        typer.echo(scrubber.scrub(text))  # every line, in case a value carries a secret

    rows = [
        (k.path, loaded.values[k.path].value, loaded.values[k.path].source, k)
        for k in KEYS
        if k.path in loaded.values
    ]
    if fmt is ConfigFormat.json:
        data = {
            "config_file": str(loaded.config_file) if loaded.config_file else None,
            "settings": {
                path: {
                    "value": "***" if spec.secret and value is not None else _plain(value),
                    "source": source,
                }
                for path, value, source, spec in rows
            },
        }
        echo(json.dumps(data, indent=2))
        return
    if fmt is ConfigFormat.yaml:
        import yaml

        nested: dict[str, Any] = {}
        for path, value, _source, spec in rows:
            section, _, name = path.rpartition(".")
            target = nested.setdefault(section, {}) if section else nested
            target[name] = "***" if spec.secret and value is not None else _plain(value)
        echo(yaml.safe_dump(nested, sort_keys=False).rstrip())
        return
    file_line = str(loaded.config_file) if loaded.config_file else f"none (would be {user_config_path(env)})"
    echo(f"config file: {file_line}")
    width = max(len(r[0]) for r in rows)
    for path, value, source, _spec in rows:
        echo(f"{path:<{width}}  {display_value(value):<45}  {source}")


def _plain(value: Any) -> Any:
    from aisg_check.secrets import strip_userinfo

    if isinstance(value, tuple):
        return [strip_userinfo(v) for v in value]
    if isinstance(value, str):
        return strip_userinfo(value)
    return value


def main() -> None:
    """Console entry point: maps Ctrl-C to 130 and does not wait for abandoned check threads."""
    code = EXIT_OK
    # httpx imports its own command-line client (rich.syntax, pygments, click's CLI) whenever
    # rich and click are installed, as they are for typer: 20-30 ms per run for a function never
    # called. httpx falls back to a stub when that import fails, so fail it.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    # Library warnings (a missing optional PySocks, deprecations) are not this tool's output; an
    # application may hide them (Python's warnings docs). One filter set before any thread
    # starts: libraries that rely on their own filter lose it when another import thread is
    # inside warnings.catch_warnings(), which is not thread-safe. -W, PYTHONWARNINGS, -X dev win.
    if not sys.warnoptions and not sys.flags.dev_mode:
        warnings.simplefilter("ignore")
    for stream in (sys.stdout, sys.stderr):
        # A console or a redirect in a legacy code page (cp1252 on Windows) gets "?" for the
        # characters it cannot show, rather than a UnicodeEncodeError instead of a report.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    try:
        app(standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        sys.stderr.write("aisg-check: interrupted\n")
        code = EXIT_INTERRUPTED
    except Exception as exc:  # a bug outside the checks (they have their own net): one line
        sys.stderr.write(
            f"aisg-check: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in aisg-check; please report it with the command you ran.\n"
        )
        code = EXIT_FAILED
    # Leave without the interpreter's teardown: a check that overran its deadline may still be
    # blocked in a library call (joining it would hang), and the final garbage collection of
    # the client libraries' objects costs ~0.2 s for nothing. Checks clean up after themselves.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
