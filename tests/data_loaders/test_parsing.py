"""Reading real exports: encodings, delimiters, headers, entity detection, single values."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest

from data_loaders import parsing
from data_loaders.parsing import (
    DateValue,
    day_month_order,
    entity_from_header,
    entity_from_name,
    normalise_header,
    parse_bool,
    parse_date,
    parse_number,
    read_any,
    read_csv,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Go-Live ", "go_live"),
        ("Baseline End", "baseline_end"),
        ("\ufeffName", "name"),
        ("KPI", "kpi"),
        ("expected.effect.pct", "expected_effect_pct"),
        ("a  -  b", "a_b"),
        (None, ""),
        ("", ""),
    ],
)
def test_header_normalisation(raw: str | None, expected: str) -> None:
    """Headers fold case, BOM, spaces, dashes and dots to snake_case."""
    assert normalise_header(raw) == expected


@pytest.mark.parametrize(
    ("name", "entity"),
    [
        ("innovations", "innovations"),
        ("Innovation", "innovations"),
        ("register", "innovations"),
        ("kpi_observations_2024", "observations"),
        ("KPI Observations", "observations"),
        ("observation", "observations"),
        ("kpi_values", "observations"),
        ("kpis", "kpis"),
        ("KPI definitions", "kpis"),
        ("kpi", "kpis"),
        ("innovation_targets", "innovation_targets"),
        ("targets", "innovation_targets"),
        ("Rollouts", "rollouts"),
        ("go-lives", "rollouts"),
        ("2024-rollouts", "rollouts"),
        ("sites", "units"),
        ("Accounts", "accounts"),
        ("annotations", "events"),
        ("planted_effects", "planted_effects"),
        ("export", None),
        ("notes", None),
        ("README", None),
    ],
)
def test_entity_from_file_or_sheet_name(name: str, entity: str | None) -> None:
    """File stems and sheet names name the entity: singular, plural, alias or with a suffix;
    the longest match wins (innovation_targets is not innovations)."""
    assert entity_from_name(name) == entity


def test_entity_from_header_best_match() -> None:
    """Without a telling name, the header decides: the format it fits best."""
    assert entity_from_header(["account", "innovation", "site", "process", "go_live"]) == "rollouts"
    assert entity_from_header(["account", "site", "process", "region"]) == "units"
    assert (
        entity_from_header(["account", "site", "process", "kpi", "period", "value", "volume"])
        == "observations"
    )
    assert entity_from_header(["foo", "bar"]) is None


def _table(text: str | bytes, name: str = "x.csv") -> parsing.RawTable:
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    table, issues = read_csv(name, data)
    assert issues == []
    assert table is not None
    return table


def test_semicolon_bom_crlf_and_blank_rows() -> None:
    """A BOM, `;`, CRLF and blank rows: headers clean, blank rows skipped, row numbers kept."""
    t = _table(
        b"\xef\xbb\xbfSite ; Go-Live\r\n Lisbon ;05/03/2024\r\n\r\n;\r\nManila;2024-01-02\r\n"
    )
    assert list(t.frame.columns) == ["site", "go_live"]
    assert t.frame["site"].tolist() == ["Lisbon", "Manila"]
    assert t.rows.tolist() == [2, 5]
    assert t.decimal == ","


def test_comma_tab_and_pipe_delimiters() -> None:
    """`,` (decimal point by default), tab and `|` are recognised from the header line."""
    assert _table("a,b\n1,2\n").decimal == "."
    assert list(_table("a\tb\n1\t2\n").frame.columns) == ["a", "b"]
    assert _table("a|b\n1|2\n").frame["b"].tolist() == ["2"]


def test_quoted_values_and_multiline_cells() -> None:
    """Quoted delimiters stay in the value; a multi-line cell is one row (rows counted as
    spreadsheet rows, i.e. records)."""
    t = _table('title,note\n"a, b","line1\nline2"\nc,d\n')
    assert t.frame["title"].tolist() == ["a, b", "c"]
    assert t.rows.tolist() == [2, 3]


def test_utf16_and_windows_1252() -> None:
    """UTF-16 with a BOM and Windows-1252 (Excel's 'CSV' on Windows) are read too."""
    assert _table("site\nKraków\n".encode("utf-16")).frame["site"].tolist() == ["Kraków"]
    assert _table("site\nBogotá\n".encode("cp1252")).frame["site"].tolist() == ["Bogotá"]
    # ã is 0xE3 in cp1252 and ă in cp1250, which score alike: the Western encoding wins the tie
    assert _table("site\nSão Luís\n".encode("cp1252")).frame["site"].tolist() == ["São Luís"]


@pytest.mark.parametrize(
    ("data", "row", "fragment"),
    [
        (b"", None, "empty"),
        (b"  \n\n", None, "empty"),
        (b"a,b\x00\x01\x02", None, "binary"),
        (b'a,b\n1,"2\n3,4\n', 2, "never closed"),
        (b"a,b\n1,2\n3,4,5\n", 3, "has 3 values but the header has 2"),
    ],
)
def test_unreadable_csv_is_a_problem(data: bytes, row: int | None, fragment: str) -> None:
    """Empty, binary, unclosed quotes and rows that are too long are reported, not raised."""
    table, issues = read_any("bad.csv", data)
    assert issues, table
    assert issues[0].label == "bad.csv"
    assert issues[0].row == row
    assert fragment in issues[0].message


def test_trailing_empty_values_are_tolerated() -> None:
    """Excel's trailing delimiters (extra empty values) are not an error."""
    table, issues = read_any("t.csv", b"a,b\n1,2,,\n3,4\n")
    assert issues == [] and table[0].frame["b"].tolist() == ["2", "4"]


def test_unnamed_and_duplicate_header_columns() -> None:
    """An empty header cell is ignored like any extra column; a repeated one is recorded."""
    t = _table("site,,Site,region\nA,x,B,EU\n")
    assert list(t.frame.columns) == ["site", "region"]
    assert t.duplicate_columns == {"site": [1, 3]}


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("3.5", ".", 3.5),
        ("3,5", ",", 3.5),
        ("1.234,56", ",", 1234.56),
        ("1,234.56", ".", 1234.56),
        ("1 234,5", ",", 1234.5),
        ("1'234.5", ".", 1234.5),
        ("-7", ".", -7.0),
        ("\u22123,0", ",", -3.0),
        ("1e3", ".", 1000.0),
        ("250.000", ",", 250000.0),
        (" 12 ", ".", 12.0),
    ],
)
def test_numbers(text: str, decimal: str, expected: float) -> None:
    """Decimal point or comma, thousands separators, signs, exponents, spaces."""
    assert parse_number(text, decimal) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "pct", "fragment"),
    [
        ("abc", False, "is not a number"),
        ("1.2.3", ".", "is not a number"),
        ("12%", False, "without the % sign"),
        ("$5", False, "is not a number"),
        ("1e999", False, "too large"),
    ],
)
def test_bad_numbers_say_what_to_write(text: str, pct: bool, fragment: str) -> None:
    """A bad number gives a message naming the value and what to write instead."""
    result = parse_number(text, ".", pct=bool(pct))
    assert isinstance(result, str) and fragment in result


