"""Docs and code in step: every diagnosis code has an anchor in docs/codes.md and every
anchor a code, because the page is generated from the checks' own metadata."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from aisg_check import catalogue, reference, registry

ROOT = Path(__file__).resolve().parent.parent


def test_codes_page_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "codes.md").read_text()
    assert committed == catalogue.render(), "run: python -m aisg_check.catalogue > docs/codes.md"


def test_every_anchor_is_a_code_and_every_code_an_anchor() -> None:
    anchors = set(re.findall(r"^## ([A-Z][A-Z0-9_]+)$", (ROOT / "docs" / "codes.md").read_text(), re.M))
    codes = {d.code for d in registry.all_diagnoses()}
    assert anchors == codes


def test_every_diagnosis_declared_in_the_source_is_registered() -> None:
    """A Diagnosis constant that no Check lists would produce a code without an anchor."""
    declared = set()
    for path in (ROOT / "src" / "aisg_check").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "Diagnosis"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                declared.add(node.args[0].value)
    registered = {d.code for d in registry.all_diagnoses()}
    assert declared - registered == set(), (
        f"declared but not listed in any Check.diagnoses: {declared - registered}"
    )


def test_diagnoses_are_complete_sentences_with_a_fix() -> None:
    for d in registry.all_diagnoses():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]+", d.code)
        assert d.title and d.cause.endswith((".", ".)")) and d.fix, d.code


def test_configuration_reference_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == reference.render(), "run: python -m aisg_check.reference > docs/configuration.md"
