"""One home per rule: the domain vocabulary and rules are defined in metrics/rules.py only
(docs/ARCHITECTURE.md, Layers). Fails when another module of the app defines one of its
names again, or writes out the evidence levels or the stages as a literal list."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "metrics" / "rules.py"
APP_DIRS = ("metrics", "data_loaders", "charts", "reports", "story", "services", "ui", "pages")
APP_FILES = sorted(
    [ROOT / "app.py", ROOT / "cli.py", *(p for d in APP_DIRS for p in (ROOT / d).rglob("*.py"))]
)
# Names the earlier copies used (the issue found them in several modules).
HISTORIC = {"LIVE_STAGES", "first_of_month", "_first_of_month", "volume_weighted_mean"}


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("__")}


_DEFINED = _top_level_names(ast.parse(RULES.read_text(encoding="utf-8")))
# Constants by name; functions only those whose name is the rule itself.
RULE_FUNCTIONS = {
    "month_start",
    "month_end",
    "month_index",
    "add_months",
    "weighted_mean",
    "direction_sign",
    "evidence_rank",
    "is_stale",
    "main_targets",
    "innovation_states",
    "retired_on",
}
RULE_NAMES = {n for n in _DEFINED if n.isupper()} | (RULE_FUNCTIONS & _DEFINED) | HISTORIC


def _literal_strings(node: ast.AST) -> tuple[str, ...] | None:
    if not isinstance(node, ast.Tuple | ast.List | ast.Set) or not node.elts:
        return None
    values = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
    if all(isinstance(v, str) for v in values):
        return tuple(str(v) for v in values)
    return None


def _redefinitions(path: Path) -> list[str]:
    from metrics import rules

    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    vocabularies = {
        "evidence levels": set(rules.EVIDENCE_KEYS),
        "stages": set(rules.STAGES),
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name in RULE_NAMES:
            found.append(f"line {node.lineno}: defines {node.name}")
        values = _literal_strings(node)
        if values is not None:
            for what, vocab in vocabularies.items():
                if len(values) >= 3 and set(values) <= vocab:
                    line = getattr(node, "lineno", "?")  # ast.Module has no line
                    found.append(f"line {line}: writes out the {what} {values}")
    for node in tree.body:  # module-level constants (a rebinding to an import is fine)
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets, value = list(node.targets), node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for t in targets:
            if isinstance(t, ast.Name) and t.id in RULE_NAMES and not isinstance(value, ast.Name):
                found.append(f"line {node.lineno}: assigns {t.id}")
    return found


def test_the_rules_module_is_read() -> None:
    """Guard against a scan that finds nothing to look for."""
    assert {"EVIDENCE_KEYS", "STAGES", "direction_sign", "month_start", "weighted_mean"} <= (
        RULE_NAMES
    )
    assert len(APP_FILES) > 40


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=str(p.relative_to(ROOT))) for p in APP_FILES if p != RULES],
)
def test_no_rule_is_defined_twice(path: Path) -> None:
    assert not _redefinitions(path), _redefinitions(path)


def test_the_scan_catches_a_copy(tmp_path: Path) -> None:
    """A module that copies a rule is caught (the test can fail)."""
    copy = tmp_path / "copy.py"
    copy.write_text(
        'LIVE_STAGES = ("live", "scaled")\n'
        "def month_start(d):\n    return d\n"
        'ORDER = ("estimated", "measured", "claimed")\n'
    )
    assert len(_redefinitions(copy)) == 3
