"""CSV downloads as a reader gets them (services.export.export_csv): a header line naming the
account, filters and as-of, cents, ratios as the pages print them, evidence by its one name,
no internal ids or plumbing columns (expected text written by hand; the demo's downloads
parsed back)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pandas as pd

from metrics.rules import EVIDENCE_LABELS
from services.export import csv_header, export_csv


def test_cents_percentages_header_and_no_ids() -> None:
    frame = pd.DataFrame(
        {
            "innovation_id": [7, 8],
            "code": ["INN-007", "INN-008"],
            "measured": [1240484.9218747448, -12.006],
            "measured_text": ["$1.2M", "−$12"],  # the number itself is in the file
            "realisation": [0.8555, None],
            "evidence": ["estimated", "claimed"],
            "order": [0, 1],
            "units": [3, 4],
        }
    )
    text = export_csv(frame, header="Acme · all units · data to 31 Oct 2026").decode("utf-8")
    assert text.splitlines() == [
        "# Acme · all units · data to 31 Oct 2026",
        "code,measured,realisation,evidence,units",
        "INN-007,1240484.92,86%,proven (causal estimate),3",
        "INN-008,-12.01,,claimed,4",
    ]


def test_header_names_account_filters_and_as_of_in_plain_text() -> None:
    """Names from data are written as they are (no Markdown escapes in a CSV)."""
    assert csv_header(
        "Acme (EU)",
        units=None,
        period=None,
        categories=None,
        as_of=dt.date(2026, 10, 31),
    ) == ("Acme (EU) · all units · all categories · all months · data to 31 Oct 2026")
    assert csv_header(
        "Acme",
        units=["Kraków · Policy servicing"],
        period=(dt.date(2024, 1, 1), dt.date(2025, 6, 1)),
        categories=["process effectiveness"],
        as_of=dt.date(2026, 10, 31),
    ) == (
        "Acme · Kraków · Policy servicing · process effectiveness · Jan 2024 – Jun 2025 · "
        "data to 31 Oct 2026"
    )


def _parse(data: bytes) -> tuple[str, list[dict[str, str]]]:
    lines = data.decode("utf-8").splitlines()
    return lines[0], list(csv.DictReader(io.StringIO("\n".join(lines[1:]))))


def test_the_demo_downloads_parse_as_a_reader_expects(make_app, monkeypatch) -> None:
    """The Value and Contract pages' downloads of the demo (the bytes each page hands to its
    download button), parsed back: every money cell has at most two decimals, realisation
    reads like the table ("91%"), evidence by its one name, and no id, order, position or
    pre-formatted twin column is left. The evidence table's download holds the causal
    estimates and their intervals, as the screen does."""
    from services import export
    from tests.pages.conftest import no_exception

    made: list[tuple[pd.DataFrame, bytes]] = []

    def recording(frame: pd.DataFrame, *, header: str) -> bytes:
        out = export_csv(frame, header=header)
        made.append((frame, out))
        return out

    monkeypatch.setattr(export, "export_csv", recording)
    for page in ("pages/value.py", "pages/contract.py"):
        no_exception(make_app(page))
    # the Value page's chart data, bridge and evidence table; the Contract page's gain-share
    assert len(made) >= 4, [list(f.columns) for f, _ in made]
    columns = [set(f.columns) for f, _ in made]
    assert any({"group", "cumulative"} <= c for c in columns)
    assert any({"label", "kind"} <= c for c in columns)
    assert any({"evidence", "realisation"} <= c for c in columns)
    assert any({"contract_year", "goal"} <= c for c in columns)
    header = "Northwind Insurance · all units · all categories · all months · data to 31 Oct 2026"
    money = re.compile(r"^-?\d+(\.\d{1,2})?$")
    for frame, data in made:
        name = ",".join(frame.columns[:3])
        first, rows = _parse(data)
        assert first == f"# {header}", name
        assert rows, name
        cols = list(rows[0])
        assert not [c for c in cols if c == "id" or c.endswith("_id")], (name, cols)
        assert not {"order", "position"} & set(cols), (name, cols)
        assert not [c for c in cols if c.endswith("_text") and c[: -len("_text")] in cols]
        for col in cols:
            raw = frame[col] if col in frame.columns else None
            if raw is not None and pd.api.types.is_float_dtype(raw) and col != "realisation":
                cells = [r[col] for r in rows if r[col] != ""]
                if col in ("ci_low", "ci_high"):
                    # an interval without a bound on that side (the table's "$∞") is written
                    # as Python writes an infinite float; a reader's parser reads it back
                    cells = [c for c in cells if c not in ("inf", "-inf")]
                assert all(money.match(c) for c in cells), (
                    name,
                    col,
                    [c for c in cells if not money.match(c)],
                )
        if "realisation" in cols:
            cells = [r["realisation"] for r in rows if r["realisation"]]
            assert cells and all(re.fullmatch(r"\d+%", c) for c in cells), cells[:3]
        if "evidence" in cols:
            assert {r["evidence"] for r in rows} <= {*EVIDENCE_LABELS.values(), ""}
