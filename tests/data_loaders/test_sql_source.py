"""Importing from another database: tables or SELECTs, renamed columns, same checks."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, select

from data_loaders.db import DatabaseUnavailable
from data_loaders.importer import import_files
from data_loaders.schema import ImportBatch
from data_loaders.sql_source import SqlMapping, import_sql, load_mapping

from .loader_helpers import VALID, fingerprint, valid_files


@pytest.fixture
def source(tmp_path: Path) -> str:
    """A 'warehouse' SQLite file holding the valid set under other names and column names."""
    path = tmp_path / "warehouse.sqlite"
    con = sqlite3.connect(path)
    for csv in VALID.glob("*.csv"):
        df = pd.read_csv(csv, dtype=str, keep_default_na=False)
        name = csv.stem
        if name == "units":
            df = df.rename(columns={"account": "client", "site": "site_name"})
        if name == "kpi_observations_2024":
            name = "kpi_daily"
            df = df.rename(columns={"kpi": "kpi_key", "volume": "transactions"})
            df["value"] = df["value"].astype(float)
        df.to_sql(name, con, index=False)
    con.close()
    return f"sqlite:///{path}"


MAPPING: dict[str, str | SqlMapping] = {
    "accounts": "accounts",
    "units": SqlMapping("units", {"client": "account", "site_name": "site"}),
    "kpis": "kpis",
    "innovations": "innovations",
    "innovation_targets": "innovation_targets",
    "rollouts": SqlMapping("SELECT account, innovation, site, process, go_live FROM rollouts"),
    "events": "events",
    "observations": SqlMapping(
        "SELECT account, site, process, kpi_key AS kpi, period, value, transactions FROM kpi_daily",
        {"transactions": "volume"},
    ),
}


def test_import_from_tables_and_queries(engine: Engine, source: str) -> None:
    """Tables, SELECTs and renames give the same data as the CSV files (fmt 'sql')."""
    result = import_sql(engine, source, MAPPING, user="etl")
    assert result.ok, "\n".join(map(str, result.problems))
    assert result.total.inserted == 100
    with engine.connect() as conn:
        batch = conn.execute(select(ImportBatch)).one()
    assert (batch.fmt, batch.user) == ("sql", "etl")
    assert batch.source.startswith("sql: sqlite:///")
    before = fingerprint(engine)
    again = import_files(engine, valid_files())
    assert again.total.unchanged == 100 and fingerprint(engine) == before


def test_dry_run_and_problems_name_the_entity(engine: Engine, source: str) -> None:
    """Dry runs write nothing; a failing query or bad data is a problem for sql:<entity>."""
    r = import_sql(engine, source, MAPPING, dry_run=True)
    assert r.ok and r.batch_id is None and all(n == 0 for n, _ in fingerprint(engine).values())
    bad = dict(
        MAPPING,
        observations=SqlMapping("SELECT nope FROM kpi_daily"),
        rollouts=SqlMapping(
            "SELECT account, innovation, site, process, 'soon' AS go_live FROM rollouts"
        ),
    )
    r = import_sql(engine, source, bad)
    assert not r.ok
    files = {p.file for p in r.problems}
    assert files == {"sql:observations", "sql:rollouts"}
    go = next(p for p in r.problems if p.file == "sql:rollouts")
    assert (go.row, go.column) == (1, "go_live")
    assert any("the query for observations failed" in p.message for p in r.problems)


def test_mapping_files_toml_and_json(tmp_path: Path) -> None:
    """Mapping files: a table name, a table with renames, or a query; optional source URL."""
    toml = tmp_path / "mapping.toml"
    toml.write_text(
        'source = "sqlite:///w.sqlite"\n[entities]\naccounts = "crm.accounts"\n'
        '[entities.units]\ntable = "ops.sites"\ncolumns = { client = "account" }\n'
        "[entities.observations]\nquery = '''SELECT * FROM kpi_daily'''\n"
    )
    mapping, src = load_mapping(toml)
    assert src == "sqlite:///w.sqlite"
    assert mapping["accounts"] == SqlMapping("crm.accounts")
    assert mapping["units"] == SqlMapping("ops.sites", {"client": "account"})
    assert mapping["observations"].is_select and not mapping["units"].is_select
    js = tmp_path / "mapping.json"
    js.write_text(json.dumps({"entities": {"events": {"query": "SELECT 1"}}}))
    assert load_mapping(js) == ({"events": SqlMapping("SELECT 1")}, None)
    bad = tmp_path / "bad.toml"
    bad.write_text("[entities]\n")
    with pytest.raises(ValueError, match="names no entities"):
        load_mapping(bad)


def test_unreachable_or_invalid_source(engine: Engine) -> None:
    """A source that cannot be reached, or a malformed URL, is a readable error."""
    with pytest.raises(DatabaseUnavailable, match="cannot be reached"):
        import_sql(engine, "postgresql+psycopg://u:pw@127.0.0.1:1/x", {"accounts": "a"})
    with pytest.raises(ValueError, match="invalid source URL"):
        import_sql(engine, "not a url", {"accounts": "a"})
