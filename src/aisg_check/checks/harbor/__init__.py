"""`harbor`: can this engineer pull from and push to their team's project on the registry?

Four checks, run side by side (sibling ids, so that `--skip harbor.daemon` or
`--only harbor.robot` leaves the others alone):

- `harbor.user` (user.py): the user's `docker login` (credentials → username → TLS →
  authentication → push permission per project);
- `harbor.robot` (robot.py): a robot account's `.json` file (file, name and expiry →
  authentication → push);
- `harbor.ci` (ci.py, authfile.py): the Docker config JSON that builders (kaniko, crane) log in
  with in CI jobs and pods (file and inline login → authentication → push);
- `harbor.daemon` (daemon.py): whether a Docker daemon answers (a warning only: pushing needs
  one, the login does not); a laptop's, so not applicable in a pod.

A robot name that lost its `$...` to a shell is recognised wherever a name is read (names.py).

Nothing is pushed and no daemon is needed: permission is read from the registry's token
service, which is what Docker itself asks before a push. For a scope
`repository:<project>/aisg-check:pull,push` Harbor grants exactly the actions the user's
role allows (Project Admin, Maintainer, Developer: push and pull; Guest: pull), so the
granted `access` claim of the JWT answers "may I push?" without writing anything
(`platform/registry_v2.py` speaks the protocol, access.py turns its answers into results).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aisg_check.check import Check, Step, declared
from aisg_check.checks.harbor import diagnoses
from aisg_check.diagnoses import NETWORK_DIAGNOSES

if TYPE_CHECKING:
    from aisg_check.check import Recorder
    from aisg_check.context import Context

# What the package's checks may report: its diagnoses module, and any transport failure.
DECLARED = declared(diagnoses, NETWORK_DIAGNOSES)

# The steps of each chain, in report order; the layer modules record against these.
USER_CREDENTIALS = Step("harbor.user.credentials", "Docker login stored")
USER_USERNAME = Step("harbor.user.username", "Username without domain")
USER_TLS = Step("harbor.user.tls", "Registry connection and TLS")
USER_AUTH = Step("harbor.user.auth", "Registry login")
USER_PUSH = Step("harbor.user.push", "Push permission", group=True)  # .<project>
ROBOT_FILE = Step("harbor.robot.file", "Robot account file")
ROBOT_AUTH = Step("harbor.robot.auth", "Robot login")
ROBOT_PUSH = Step("harbor.robot.push", "Robot push", group=True)  # .<project>
CI_FILE = Step("harbor.ci.file", "Docker config JSON for CI")
CI_AUTH = Step("harbor.ci.auth", "CI login")
CI_PUSH = Step("harbor.ci.push", "CI push", group=True)  # .<project>
DAEMON = Step("harbor.daemon", "Docker daemon")


# Thin runs: a layer module is imported by its own check's thread when the check starts, so
# that `aisg-check list` and the runner's set-up (one thread, before any check runs) pay only
# for this file; the three imports then overlap the VPN probe's network waits.
def run_user(ctx: Context, rec: Recorder) -> None:
    from aisg_check.checks.harbor import user

    user.run(ctx, rec)


def run_robot(ctx: Context, rec: Recorder) -> None:
    from aisg_check.checks.harbor import robot

    robot.run(ctx, rec)


def run_ci(ctx: Context, rec: Recorder) -> None:
    from aisg_check.checks.harbor import ci

    ci.run(ctx, rec)


def run_daemon(ctx: Context, rec: Recorder) -> None:
    from aisg_check.checks.harbor import daemon

    daemon.run(ctx, rec)


CHECKS: tuple[Check, ...] = (
    Check(
        id="harbor.user",
        component="harbor",
        title="Harbor login and push rights",
        steps=(USER_CREDENTIALS, USER_USERNAME, USER_TLS, USER_AUTH, USER_PUSH),
        run=run_user,
        needs=("vpn.harbor",),
        diagnoses=DECLARED,
        # A credential helper (1) + /v2/, token, /v2/ with it (3) + token and role per project
        # (2 each), one timeout apiece: room for three projects on a slow but answering registry.
        budget=10.0,
        import_allowance_s=2.0,
    ),
    Check(
        id="harbor.robot",
        component="harbor",
        title="Harbor robot account",
        steps=(ROBOT_FILE, ROBOT_AUTH, ROBOT_PUSH),
        run=run_robot,
        needs=("vpn.harbor",),
        diagnoses=DECLARED,
        # /v2/, token, /v2/ with it (3) + a token per project (1 each; robots have no role to read).
        budget=8.0,
    ),
    Check(
        id="harbor.ci",
        component="harbor",
        title="Harbor login for CI builds (Docker config JSON)",
        steps=(CI_FILE, CI_AUTH, CI_PUSH),
        run=run_ci,
        needs=("vpn.harbor",),
        diagnoses=DECLARED,
        # As the robot's: /v2/, token, /v2/ with it (3) + a token per project (1 each).
        budget=8.0,
    ),
    Check(
        id="harbor.daemon",
        component="harbor",
        title="Docker daemon",
        steps=(DAEMON,),
        run=run_daemon,
        diagnoses=DECLARED,
        budget=1.0,
        import_allowance_s=2.0,
        # Building and pushing happen on a laptop; a pod's builds use kaniko or crane, no daemon.
        laptop_only=True,
    ),
)
