"""The lint gates mean what they say (issue #9): mypy covers tests/, benchmarks/ and alembic/,
every ``type: ignore`` says why it is there, and an oracle test cannot skip in CI."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
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


def _run_missing_import_test(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    """Run one test that ``importorskip``s a package that is not installed, with the project's
    own ``tests/conftest.py`` loaded as a plugin, as the suite runs it."""
    test = tmp_path / "test_oracle.py"
    test.write_text(
        "import pytest\n\n\ndef test_oracle():\n"
        '    pytest.importorskip("thenandnow_no_such_oracle_package")\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "tests.conftest", str(test)]
        + ["-p", "no:cacheprovider", "--rootdir", str(tmp_path), "-c", os.devnull],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_an_oracle_test_that_cannot_import_fails_under_ci(tmp_path: Path) -> None:
    """Under ``CI=true`` a missing oracle package (diff-diff, moderndid, causaldata) fails
    the test instead of skipping it; locally it is a skip."""
    ci = _run_missing_import_test(tmp_path, "true")
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert "1 failed" in ci.stdout and "CI=true: could not import" in ci.stdout, ci.stdout
    local = _run_missing_import_test(tmp_path, None)
    assert local.returncode == 0, local.stdout + local.stderr
    assert "1 skipped" in local.stdout, local.stdout


def _page_trees() -> dict[str, ast.Module]:
    pages = sorted((ROOT / "pages").glob("*.py"))
    assert len(pages) > 5, "the scan found no page scripts"
    return {p.name: ast.parse(p.read_text(encoding="utf-8")) for p in pages}


def test_no_page_declares_a_cache_or_reads_the_database() -> None:
    """Pages follow one pattern, context → cached story or view → render: the cache
    boundary is ``ui/`` (``ui/cached.py``, ``ui/page_context.py``), and a page reads
    nothing from ``data_loaders`` itself (writes and reads go through ``ui`` and
    ``services``)."""
    offenders = []
    for name, tree in _page_trees().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("cache_data", "cache_resource"):
                offenders.append(f"{name}: st.{node.attr}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("data_loaders"):
                offenders.append(f"{name}: from {node.module} import …")
            if isinstance(node, ast.Import) and any(
                a.name.startswith("data_loaders") for a in node.names
            ):
                offenders.append(f"{name}: import data_loaders")
    assert not offenders, offenders


def test_no_page_nor_app_py_calls_a_metric_function() -> None:
    """Every page follows context → cached story or view → render (issue #9: the
    Innovations page made seven uncached metric calls, the detail page had its own caches,
    the Then & Now page computed its presets): ``app.py`` and every script in ``pages/``
    take their figures from ``ui``; from ``metrics`` they import only ``metrics.format`` and
    constants (UPPER_CASE names)."""
    trees = _page_trees()
    trees["app.py"] = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    offenders = []
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                offenders += [
                    f"{name}: import {a.name}"
                    for a in node.names
                    if a.name.split(".")[0] == "metrics"
                ]
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "metrics":
                if node.module == "metrics.format":
                    continue
                offenders += [
                    f"{name}: {node.module}.{a.name}" for a in node.names if not a.name.isupper()
                ]
    assert not offenders, offenders


#: What a page test (tests/pages/) may import from ``metrics`` and ``story``: the vocabulary an
#: expectation written by hand is spelled in — the rules (``metrics.rules``), the number and
#: text formats (``metrics.format``), UPPER_CASE constants of any module (``EVIDENCE_NOTES``)
#: — the key stored estimates are filed under (``metrics.versions.estimates_version``), the
#: ``Story`` type and its Markdown-free text (``story.model.plain``). Never a view or story
#: builder (``metrics.views``, ``story.model.build_story``, a metric function): a page test
#: whose expected figure comes from the function the page renders cannot fail when that
#: function is wrong (issue #9).
PAGE_TEST_ALLOWED: dict[str, str | set[str]] = {
    "metrics.rules": "*",
    "metrics.format": "*",
    "metrics.versions": {"estimates_version"},
    "story.model": {"Story", "plain"},
}
#: test_one_story.py wraps ``story.model.build_story`` to record the Story each output was
#: given; its expectations are the other outputs' texts (a spy, not an oracle).
PAGE_TEST_SPIES = {"test_one_story.py": {"story.model"}}


def _metric_and_story_imports(tree: ast.Module) -> set[str]:
    """``module.name`` of each name imported from ``metrics``/``story`` that
    ``PAGE_TEST_ALLOWED`` does not allow (``module`` alone for a module import)."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module in ("metrics", "story"):  # from metrics import views: a module
                found += [(f"{node.module}.{a.name}", None) for a in node.names]
            else:
                found += [(node.module, a.name) for a in node.names]
    out = set()
    for module, name in found:
        if module.split(".")[0] not in ("metrics", "story"):
            continue
        allowed = PAGE_TEST_ALLOWED.get(module, set())
        if name is None and allowed != "*":
            out.add(module)
        elif name is not None and not (name.isupper() or allowed == "*" or name in allowed):
            out.add(f"{module}.{name}")
    return out


def test_page_tests_import_no_view_or_story_builder_as_their_oracle() -> None:
    """From ``metrics`` and ``story`` a page test imports only rules, formats and constants
    (``PAGE_TEST_ALLOWED``); the one exception is the spy of test_one_story.py."""
    files = sorted((ROOT / "tests" / "pages").glob("*.py"))
    assert len(files) > 10, "the scan found no page tests"
    seen = {p.name: _metric_and_story_imports(ast.parse(p.read_text("utf-8"))) for p in files}
    wrong = {
        name: sorted(imports ^ PAGE_TEST_SPIES.get(name, set()))
        for name, imports in seen.items()
        if imports != PAGE_TEST_SPIES.get(name, set())
    }
    assert not wrong, (
        "page tests whose imports from metrics/story differ from what is allowed "
        f"(a builder imported as an oracle, or a spy no longer used): {wrong}"
    )
