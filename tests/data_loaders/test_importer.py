"""Importing into a real database (SQLite and PostgreSQL): one batch, one transaction, upsert
on natural keys, nothing written on rejection or dry run, every export variation accepted."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path
from typing import BinaryIO

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import Engine, select

from data_loaders import importer
from data_loaders.importer import EntityCounts, ImportRejected, import_files, import_frames
from data_loaders.schema import (
    Account,
    BatchChange,
    ImportBatch,
    Innovation,
    InnovationTarget,
    Kpi,
    KpiObservation,
    Unit,
)

from .loader_helpers import ACCOUNT, count, csv_file, fingerprint, valid_files, variant_files

A = ACCOUNT


def _load_valid(engine: Engine) -> importer.ImportResult:
    result = import_files(engine, valid_files(), user="tester")
    assert result.ok, "\n".join(map(str, result.problems))
    return result


def _rows(engine: Engine, stmt):
    with engine.connect() as conn:
        return conn.execute(stmt).all()


def test_valid_set_imports_as_one_batch(engine: Engine) -> None:
    """The valid set lands as one batch with per-entity counts and a complete batch row."""
    result = _load_valid(engine)
    assert result.batch_id is not None and not result.dry_run
    assert result.counts["observations"] == EntityCounts(81, 81, 0, 0)
    assert result.counts["innovations"] == EntityCounts(4, 4, 0, 0)
    # 1 row from innovation_targets.csv + 2 from innovations.target_kpi
    assert result.counts["innovation_targets"] == EntityCounts(3, 3, 0, 0)
    batch = _rows(engine, select(ImportBatch))[0]
    assert batch.status == "applied" and batch.fmt == "csv" and batch.account_name == A
    assert batch.user == "tester" and batch.rows_inserted == batch.rows_read == 100
    assert batch.source.startswith("accounts.csv, events.csv")
    assert batch.entity.startswith("accounts,units,kpis")
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in valid_files())).hexdigest()
    assert batch.checksum == digest
    assert batch.finished_at >= batch.started_at
    assert "Imported as batch" in result.summary()


def test_stored_values(engine: Engine) -> None:
    """Types land right: dates, floats, booleans, month/grain of observations, targets."""
    _load_valid(engine)
    acc = _rows(engine, select(Account))[0]
    assert (acc.currency, acc.baseline_end, acc.productivity_pct_per_year) == (
        "EUR",
        dt.date(2024, 3, 31),
        4.5,
    )
    obs = _rows(engine, select(KpiObservation).order_by(KpiObservation.id))[0]
    assert (obs.period, obs.month, obs.grain, obs.value, obs.volume) == (
        dt.date(2024, 1, 1),
        dt.date(2024, 1, 1),
        "month",
        407.5,
        12137.0,
    )
    fte = _rows(engine, select(KpiObservation).join(Kpi).where(Kpi.key == "fte"))[0]
    assert fte.volume is None
    inn = {r.code: r for r in _rows(engine, select(Innovation))}
    assert inn["INN-001"].gain_share_eligible is True
    assert inn["INN-001"].estimated_annual_value == 1234.56
    assert inn["INN-003"].owner == "" and inn["INN-003"].pilot_date is None
    targets = _rows(
        engine,
        select(Innovation.code, Kpi.key, InnovationTarget.expected_effect_pct)
        .join(Innovation, Innovation.id == InnovationTarget.innovation_id)
        .join(Kpi, Kpi.id == InnovationTarget.kpi_id),
    )
    assert sorted(map(tuple, targets)) == [
        ("INN-001", "aht", -6.0),
        ("INN-001", "cost_per_txn", -3.0),
        ("INN-002", "cost_per_txn", -2.5),
    ]


def test_reimport_changes_nothing(engine: Engine) -> None:
    """The same files again: every row unchanged, no update recorded, data untouched — but the
    batch is still recorded, with ``keep`` records saying it holds the first batch's rows."""
    _load_valid(engine)
    before = fingerprint(engine)
    again = import_files(engine, valid_files())
    assert again.ok and again.total.unchanged == again.total.read == 100
    assert again.total.inserted == again.total.updated == 0
    assert fingerprint(engine) == before
    changes = _rows(engine, select(BatchChange))
    assert {c.action for c in changes} == {"keep"}
    assert sum(c.old_values["rows"] for c in changes) == 100
    batches = _rows(engine, select(ImportBatch).order_by(ImportBatch.id))
    assert {c.row_id for c in changes} == {batches[0].id}
    assert len(batches) == 2 and batches[1].rows_unchanged == 100


