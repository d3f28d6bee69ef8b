"""The layers of the Run:ai checks, in report order, and the one hint every login problem shares."""

from __future__ import annotations

from aisg_check.check import Step
from aisg_check.context import Context
from aisg_check.platform import kubeconfig

STEP_KUBECONFIG = Step("runai.kubeconfig", "Kubeconfig")
STEP_LOGIN = Step("runai.login", "Run:ai login")
STEP_CLUSTER = Step("runai.cluster", "Cluster API")
STEP_IDENTITY = Step("runai.identity", "Identity on the cluster")
STEP_PERMISSION = Step("runai.permission", "Project namespace rights")
STEP_CLI = Step("runai.cli", "Run:ai CLI")

CLUSTER_STEPS = (STEP_KUBECONFIG, STEP_LOGIN, STEP_CLUSTER, STEP_IDENTITY, STEP_PERMISSION)


def login_hint(ctx: Context, config: kubeconfig.Kubeconfig | None = None) -> str:
    """`export KUBECONFIG=<the files in use>; runai login`, in the platform's path syntax."""
    paths = config.paths if config and config.paths else kubeconfig.candidate_paths(ctx)[0]
    shown = (";" if ctx.platform == "win32" else ":").join(str(p) for p in paths)
    return f"export KUBECONFIG={shown}; runai login"