def test_percent_in_pct_columns() -> None:
    """`12%` and `−6 %` are accepted where the column is a percentage."""
    assert parse_number("12%", ".", pct=True) == 12.0
    assert parse_number("\u22126 %", ".", pct=True) == -6.0


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("3,5", ","),
        ("1.234,5", ","),
        ("1.234.567", ","),
        ("13.37", "."),
        ("1,234.5", "."),
        ("0.105", "."),
        ("1234.567", "."),
        ("4.105", "?"),
        ("13,370", "?"),
        ("12", ""),
        ("1 234", ""),
        ("1.2.3", ""),
    ],
)
def test_number_evidence(text: str, says: str) -> None:
    """Only a value that can be read one way says which separator is the decimal one; a
    single separator before exactly three digits could be either; junk proves nothing."""
    ev = parsing.number_evidence(pd.Series([text]))
    got = "," if ev.comma[0] else "." if ev.point[0] else "?" if ev.ambiguous[0] else ""
    assert got == says


def test_an_ambiguous_number_alone_is_refused_with_how_to_write_it() -> None:
    """'13.370' with nothing to decide it is neither 13370 nor 13.37: the message says both
    readings and how to write it."""
    msg = parse_number("13.370", None)
    assert isinstance(msg, str)
    assert "13370 or as 13.37" in msg and "without a thousands separator (13370)" in msg


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05", dt.date(2024, 3, 5)),
        ("2024/03/05", dt.date(2024, 3, 5)),
        ("2024-03-05 00:00:00", dt.date(2024, 3, 5)),
        ("2024-03-05T00:00:00", dt.date(2024, 3, 5)),
        ("05/03/2024", dt.date(2024, 3, 5)),
        ("05.03.2024", dt.date(2024, 3, 5)),
        ("5-3-2024", dt.date(2024, 3, 5)),
        ("45356", dt.date(2024, 3, 5)),
        (45356, dt.date(2024, 3, 5)),
        (45356.0, dt.date(2024, 3, 5)),
        (dt.datetime(2024, 3, 5), dt.date(2024, 3, 5)),
        (dt.date(2024, 3, 5), dt.date(2024, 3, 5)),
    ],
)
def test_dates(value: object, expected: dt.date) -> None:
    """ISO, day/month/year (/ . -), midnight times, Excel serials and date cells."""
    assert parse_date(value, order="dmy") == DateValue(expected)


