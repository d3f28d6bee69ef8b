"""The codes `rancher` reports: its own, and the shared ones it reports as they are."""

from __future__ import annotations

from aisg_check.diagnoses import ENDPOINT_HTTP_ERROR, NOT_CONFIGURED
from aisg_check.model import CONTACT_MLOPS, Diagnosis

__all__ = ["ENDPOINT_HTTP_ERROR", "NOT_CONFIGURED", "RANCHER_NOT_RANCHER"]

RANCHER_NOT_RANCHER = Diagnosis(
    "RANCHER_NOT_RANCHER",
    "Not a Rancher server",
    "The URL answers, but not as Rancher does (its /ping does not answer 'pong'): a wrong URL, or a "
    "login portal in front of it.",
    "Check rancher.url (`aisg-check config`); open it in a browser and sign in with your AI Singapore "
    "account.",
    CONTACT_MLOPS,
)
