"""The scoped read layer: SQL push-down to months, volume weighting, and scope enforcement.

Rows are written with the ORM here so these tests do not depend on the importers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    Table,
    create_engine,
    insert,
    select,
)

from data_loaders import queries, rollup
from data_loaders.access import AccessDenied, Scope
from data_loaders.db import DatabaseUnavailable, make_engine, session_scope
from data_loaders.queries import (
    account_id_by_name,
    list_accounts,
    load_account_data,
    load_monthly,
)
from data_loaders.schema import Account, Kpi, KpiObservation, Unit


def _seed(engine: Engine) -> tuple[int, int]:
    with session_scope(engine) as s:
        ids = []
        for name in ("Acme", "Globex"):
            a = Account(
                name=name,
                currency="EUR",
                locale="de_DE",
                contract_start=dt.date(2024, 1, 1),
                contract_end=dt.date(2026, 12, 31),
                baseline_start=dt.date(2024, 1, 1),
                baseline_end=dt.date(2024, 3, 31),
            )
            s.add(a)
            s.flush()
            u = Unit(account_id=a.id, site="Lisbon", process="Claims")
            k = Kpi(account_id=a.id, key="aht", label="AHT", direction="lower", kind="rate")
            f = Kpi(account_id=a.id, key="fte", label="FTE", direction="lower", kind="level")
            s.add_all([u, k, f])
            s.flush()
            # Two days in January: 10 s on 100 transactions, 40 s on 300 transactions.
            # Volume-weighted month value = (10·100 + 40·300) / 400 = 32.5 (plain mean 25).
            for day, value, vol in ((2, 10.0, 100.0), (3, 40.0, 300.0)):
                d = dt.date(2024, 1, day)
                s.add(
                    KpiObservation(
                        account_id=a.id,
                        unit_id=u.id,
                        kpi_id=k.id,
                        period=d,
                        month=d.replace(day=1),
                        grain="day",
                        value=value,
                        volume=vol,
                    )
                )
                # FTE is a level: the month's value is the mean of the days, (8 + 12) / 2 = 10.
                s.add(
                    KpiObservation(
                        account_id=a.id,
                        unit_id=u.id,
                        kpi_id=f.id,
                        period=d,
                        month=d.replace(day=1),
                        grain="day",
                        value=8.0 if day == 2 else 12.0,
                        volume=None,
                    )
                )
            ids.append(a.id)
    with engine.begin() as conn:  # rows written by hand, not by an import: build the rollup
        rollup.rebuild(conn)
    return ids[0], ids[1]


def test_monthly_is_volume_weighted_for_rates(engine: Engine) -> None:
    """Daily rows leave SQL as one month row: Σ value·vol / Σ vol for a rate KPI."""
    acme, _ = _seed(engine)
    m = load_monthly(engine, Scope.everything(), acme)
    aht = m[m["kpi_key"] == "aht"].iloc[0]
    assert aht["value"] == pytest.approx(32.5)
    assert aht["volume"] == pytest.approx(400.0)
    assert aht["n_obs"] == 2
    assert str(aht["month"].date()) == "2024-01-01"


def test_monthly_level_kpi_is_the_mean(engine: Engine) -> None:
    """A level KPI (FTE) is averaged over the days of the month, not weighted by volume."""
    acme, _ = _seed(engine)
    m = load_monthly(engine, Scope.everything(), acme, kpi_keys=["fte"])
    assert m["value"].tolist() == [pytest.approx(10.0)]


def test_scope_refuses_other_accounts(engine: Engine) -> None:
    """A client executive scoped to one account cannot read another, by id or by name."""
    acme, globex = _seed(engine)
    scope = Scope(role="client executive", account_ids=frozenset({acme}), user="cfo@acme")
    assert load_account_data(engine, scope, acme).account.name == "Acme"
    with pytest.raises(AccessDenied):
        load_account_data(engine, scope, globex)
    with pytest.raises(AccessDenied):
        account_id_by_name(engine, scope, "Globex")
    assert list_accounts(engine, scope)["name"].tolist() == ["Acme"]


def test_unknown_account_lists_known_ones(engine: Engine) -> None:
    """A typo in an account name gives a message naming the accounts that exist."""
    _seed(engine)
    with pytest.raises(LookupError, match="Acme, Globex"):
        account_id_by_name(engine, Scope.everything(), "Acne")


def test_unreachable_database_is_a_readable_error() -> None:
    """A database that is down raises DatabaseUnavailable with the URL (password hidden)."""
    eng = make_engine("postgresql+psycopg://u:secret@127.0.0.1:1/nowhere")
    with pytest.raises(DatabaseUnavailable) as err:
        list_accounts(eng, Scope.everything())
    assert "secret" not in str(err.value)
    assert "cannot be reached" in str(err.value)


def _seed_mixed(engine: Engine) -> int:
    """Two units, a rate, a level and a rate with a month of zero volume, daily and monthly
    rows over three months: the cases ``load_monthly`` distinguishes."""
    with session_scope(engine) as s:
        a = Account(
            name="Initech",
            currency="USD",
            locale="en_US",
            contract_start=dt.date(2024, 1, 1),
            contract_end=dt.date(2026, 12, 31),
            baseline_start=dt.date(2024, 1, 1),
            baseline_end=dt.date(2024, 1, 31),
        )
        s.add(a)
        s.flush()
        units = [Unit(account_id=a.id, site=site, process="Billing") for site in ("Oslo", "Cork")]
        kpis = [
            Kpi(account_id=a.id, key="fte", label="FTE", direction="lower", kind="level"),
            Kpi(account_id=a.id, key="aht", label="AHT", direction="lower", kind="rate"),
            Kpi(account_id=a.id, key="csat", label="CSAT", direction="higher", kind="rate"),
        ]
        s.add_all([*units, *kpis])
        s.flush()
        for ui, u in enumerate(units):
            for month in (1, 2, 3):
                for ki, k in enumerate(kpis):
                    grain = "month" if (ui, month) == (1, 3) else "day"
                    days = [1] if grain == "month" else [1, 2, 3]
                    for d in days:
                        volume = (
                            None
                            if k.kind == "level"
                            else 0.0
                            if (k.key, month) == ("csat", 2)
                            else float(100 * d + ki)
                        )
                        s.add(
                            KpiObservation(
                                account_id=a.id,
                                unit_id=u.id,
                                kpi_id=k.id,
                                period=dt.date(2024, month, d),
                                month=dt.date(2024, month, 1),
                                grain=grain,
                                value=10.0 + ui + month / 3 + d / 7 + ki,
                                volume=volume,
                            )
                        )
        aid = a.id
    with engine.begin() as conn:
        rollup.rebuild(conn)
    return aid


def test_monthly_from_arrow_equals_the_driver_rows(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a SQLite file the rollup is read as Arrow columns (ADBC); the frame is the same, to
    the bit, as the one built from the standard driver's rows, unfiltered and filtered."""
    aid = _seed_mixed(sqlite_engine)
    scope = Scope.everything()
    unit = int(load_account_data(sqlite_engine, scope, aid).units["unit_id"].iloc[0])
    calls: list[dict[str, Any]] = [
        {},
        {"unit_ids": [unit], "kpi_keys": ["aht", "fte"]},
        {"start": dt.date(2024, 2, 1), "end": dt.date(2024, 2, 29)},
        {"unit_ids": [-1]},
    ]
    tables: list[int] = []
    arrow_table = queries._arrow_table

    def counted(engine: Engine, stmt: object) -> object:
        table = arrow_table(engine, stmt)
        tables.append(0 if table is None else table.num_rows)
        return table

    monkeypatch.setattr(queries, "_arrow_table", counted)
    arrow = [load_monthly(sqlite_engine, scope, aid, **kw) for kw in calls]
    assert tables == [18, 6, 6, 0]  # the Arrow path did read each of them
    monkeypatch.setattr(queries, "_sqlite_file", lambda engine: None)
    rows = [load_monthly(sqlite_engine, scope, aid, **kw) for kw in calls]
    for a, r in zip(arrow, rows, strict=True):
        pd.testing.assert_frame_equal(a, r, check_exact=True)
    full = arrow[0]
    # month 2 of csat has volume 0: the plain mean of its days, not Σ value·vol / Σ vol
    csat = full[(full["kpi_key"] == "csat") & (full["month"] == pd.Timestamp("2024-02-01"))]
    assert csat["volume"].tolist() == [0.0, 0.0]
    assert sorted(set(full["grain"])) == ["day", "month"]
    assert arrow[2]["month"].unique().tolist() == [pd.Timestamp("2024-02-01")]