def test_export_variations_are_the_same_data(engine: Engine) -> None:
    """`;` + decimal commas + BOM + CRLF, d/m/y and d.m.y dates, 00:00:00 times, months as
    03/2024, 12 % and −6 %, thousands dots, header case/spaces/dashes, aliases (sites,
    register, KPI definitions, annotations, Rollout), extra columns, blank rows, padded
    values, Yes/No and 1/0: imported after the clean set, every row is unchanged."""
    _load_valid(engine)
    before = fingerprint(engine)
    result = import_files(engine, variant_files())
    assert result.ok, "\n".join(map(str, result.problems))
    assert result.total.updated == 0 and result.total.inserted == 0
    assert result.total.unchanged == 100
    assert fingerprint(engine) == before


def test_variations_alone_load_the_same_data(engine: Engine) -> None:
    """On an empty database the variant files give exactly what the clean files give."""
    result = import_files(engine, variant_files())
    assert result.ok, "\n".join(map(str, result.problems))
    assert result.total.inserted == 100
    again = import_files(engine, valid_files())
    assert again.ok and again.total.unchanged == 100


def _xlsx_variant() -> bytes:
    """Innovations and rollouts as a workbook: datetime cells, serial numbers, real booleans."""
    wb = openpyxl.Workbook()
    notes = wb.active
    assert notes is not None  # a new Workbook always has one sheet
    notes.title = "Notes"
    inn = pd.read_csv(valid_files()[3], dtype=str, keep_default_na=False)
    assert "innovations" in str(valid_files()[3])
    ws = wb.create_sheet("Innovations")
    ws.append([c.replace("_", " ").title() for c in inn.columns])
    serial = dt.date(1899, 12, 30)
    for n, (_, r) in enumerate(inn.iterrows()):
        row: list[object] = []
        for c, v in r.items():
            if str(c).endswith("_date") and v:
                d = dt.date.fromisoformat(v)
                row.append((d - serial).days if n % 2 else dt.datetime.combine(d, dt.time()))
            elif c == "gain_share_eligible":
                row.append(v == "true")
            elif c in ("expected_effect_pct", "estimated_annual_value", "innovation_days") and v:
                row.append(float(v))
            else:
                row.append(v or None)
        ws.append(row)
    ws = wb.create_sheet("Rollouts")
    ws.append(["account", "innovation", "site", "process", "go_live"])
    ws.append([A, "INN-001", "Lisbon", "Claims intake", dt.datetime(2024, 4, 10)])
    ws.append([])
    ws.append([A, "INN-001", "Manila", "Claims intake", 45444])  # 2024-06-01 as a serial
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_with_serial_dates_and_date_cells(engine: Engine) -> None:
    """A workbook (sheets named after entities, others ignored) with Excel date cells and
    serial numbers imports to the same values as the CSV files."""
    _load_valid(engine)
    before = fingerprint(engine)
    result = import_files(engine, [("register.xlsx", _xlsx_variant())])
    assert result.ok, "\n".join(map(str, result.problems))
    assert result.counts["innovations"].unchanged == 4
    assert result.counts["rollouts"].unchanged == 2
    assert fingerprint(engine) == before
    assert _rows(engine, select(ImportBatch.fmt).order_by(ImportBatch.id.desc()))[0][0] == "xlsx"


def test_dry_run_counts_but_writes_nothing(engine: Engine) -> None:
    """dry_run validates and counts what would change, and leaves no trace, not even a batch."""
    result = import_files(engine, valid_files(), dry_run=True)
    assert result.ok and result.dry_run and result.batch_id is None
    assert result.total.inserted == 100
    assert all(n == 0 for n, _ in fingerprint(engine).values())
    assert count(engine, "import_batch") == 0
    assert "Dry run" in result.summary()


