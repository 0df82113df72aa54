"""Data freshness per source, for the Data page: read-only, scoped like every other read.

* ``observation_freshness``: per unit × KPI, the last period observed and how far it is behind.
  A period *covers* up to its end: a month-grain period (stored as the 1st) covers to the last
  day of that month, a day-grain period covers that day. ``days_behind = as_of − covered_until``
  (never below 0) and a series is **stale** when ``days_behind > stale_after_days``
  (default 45: a monthly feed one full month late).
* ``entity_freshness``: per import entity, how many rows the account holds and the newest
  import batch that wrote rows still present (its time, source and user). Rows loaded outside
  an import (no batch) are counted but have no batch.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine, Select, func, select
from sqlalchemy.exc import OperationalError

from data_loaders.access import Scope
from data_loaders.db import DatabaseUnavailable, redact
from data_loaders.schema import (
    Account,
    Event,
    ImportBatch,
    Innovation,
    InnovationTarget,
    Kpi,
    KpiObservation,
    Rollout,
    Unit,
)
from metrics.rules import STALE_AFTER_DAYS

__all__ = ["STALE_AFTER_DAYS", "entity_freshness", "observation_freshness"]


_OBS_COLUMNS = [
    "unit",
    "site",
    "process",
    "kpi_key",
    "kpi_label",
    "grain",
    "first_period",
    "last_period",
    "covered_until",
    "n_periods",
    "days_behind",
    "stale",
]
_ENTITY_COLUMNS = ["entity", "rows", "batch_id", "last_import", "source", "user"]


def _rows(engine: Engine, stmt: Select) -> list[tuple]:
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(stmt).all()]
    except OperationalError as exc:
        raise DatabaseUnavailable(
            f"The database at {redact(str(engine.url))} cannot be reached."
        ) from exc


def observation_freshness(
    engine: Engine,
    scope: Scope,
    account_id: int,
    *,
    as_of: dt.date | None = None,
    stale_after_days: int = STALE_AFTER_DAYS,
) -> pd.DataFrame:
    """Last observed period per unit × KPI of one account (formula in the module docstring).

    Ordered stalest first, then by unit and KPI. ``as_of`` defaults to today.
    """
    scope.check(account_id)
    o = KpiObservation
    stmt = (
        select(
            Unit.site,
            Unit.process,
            Kpi.key,
            Kpi.label,
            o.grain,
            func.min(o.period),
            func.max(o.period),
            func.count(),
        )
        .join(Unit, Unit.id == o.unit_id)
        .join(Kpi, Kpi.id == o.kpi_id)
        .where(o.account_id == account_id)
        .group_by(Unit.site, Unit.process, Kpi.key, Kpi.label, o.grain)
    )
    raw = pd.DataFrame(
        _rows(engine, stmt),
        columns=[
            "site",
            "process",
            "kpi_key",
            "kpi_label",
            "grain",
            "first_period",
            "last_period",
            "n_periods",
        ],
    )
    if raw.empty:
        return pd.DataFrame(columns=_OBS_COLUMNS)
    for c in ("first_period", "last_period"):
        raw[c] = pd.to_datetime(raw[c]).astype("datetime64[ns]")
    month_end = raw["last_period"] + pd.offsets.MonthEnd(0)
    raw["covered_until"] = month_end.where(raw["grain"] == "month", raw["last_period"])
    # One row per unit × KPI: the grain that reaches furthest.
    raw = raw.sort_values("covered_until", ascending=False)
    keys = ["site", "process", "kpi_key"]
    n = raw.groupby(keys)["n_periods"].transform("sum")
    first = raw.groupby(keys)["first_period"].transform("min")
    out = raw.assign(n_periods=n, first_period=first).drop_duplicates(keys)
    ref = pd.Timestamp(as_of or dt.date.today())
    out["days_behind"] = (ref - out["covered_until"]).dt.days.clip(lower=0).astype("int64")
    out["stale"] = out["days_behind"] > stale_after_days
    out["unit"] = out["site"] + " · " + out["process"]
    out["n_periods"] = out["n_periods"].astype("int64")
    out = out.sort_values(["days_behind", "unit", "kpi_key"], ascending=[False, True, True])
    return out[_OBS_COLUMNS].reset_index(drop=True)


def entity_freshness(engine: Engine, scope: Scope, account_id: int) -> pd.DataFrame:
    """Rows held and the newest batch that wrote them, per import entity of one account.

    The demo's planted effects (its hidden ground truth) are never listed: they are not data
    a user imports or maintains."""
    scope.check(account_id)
    stmts: list[tuple[str, Select]] = [
        (
            "accounts",
            select(func.count(Account.id), func.max(Account.batch_id)).where(
                Account.id == account_id
            ),
        ),
        (
            "units",
            select(func.count(Unit.id), func.max(Unit.batch_id)).where(
                Unit.account_id == account_id
            ),
        ),
        (
            "kpis",
            select(func.count(Kpi.id), func.max(Kpi.batch_id)).where(Kpi.account_id == account_id),
        ),
        (
            "innovations",
            select(func.count(Innovation.id), func.max(Innovation.batch_id)).where(
                Innovation.account_id == account_id
            ),
        ),
        (
            "innovation_targets",
            select(func.count(InnovationTarget.id), func.max(InnovationTarget.batch_id))
            .join(Innovation, Innovation.id == InnovationTarget.innovation_id)
            .where(Innovation.account_id == account_id),
        ),
        (
            "rollouts",
            select(func.count(Rollout.id), func.max(Rollout.batch_id))
            .join(Innovation, Innovation.id == Rollout.innovation_id)
            .where(Innovation.account_id == account_id),
        ),
        (
            "events",
            select(func.count(Event.id), func.max(Event.batch_id)).where(
                Event.account_id == account_id
            ),
        ),
        (
            "observations",
            select(func.count(KpiObservation.id), func.max(KpiObservation.batch_id)).where(
                KpiObservation.account_id == account_id
            ),
        ),
    ]
    counts = []
    for entity, stmt in stmts:
        n, batch = _rows(engine, stmt)[0]
        counts.append((entity, int(n or 0), int(batch) if batch is not None else None))
    ids = sorted({b for _, _, b in counts if b is not None})
    batches: dict[int, tuple] = {}
    if ids:
        b = ImportBatch
        for row in _rows(
            engine, select(b.id, b.finished_at, b.source, b.user).where(b.id.in_(ids))
        ):
            batches[int(row[0])] = row[1:]
    rows = []
    for entity, n, batch in counts:
        finished, source, user = (
            batches.get(batch, (None, None, None)) if batch else (None, None, None)
        )
        rows.append((entity, n, batch, finished, source, user))
    out = pd.DataFrame(rows, columns=_ENTITY_COLUMNS)
    out["last_import"] = pd.to_datetime(out["last_import"]).astype("datetime64[ns]")
    out["batch_id"] = out["batch_id"].astype("Int64")
    return out
