"""data_loaders.freshness: last period per unit × KPI, stale flags, last import per entity, scope."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pytest
from sqlalchemy import Engine, select

from data_loaders import rollup
from data_loaders.access import AccessDenied, Scope
from data_loaders.db import session_scope
from data_loaders.freshness import entity_freshness, observation_freshness
from data_loaders.importer import import_files
from data_loaders.schema import (
    Account,
    ImportBatch,
    Innovation,
    Kpi,
    KpiObservation,
    Rollout,
    Unit,
)

D = dt.date


def _seed(engine: Engine) -> tuple[int, int]:
    now = dt.datetime(2025, 3, 1, 12, 0)
    with session_scope(engine) as s:
        b1 = ImportBatch(
            source="first.csv",
            entity="observations",
            fmt="csv",
            account_name="Acme",
            started_at=now,
            finished_at=now,
            checksum="a",
            user="alice",
        )
        b2 = ImportBatch(
            source="second.csv",
            entity="observations",
            fmt="csv",
            account_name="Acme",
            started_at=now,
            finished_at=now + dt.timedelta(days=3),
            checksum="b",
            user="bob",
        )
        s.add_all([b1, b2])
        s.flush()
        accounts = []
        for name in ("Acme", "Other"):
            a = Account(
                name=name,
                currency="USD",
                contract_start=D(2024, 1, 1),
                contract_end=D(2026, 12, 31),
                baseline_start=D(2024, 1, 1),
                baseline_end=D(2024, 6, 30),
                batch_id=b1.id,
            )
            s.add(a)
            s.flush()
            accounts.append(a.id)
        acme = accounts[0]
        u1 = Unit(account_id=acme, site="Manila", process="Claims", batch_id=b1.id)
        u2 = Unit(account_id=acme, site="Kraków", process="Claims", batch_id=b1.id)
        k1 = Kpi(
            account_id=acme,
            key="aht",
            label="Handle time",
            direction="lower",
            kind="rate",
            batch_id=b1.id,
        )
        k2 = Kpi(
            account_id=acme,
            key="csat",
            label="CSAT",
            direction="higher",
            kind="rate",
            batch_id=b1.id,
        )
        s.add_all([u1, u2, k1, k2])
        s.flush()
        inn = Innovation(
            account_id=acme,
            code="INN-1",
            title="x",
            category="operational efficiency",
            scale="continuous improvement",
            origin="client",
            stage="pilot",
            batch_id=b1.id,
        )
        s.add(inn)
        s.flush()
        s.add(Rollout(innovation_id=inn.id, unit_id=u1.id, go_live=D(2024, 9, 1), batch_id=b2.id))

        def obs(u: Unit, k: Kpi, period: dt.date, grain: str, batch: int) -> KpiObservation:
            return KpiObservation(
                account_id=acme,
                unit_id=u.id,
                kpi_id=k.id,
                period=period,
                month=period.replace(day=1),
                grain=grain,
                value=1.0,
                volume=10.0,
                batch_id=batch,
            )

        s.add_all(
            [
                obs(u1, k1, D(2025, 1, 1), "month", b1.id),
                obs(u1, k1, D(2025, 2, 1), "month", b2.id),  # covers to 28 Feb
                obs(u2, k1, D(2024, 11, 1), "month", b1.id),  # covers to 30 Nov: stale
                obs(u1, k2, D(2025, 2, 20), "day", b2.id),  # daily: covers to 20 Feb
            ]
        )
    # Rows written by hand, not by an import: the monthly rollup is rebuilt as documented.
    with engine.begin() as conn:
        rollup.rebuild(conn)
    return acme, accounts[1]


def test_last_period_days_behind_and_stale(sqlite_engine: Engine) -> None:
    acme, _ = _seed(sqlite_engine)
    df = observation_freshness(sqlite_engine, Scope.everything(), acme, as_of=D(2025, 3, 10))
    assert len(df) == 3
    by = df.set_index(["unit", "kpi_key"])
    manila = cast(
        pd.Series, by.loc[("Manila · Claims", "aht")]
    )  # one row: a unique (unit, KPI) key
    assert manila["covered_until"].date() == D(2025, 2, 28)
    assert manila["days_behind"] == 10 and not manila["stale"]
    assert manila["n_periods"] == 2
    krakow = cast(
        pd.Series, by.loc[("Kraków · Claims", "aht")]
    )  # one row: a unique (unit, KPI) key
    assert krakow["days_behind"] == (D(2025, 3, 10) - D(2024, 11, 30)).days
    assert bool(krakow["stale"])
    daily = cast(
        pd.Series, by.loc[("Manila · Claims", "csat")]
    )  # one row: a unique (unit, KPI) key
    assert daily["covered_until"].date() == D(2025, 2, 20) and daily["days_behind"] == 18
    assert df["unit"].iloc[0] == "Kraków · Claims"  # stalest first
    # a stricter threshold flags more
    strict = observation_freshness(
        sqlite_engine, Scope.everything(), acme, as_of=D(2025, 3, 10), stale_after_days=12
    )
    assert int(strict["stale"].sum()) == 2


def test_entity_freshness_reports_newest_batch_still_present(sqlite_engine: Engine) -> None:
    acme, other = _seed(sqlite_engine)
    df = entity_freshness(sqlite_engine, Scope.everything(), acme).set_index("entity")
    assert df.loc["observations", "rows"] == 4
    assert df.loc["observations", "source"] == "second.csv"
    assert df.loc["observations", "user"] == "bob"
    assert df.loc["units", "rows"] == 2 and df.loc["units", "source"] == "first.csv"
    assert df.loc["rollouts", "rows"] == 1 and df.loc["rollouts", "source"] == "second.csv"
    assert df.loc["events", "rows"] == 0 and df["batch_id"].isna()["events"]
    assert "planted_effects" not in df.index
    empty = entity_freshness(sqlite_engine, Scope.everything(), other).set_index("entity")
    assert empty.loc["accounts", "rows"] == 1 and empty.loc["observations", "rows"] == 0
    assert observation_freshness(sqlite_engine, Scope.everything(), other).empty


def test_scope_is_enforced(sqlite_engine: Engine) -> None:
    acme, other = _seed(sqlite_engine)
    client = Scope(role="client executive", account_ids=frozenset({other}))
    with pytest.raises(AccessDenied):
        observation_freshness(sqlite_engine, client, acme)
    with pytest.raises(AccessDenied):
        entity_freshness(sqlite_engine, client, acme)


VALID = Path(__file__).resolve().parents[1] / "data" / "import_valid"


def test_read_from_the_rollup_matches_the_daily_rows(sqlite_engine: Engine, tmp_path: Path) -> None:
    """Freshness read from the monthly rollup equals the same figures computed from every
    stored observation (first and last period, row count, coverage), for a monthly series,
    a daily series spread over several months and a series monthly then daily."""
    files = sorted(VALID.glob("*.csv"))
    daily = tmp_path / "kpi_observations_daily.csv"
    lines = ["account,site,process,kpi,period,value,volume"]
    for day in ("2025-01-07", "2025-01-03", "2025-02-11", "2025-03-30"):
        lines.append(f"Acme Claims,Lisbon,Claims intake,aht,{day},401.5,300")
        lines.append(f"Acme Claims,Lisbon,Claims intake,fte,{day},30.25,")
    daily.write_text("\n".join(lines) + "\n")
    assert import_files(sqlite_engine, [*files, daily]).ok
    o = KpiObservation
    with sqlite_engine.connect() as conn:
        acme = conn.execute(select(Account.id).where(Account.name == "Acme Claims")).scalar_one()
        rows = conn.execute(
            select(Unit.site, Unit.process, Kpi.key, o.grain, o.period)
            .join(Unit, Unit.id == o.unit_id)
            .join(Kpi, Kpi.id == o.kpi_id)
            .where(o.account_id == acme)
        ).all()
    ref = pd.DataFrame(rows, columns=["site", "process", "kpi_key", "grain", "period"])
    ref["period"] = pd.to_datetime(ref["period"])
    ref["covered"] = ref["period"].where(
        ref["grain"] == "day", ref["period"] + pd.offsets.MonthEnd(0)
    )
    expected = ref.groupby(["site", "process", "kpi_key"]).agg(
        first_period=("period", "min"),
        covered_until=("covered", "max"),
        n_periods=("period", "size"),
    )
    fresh = observation_freshness(sqlite_engine, Scope.everything(), acme, as_of=D(2025, 6, 30))
    got: dict[tuple[str, str, str], dict[Any, Any]] = {
        (r["site"], r["process"], r["kpi_key"]): r for r in fresh.to_dict("records")
    }
    want_rows: list[dict[Any, Any]] = expected.reset_index().to_dict("records")
    assert len(got) == len(fresh) == len(want_rows)
    for want in want_rows:
        key = (want["site"], want["process"], want["kpi_key"])
        assert pd.Timestamp(got[key]["first_period"]) == want["first_period"], key
        assert pd.Timestamp(got[key]["covered_until"]) == want["covered_until"], key
        assert int(got[key]["n_periods"]) == int(want["n_periods"]), key
    # monthly 2024 rows, then days in 2025: the daily tail is the newest coverage
    lisbon = got[("Lisbon", "Claims intake", "aht")]
    assert pd.Timestamp(lisbon["covered_until"]) == pd.Timestamp("2025-03-30")
    entities = entity_freshness(sqlite_engine, Scope.everything(), acme).set_index("entity")
    assert entities.loc["observations", "rows"] == len(ref)