def test_rejection_writes_nothing(engine: Engine) -> None:
    """One bad file among good ones: problems returned, nothing written, no batch row."""
    files: list[tuple[str, BinaryIO | bytes] | str | Path] = [
        *valid_files(),
        csv_file("events_extra.csv", "account,date,title\nAcme Claims,31/02/2024,Bad day\n"),
    ]
    result = import_files(engine, files)
    assert not result.ok and result.batch_id is None
    p = result.problems[0]
    assert (p.file, p.row, p.column) == ("events_extra.csv", 2, "date")
    assert all(n == 0 for n, _ in fingerprint(engine).values())
    assert count(engine, "import_batch") == 0
    with pytest.raises(ImportRejected) as err:
        result.raise_for_problems()
    assert err.value.problems == result.problems
    assert result.summary().startswith("Rejected: 1 problem")


def test_an_error_while_writing_rolls_everything_back(engine: Engine, monkeypatch) -> None:
    """A failure halfway through the writes (after accounts, units, KPIs…) leaves nothing."""
    _load_valid(engine)
    before = fingerprint(engine, ("account", "unit", "kpi_observation", "import_batch"))
    real = importer._bulk_insert

    def failing(conn, table, frame, step):
        if table.name == "kpi_observation":
            raise RuntimeError("disk on fire")
        real(conn, table, frame, step)

    monkeypatch.setattr(importer, "_bulk_insert", failing)
    extra = csv_file("units_new.csv", f"account,site,process\n{A},Porto,Claims\n")
    obs = csv_file(
        "observations_new.csv",
        f"account,site,process,kpi,period,value,volume\n{A},Porto,Claims,aht,2024-02,1,5\n",
    )
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_files(engine, [extra, obs])
    assert fingerprint(engine, ("account", "unit", "kpi_observation", "import_batch")) == before


def test_changed_values_are_updates_with_old_values_kept(engine: Engine) -> None:
    """A changed value updates the row, sets its batch and records the old values."""
    first = _load_valid(engine)
    text = (
        valid_files()[1]
        .read_text()  # events.csv
        .replace("Three-year contract; 4.5 % productivity clause.", "Renegotiated")
    )
    result = import_files(engine, [("events.csv", text.encode())])
    assert result.counts["events"] == EntityCounts(2, 0, 1, 1)
    changes = _rows(engine, select(BatchChange).where(BatchChange.action == "update"))
    assert len(changes) == 1
    ch = changes[0]
    old = ch.old_values if isinstance(ch.old_values, dict) else json.loads(ch.old_values)
    assert (ch.table_name, ch.action, ch.batch_id) == ("event", "update", result.batch_id)
    assert old["description"] == "Three-year contract; 4.5 % productivity clause."
    assert old["batch_id"] == first.batch_id


def test_columns_left_out_are_left_alone(engine: Engine) -> None:
    """A file without an optional column keeps the stored values; an empty cell in a present
    column clears it (or sets the column default)."""
    _load_valid(engine)
    r = import_files(
        engine, [csv_file("units.csv", f"account,site,process\n{A},Lisbon,Claims intake\n")]
    )
    assert r.counts["units"].unchanged == 1
    assert {u.region for u in _rows(engine, select(Unit))} == {"EMEA", "APAC"}
    r = import_files(
        engine, [csv_file("units.csv", f"account,site,process,region\n{A},Lisbon,Claims intake,\n")]
    )
    assert r.counts["units"].updated == 1
    regions = {(u.site, u.process): u.region for u in _rows(engine, select(Unit))}
    assert regions[("Lisbon", "Claims intake")] is None


def test_references_resolve_from_the_database(engine: Engine) -> None:
    """A later import of observations alone may name units and KPIs already stored."""
    _load_valid(engine)
    r = import_files(
        engine,
        [
            csv_file(
                "observations_oct.csv",
                "account,site,process,kpi,period,value,volume\n"
                f"{A},Manila,Claims intake,aht,2024-10-15,350,800\n",
            )
        ],
    )
    assert r.ok and r.counts["observations"].inserted == 1
    row = _rows(
        engine, select(KpiObservation).where(KpiObservation.period == dt.date(2024, 10, 15))
    )[0]
    assert (row.month, row.grain) == (dt.date(2024, 10, 1), "day")


def test_unknown_reference_against_the_database(engine: Engine) -> None:
    """A rollout naming an innovation that exists nowhere is refused with file/row/column."""
    _load_valid(engine)
    r = import_files(
        engine,
        [
            csv_file(
                "rollouts.csv",
                "account,innovation,site,process,go_live\n"
                f"{A},INN-404,Lisbon,Claims intake,2024-05-01\n",
            )
        ],
    )
    assert not r.ok
    p = r.problems[0]
    assert (p.file, p.row, p.column) == ("rollouts.csv", 2, "innovation")
    assert "unknown innovation INN-404" in p.message


