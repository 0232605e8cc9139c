"""The architecture's boundaries, read from the imports of every module (DESIGN.md, "Shape"):
Click only in ``cli/``, OCRmyPDF only in ``worker/``, no private name imported across
modules, and the package layout the design names."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "scan2pdf"
LAYERS = {"cli", "core", "state", "execution", "worker", "service"}


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        yield str(rel), ast.parse(path.read_text(), str(path))


def imports(tree: ast.Module) -> Iterator[tuple[str, list[str]]]:
    """(module imported, names taken from it), wherever the import statement is."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [alias.name for alias in node.names]


def top(name: str) -> str:
    return name.split(".")[0]


def test_the_layers_are_folders() -> None:
    assert {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} == LAYERS


@pytest.mark.parametrize(("library", "home"), [("click", "cli"), ("ocrmypdf", "worker")])
def test_a_library_is_imported_only_in_its_layer(library: str, home: str) -> None:
    offenders = [
        module
        for module, tree in modules()
        if not module.startswith(f"{home}/")
        for imported, _ in imports(tree)
        if top(imported) == library
    ]
    assert offenders == []


def test_no_private_name_is_imported_from_another_module() -> None:
    offenders = []
    for module, tree in modules():
        for imported, names in imports(tree):
            if top(imported) != "scan2pdf":
                continue
            if any(
                part.startswith("_") and not part.startswith("__") for part in imported.split(".")
            ):
                offenders.append((module, imported))
            offenders += [
                (module, f"{imported}.{n}")
                for n in names
                if n.startswith("_") and not n.startswith("__")
            ]
    assert offenders == []


def test_the_checks_can_fail() -> None:
    """The readers above see imports inside functions too."""
    tree = ast.parse("def f():\n    import click\n    from scan2pdf.x import _y\n")
    assert list(imports(tree)) == [("click", []), ("scan2pdf.x", ["_y"])]
