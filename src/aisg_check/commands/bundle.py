"""`aisg-check bundle`: a support bundle for the MLOps team (aisg_check/bundle/)."""

from __future__ import annotations

from typing import Annotated

import typer

from aisg_check.commands import emit, fail_usage


def make_bundle(
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Where to write the .tar.gz: a regular file or a new path "
            "[default: aisg-check-bundle-<date>-<time>.tar.gz in the current directory].",
        ),
    ] = None,
    only: Annotated[
        list[str], typer.Option("--only", metavar="ID", help="Run only these checks (repeatable).")
    ] = [],  # noqa: B006
    skip: Annotated[
        list[str], typer.Option("--skip", metavar="ID", help="Do not run these checks (repeatable).")
    ] = [],  # noqa: B006
    config: Annotated[str | None, typer.Option("--config", "-c", metavar="FILE", help="Config file.")] = None,
    sets: Annotated[
        list[str], typer.Option("--set", metavar="KEY=VALUE", help="Override a config key (repeatable).")
    ] = [],  # noqa: B006
    timeout: Annotated[
        float | None, typer.Option("--timeout", metavar="SECONDS", help="Seconds for each network step.")
    ] = None,
    ca_bundle: Annotated[
        str | None, typer.Option("--ca-bundle", metavar="FILE", help="PEM file trusted in addition.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colours (also: NO_COLOR=1).")] = False,
) -> None:
    """Run every check and write a support bundle for the MLOps team: the reports, versions, the
    effective settings and redacted copies of the files the checks read (secrets removed)."""
    from aisg_check import invocation, signals
    from aisg_check import output as output_module
    from aisg_check.bundle import make

    options = make.Options(output, only, skip, config, sets, timeout, ca_bundle, quiet, no_color)
    try:
        outcome = make.make(options)
    except invocation.UsageError as exc:
        raise fail_usage(str(exc)) from None
    except output_module.OutputError as exc:
        raise fail_usage(str(exc)) from None
    except KeyboardInterrupt:
        outcome = None
    if outcome is None:
        output_module.say("aisg-check: interrupted; no bundle was written")
        raise typer.Exit(signals.exit_code(130))
    emit(make.summary(outcome))


def register(app: typer.Typer) -> None:
    app.command("bundle")(make_bundle)
