"""The package shows the pipeline: imports go down the stages; each module says what it owns."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "tcsummary"
#: Each layer may import itself and the layers before it, nothing after.
LAYERS = ["core", "read", "plan", "summarise", "render", "jobs", "cli"]
#: The example generator stands apart: it may use only the foundation.
APART = {"example": ["core"]}


def _layer(module: Path) -> str:
    part = module.relative_to(PACKAGE).parts[0]
    return part.removesuffix(".py")


def _is_module(name: str) -> bool:
    return (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()


def _imported_layers(module: Path) -> set[str]:
    """The tcsummary subpackages a module imports (absolute or relative imports)."""
    tree = ast.parse(module.read_text())
    inside = module.relative_to(PACKAGE).parent.parts
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 0:
            if not (node.module or "").startswith("tcsummary."):
                continue
            parts = node.module.split(".")[1:]
        else:
            base = list(inside[: len(inside) - (node.level - 1)])
            parts = base + (node.module.split(".") if node.module else [])
            if not parts:  # "from .. import x": x is a subpackage, a module or a name
                names = [alias.name for alias in node.names]
                parts = [n for n in names if _is_module(n)]
        if parts:
            found.add(parts[0])
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_go_down_the_stages(module):
    layer = _layer(module)
    if layer == "__init__":
        return
    allowed = set(APART[layer]) if layer in APART else set(LAYERS[: LAYERS.index(layer) + 1])
    allowed |= {layer, "__init__"}
    if layer == "cli":
        allowed |= {"example"}  # `tcsummary example` is the generator's command
    wrong = _imported_layers(module) - allowed
    assert not wrong, f"{module.relative_to(PACKAGE)} ({layer}) imports {sorted(wrong)}"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_says_what_it_owns(module):
    docstring = ast.get_docstring(ast.parse(module.read_text()))
    assert docstring and len(docstring) > 30, f"{module} needs an opening docstring"


def test_every_rule_calls_one_package_function():
    rules = Path(__file__).resolve().parents[1] / "workflow" / "rules"
    for smk in rules.glob("*.smk"):
        text = smk.read_text()
        for block in text.split("\nrule ")[1:]:
            body = block.split("\n    run:\n", 1)
            if len(body) == 2:
                calls = [line for line in body[1].splitlines() if "log=log[0]" in line
                         or line.strip().startswith("from tcsummary.jobs.")]
                assert calls, f"{smk.name}: rule {block.split(':')[0]} calls no job function"
