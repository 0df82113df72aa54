"""Data flows one way (docs/ARCHITECTURE.md, Layers): the computing layers never import Streamlit, and pages
stay thin (no groupby/merge/pivot/SQL in page scripts)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE_LAYERS = ("metrics", "data_loaders", "charts", "reports", "story", "services")
FORBIDDEN_IN_PAGES = {
    "groupby",
    "merge",
    "pivot",
    "pivot_table",
    "resample",
    "read_sql",
    "read_sql_query",
    "execute",
}


def _py_files(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", PURE_LAYERS)
def test_pure_layers_never_import_streamlit(layer: str) -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(n for n in _imports(p) if n.split(".")[0] == "streamlit")
        for p in _py_files(layer)
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"{layer}/ must not import Streamlit: {offenders}"


def test_the_scan_sees_imports() -> None:
    """Guard against a scanner that silently finds nothing."""
    assert "streamlit" in _imports(ROOT / "ui" / "frame.py")
    assert _py_files("metrics"), "metrics/ has no Python files?"


@pytest.mark.parametrize("page", sorted((ROOT / "pages").glob("*.py")), ids=lambda p: p.name)
def test_pages_do_not_compute(page: Path) -> None:
    tree = ast.parse(page.read_text(encoding="utf-8"))
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & FORBIDDEN_IN_PAGES, (
        f"{page.name} computes ({sorted(calls & FORBIDDEN_IN_PAGES)}): move it to metrics/"
    )
    assert not any(n.split(".")[0] == "sqlalchemy" for n in _imports(page))
