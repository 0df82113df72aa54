"""A CSV file streamed in many small chunks (issue #10, "Big files") imports exactly what it
imports in one chunk, and what spans chunks is still seen: duplicates, mixed grains, a
number read two ways, all with file · row · column and the database unchanged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from data_loaders import importer, parsing
from data_loaders.db import make_engine, migrate
from data_loaders.importer import import_files

from .loader_helpers import VALID, fingerprint, valid_files

OBS = VALID / "kpi_observations_2024.csv"


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "READ_CHUNK_ROWS", 7)
    monkeypatch.setattr(importer, "WRITE_CHUNK", 5)


def _fresh(tmp_path: Path, name: str) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    migrate(engine)
    return engine


def test_small_chunks_store_the_same_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The valid set imported with 7-row reads and 5-row writes gives the same database as
    with the default chunks (81 observation rows: a dozen chunks)."""
    whole = _fresh(tmp_path, "whole.sqlite")
    assert import_files(whole, valid_files()).ok
    monkeypatch.setattr(parsing, "READ_CHUNK_ROWS", 7)
    monkeypatch.setattr(importer, "WRITE_CHUNK", 5)
    chunked = _fresh(tmp_path, "chunked.sqlite")
    result = import_files(chunked, valid_files())
    assert result.ok, result.problems
    assert result.counts["observations"].inserted == 81
    assert fingerprint(chunked) == fingerprint(whole)
    again = import_files(chunked, valid_files())
    assert again.ok and again.total.inserted == 0 and again.total.updated == 0
    assert fingerprint(chunked, ("kpi_observation",)) == fingerprint(whole, ("kpi_observation",))


def test_streamed_file_stores_what_the_whole_file_reader_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same files read whole (the path of XLSX and other encodings: no chunked reader)
    and streamed in 7-row chunks give identical databases, row for row."""
    whole = _fresh(tmp_path, "whole.sqlite")
    with monkeypatch.context() as m:
        m.setattr(parsing, "read_csv_chunked", lambda _label, _open: None)
        result = import_files(whole, valid_files())
        assert result.ok, result.problems
    monkeypatch.setattr(parsing, "READ_CHUNK_ROWS", 7)
    monkeypatch.setattr(importer, "WRITE_CHUNK", 5)
    streamed = _fresh(tmp_path, "streamed.sqlite")
    assert import_files(streamed, valid_files()).ok
    assert fingerprint(streamed) == fingerprint(whole)


def test_key_codes_equal_exactly_for_equal_tuples() -> None:
    """Row keys of the checks across rows (duplicates, grains, references) are integers:
    two rows get one code exactly when their tuples of values are equal — for category,
    date, integer, boolean and text columns, missing values included."""
    from data_loaders.validation import _key_codes

    sites = ["Lisbon", "Manila", "Lisbon", None, "Manila", "Lisbon", None, "Lisbon"]
    days = [
        "2024-01-01",
        "2024-01-02",
        "2024-01-01",
        None,
        "2024-01-02",
        "2025-03-01",
        None,
        "2024-01-01",
    ]
    months = [24288, 24289, 24288, 24288, 24289, 24302, 24288, 24288]
    monthly = [True, False, True, True, False, False, True, False]
    kinds = ["a", "b", "a", "a", "b", None, "a", "a"]
    cols: list[pd.Series] = [
        pd.Series(sites, dtype="category"),
        pd.Series(pd.to_datetime(pd.Series(days, dtype=object))),
        pd.Series(months, dtype="int64"),
        pd.Series(monthly, dtype=bool),
        pd.Series(kinds, dtype=object),
    ]
    codes = _key_codes(cols)
    tuples = list(zip(sites, days, months, monthly, kinds, strict=True))
    for i in range(len(tuples)):
        for j in range(len(tuples)):
            assert (codes[i] == codes[j]) == (tuples[i] == tuples[j]), (i, j)
    # rows 0 and 2 are the same tuple; row 7 differs from them only by its grain
    assert codes[0] == codes[2] and codes[0] != codes[7]


def _loaded(tmp_path: Path) -> Engine:
    engine = _fresh(tmp_path, "db.sqlite")
    assert import_files(engine, [p for p in valid_files() if p != OBS]).ok
    return engine


def _refused(engine: Engine, text: str) -> importer.ImportResult:
    before = fingerprint(engine)
    result = import_files(engine, [("kpi_observations.csv", text.encode())])
    assert not result.ok
    assert fingerprint(engine) == before
    return result


@pytest.mark.usefixtures("small_chunks")
def test_a_duplicate_in_a_later_chunk(tmp_path: Path) -> None:
    """Row 2 repeated as the last row (chunks apart) is named with its first row."""
    lines = OBS.read_text().splitlines()
    text = "\n".join([*lines, lines[1]]) + "\n"
    [p] = _refused(_loaded(tmp_path), text).problems
    assert (p.row, p.column) == (len(lines) + 1, "account, site, process, kpi, period")
    assert p.message.startswith("duplicate of row 2")


@pytest.mark.usefixtures("small_chunks")
def test_a_number_read_two_ways_chunks_after_the_evidence(tmp_path: Path) -> None:
    """A ';' file: 407,5 in the first chunk settles the decimal comma; 4.105 twenty rows
    later is still refused, once, with the evidence's row and how many such values."""
    rows = [[v.replace(".", ",") for v in line.split(",")] for line in OBS.read_text().splitlines()]
    assert rows[1][5] == "407,5"
    for n in (21, 30):
        rows[n][5] = "4.105"
    text = "\n".join(";".join(r) for r in rows) + "\n"
    [p] = _refused(_loaded(tmp_path), text).problems
    assert (p.row, p.column) == (22, "value")
    assert "'4.105' can be read as 4105 or as 4,105" in p.message
    assert "(row 2: '407,5')" in p.message
    assert "(and 1 more such values in this column)" in p.message