def test_a_new_site_imports_and_is_said_not_measured(engine: Engine) -> None:
    """A new unit whose observations all fall after the stored baseline window imports (a
    site opened later), with a warning saying it is not measured against the baseline."""
    _load_valid(engine)
    r = import_files(
        engine,
        [
            csv_file("units.csv", f"account,site,process\n{A},Porto,Claims\n"),
            csv_file(
                "observations.csv",
                f"account,site,process,kpi,period,value,volume\n{A},Porto,Claims,aht,2024-06,1,5\n",
            ),
        ],
    )
    assert r.ok, r.problems
    assert [str(w) for w in r.warnings] == [
        "observations.csv · account Acme Claims: unit Porto · Claims has no observations in "
        "the account's baseline window 2024-01-01…2024-03-31: it is imported and shown as not "
        "measured against the baseline; to measure it from its own first months, give it "
        "baseline_start and baseline_end in the units file"
    ]


def test_an_unknown_unit_gets_no_baseline_message(engine: Engine) -> None:
    """Observations of a unit that exists nowhere: one 'unknown unit' problem, nothing else."""
    _load_valid(engine)
    r = import_files(
        engine,
        [
            csv_file(
                "observations.csv",
                f"account,site,process,kpi,period,value,volume\n{A},Porto,Claims,aht,2024-06,1,5\n",
            )
        ],
    )
    assert [p.column for p in r.problems] == ["site"] and not r.warnings


def test_frames_with_typed_values(engine: Engine) -> None:
    """import_frames takes typed frames (dates, floats, booleans) and records fmt 'frames'."""
    frames = {
        "accounts": pd.DataFrame(
            [
                {
                    "name": "Beta",
                    "currency": "usd",
                    "contract_start": dt.date(2024, 1, 1),
                    "contract_end": pd.Timestamp("2025-12-31"),
                    "baseline_start": dt.date(2024, 1, 1),
                    "baseline_end": dt.date(2024, 2, 29),
                    "gain_share_pct": 25.0,
                }
            ]
        ),
        "units": pd.DataFrame([{"account": "Beta", "site": "Cebu", "process": "Billing"}]),
        "kpis": pd.DataFrame(
            [
                {
                    "account": "Beta",
                    "key": "fte",
                    "label": "FTE",
                    "direction": "lower",
                    "kind": "level",
                    "headline": False,
                }
            ]
        ),
        "observations": pd.DataFrame(
            {
                "account": "Beta",
                "site": "Cebu",
                "process": "Billing",
                "kpi": "fte",
                "period": pd.to_datetime(["2024-01-01", "2024-02-01"]),
                "value": [10.0, 11.5],
            }
        ),
    }
    r = import_frames(engine, frames, source="unit test")
    assert r.ok, r.problems
    batch = _rows(engine, select(ImportBatch))[0]
    assert (batch.source, batch.fmt, batch.account_name) == ("unit test", "frames", "Beta")
    assert len(batch.checksum) == 64
    assert _rows(engine, select(Account.currency))[0][0] == "USD"
    again = import_frames(engine, frames, source="unit test")
    assert again.total.unchanged == again.total.read == 5
    assert _rows(engine, select(ImportBatch.checksum))[1][0] == batch.checksum


def test_progress_is_reported_and_ends_at_one(engine: Engine) -> None:
    """The progress callback moves forward from 0 to 1 with readable messages."""
    seen: list[tuple[float, str]] = []
    _ = import_files(engine, valid_files(), progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(m.startswith("writing observations") for _, m in seen)


def test_header_only_files_are_empty_imports(engine: Engine) -> None:
    """Files with a header and no rows import nothing (counts 0) and raise nothing."""
    files = [
        (f"{p.stem}.csv", p.read_text().split("\n")[0].encode() + b"\n") for p in valid_files()
    ]
    r = import_files(engine, files)
    assert r.ok and r.total == EntityCounts()
    assert count(engine, "account") == 0


def test_unreadable_path_is_a_problem(engine: Engine, tmp_path) -> None:
    """A path that cannot be read is reported like any other problem."""
    r = import_files(engine, [tmp_path / "missing.csv"])
    assert not r.ok and r.problems[0].file == "missing.csv"
    assert "cannot read the file" in r.problems[0].message
