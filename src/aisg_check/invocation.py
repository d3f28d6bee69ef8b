"""One run command, from its options to its exit code: plan → execute → deliver.

`plan` does everything that can be a usage error (configuration, selection, the --output
path) before any check runs; `execute` runs the checks inside the cleanup session (their
children and temporaries end with it) and scrubs the report; `deliver` writes it to standard
output, to the --output file and to the Pushgateway (fleet.push_gateway), each whatever
happened to the others, and says how it ended.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aisg_check import output, signals

# The report formats and the exit codes are the command line's: cli.py imports this module only
# once a run starts, so that `--help` compiles and imports as little as it can.
from aisg_check.cli import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Format

if TYPE_CHECKING:
    from aisg_check.check import Check
    from aisg_check.config import LoadedConfig
    from aisg_check.context import Context
    from aisg_check.model import RunReport
    from aisg_check.secrets import Scrubber

_EXTENSIONS = {
    ".json": Format.json,
    ".xml": Format.junit,
    ".md": Format.markdown,
    ".txt": Format.table,
    ".prom": Format.prometheus,
}


class UsageError(Exception):
    """A usage, configuration or --output problem: one line on stderr, exit code 2."""


def load(env: dict[str, str], config: str | None, overrides: Sequence[tuple[str, Any, str]]) -> LoadedConfig:
    from aisg_check import config as config_module

    try:
        loaded = config_module.load(
            env=env, config_file=Path(config) if config else None, overrides=overrides
        )
    except config_module.ConfigError as exc:
        raise UsageError(f"config: {exc}") from None
    _check_ca_bundle(loaded)
    return loaded


def _check_ca_bundle(loaded: Any) -> None:
    ca = loaded.settings.ca_bundle
    if not ca:
        return
    import ssl

    from aisg_check.bounds import read_bytes
    from aisg_check.secrets import clip

    path = Path.home() / ca[2:] if ca.startswith("~/") else Path(ca)
    where = f"config: ca_bundle ({loaded.values['ca_bundle'].source}): {clip(ca, 200)}"
    if not path.is_file():
        raise UsageError(f"{where} is not a file")
    try:
        read_bytes(path)
    except OSError as exc:
        raise UsageError(f"{where} cannot be read ({exc.strerror or exc})") from None
    try:
        # A bare context: validating the file must not pay for loading the system store too.
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(path))
    except (ssl.SSLError, OSError, UnicodeDecodeError):
        raise UsageError(f"{where} holds no PEM certificate (-----BEGIN CERTIFICATE-----)") from None


def overrides(
    timeout: float | None, ca_bundle: str | None, sets: Sequence[str], extra: Sequence[tuple[str, Any, str]]
) -> list[tuple[str, Any, str]]:
    from aisg_check.config import ConfigError, parse_set_option

    out: list[tuple[str, Any, str]] = []
    for item in sets:
        try:
            key, value = parse_set_option(item)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        out.append((key, value, f"--set {key}"))
    if timeout is not None:
        out.append(("timeout", timeout, "--timeout"))
    if ca_bundle is not None:
        out.append(("ca_bundle", str(ca_bundle), "--ca-bundle"))
    out.extend(extra)
    return out


def make_scrubber(loaded: Any, env: dict[str, str]) -> Scrubber:
    """Seeded with every credential the run can know up front (checks add what they read later)."""
    from aisg_check.credentials import configured_urls, scrubber_for

    return scrubber_for(loaded.secrets(), configured_urls(loaded.values), env)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # None (closed), or a closed file
        return False


def _use_color(no_color: bool, env: dict[str, str], stream: Any) -> bool:
    if no_color or env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    return _isatty(stream) and env.get("TERM") != "dumb"


def _system_line() -> str:
    import platform

    return (
        f"{platform.system()} {platform.release()} ({platform.machine()}), Python {platform.python_version()}"
    )


# ---------------------------------------------------------------------------------------------
# a run: plan (exit 2 before anything runs) → execute → deliver


@dataclass(frozen=True)
class RunOptions:
    """The options every run command shares (cli._COMMON declares them)."""

    fmt: Format | None
    output: str | None
    verbose: bool
    quiet: bool
    timeout: float | None
    strict: bool
    no_color: bool
    only: Sequence[str]
    skip: Sequence[str]
    config: str | None
    sets: Sequence[str]
    ca_bundle: str | None
    push_gateway: str | None = None  # --push-gateway: fleet.push_gateway for this run
    exit_zero: bool = False  # --exit-zero: failing checks are results, not a failed command
    no_history: bool = False  # --no-history: this run is not recorded (the `history` setting)


@dataclass(frozen=True)
class Plan:
    """A run ready to start: `plan` builds it (every usage error found), `execute` runs it.
    The two halves of `run`; the support bundle runs a plan of its own between them."""

    ctx: Context
    checks: Sequence[Check]
    scrubber: Scrubber
    stdout_format: Format
    file_format: Format | None  # None: no --output file
    changes: dict[str, str] | None = None  # since the last run of each check (history), for the table


def plan(
    components: Sequence[str] | None,
    opts: RunOptions,
    extra: Sequence[tuple[str, Any, str]],
    default_ssl_context: Callable[[], Any],
) -> Plan:
    """Everything that can be a usage error, before any check runs."""
    from aisg_check import registry
    from aisg_check.context import Context

    env = dict(os.environ)
    if opts.push_gateway is not None:
        extra = [*extra, ("fleet.push_gateway", opts.push_gateway, "--push-gateway")]
    loaded = load(env, opts.config, overrides(opts.timeout, opts.ca_bundle, opts.sets, extra))
    try:
        checks = registry.select(components, opts.only, opts.skip)
    except registry.SelectionError as exc:
        raise UsageError(str(exc)) from None
    if not checks:
        raise UsageError("nothing to run: --only/--skip left no check")
    file_format = None
    try:
        if opts.output and opts.output != output.STDOUT:
            file_format = opts.fmt or _EXTENSIONS.get(Path(opts.output).suffix.lower(), Format.table)
            output.destination(opts.output, atomic=file_format is Format.prometheus)
    except output.OutputError as exc:
        raise UsageError(str(exc)) from None
    if Format.prometheus in (opts.fmt, file_format) or loaded.settings.fleet.push_gateway:
        _prefetch_metrics_library()
    scrubber = make_scrubber(loaded, env)
    ctx = Context(
        settings=loaded.settings,
        env=env,
        home=Path.home(),
        scrubber=scrubber,
        verbose=opts.verbose,
        default_ssl_context=default_ssl_context,
    )
    return Plan(ctx, checks, scrubber, opts.fmt or Format.table, file_format)


def _prefetch_metrics_library() -> None:
    """prometheus_client costs ~0.1 s to import: on another thread while the checks run."""
    import importlib

    from aisg_check.prefetch import prefetched

    prefetched(lambda: importlib.import_module("aisg_check.reporters.prometheus"))


def execute(plan: Plan, opts: RunOptions) -> RunReport:
    from aisg_check import cleanup
    from aisg_check.runner import Events, run_checks, scrub_report
    from aisg_check.secrets import clip_value

    progress: Any = None
    if not opts.quiet and _isatty(sys.stderr) and plan.stdout_format is Format.table:
        from aisg_check.reporters.progress import LiveProgress

        progress = LiveProgress(
            len(plan.checks), color=_use_color(opts.no_color, dict(plan.ctx.env), sys.stderr)
        )
    if any(c.component == "mlflow" for c in plan.checks):  # MLflow's telemetry, off before its import thread
        os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    with cleanup.session():
        if progress is not None:
            with progress:
                report = run_checks(plan.ctx, plan.checks, progress)
        else:
            report = run_checks(plan.ctx, plan.checks, Events())
    # Scrubbed, then clipped (a cut must not leave half a secret that no longer matches).
    report = scrub_report(report, lambda value: clip_value(plan.scrubber.scrub_value(value)))
    from aisg_check.fixes import annotate  # results with a safe local fix carry `aisg-check fix CODE`

    return annotate(plan.ctx, report)


def _render(plan: Plan, opts: RunOptions, report: RunReport, fmt: Format, *, to_file: bool) -> str:
    from aisg_check.reporters import RenderOptions, renderer

    settings = plan.ctx.settings
    project, days = settings.fleet.project or "", settings.expiry_warning_days
    if to_file:
        options = RenderOptions(
            verbose=opts.verbose,
            quiet=False,
            color=False,
            width=120,
            unicode=True,
            system=_system_line(),
            project=project,
            expiry_warning_days=days,
        )
    else:
        # Piped output (CI logs, tickets) is not folded at 80 columns: URLs and commands stay whole.
        width = 160
        if _isatty(sys.stdout):
            with contextlib.suppress(OSError, ValueError):
                width = max(80, os.get_terminal_size(sys.stdout.fileno()).columns)
        encoding = (getattr(sys.stdout, "encoding", "") or "").lower().replace("-", "")
        options = RenderOptions(
            verbose=opts.verbose,
            quiet=opts.quiet,
            color=_use_color(opts.no_color, dict(plan.ctx.env), sys.stdout),
            width=width,
            unicode=encoding in ("utf8", "utf16"),
            system=_system_line(),
            project=project,
            expiry_warning_days=days,
        )
    # Scrub once more at the very end: a reporter's own text must not carry a secret either.
    if fmt is Format.table:  # with what changed since the last run of each check
        from aisg_check.reporters.table import render_marked

        return plan.scrubber.scrub(render_marked(report, options, plan.changes))
    return plan.scrubber.scrub(renderer(fmt.value)(report, options))


def _push(plan: Plan, report: RunReport) -> str | None:
    """The metrics to fleet.push_gateway, when set; None, or why they did not get there."""
    gateway = plan.ctx.settings.fleet.push_gateway
    if not gateway:
        return None
    from aisg_check import push

    try:
        push.push(plan.ctx, report, gateway, plan.ctx.settings.fleet.project or "")
    except push.PushError as exc:
        return plan.scrubber.scrub(str(exc))
    return None


def _deliver(plan: Plan, opts: RunOptions, report: RunReport) -> int:
    """Standard output, the --output file and the Pushgateway, each whatever happened to the
    others. --exit-zero: the exit code says only whether the report got everywhere."""
    text = _render(plan, opts, report, plan.stdout_format, to_file=False)
    problems = [p for p in [output.write_stdout(text)] if p]
    if plan.file_format is not None and opts.output:
        color = _use_color(opts.no_color, dict(plan.ctx.env), sys.stdout)
        same = plan.file_format is plan.stdout_format and not color
        try:
            output.write_file(
                opts.output,
                text if same else _render(plan, opts, report, plan.file_format, to_file=True),
                atomic=plan.file_format is Format.prometheus,
            )
        except output.OutputError as exc:
            problems.append(str(exc))
    problems += [p for p in [_push(plan, report)] if p]
    for problem in problems:
        output.say(f"aisg-check: error: {problem}")
    if report.interrupted:
        how = signals.received()
        named = f" ({signals.signal_name(how)})" if how not in (None, signal.SIGINT) else ""
        output.say(f"aisg-check: interrupted{named}; the report shows what finished.")
        return signals.exit_code(EXIT_INTERRUPTED)
    if problems:
        return EXIT_USAGE
    return EXIT_OK if opts.exit_zero else report.exit_code(strict=opts.strict)


def _record_history(plan: Plan, opts: RunOptions, report: RunReport) -> dict[str, str] | None:
    """Append the run to the history (unless it is off): what changed since the last run of each
    check. A damaged or unwritable history file costs one line on stderr, never the run."""
    if opts.no_history or not plan.ctx.settings.history:
        return None
    from aisg_check import history

    try:
        path = history.history_path(plan.ctx.env, plan.ctx.home)
        with signals.shielded():  # a second Ctrl-C must not leave a half-trimmed file behind
            runs, note = history.record(path, history.entry(report, plan.scrubber.scrub), plan.scrubber.scrub)
        marks = history.changes(report, runs)
    except Exception as exc:  # a bug in a side feature must not cost the report
        from aisg_check.runner import crash_message

        note, marks = f"aisg-check: history: not recorded: {crash_message(exc)}", {}
    if note:
        output.say(plan.scrubber.scrub(note))
    return marks


def run(components: Sequence[str] | None, opts: RunOptions, extra: Sequence[tuple[str, Any, str]]) -> int:
    """The exit code of one run; UsageError before any check runs."""
    from aisg_check.net import trust
    from aisg_check.prefetch import prefetched

    # First thing: the system trust store loads on another core while the imports below run
    # (where it is read whole: trust.py).
    default_ssl_context = prefetched(trust.system_context)
    planned = plan(components, opts, extra, default_ssl_context)
    report = execute(planned, opts)
    from dataclasses import replace

    return _deliver(replace(planned, changes=_record_history(planned, opts, report)), opts, report)
