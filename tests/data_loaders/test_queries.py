"""The scoped read layer: SQL push-down to months, volume weighting, and scope enforcement.

Rows are written with the ORM here so these tests do not depend on the importers.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from data_loaders import rollup
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
