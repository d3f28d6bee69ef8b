"""Layer 1, `runai.kubeconfig`: the file(s) kubectl would read, the context, its cluster and user.
With Run:ai's improved CLI a kubeconfig is needed only for kubectl: none at all is no fault then."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aisg_check.check import Recorder, Stop
from aisg_check.checks.runai import generation
from aisg_check.checks.runai.diagnoses import (
    KUBE_CONTEXT_MISSING,
    KUBECONFIG_INVALID,
    KUBECONFIG_MISSING,
    NOT_CONFIGURED,
)
from aisg_check.checks.runai.steps import CLUSTER_STEPS, STEP_KUBECONFIG, login_hint
from aisg_check.context import Context
from aisg_check.credentials import is_inline_yaml
from aisg_check.model import CONTACT_MLOPS
from aisg_check.platform import kubeconfig
from aisg_check.platform.kubeconfig import DEFAULT_SOURCE


def resolve(ctx: Context, rec: Recorder) -> tuple[kubeconfig.Kubeconfig, kubeconfig.Selection]:
    paths, source = kubeconfig.candidate_paths(ctx)
    if _holds_content(ctx, source):
        raise _content(rec, source)
    try:
        config = kubeconfig.load(ctx)
        # Only where none was named: a --kubeconfig or KUBECONFIG that points nowhere is a mistake.
        if not config.paths and source == DEFAULT_SOURCE and _improved(ctx, rec):
            raise _not_needed(ctx, rec, paths)
        if not config.paths:
            raise rec.fail(
                STEP_KUBECONFIG,
                KUBECONFIG_MISSING,
                f"No kubeconfig at {', '.join(map(str, paths))} (from {source})",
                hint=f"Save the kubeconfig from the MLOps team as {paths[0]} (or `export KUBECONFIG=/path/"
                f"to/kubeconfig`), then run `{login_hint(ctx, config, improved=_improved(ctx, rec))}`.",
                details={"looked_at": [str(p) for p in paths], "source": source},
            )
        sel = kubeconfig.select(ctx, config)
    except kubeconfig.KubeconfigError as exc:
        raise rec.fail(
            STEP_KUBECONFIG,
            KUBECONFIG_INVALID,
            f"Kubeconfig {exc.path}: {exc.message}",
            details={"file": str(exc.path), "source": source},
        ) from None
    except kubeconfig.ContextMissing as exc:
        raise _context_missing(rec, config, exc) from None
    rec.ok(STEP_KUBECONFIG, _summary(sel), details=_details(config, sel, source))
    return config, sel


def _holds_content(ctx: Context, source: str) -> bool:
    """KUBECONFIG (or runai.kubeconfig) holding the kubeconfig itself, as a CI variable that is not
    of type File does: its "paths" are pieces of the YAML, so none is ever named."""
    if source == "KUBECONFIG":
        return is_inline_yaml(ctx.env.get("KUBECONFIG", ""))
    return source == "runai.kubeconfig" and is_inline_yaml(ctx.settings.runai.kubeconfig or "")


def _content(rec: Recorder, source: str) -> Stop:
    """Named, never echoed: the value is registered with the scrubber (credentials.py) and carries
    the login's secrets. kubectl would look for files named by its pieces and find none."""
    if source == "KUBECONFIG":
        summary = (
            "KUBECONFIG holds YAML content, not a path: put it in a file (a GitLab File variable) and "
            "point KUBECONFIG at it"
        )
        hint = (
            "In GitLab CI make KUBECONFIG a variable of type File (the job then gets the path of a file "
            'holding it), or write it to a file: `printf \'%s\' "$KUBECONFIG" > "$PWD/kubeconfig" && '
            'export KUBECONFIG="$PWD/kubeconfig"`.'
        )
    else:
        summary = (
            "runai.kubeconfig holds YAML content, not a path: put it in a file and set runai.kubeconfig "
            "to its path"
        )
        hint = "Save the kubeconfig as a file and set runai.kubeconfig (or --kubeconfig) to that file's path."
    return rec.fail(STEP_KUBECONFIG, KUBECONFIG_MISSING, summary, hint=hint, details={"source": source})


def _improved(ctx: Context, rec: Recorder) -> bool:
    return generation.of_user(ctx, rec.step_timeout(ctx.timeout)) == generation.IMPROVED


def _not_needed(ctx: Context, rec: Recorder, paths: tuple[Path, ...]) -> Stop:
    """The improved CLI logs in to the control plane: without kubectl there is no kubeconfig to
    check, and that is no fault (`runai.cli` checks the CLI's own login)."""
    rec.skip(
        STEP_KUBECONFIG,
        NOT_CONFIGURED,
        f"No kubeconfig at {', '.join(map(str, paths))}, and none needed: Run:ai's improved CLI logs in "
        "to the control plane (runai.cli checks it); only kubectl needs a kubeconfig",
        hint=f"To use kubectl too: save the kubeconfig from {CONTACT_MLOPS} as {paths[0]}, then "
        f"`{login_hint(ctx, None, improved=True)}`.",
        details={"looked_at": [str(p) for p in paths], "cli": generation.IMPROVED},
    )
    for step in CLUSTER_STEPS[1:]:
        rec.skip(step, NOT_CONFIGURED, "Not checked: no kubeconfig (kubectl is not set up)")
    return Stop(STEP_KUBECONFIG.id)


def _context_missing(
    rec: Recorder, config: kubeconfig.Kubeconfig, exc: kubeconfig.ContextMissing
) -> Exception:
    what = f"context '{exc.name}' is not defined" if exc.name else "no current-context is set"
    first = exc.available[0] if exc.available else None
    return rec.fail(
        STEP_KUBECONFIG,
        KUBE_CONTEXT_MISSING,
        f"In {', '.join(map(str, config.paths))}: {what}",
        hint=(
            f"Available contexts: {', '.join(exc.available)}. `kubectl config use-context {first}` or "
            f"`aisg-check runai --context {first}`."
            if first
            else f"The kubeconfig defines no context: get a fresh copy from {CONTACT_MLOPS}."
        ),
        details={"files": [str(p) for p in config.paths], "contexts": list(exc.available)},
    )


def _summary(sel: kubeconfig.Selection) -> str:
    # The guide's sample sets insecure-skip-tls-verify: expected for AI Singapore's cluster, not a fault.
    note = " (insecure-skip-tls-verify, as the MLOps team's kubeconfig sets it)" if sel.insecure else ""
    return f"Context '{sel.context}' → {sel.server} as user '{sel.user_name}'{note}"


def _details(config: kubeconfig.Kubeconfig, sel: kubeconfig.Selection, source: str) -> dict[str, Any]:
    details: dict[str, Any] = {
        "files": [str(p) for p in config.paths],
        "source": source,
        "context": sel.context,
        "cluster": sel.cluster_name,
        "server": sel.server,
        "user": sel.user_name,
    }
    if config.missing:
        details["missing_files"] = [str(p) for p in config.missing]
    if sel.insecure:
        details["insecure_skip_tls_verify"] = True
    return details