@pytest.mark.usefixtures("small_chunks")
def test_mixed_grains_across_chunks(tmp_path: Path) -> None:
    """A daily row for a month given monthly (chunks apart) is refused, naming both."""
    text = OBS.read_text() + "Acme Claims,Lisbon,Claims intake,aht,2024-01-15,400.0,500\n"
    problems = _refused(_loaded(tmp_path), text).problems
    assert [(p.row, p.column) for p in problems] == [(2, "period")]
    assert "this monthly value and the daily values of the same month (rows 83)" in (
        problems[0].message
    )


@pytest.mark.usefixtures("small_chunks")
def test_progress_moves_while_reading_a_streamed_file(tmp_path: Path) -> None:
    """The reading phase reports rows read as the chunks go, before checking and writing."""
    seen: list[tuple[float, str]] = []
    result = import_files(_loaded(tmp_path), [OBS], progress=lambda f, m: seen.append((f, m)))
    assert result.ok, result.problems
    reading = [m for _f, m in seen if m.startswith("reading") and "rows)" in m]
    assert len(reading) >= 10 and reading[-1].endswith("(81 rows)")
    fractions = [f for f, _m in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    phases = [m.split()[0] for _f, m in seen]
    assert {"reading", "checking", "writing", "done"} <= set(phases)


def _as_workbook(tmp_path: Path) -> Path:
    """The valid set as one workbook, a sheet per file, cells typed as Excel would hold them
    (numbers, dates), a title row above the observations' header and the innovations'
    expected effect as percent cells (−6 → −0.06 shown as −6.0 %)."""
    import datetime as dt

    import openpyxl

    def typed(text: str) -> object:
        for parse in (int, float):
            try:
                return parse(text)
            except ValueError:
                pass
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            return text if text else None

    wb = openpyxl.Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    for path in valid_files():
        ws = wb.create_sheet(path.stem)
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if path.stem.startswith("kpi_observations"):
            ws.append(["KPI export, all sites"])
        ws.append(list(frame.columns))
        for values in frame.itertuples(index=False):
            ws.append([typed(str(v)) for v in values])
        if path.stem == "innovations":
            col = list(frame.columns).index("expected_effect_pct") + 1
            for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
                if isinstance(cell.value, int | float):
                    cell.value = cell.value / 100
                    cell.number_format = "0.0%"
    out = tmp_path / "valid.xlsx"
    wb.save(out)
    return out


def test_streamed_workbook_stores_what_the_whole_sheet_reader_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A workbook's sheets read in 7-row chunks (openpyxl read-only, rows read again per
    pass) give the same database, row for row, as the sheets read whole; the title row is
    skipped and the percent cells read as percentage points in both."""
    book = _as_workbook(tmp_path)
    tables, issues = parsing.read_xlsx(book.name, book.read_bytes(), stream=True)
    assert not issues and tables and all(t.chunks is not None for t in tables)
    whole = _fresh(tmp_path, "whole.sqlite")
    with monkeypatch.context() as m:
        m.setattr(parsing, "_sheet_chunked", lambda *_a: None)
        result = import_files(whole, [book])
        assert result.ok, result.problems
    monkeypatch.setattr(parsing, "READ_CHUNK_ROWS", 7)
    monkeypatch.setattr(importer, "WRITE_CHUNK", 5)
    streamed = _fresh(tmp_path, "streamed.sqlite")
    result = import_files(streamed, [book])
    assert result.ok, result.problems
    assert result.counts["observations"].inserted == 81
    assert any("header appears to be on row 2" in w.message for w in result.warnings)
    assert fingerprint(streamed) == fingerprint(whole)
    csv_db = _fresh(tmp_path, "csv.sqlite")
    assert import_files(csv_db, valid_files()).ok
    with streamed.connect() as conn:
        effects = sorted(
            conn.exec_driver_sql(
                "SELECT expected_effect_pct FROM innovation_target ORDER BY id"
            ).scalars()
        )
    with csv_db.connect() as conn:
        from_csv = sorted(
            conn.exec_driver_sql(
                "SELECT expected_effect_pct FROM innovation_target ORDER BY id"
            ).scalars()
        )
    assert effects == pytest.approx(from_csv) and -6.0 in effects


def test_cp1252_file_is_streamed_and_reads_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The valid set with Lisbon renamed São Luís, saved in cp1252 (a Windows export): each
    file is streamed in that encoding, stores 'São Luís' and the same rows as the
    whole-file reader; a UTF-8 file with one stray cp1252 byte is still left to the
    whole-file reader, which names its row."""
    files = []
    for path in valid_files():
        out = tmp_path / path.name
        out.write_bytes(path.read_text().replace("Lisbon", "São Luís").encode("cp1252"))
        files.append(out)
    obs = next(p for p in files if p.name == OBS.name)
    assert parsing.stream_encoding(lambda: obs.open("rb")) in (
        "cp1252",
        "iso8859_15",
        "latin_1",
    )
    assert parsing.read_csv_chunked(obs.name, lambda: obs.open("rb")) is not None
    whole = _fresh(tmp_path, "whole.sqlite")
    with monkeypatch.context() as m:
        m.setattr(parsing, "read_csv_chunked", lambda _label, _open: None)
        assert import_files(whole, files).ok
    monkeypatch.setattr(parsing, "READ_CHUNK_ROWS", 7)
    streamed = _fresh(tmp_path, "streamed.sqlite")
    result = import_files(streamed, files)
    assert result.ok, result.problems
    assert fingerprint(streamed) == fingerprint(whole)
    with streamed.connect() as conn:
        sites = set(conn.exec_driver_sql("SELECT site FROM unit").scalars())
    assert "São Luís" in sites and not any("Ã" in s for s in sites)

    stray = tmp_path / "stray" / OBS.name
    stray.parent.mkdir()
    text = OBS.read_text().replace("Lisbon", "São Luís")
    lines = text.splitlines(keepends=True)
    lines[5] = lines[5].replace("São", "S\udce3o")
    stray.write_bytes("".join(lines).encode("utf-8", "surrogateescape"))
    assert parsing.stream_encoding(lambda: stray.open("rb")) is None
    refused = import_files(streamed, [stray])
    assert not refused.ok
    assert [p.row for p in refused.problems] == [6]
    assert "not UTF-8" in refused.problems[0].message
