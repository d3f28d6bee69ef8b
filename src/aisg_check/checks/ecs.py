"""`ecs`: placeholder until its issue lands; see the registry."""

from __future__ import annotations

from aisg_check.check import Check

CHECKS: tuple[Check, ...] = ()
