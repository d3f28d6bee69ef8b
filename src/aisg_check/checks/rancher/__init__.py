"""`rancher`: the Rancher dashboard answers. Sign-in is SSO in a browser, so that is all a
command-line tool can tell; the hint says where to go next.

The smallest component package, and the one to copy for a new component (CONTRIBUTING.md,
"Add a component"): `diagnoses.py` holds its codes, one module per layer family holds `run`,
and this file declares the checks.
"""

from __future__ import annotations

from aisg_check.check import Check, declared
from aisg_check.checks.rancher import dashboard, diagnoses
from aisg_check.diagnoses import NETWORK_DIAGNOSES

# What the package's checks may report: its diagnoses module, and any transport failure.
DECLARED = declared(diagnoses, NETWORK_DIAGNOSES)

CHECKS = (
    Check(
        id="rancher",
        component="rancher",
        title="Rancher",
        steps=(dashboard.DASHBOARD,),
        run=dashboard.run,
        needs=("vpn.rancher",),
        diagnoses=DECLARED,
    ),
)