@pytest.mark.parametrize("value", ["2024-03", "03/2024", "2024/3", "Mar 2024", "March-2024"])
def test_months_for_periods(value: str) -> None:
    """Observation periods may be months; they become the first day, flagged as a month."""
    assert parse_date(value, allow_month=True) == DateValue(dt.date(2024, 3, 1), month=True)


@pytest.mark.parametrize(
    ("value", "kwargs", "fragment"),
    [
        (
            "05/03/2024",
            {"order": "ambiguous"},
            "ambiguous date 05/03/2024: write dates as YYYY-MM-DD",
        ),
        ("03/25/2024", {"order": "mdy"}, "month/day/year (US order)"),
        ("31/02/2024", {"order": "dmy"}, "not a real date"),
        ("2024-13-01", {}, "not a real date"),
        ("2024-03-05 14:30", {}, "time of day"),
        ("45356.5", {}, "time of day"),
        (dt.datetime(2024, 3, 5, 9), {}, "time of day"),
        ("05/03/24", {}, "two-digit year"),
        ("2024-03", {}, "is a month, but this column needs a full date"),
        ("0001-01-01", {}, "year must be between"),
        ("yesterday", {}, "is not a date"),
        ("12", {}, "is not a date"),
    ],
)
def test_bad_dates_say_what_to_write(value: object, kwargs: dict, fragment: str) -> None:
    """Every refused date says what is wrong and asks for YYYY-MM-DD where that helps."""
    result = parse_date(value, **kwargs)
    assert isinstance(result, str) and fragment in result, result


def test_day_month_order_is_decided_per_column() -> None:
    """A first part > 12 anywhere → d/m/y; a second part > 12 → US order; else ambiguous."""
    assert day_month_order(["05/03/2024", "13/03/2024"]) == "dmy"
    assert day_month_order(["05/03/2024", "03/25/2024"]) == "mdy"
    assert day_month_order(["05/03/2024", "01/02/2024", "2024-01-01"]) == "ambiguous"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("Yes", True),
        ("1", True),
        (1, True),
        (True, True),
        (1.0, True),
        ("FALSE", False),
        ("no", False),
        ("0", False),
        (0, False),
    ],
)
def test_booleans(value: object, expected: bool) -> None:
    """true/false, yes/no and 1/0 in any case, and real booleans."""
    assert parse_bool(value) is expected


def test_bad_boolean_lists_the_choices() -> None:
    """A bad boolean names the accepted spellings."""
    assert "true, false, yes, no, 1 or 0" in str(parse_bool("maybe"))


def _xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    wb = openpyxl.Workbook()
    first = wb.active
    assert first is not None  # a new Workbook always has one sheet
    wb.remove(first)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_sheets_named_after_entities() -> None:
    """Each sheet named after an entity is a table (others ignored); cells keep their types
    and rows are the sheet's row numbers, blank rows skipped."""
    data = _xlsx(
        {
            "README": [["anything"]],
            "Rollouts": [
                ["Account", " Go-Live "],
                ["Acme", dt.datetime(2024, 3, 5)],
                [],
                ["Acme", 45356],
            ],
            "KPI Observations": [["account", "period"], ["Acme", "2024-03"]],
        }
    )
    tables, issues = read_any("book.xlsx", data)
    assert issues == []
    by_entity = {t.entity: t for t in tables}
    assert set(by_entity) == {"rollouts", "observations"}
    r = by_entity["rollouts"]
    assert r.label == "book.xlsx › Rollouts"
    assert r.rows.tolist() == [2, 4]
    assert r.frame["go_live"].tolist() == [dt.datetime(2024, 3, 5), 45356]


def test_xlsx_single_unnamed_sheet_falls_back_to_the_file_name() -> None:
    """A workbook with one sheet called Sheet1 is named by its file, like a CSV."""
    tables, issues = read_any(
        "units.xlsx",
        _xlsx({"Sheet1": [["account", "site", "process"], ["Acme", "Lisbon", "Claims"]]}),
    )
    assert issues == [] and tables[0].entity is None
    assert parsing.detect_entity(tables[0], "units.xlsx") == "units"


def test_xlsx_without_entity_sheets_or_broken() -> None:
    """No recognisable sheet, a corrupt workbook, or an old .xls: a problem that says what
    to do."""
    _, issues = read_any("b.xlsx", _xlsx({"Sheet1": [["a"]], "Sheet2": [["b"]]}))
    assert "name each sheet after one of" in issues[0].message
    _, issues = read_any("b.xlsx", b"PK\x03\x04garbage")
    assert "cannot read this Excel workbook" in issues[0].message
    _, issues = read_any("b.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest")
    assert ".xls" in issues[0].message
    _, issues = read_any("b.xlsx", b"name\nfoo\n")
    assert "not an Excel workbook" in issues[0].message
