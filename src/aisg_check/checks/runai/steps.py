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

CLUSTER_STEPS = (STEP_KUBECONFIG, STEP_LOGIN, STEP_CLUSTER, STEP_IDENTITY, STEP_PERMISSION)

# In a pod the first two layers are the pod's own: the same rows, titled for what they are.
IN_CLUSTER_TITLES = {STEP_KUBECONFIG: "In-cluster configuration", STEP_LOGIN: "Service account token"}

# A group: the improved CLI's own layers are its children (its session with the control plane,
# its defaults, the project), rows that users of the first CLI never see.
STEP_CLI = Step("runai.cli", "Run:ai CLI", group=True)
STEP_CLI_LOGIN = Step("runai.cli.login", "Run:ai control-plane login")
STEP_CLI_CONFIG = Step("runai.cli.config", "Run:ai CLI defaults")
STEP_CLI_PROJECT = Step("runai.cli.project", "Run:ai project visible")
IMPROVED_STEPS = (STEP_CLI_LOGIN, STEP_CLI_CONFIG, STEP_CLI_PROJECT)


def login_hint(ctx: Context, config: kubeconfig.Kubeconfig | None = None, *, improved: bool = False) -> str:
    """`export KUBECONFIG=<the files in use>; runai login`, in the platform's path syntax; with
    the improved CLI the login is the control plane's and `runai kubeconfig set` puts its token
    into the kubeconfig kubectl reads."""
    paths = config.paths if config and config.paths else kubeconfig.candidate_paths(ctx)[0]
    shown = (";" if ctx.platform == "win32" else ":").join(str(p) for p in paths)
    then = "runai login && runai kubeconfig set" if improved else "runai login"
    return f"export KUBECONFIG={shown}; {then}"
