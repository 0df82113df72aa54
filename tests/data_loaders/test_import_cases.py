"""Files that were once stored wrong in silence (issue #10), each a small file in
tests/data/import_cases: refused with file · row · column · plain words and the database
unchanged, or imported with the right values (and a warning where one is due)."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import Engine, select

from data_loaders.db import make_engine, migrate
from data_loaders.importer import ImportResult, import_files
from data_loaders.schema import Account, Innovation, KpiObservation, Unit

from .loader_helpers import DATA, fingerprint, valid_files


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``cli.py --db sqlite:///db ARGS`` as a person would (600 s is a hang guard)."""
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(
        [sys.executable, str(root / "cli.py"), "--db", f"sqlite:///{db}", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )


CASES = DATA / "import_cases"


@pytest.fixture
def loaded(sqlite_engine: Engine) -> Engine:
    result = import_files(sqlite_engine, valid_files())
    assert result.ok, result.problems
    return sqlite_engine


def _refused(engine: Engine, *names: str) -> ImportResult:
    before = fingerprint(engine)
    result = import_files(engine, [CASES / n for n in names])
    assert not result.ok
    assert fingerprint(engine) == before
    return result


@pytest.mark.parametrize(
    ("name", "row", "column", "words"),
    [
        (
            "ambiguous_point_kpi_observations.csv",
            2,
            "value",
            "'4.105' can be read as 4105 or as 4.105",
        ),
        (
            "ambiguous_volume_kpi_observations.csv",
            2,
            "volume",
            "write it without a thousands separator (13370)",
        ),
        (
            "point_group_beside_decimal_comma_kpi_observations.csv",
            3,
            "value",
            "'4.105' can be read as 4105 or as 4,105: this column writes decimals with a comma "
            "(row 2: '407,5')",
        ),
        (
            "mixed_file_kpi_observations.csv",
            None,
            None,
            "with a comma in column value (row 2: '407,5') but with a point in column volume",
        ),
        (
            "mixed_grains_kpi_observations.csv",
            2,
            "period",
            "Lisbon · Claims intake, fte, 2024-10: this monthly value and the daily values of "
            "the same month (rows 3, 4) would be counted twice",
        ),
        (
            "stray_byte_units.csv",
            3,
            None,
            "a byte that is not UTF-8 text (0xe1 after 'Claims,Bogot')",
        ),
        (
            "misspelled_innovations.csv",
            1,
            "estimated_anual_value",
            "did you mean estimated_annual_value?",
        ),
        (
            "case_only_innovations.csv",
            2,
            "code",
            "inn-001 differs from INN-001 (in the database) only in upper/lower case",
        ),
    ],
)
def test_refused_with_file_row_column_and_words(
    loaded: Engine, name: str, row: int | None, column: str | None, words: str
) -> None:
    """Each once-silent file is refused: one problem naming file, row, column; nothing written."""
    result = _refused(loaded, name)
    assert len(result.problems) == 1, "\n".join(map(str, result.problems))
    p = result.problems[0]
    assert (p.file, p.row, p.column) == (name, row, column)
    assert words in p.message


def test_stray_byte_names_the_row_and_garbles_nothing(sqlite_engine: Engine) -> None:
    """Only the row with the stray byte is named: the UTF-8 row 2 (São Luís) is not."""
    result = _refused(sqlite_engine, "stray_byte_units.csv")
    assert [p.row for p in result.problems] == [3]


def test_a_legacy_encoded_file_still_reads(loaded: Engine) -> None:
    """A file wholly in Windows-1252 (no UTF-8 in it) is read as such: Bogotá stays Bogotá."""
    data = "account,site,process\nAcme Claims,Bogotá,Claims intake\n".encode("cp1252")
    result = import_files(loaded, [("units.csv", data)])
    assert result.ok, result.problems
    with loaded.connect() as conn:
        sites = set(conn.execute(select(Unit.site)).scalars())
    assert "Bogotá" in sites


def test_every_pct_column_takes_the_percent_sign(loaded: Engine) -> None:
    """'40 %' and '4.5%' are 40 and 4.5 in any *_pct column (productivity_pct_per_year too)."""
    result = import_files(loaded, [CASES / "percent_accounts.csv"])
    assert result.ok, result.problems
    with loaded.connect() as conn:
        acc = conn.execute(select(Account)).one()
    assert (acc.gain_share_pct, acc.productivity_pct_per_year) == (40.0, 4.5)


def _percent_workbook() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new Workbook starts with one worksheet
    ws.title = "Accounts"
    ws.append(
        [
            "name",
            "currency",
            "contract_start",
            "contract_end",
            "baseline_start",
            "baseline_end",
            "gain_share_pct",
            "productivity_pct_per_year",
        ]
    )
    ws.append(
        ["Acme Claims", "EUR", "2024-01-01", "2026-12-31", "2024-01-01", "2024-03-31", 0.4, 0.045]
    )
    ws["G2"].number_format = "0%"
    ws["H2"].number_format = "0.0 %"
    inn = wb.create_sheet("Innovation targets")
    inn.append(["account", "innovation", "kpi", "expected_effect_pct"])
    inn.append(["Acme Claims", "INN-001", "cost_per_txn", -0.03])
    inn["D2"].number_format = "0%"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_excel_percent_cells_are_percent_points(loaded: Engine) -> None:
    """A cell formatted as 40 % (holding 0.4) is stored as 40 in a *_pct column, −3 % as −3."""
    result = import_files(loaded, [("contract.xlsx", _percent_workbook())])
    assert result.ok, result.problems
    with loaded.connect() as conn:
        acc = conn.execute(select(Account)).one()
    assert (acc.gain_share_pct, acc.productivity_pct_per_year) == (40.0, 4.5)
    assert result.counts["innovation_targets"].unchanged == 1  # −3 as in the valid set


def test_unknown_column_is_a_warning_in_the_result(loaded: Engine) -> None:
    """An unknown column that is close to no known one imports, with a warning the CLI prints."""
    result = import_files(loaded, [CASES / "extra_column_units.csv"])
    assert result.ok, result.problems
    assert [(w.file, w.row, w.column) for w in result.warnings] == [
        ("extra_column_units.csv", 1, "colour")
    ]
    assert "column colour is not part of the units format and was ignored" in result.summary()


def test_header_only_file_warns(loaded: Engine) -> None:
    """A file with a header and no rows imports nothing, and says so."""
    result = import_files(loaded, [CASES / "header_only_events.csv"])
    assert result.ok and result.total.read == 0
    assert "a header but no rows" in result.warnings[0].message


def test_title_rows_above_the_header(loaded: Engine) -> None:
    """A title (and a blank row) above the header: the header is found on row 3, said so,
    and the data row is row 4."""
    result = import_files(loaded, [CASES / "title_row_units.csv"])
    assert result.ok, result.problems
    w = result.warnings[0]
    assert (w.row, "the header appears to be on row 3") == (3, w.message[:33])
    with loaded.connect() as conn:
        assert ("Porto", "Claims") in {
            tuple(r) for r in conn.execute(select(Unit.site, Unit.process))
        }
    bad = (CASES / "title_row_units.csv").read_text().replace("Porto,Claims,EMEA", "Porto,,EMEA")
    refused = import_files(loaded, [("title_row_units.csv", bad.encode())])
    assert [(p.row, p.column) for p in refused.problems] == [(4, "process")]


def test_case_only_within_one_file(sqlite_engine: Engine) -> None:
    """Two spellings in one import are refused too, naming both rows."""
    text = (CASES / "case_only_innovations.csv").read_text()
    extra = text.splitlines()[1].replace("inn-001", "INN-001")
    result = import_files(
        sqlite_engine,
        [
            *(p for p in valid_files() if "innovations" not in p.name),
            ("innovations.csv", (text + extra + "\n").encode()),
        ],
    )
    msgs = [str(p) for p in result.problems]
    assert any("row 3 · column code · INN-001 differs from inn-001 (row 2)" in m for m in msgs)
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(Innovation)).first() is None


