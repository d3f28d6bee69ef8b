"""Sizes to keep (DESIGN.md §2): no module in src/ over about 450 lines, no function over about 70.
A module or function past these is doing more than one job; split it by what it is about."""

from __future__ import annotations

import ast
from pathlib import Path

import aisg_check

SRC = Path(aisg_check.__file__).resolve().parent
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 70


def test_no_module_is_over_the_limit() -> None:
    large = {
        str(path.relative_to(SRC)): n
        for path in SRC.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not large, f"modules over {MAX_MODULE_LINES} lines: {large}"


def test_no_function_is_over_the_limit() -> None:
    long = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno:
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(SRC)}:{node.name}"] = length
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"
