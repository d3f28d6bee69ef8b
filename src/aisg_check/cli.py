"""The command tree. Thin: parse → build the context → run → report → exit code.

Every run command (`all` and one per component) shares the same options; a component's
own flags are declared as data in the registry and map onto config keys, so a flag, an
environment variable and a config file line all set the same thing.

Every way out ends the same: the report shows what finished, the run's children and
temporaries go (cleanup.py), and the exit code says how it ended (docs/output.md): 0 nothing
failed, 1 a check failed, 2 usage, configuration or output error, 128 + the signal's number
when interrupted (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP; signals.py).
"""

from __future__ import annotations

import contextlib
import copy
import gc
import importlib
import inspect
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any

import typer

from aisg_check import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class Format(str, Enum):
    table = "table"
    json = "json"
    junit = "junit"
    markdown = "markdown"
    prometheus = "prometheus"


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
    from aisg_check.commands import fail_usage

    return fail_usage(message)


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


def _run(
    components: Sequence[str] | None, *, extra: Sequence[tuple[str, Any, str]] = (), **options: Any
) -> None:
    from aisg_check import invocation, output, signals

    try:
        code = invocation.run(components, invocation.RunOptions(**options), extra)
    except invocation.UsageError as exc:
        raise _fail_usage(str(exc)) from None
    except KeyboardInterrupt:  # before the runner's wait, or a second signal after it
        output.say("aisg-check: interrupted")
        code = signals.exit_code(EXIT_INTERRUPTED)
    raise typer.Exit(code)


# ---------------------------------------------------------------------------------------------
# run commands, built from the registry's components


@dataclass(frozen=True)
class _Option:
    name: str
    decls: tuple[str, ...]
    type: Any
    default: Any
    help: str
    metavar: str | None = None


_COMMON: tuple[_Option, ...] = (
    _Option("fmt", ("--format", "-f"), Format | None, None, "Report format [default: table]."),
    _Option(
        "output",
        ("--output", "-o"),
        str | None,
        None,
        "Also write the report to FILE (format from --format, else from the extension: "
        ".json, .xml = JUnit, .md, .prom = Prometheus, replaced atomically): a regular file or a "
        "new path; - is standard output.",
        "FILE",
    ),
    _Option("verbose", ("--verbose", "-v"), bool, False, "Show details, timings and docs links."),
    _Option("quiet", ("--quiet", "-q"), bool, False, "Only problems; no progress display."),
    _Option(
        "timeout",
        ("--timeout",),
        float | None,
        None,
        "Seconds for each network step (config: timeout).",
        "SECONDS",
    ),
    _Option("strict", ("--strict",), bool, False, "Warnings fail the run (exit 1)."),
    _Option("no_color", ("--no-color",), bool, False, "No colours (also: NO_COLOR=1)."),
    _Option(
        "only", ("--only",), list[str], [], "Run only these checks (id, component or glob; repeatable).", "ID"
    ),
    _Option("skip", ("--skip",), list[str], [], "Do not run these checks (repeatable).", "ID"),
    _Option(
        "config",
        ("--config", "-c"),
        str | None,
        None,
        "Config file (default: AISG_CHECK_CONFIG, else the user config file).",
        "FILE",
    ),
    _Option(
        "sets",
        ("--set",),
        list[str],
        [],
        "Override any config key, e.g. --set harbor.projects=a,b (repeatable).",
        "KEY=VALUE",
    ),
    _Option(
        "ca_bundle",
        ("--ca-bundle",),
        str | None,
        None,
        "PEM file trusted in addition to the system store.",
        "FILE",
    ),
    _Option(
        "push_gateway",
        ("--push-gateway",),
        str | None,
        None,
        "Push the run's metrics to this Prometheus Pushgateway (job aisg-check, grouped by "
        "fleet.project; config: fleet.push_gateway).",
        "URL",
    ),
    _Option(
        "exit_zero",
        ("--exit-zero",),
        bool,
        False,
        "Exit 0 even when checks fail (a scheduled fleet run: failures are results); "
        "non-zero only when the report could not be written or pushed.",
    ),
    _Option(
        "no_history",
        ("--no-history",),
        bool,
        False,
        "Do not record this run in the history (config: history; see `aisg-check history`).",
    ),
)


