"""README stays true: the two commands, every import column, what CI calls, and the method
section (the Data page's own text)."""

from __future__ import annotations

from pathlib import Path

from data_loaders.formats import SPECS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_two_commands_come_first() -> None:
    """`make run` and `make test` are the first commands a reader meets."""
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    assert "make run" in first_block and "make test" in first_block


def test_every_import_column_is_documented() -> None:
    """Each entity's format table lists each of its columns."""
    for spec in SPECS:
        if spec.entity == "planted_effects":
            continue
        section = README.split(f"#### `{spec.entity}`", 1)[1].split("####", 1)[0]
        for col in spec.columns:
            assert f"| `{col.name}` |" in section, (spec.entity, col.name)


def test_ci_calls_the_readme_test_command() -> None:
    """.ci/run runs `make test`, the command README documents."""
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_images_exist() -> None:
    """Every image README shows is in the repository."""
    import re

    for path in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README):
        assert (ROOT / path).is_file(), path


def test_readme_cli_commands_exist() -> None:
    """Every `thenandnow COMMAND` README shows is a command of the command line."""
    import re

    from cli import cli

    used = set(re.findall(r"thenandnow (?:--db \S+ )?([a-z][a-z-]+)", README))
    assert used, "README shows no thenandnow command"
    assert used <= set(cli.commands), used - set(cli.commands)


def test_method_section_is_what_the_data_page_renders() -> None:
    """README's "How value is computed" is the Data page's method text, block for block
    (``metrics.method_notes.blocks``): a change to either without the other fails here."""
    import re

    from metrics.method_notes import readme_section

    start = README.index("## How value is computed\n") + len("## How value is computed\n")
    end = README.index("\n## ", start)
    section = re.sub(r"<!--.*?-->", "", README[start:end], flags=re.S).strip() + "\n"
    assert section == readme_section(), (
        "README's method section differs from metrics/method_notes.py; regenerate it with "
        "`.venv/bin/python -m metrics.method_notes`"
    )
