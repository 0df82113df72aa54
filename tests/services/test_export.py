"""CSV exports: a text cell that a spreadsheet would run as a formula is written as text."""

from __future__ import annotations

import io

import pandas as pd

from services.export import csv_text, neutralise_cell


def test_formula_cells_are_neutralised_numbers_are_not() -> None:
    """=, +, -, @ (and tab / CR) at the start of text get an apostrophe; negative numbers stay
    numbers; other text is untouched."""
    df = pd.DataFrame(
        {
            "title": ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "Plain"],
            "value": [-1200.5, 1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    back = pd.read_csv(io.StringIO(csv_text(df)))
    assert back["title"].tolist() == [
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tcmd",
        "Plain",
    ]
    assert back["value"].tolist() == df["value"].tolist()
    assert neutralise_cell(-3) == -3 and neutralise_cell(None) is None


def test_column_names_are_neutralised_too() -> None:
    """A header cell comes from data as well (e.g. a KPI label as a column)."""
    text = csv_text(pd.DataFrame({"=cmd": ["a"]}))
    assert text.splitlines()[0] == "'=cmd"


def test_every_csv_download_goes_through_the_neutraliser() -> None:
    """No page or UI module writes a CSV without the neutraliser: every table download is
    ``ui.downloads.download_csv``, whose CSV goes through ``services.export``."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [
        f"{path.relative_to(root)}:{n}"
        for folder in ("ui", "pages", "story", "reports")
        if (root / folder).exists()
        for path in sorted((root / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if ".to_csv(" in line and "neutralise(" not in line
    ]
    assert offenders == []
    downloads = (root / "ui" / "downloads.py").read_text()
    assert "from services.export import" in downloads and "st.download_button(" in downloads
