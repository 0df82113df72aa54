"""The lint gates mean what they say (issue #9): mypy covers tests/, benchmarks/ and alembic/,
and every ``type: ignore`` says why it is there."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".venv", ".git", "node_modules", "build"}
IGNORE = re.compile(r"#\s*type:\s*ignore(\[[^\]]*\])?(?P<rest>.*)$")


def _sources() -> list[Path]:
    return [
        p
        for p in ROOT.rglob("*.py")
        if not any(part in SKIP or part.endswith(".egg-info") for part in p.relative_to(ROOT).parts)
    ]


def test_every_type_ignore_names_its_code_and_reason() -> None:
    """``# type: ignore[code]  # why`` — a bare ignore hides every error on its line."""
    bare = []
    for path in _sources():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            m = IGNORE.search(line)
            if m and (m.group(1) is None or not m.group("rest").strip().startswith("#")):
                bare.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not bare, "type: ignore without a code and a reason:\n" + "\n".join(bare)


def test_mypy_checks_tests_benchmarks_and_migrations() -> None:
    """Only the virtual environment is excluded, and unused ignores are errors."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    excluded = conf.get("exclude", [])
    for folder in ("tests/", "benchmarks/", "alembic/"):
        assert not any(re.search(rx, folder) for rx in excluded), folder
    assert conf.get("warn_unused_ignores") is True
