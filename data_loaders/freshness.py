"""Data freshness per source, for the Data page: read-only, scoped like every other read.

* ``observation_freshness``: per unit × KPI, the last period observed and how far it is behind,
  read from the monthly rollup ``kpi_month`` (``rollup.py``: one row per unit × KPI × month,
  with its grain, row count and last period), not from the daily rows.
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
from sqlalchemy import Engine, Select, func, literal, select
from sqlalchemy.exc import OperationalError

from data_loaders.access import Scope
from data_loaders.db import DatabaseUnavailable, redact
from data_loaders.rollup import ROLLUP
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


def _first_days(engine: Engine, account_id: int, raw: pd.DataFrame) -> pd.Series:
    """The first period of each unit × KPI × grain: a monthly series starts at its first
    month (stored as the 1st); a daily one at its first day, read from the observations of
    that first month only (``ix_obs_account_kpi_month``), never from all of them."""
    first = raw["first_period"].astype(object)
    daily = raw[raw["grain"] == "day"]
    if daily.empty:
        return first
    o, r = KpiObservation, ROLLUP
    first_months = (
        select(r.c.unit_id, r.c.kpi_id, func.min(r.c.month).label("month"))
        .where(r.c.account_id == account_id, r.c.grain == "day")
        .group_by(r.c.unit_id, r.c.kpi_id)
        .subquery("f")
    )
    stmt = (
        select(o.unit_id, o.kpi_id, func.min(o.period))
        .join(
            first_months,
            (o.kpi_id == first_months.c.kpi_id)
            & (o.month == first_months.c.month)
            & (o.unit_id == first_months.c.unit_id),
        )
        .where(o.account_id == account_id, o.grain == "day")
        .group_by(o.unit_id, o.kpi_id)
    )
    days = {(int(u), int(k)): p for u, k, p in _rows(engine, stmt)}
    units, kpis = daily["unit_id"].to_numpy(dtype="int64"), daily["kpi_id"].to_numpy(dtype="int64")
    for i, u, k in zip(daily.index, units, kpis, strict=True):
        if (int(u), int(k)) in days:
            first.at[i] = days[(int(u), int(k))]
    return first


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
    r = ROLLUP
    per_grain = (
        select(
            r.c.unit_id,
            r.c.kpi_id,
            r.c.grain,
            func.min(r.c.month).label("first_month"),
            func.max(r.c.last_period).label("last_period"),
            func.sum(r.c.n_obs).label("n_periods"),
        )
        .where(r.c.account_id == account_id)
        .group_by(r.c.unit_id, r.c.kpi_id, r.c.grain)
        .subquery("g")
    )
    stmt = (
        select(
            per_grain.c.unit_id,
            per_grain.c.kpi_id,
            Unit.site,
            Unit.process,
            Kpi.key,
            Kpi.label,
            per_grain.c.grain,
            per_grain.c.first_month,
            per_grain.c.last_period,
            per_grain.c.n_periods,
        )
        .join(Unit, Unit.id == per_grain.c.unit_id)
        .join(Kpi, Kpi.id == per_grain.c.kpi_id)
    )
    raw = pd.DataFrame(
        _rows(engine, stmt),
        columns=[
            "unit_id",
            "kpi_id",
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
    if not raw.empty:
        raw["first_period"] = _first_days(engine, account_id, raw)
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


def _newest_obs_batch(engine: Engine, account_id: int) -> int | None:
    """The newest batch whose observations of the account are still held: batches newest
    first, each asked whether it holds one such row (an index seek on ``ix_obs_batch``), so
    the account's observations are not scanned for a MAX."""
    o = KpiObservation
    try:
        with engine.connect() as conn:
            ids = conn.execute(select(ImportBatch.id).order_by(ImportBatch.id.desc())).scalars()
            for batch_id in ids.all():
                held = select(o.id).where(o.batch_id == batch_id, o.account_id == account_id)
                if conn.execute(held.limit(1)).first() is not None:
                    return int(batch_id)
    except OperationalError as exc:
        raise DatabaseUnavailable(
            f"The database at {redact(str(engine.url))} cannot be reached."
        ) from exc
    return None


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
            # Rows counted from the rollup; the newest batch below (``_newest_obs_batch``).
            select(
                select(func.coalesce(func.sum(ROLLUP.c.n_obs), 0))
                .where(ROLLUP.c.account_id == account_id)
                .scalar_subquery(),
                literal(None),
            ),
        ),
    ]
    counts = []
    for entity, stmt in stmts:
        n, batch = _rows(engine, stmt)[0]
        if entity == "observations" and n:
            batch = _newest_obs_batch(engine, account_id)
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
