"""Layer 1, `runai.kubeconfig`: the file(s) kubectl would read, the context, its cluster and user."""

from __future__ import annotations

from typing import Any

from aisg_check.check import Recorder
from aisg_check.checks.runai.diagnoses import KUBE_CONTEXT_MISSING, KUBECONFIG_INVALID, KUBECONFIG_MISSING
from aisg_check.checks.runai.steps import STEP_KUBECONFIG, login_hint
from aisg_check.context import Context
from aisg_check.model import CONTACT_MLOPS
from aisg_check.platform import kubeconfig


def resolve(ctx: Context, rec: Recorder) -> tuple[kubeconfig.Kubeconfig, kubeconfig.Selection]:
    paths, source = kubeconfig.candidate_paths(ctx)
    try:
        config = kubeconfig.load(ctx)
        if not config.paths:
            raise rec.fail(
                STEP_KUBECONFIG,
                KUBECONFIG_MISSING,
                f"No kubeconfig at {', '.join(map(str, paths))} (from {source})",
                hint=f"Save the kubeconfig from the MLOps team as {paths[0]} (or `export KUBECONFIG=/path/"
                f"to/kubeconfig`), then run `{login_hint(ctx, config)}`.",
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