def test_grains_against_the_database(loaded: Engine) -> None:
    """Daily rows for a month the database holds as a monthly value are refused."""
    text = (
        "account,site,process,kpi,period,value\n"
        "Acme Claims,Lisbon,Claims intake,fte,2024-03-05,30\n"
    )
    before = fingerprint(loaded)
    result = import_files(loaded, [("observations.csv", text.encode())])
    assert not result.ok and fingerprint(loaded) == before
    p = result.problems[0]
    assert (p.row, p.column) == (2, "period")
    assert "the database holds a monthly value for this month" in p.message
    with loaded.connect() as conn:
        assert (
            conn.execute(select(KpiObservation).where(KpiObservation.value == 30)).first() is None
        )


def test_a_new_site_is_measured_from_its_own_window(loaded: Engine) -> None:
    """Porto opens in June 2024 with its own baseline window Jun–Jul 2024: it imports without
    a warning and its baseline is the volume-weighted AHT of those months:
    (500·100 + 400·300) / (100 + 300) = 425 (August is after the window)."""
    from data_loaders.access import Scope
    from data_loaders.queries import load_account_data
    from metrics.baseline import account_baseline

    result = import_files(
        loaded, [CASES / "new_site_units.csv", CASES / "new_site_kpi_observations.csv"]
    )
    assert result.ok, result.problems
    assert not result.warnings
    with loaded.connect() as conn:
        account_id = conn.execute(select(Account.id)).scalar_one()
        porto = conn.execute(select(Unit).where(Unit.site == "Porto")).one()
    assert (str(porto.baseline_start), str(porto.baseline_end)) == ("2024-06-01", "2024-07-31")
    base = account_baseline(load_account_data(loaded, Scope.everything(), account_id))
    row = base.base[(base.base["unit_id"] == porto.id) & (base.base["kpi_key"] == "aht")]
    assert row["base"].tolist() == [425.0]
    assert base.missing.empty