def _keyword(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def _common_parameters() -> list[inspect.Parameter]:
    return [
        _keyword(o.name, Annotated[o.type, typer.Option(*o.decls, help=o.help, metavar=o.metavar)], o.default)
        for o in _COMMON
    ]


def _flag_parameter(flag: Any) -> inspect.Parameter:
    name = "x_" + flag.name.lstrip("-").replace("-", "_")
    if flag.kind is bool:
        return _keyword(name, Annotated[bool, typer.Option(flag.name, help=flag.help)], False)
    if flag.kind is list:
        option = typer.Option(flag.name, help=flag.help, metavar=flag.metavar or "VALUE")
        return _keyword(name, Annotated[list[str], option], [])
    return _keyword(
        name, Annotated[str | None, typer.Option(flag.name, help=flag.help, metavar=flag.metavar)], None
    )


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
# the commands around the checks: one module each under commands/, each registering itself

COMMAND_MODULES: tuple[str, ...] = (
    "aisg_check.commands.listing",
    "aisg_check.commands.settings_view",
    "aisg_check.commands.history",
    "aisg_check.commands.fix",
    "aisg_check.commands.init",
    "aisg_check.commands.bundle",
)
for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main() -> None:
    """Console entry point: every way out (the end, an error, Ctrl-C, SIGTERM, SIGHUP) cleans
    up, exits with its documented code, and does not wait for abandoned check threads."""
    # One run, seconds long, ending in os._exit: the cycle collector's passes over the client
    # libraries' objects (botocore's models, the kubernetes and docker clients) cost `all` about
    # 60 ms under the GIL, ten times what they cost one check, and free nothing needed before the
    # process ends. Reference counting still frees everything that is not a cycle.
    gc.disable()
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
    _hold_closed_std_fds()
    for stream in (sys.stdout, sys.stderr):
        # A console or a redirect in a legacy code page (cp1252 on Windows) gets "?" for the
        # characters it cannot show, rather than a UnicodeEncodeError instead of a report.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    from aisg_check import signals

    signals.install()
    try:
        code = _invoke()
    except KeyboardInterrupt:  # a signal in the instant between the command's end and here
        code = signals.exit_code(EXIT_INTERRUPTED)
    _leave(code)


def _hold_closed_std_fds() -> None:
    """A closed fd 0, 1 or 2 (`aisg-check all >&-`) would be taken by the next file or socket
    opened, and a child or a stray write would then use it: hold each with the null device.
    Python has set sys.stdout to None for a closed fd 1, which the report writer says so."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            with contextlib.suppress(OSError):
                null = os.open(os.devnull, os.O_RDWR)
                if null != fd:
                    os.dup2(null, fd)
                    os.close(null)


def app_for(args: Sequence[str]) -> typer.Typer:
    """The app that parses `args`. typer builds the Click object of every registered command
    (their options, from the functions' signatures) before it parses anything: about 13 ms of
    every run, spent on the fourteen commands that are not run. So:
    - `aisg-check NAME ...`: a copy of `app` that holds that command alone;
    - the listing (`--help`, `-h`, no arguments): a copy whose commands take no options, which
      lists the same names and the same help;
    - anything else (`--version`, a typo that wants its "did you mean"): the whole app."""
    name = args[0] if args else ""
    lean = copy.copy(app)  # the same settings and callback (--version)
    if list(args) in ([], ["--help"], ["-h"]):
        lean.registered_commands = [_listed(info) for info in app.registered_commands]
        return lean
    chosen = [info for info in app.registered_commands if info.name == name]
    if len(chosen) != 1:
        return app
    lean.registered_commands = chosen
    return lean


def _listed(info: Any) -> Any:
    """A command as the listing shows it: its name and help, and no options to build."""

    def listed() -> None:
        raise AssertionError("a listed command is never run")  # app_for gives runs the real one

    listed.__doc__ = info.callback.__doc__ if info.callback is not None else None
    shown = copy.copy(info)
    shown.callback = listed
    return shown


def _invoke() -> int:
    from aisg_check import signals
    from aisg_check.output import say

    try:
        app_for(sys.argv[1:])(standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
        # Click turns a KeyboardInterrupt outside a run (list, config) into "Aborted!", exit 1.
        return signals.exit_code() if signals.received() is not None and code == EXIT_FAILED else code
    except KeyboardInterrupt:
        say("aisg-check: interrupted")
        return signals.exit_code(EXIT_INTERRUPTED)
    except Exception as exc:  # a bug outside the checks (they have their own net): one line
        # The type and where, never the message: it may quote input (a secret) nobody scrubbed.
        from aisg_check.runner import crash_message

        say(
            f"aisg-check: internal error: {crash_message(exc)}\n"
            "This is a bug in aisg-check; please report it with the command you ran."
        )
        return EXIT_FAILED
    return EXIT_OK


def _leave(code: int) -> None:
    """Leave without the interpreter's teardown: a check that overran its deadline may still be
    blocked in a library call (joining it would hang), and the final garbage collection of the
    client libraries' objects costs ~0.2 s for nothing. So the run's children and temporaries
    are ended here, on every path, with signals held off until they are."""
    from aisg_check import signals

    with signals.shielded():
        cleanup = sys.modules.get("aisg_check.cleanup")  # not imported: nothing to clean
        if cleanup is not None:
            cleanup.finish(final=True)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.flush()
    os._exit(code)