def test_arrow_read_types_a_column_from_all_its_rows(sqlite_engine: Engine) -> None:
    """A column whose first 1,500 rows are NULL and whose last is a number is read as numbers
    (ADBC infers SQLite's types from the first batch; the read takes all rows as one)."""
    t = Table("probe", MetaData(), Column("x", Float), Column("n", Integer))
    t.create(sqlite_engine)
    with sqlite_engine.begin() as conn:
        conn.execute(insert(t), [{"x": None, "n": None}] * 1500 + [{"x": 2.5, "n": 3}])
    table = queries._arrow_table(
        sqlite_engine, select(t.c.x, t.c.n).where(t.c.n.is_(None) | (t.c.n > 0))
    )
    assert table is not None
    assert table.num_rows == 1501
    assert table.column("x").to_pylist()[-2:] == [None, 2.5]
    assert table.column("n").to_pylist()[-1] == 3


def test_arrow_read_is_only_for_sqlite_files(sqlite_engine: Engine, tmp_path: Path) -> None:
    """An in-memory SQLite or a URL with options is read through SQLAlchemy's own connection
    (a second reader could not see it, or would ignore the options)."""
    assert queries._sqlite_file(sqlite_engine) == sqlite_engine.url.database
    assert queries._sqlite_file(make_engine("sqlite://")) is None
    assert (
        queries._sqlite_file(make_engine(f"sqlite:///{tmp_path / 'test.sqlite'}?timeout=5")) is None
    )
    assert (
        queries._sqlite_file(create_engine(f"sqlite:///{tmp_path / 'never-created.sqlite'}"))
        is None
    )