def test_a_unit_window_needs_both_ends(loaded: Engine) -> None:
    """baseline_start without baseline_end is refused, naming the row and column."""
    text = (CASES / "new_site_units.csv").read_text().replace(",2024-07-31", ",")
    before = fingerprint(loaded)
    result = import_files(loaded, [("units.csv", text.encode())])
    assert [(p.row, p.column) for p in result.problems] == [(2, "baseline_end")]
    assert fingerprint(loaded) == before


def test_a_line_break_in_a_title_is_refused(loaded: Engine) -> None:
    """A title written over two lines (Alt+Enter in Excel) is refused, not silently joined;
    a description keeps its line breaks."""
    lines = (DATA / "import_valid" / "innovations.csv").read_text().splitlines()
    row = lines[1].replace("Pre-filled claim forms", '"Pre-filled\nclaim forms"')
    before = fingerprint(loaded)
    result = import_files(loaded, [("innovations.csv", f"{lines[0]}\n{row}\n".encode())])
    assert [(p.row, p.column) for p in result.problems] == [(2, "title")]
    assert "has a line break: write it on one line" in result.problems[0].message
    assert fingerprint(loaded) == before
    kept = lines[1].replace('"Forms arrive filled, ', '"Forms arrive filled,\n')
    ok = import_files(loaded, [("innovations.csv", f"{lines[0]}\n{kept}\n".encode())])
    assert ok.ok and ok.counts["innovations"].updated == 1


def test_a_point_group_reads_when_the_column_groups_with_points(loaded: Engine) -> None:
    """4.105 beside 407,5 is refused (above); beside 1.234,5, which groups with a point, the
    column shows its convention and 4.105 is 4105."""
    text = (CASES / "point_group_beside_decimal_comma_kpi_observations.csv").read_text()
    text = text.replace(";407,5;", ";1.234,5;")
    result = import_files(loaded, [("kpi_observations.csv", text.encode())])
    assert result.ok, result.problems
    with loaded.connect() as conn:
        values = set(
            conn.execute(
                select(KpiObservation.value).where(KpiObservation.period == dt.date(2024, 10, 1))
            ).scalars()
        )
    assert {1234.5, 4105.0} <= values


def test_a_comma_group_beside_decimal_points_is_refused(loaded: Engine) -> None:
    """The mirror case: 13,370 beside 13.37 in a comma-delimited file (quoted) is refused."""
    before = fingerprint(loaded)
    text = (
        "account,site,process,kpi,period,value,volume\n"
        "Acme Claims,Lisbon,Claims intake,aht,2024-10,13.37,100\n"
        'Acme Claims,Lisbon,Claims intake,cost_per_txn,2024-10,"13,370",100\n'
    )
    result = import_files(loaded, [("kpi_observations.csv", text.encode())])
    assert not result.ok and fingerprint(loaded) == before
    [p] = result.problems
    assert (p.row, p.column) == (3, "value")
    assert "'13,370' can be read as 13370 or as 13.370" in p.message


def test_a_new_site_without_its_own_window_is_listed_as_not_measured(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """Porto opens in June 2024 and the units file gives it no window of its own: it imports
    (with a warning naming it), and the CLI's figures and the story's data-quality notes —
    the page the renewal pack prints — list it as not measured."""

    from data_loaders.access import Scope
    from data_loaders.queries import load_account_data
    from story.model import build_story

    db = tmp_path / "new_site.sqlite"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    assert import_files(engine, valid_files()).ok
    units = "account,site,process,region\nAcme Claims,Porto,Claims intake,EMEA\n"
    obs = "account,site,process,kpi,period,value,volume\n" + "".join(
        f"Acme Claims,Porto,Claims intake,cost_per_txn,2024-{m:02d},4.{m},{100 * m}\n"
        for m in (6, 7, 8)
    )
    result = import_files(
        engine, [("units.csv", units.encode()), ("kpi_observations.csv", obs.encode())]
    )
    assert result.ok, result.problems
    assert any("Porto" in w.message and "not measured" in w.message for w in result.warnings)
    with engine.connect() as conn:
        account_id = conn.execute(select(Account.id)).scalar_one()
    story = build_story(load_account_data(engine, Scope.everything(), account_id))
    quality = " ".join(next(s for s in story.sections if s.key == "data_quality").notes)
    assert "Not measured (no data in the baseline window): Porto" in quality
    proc = _cli(db, "metrics", "--account", "Acme Claims", "--no-estimates")
    assert proc.returncode == 0, proc.stderr
    assert "no baseline (not measured): Porto" in proc.stderr


def test_an_unknown_column_is_listed_in_the_cli_output(tmp_path: Path) -> None:
    """`import` of a units file with an extra column `colour` imports the unit and prints,
    under Warnings, that the column is not part of the units format."""
    db = tmp_path / "cli.sqlite"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    assert import_files(engine, valid_files()).ok
    proc = _cli(
        db, "import", "--no-estimates", "--no-progress", str(CASES / "extra_column_units.csv")
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert "Warnings:" in out
    assert "column colour is not part of the units format and was ignored" in out
    assert "units: 1 read, 1 new" in out
