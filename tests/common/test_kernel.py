"""The kernel imports only the standard library, so both environments (3.11 and Rasa's 3.10) can use every module."""

import ast
import sys
from pathlib import Path

import pytest

KERNEL = Path(__file__).parents[2] / "common"
MODULES = sorted(KERNEL.rglob("*.py"))


def imported_packages(source: str) -> set[str]:
    """The top-level names a module imports; `common` itself counts as the kernel importing itself."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_kernel_has_modules():
    assert len(MODULES) > 5


@pytest.mark.parametrize("module", MODULES, ids=lambda path: str(path.relative_to(KERNEL)))
def test_every_kernel_module_imports_only_the_standard_library_and_the_kernel(module):
    outside = imported_packages(module.read_text(encoding="utf-8")) - set(sys.stdlib_module_names) - {"common"}
    assert not outside, f"{module.name} imports {sorted(outside)}"


def test_an_import_from_outside_the_standard_library_is_seen():
    source = "import json\nfrom yaml import load\nimport httpx.auth\nfrom . import clock\nfrom common import clock\n"
    assert imported_packages(source) - set(sys.stdlib_module_names) - {"common"} == {"yaml", "httpx"}
