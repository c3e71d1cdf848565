"""The layout cannot decay silently: the layers of pyproject.toml's import-linter contract hold
(interfaces -> local -> batch -> workloads -> AWS adapters -> core; no pandas in the trigger), no
module grows past ~300 lines, and no CLI or API function past ~60."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.unit

PACKAGES = ("ecompipe", "validator", "transformer", "trigger", "events", "questions")
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_the_import_contract_holds() -> None:
    lint = Path(sys.executable).with_name("lint-imports")  # installed with the test extra
    proc = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_no_module_is_too_long() -> None:
    long = {
        str(p.relative_to(ROOT)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_cli_or_api_function_is_too_long() -> None:
    long = {}
    for path in _modules():
        if path.parent.name not in ("cli", "api"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = length
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"
