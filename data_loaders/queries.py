"""Read side: every function takes the caller's Scope and returns plain DataFrames/dataclasses.

Heavy aggregation is pushed down to SQL: daily observations leave the database only as
unit × KPI × month aggregates (``load_monthly``, read from the monthly rollup that imports and
rollbacks keep, ``data_loaders.rollup``). Dates come back as pandas Timestamps.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Engine, Row, String, and_, case, func, select, true, type_coerce
from sqlalchemy.exc import OperationalError

from data_loaders import rollup
from data_loaders.access import AccessDenied, Scope
from data_loaders.db import DatabaseUnavailable, redact
from data_loaders.schema import (
    Account,
    Event,
    ImportBatch,
    Innovation,
    InnovationTarget,
    Kpi,
    KpiMonth,
    PlantedEffect,
    Rollout,
    Unit,
)


@dataclass(frozen=True)
class AccountInfo:
    id: int
    name: str
    currency: str
    locale: str
    contract_start: dt.date
    contract_end: dt.date
    baseline_start: dt.date
    baseline_end: dt.date
    gain_share_pct: float
    savings_goal_per_year: float
    productivity_pct_per_year: float
    innovation_days_per_year: float
    provider_name: str = ""
    client_name: str = ""
    provider_logo: str = ""
    client_logo: str = ""


@dataclass(frozen=True)
class AccountData:
    """Everything the metrics need for one account, already scoped and aggregated to months.

    Frames and columns:
      units: unit_id, site, process, region, baseline_start, baseline_end (a unit's own
        window, else empty), name
      kpis: kpi_id, key, label, unit_of_measure, direction, kind, money_value, headline
      monthly: unit_id, kpi_key, month, value, volume, n_obs, grain
      innovations: innovation_id, code, title, description, category, scale, origin, stage,
        idea_date … closed_date, owner, estimated_annual_value, innovation_days,
        gain_share_eligible, evidence_status
      targets: innovation_id, kpi_key, expected_effect_pct
      rollouts: innovation_id, unit_id, go_live
      events: date, title, kind, description
    """

    account: AccountInfo
    units: pd.DataFrame
    kpis: pd.DataFrame
    monthly: pd.DataFrame
    innovations: pd.DataFrame
    targets: pd.DataFrame
    rollouts: pd.DataFrame
    events: pd.DataFrame


def _frame(engine: Engine, stmt, columns: Sequence[str]) -> pd.DataFrame:
    try:
        with engine.connect() as conn:
            rows = conn.execute(stmt).all()
    except OperationalError as exc:
        raise _unavailable(engine, exc) from exc
    return pd.DataFrame([tuple(r) for r in rows], columns=list(columns))


def _dates(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    return df.assign(**{c: _datetimes(df[c]) for c in cols})


def _datetimes(col: pd.Series) -> np.ndarray | pd.Series:
    """A column of dates as datetime64[ns] (missing → NaT). Calendar dates, the usual case,
    are converted by numpy in one step (a tenth of ``pd.to_datetime``'s cost on a few dozen
    rows, read ten times a page); anything else (times, text) goes through pandas."""
    values = col.to_numpy(dtype=object)
    if all(type(v) is dt.date or v is None for v in values):
        return np.array(values, dtype="datetime64[D]").astype("datetime64[ns]")
    return pd.to_datetime(col).astype("datetime64[ns]")


def _scoped(scope: Scope, account_id: int) -> None:
    scope.check(account_id)


def _in_scope(scope: Scope, column):
    """The scope as a SQL condition on an account-id column: the check above refuses an
    account outside the scope with a message, and this keeps the SQL itself from ever
    returning another account's rows (a second lock, not the only one)."""
    if scope.account_ids is None:
        return true()
    return column.in_(sorted(scope.account_ids))


def list_accounts(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Accounts in scope with their data freshness: last observed period, last import."""
    stmt = select(
        Account.id,
        Account.name,
        Account.currency,
        Account.contract_end,
        select(func.max(KpiMonth.last_period))
        .where(KpiMonth.account_id == Account.id)
        .scalar_subquery(),
        select(func.count(Innovation.id))
        .where(Innovation.account_id == Account.id)
        .scalar_subquery(),
        select(func.count(Unit.id)).where(Unit.account_id == Account.id).scalar_subquery(),
        select(func.max(ImportBatch.finished_at))
        .where(ImportBatch.account_name == Account.name, ImportBatch.status == "applied")
        .scalar_subquery(),
    ).order_by(Account.name)
    stmt = stmt.where(_in_scope(scope, Account.id))
    df = _frame(
        engine,
        stmt,
        [
            "account_id",
            "name",
            "currency",
            "renewal_date",
            "last_period",
            "innovations",
            "units",
            "last_import",
        ],
    )
    return _dates(df, "renewal_date", "last_period", "last_import")


def account_id_by_name(engine: Engine, scope: Scope, name: str) -> int:
    """The id of the account called ``name`` (case-insensitive) among the accounts in scope.

    Otherwise LookupError (AccessDenied for a limited scope, whether or not the account
    exists elsewhere), naming only the accounts in scope: whether an account outside it
    exists is itself not for the caller to learn.
    """
    df = _frame(
        engine,
        select(Account.id, Account.name).where(_in_scope(scope, Account.id)).order_by(Account.name),
        ["id", "name"],
    )
    hit = df[df["name"].str.casefold() == name.strip().casefold()]
    if hit.empty:
        known = ", ".join(df["name"]) or "none"
        if scope.account_ids is None:
            raise LookupError(f"No account named {name!r}. Known accounts: {known}.")
        raise AccessDenied(f"No account named {name!r} in your scope. Your accounts: {known}.")
    return int(hit["id"].iloc[0])


def account_info(engine: Engine, scope: Scope, account_id: int) -> AccountInfo:
    _scoped(scope, account_id)
    cols = [
        Account.id,
        Account.name,
        Account.currency,
        Account.locale,
        Account.contract_start,
        Account.contract_end,
        Account.baseline_start,
        Account.baseline_end,
        Account.gain_share_pct,
        Account.savings_goal_per_year,
        Account.productivity_pct_per_year,
        Account.innovation_days_per_year,
        Account.provider_name,
        Account.client_name,
        Account.provider_logo,
        Account.client_logo,
    ]
    stmt = select(*cols).where(Account.id == account_id, _in_scope(scope, Account.id))
    try:
        with engine.connect() as conn:
            r = conn.execute(stmt).first()  # one row: read as it is, no frame
    except OperationalError as exc:
        raise _unavailable(engine, exc) from exc
    if r is None:
        raise LookupError(f"No account with id {account_id}.")
    return AccountInfo(
        id=int(r.id),
        name=str(r.name),
        currency=str(r.currency),
        locale=str(r.locale),
        contract_start=r.contract_start,
        contract_end=r.contract_end,
        baseline_start=r.baseline_start,
        baseline_end=r.baseline_end,
        gain_share_pct=float(r.gain_share_pct),
        savings_goal_per_year=float(r.savings_goal_per_year),
        productivity_pct_per_year=float(r.productivity_pct_per_year),
        innovation_days_per_year=float(r.innovation_days_per_year),
        **{
            k: _text(getattr(r, k))
            for k in ("provider_name", "client_name", "provider_logo", "client_logo")
        },
    )


def _text(v: object) -> str:
    return "" if v is None or (isinstance(v, float) and v != v) else str(v).strip()


def load_units(engine: Engine, scope: Scope, account_id: int) -> pd.DataFrame:
    _scoped(scope, account_id)
    stmt = (
        select(
            Unit.id, Unit.site, Unit.process, Unit.region, Unit.baseline_start, Unit.baseline_end
        )
        .where(Unit.account_id == account_id, _in_scope(scope, Unit.account_id))
        .order_by(Unit.site, Unit.process)
    )
    df = _frame(
        engine,
        stmt,
        ["unit_id", "site", "process", "region", "baseline_start", "baseline_end"],
    )
    df["name"] = df["site"] + " · " + df["process"]
    return df


def load_kpis(engine: Engine, scope: Scope, account_id: int) -> pd.DataFrame:
    _scoped(scope, account_id)
    stmt = (
        select(
            Kpi.id,
            Kpi.key,
            Kpi.label,
            Kpi.unit_of_measure,
            Kpi.direction,
            Kpi.kind,
            Kpi.money_value,
            Kpi.headline,
        )
        .where(Kpi.account_id == account_id, _in_scope(scope, Kpi.account_id))
        .order_by(Kpi.id)
    )
    df = _frame(
        engine,
        stmt,
        [
            "kpi_id",
            "key",
            "label",
            "unit_of_measure",
            "direction",
            "kind",
            "money_value",
            "headline",
        ],
    )
    df["headline"] = df["headline"].astype(bool)
    df["money_value"] = df["money_value"].astype(float)
    return df


def load_monthly(
    engine: Engine,
    scope: Scope,
    account_id: int,
    *,
    unit_ids: Sequence[int] | None = None,
    kpi_keys: Sequence[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pd.DataFrame:
    """Observations aggregated to unit × KPI × month, read from the monthly rollup
    (``data_loaders.rollup``: what the GROUP BY over the observations gives, kept by every
    import and rollback in its own transaction), so a read never scans the daily rows.

    For ``rate`` KPIs: value = Σ value·volume / Σ volume (volume-weighted; the plain mean when a
    month has no volume). For ``level`` KPIs: value = mean of the period values (e.g. average
    FTE over the days of the month). volume = Σ volume. n_obs = rows aggregated.
    """
    _scoped(scope, account_id)
    names = (
        select(Kpi.id, Kpi.key, Kpi.kind)
        .where(Kpi.account_id == account_id, _in_scope(scope, Kpi.account_id))
        .order_by(Kpi.key)
    )
    p = rollup.PACKED
    packed_stmt = select(*p.c).where(
        p.c.account_id == account_id,
        p.c.fmt == rollup.PACK_FORMAT,
        _in_scope(scope, p.c.account_id),
    )
    try:
        with engine.connect() as conn:
            packed = conn.execute(packed_stmt).first()
            kpis = conn.execute(names).all()
    except OperationalError as exc:
        raise _unavailable(engine, exc) from exc
    keys = [(int(i), str(k)) for i, k, _ in kpis]
    if packed is None:
        cols = _monthly_rows(engine, scope, account_id)
    else:
        cols = _monthly_packed(packed, {int(i): str(kind) for i, _, kind in kpis})
    unit, kpi, month, value, volume, n_obs, grain_codes, grains = cols
    keep = np.ones(len(unit), dtype=bool)
    if unit_ids is not None:
        keep &= np.isin(unit, np.asarray([int(u) for u in unit_ids], dtype="int64"))
    if kpi_keys is not None:
        wanted = set(kpi_keys)
        keep &= np.isin(kpi, np.asarray([i for i, k in keys if k in wanted], dtype="int64"))
    if start is not None:
        keep &= month >= np.datetime64(start, "D").astype("datetime64[ns]")
    if end is not None:
        keep &= month <= np.datetime64(end, "D").astype("datetime64[ns]")
    if not keep.all():
        unit, kpi, month, value, volume, n_obs, grain_codes = (
            a[keep] for a in (unit, kpi, month, value, volume, n_obs, grain_codes)
        )
    rank = {k: i for i, (k, _) in enumerate(keys)}
    key_of = dict(keys)
    kpi_codes, kpi_ids = pd.factorize(kpi)
    # Rows ordered by unit, KPI key (the database's collation, as the key list is) and month,
    # as before the rollup — sorted here, not in SQL: PostgreSQL then reads the table in one
    # pass instead of walking the primary key to a heap page per row (benchmarks/README.md,
    # 329k rows), and SQLite walks its table in key order anyway.
    order = np.lexsort(
        (
            month.view("int64"),
            np.array([rank[int(k)] for k in kpi_ids], dtype="int64")[kpi_codes],
            unit,
        )
    )
    return pd.DataFrame(
        {
            "unit_id": unit[order],
            "kpi_key": pd.array([key_of[int(k)] for k in kpi_ids], dtype="str").take(
                kpi_codes[order]
            ),
            "month": pd.DatetimeIndex(month[order]),
            "value": value[order],
            "volume": volume[order],
            "n_obs": n_obs[order],
            "grain": pd.array([str(g) for g in grains], dtype="str").take(grain_codes[order]),
        }
    )


#: (unit, kpi id, month as datetime64[ns], value, volume, n_obs, grain codes, grain names)
_MonthlyColumns = tuple[
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]
]


def _monthly_packed(packed: Row, kinds: dict[int, str]) -> _MonthlyColumns:
    """The account's rollup rows from its packed copy (``rollup.repack``), with the value
    rule of ``load_monthly`` applied to the arrays: the same IEEE division the SQL does."""

    def ints(b: bytes) -> np.ndarray:
        return np.frombuffer(b, dtype="<i8").astype("int64", copy=False)

    def floats(b: bytes) -> np.ndarray:
        return np.frombuffer(b, dtype="<f8").astype("float64", copy=False)

    unit, kpi, n_obs = ints(packed.unit_id), ints(packed.kpi_id), ints(packed.n_obs)
    vw, volume, mean = floats(packed.vw), floats(packed.volume), floats(packed.mean)
    rate_ids = np.asarray([i for i, kind in kinds.items() if kind == "rate"], dtype="int64")
    weighted = np.isin(kpi, rate_ids) & (volume > 0) & (ints(packed.missing_volume) == 0)
    value = mean.copy()
    np.divide(vw, volume, out=value, where=weighted)
    month = ints(packed.month).astype("datetime64[D]").astype("datetime64[ns]")
    grains = packed.grains.split(",") if packed.grains else []
    return unit, kpi, month, value, volume, n_obs, ints(packed.grain), grains


def _monthly_rows(engine: Engine, scope: Scope, account_id: int) -> _MonthlyColumns:
    """The account's rollup rows read from ``kpi_month`` itself (no packed copy of the
    current format yet): the value computed in SQL."""
    r = KpiMonth
    # The value is computed in SQL (the same IEEE division pandas would do) and the KPI
    # travels as its id (rows sorted in load_monthly): the fetch, not the query, is most of
    # this path (35k rows on the benchmark account).
    weighted = and_(Kpi.kind == "rate", r.volume > 0, r.missing_volume == 0)
    stmt = (
        select(
            r.unit_id,
            r.kpi_id,
            # Raw text on SQLite, a date on PostgreSQL; parsed once per distinct month below.
            type_coerce(r.month, String),
            case((weighted, r.vw / r.volume), else_=r.mean),
            r.volume,
            r.n_obs,
            r.grain,
        )
        .join(Kpi, Kpi.id == r.kpi_id)
        .where(r.account_id == account_id, _in_scope(scope, r.account_id))
    )
    with _gc_paused():
        (rows,) = _rows(engine, stmt)
        cols = list(zip(*rows, strict=True)) if rows else [()] * 7
        del rows
        unit, kpi, value, volume, n_obs = (
            np.asarray(cols[i], dtype=t)
            for i, t in ((0, "int64"), (1, "int64"), (3, "float64"), (4, "float64"), (5, "int64"))
        )
        month_codes, months = pd.factorize(pd.Series(cols[2], dtype=object))
        grain_codes, grains = pd.factorize(pd.Series(cols[6], dtype=object))
        # the row objects freed before collection resumes, so it has none of them to walk
        del cols
    month_of = pd.DatetimeIndex(pd.to_datetime(pd.Index(months))).astype("datetime64[ns]")
    month = np.asarray(month_of, dtype="datetime64[ns]")[month_codes]
    return unit, kpi, month, value, volume, n_obs, grain_codes, [str(g) for g in grains]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a bulk fetch creates its ~250k row objects (none of
    them in cycles): each collection the allocations would trigger walks the whole heap, which
    cost a third of a 35k-row read in the measurements (benchmarks/README.md)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _rows(engine: Engine, bulk, *small):
    """The rows of ``bulk`` as the driver's plain tuples, then those of each ``small``
    statement, on one connection. ``bulk`` must need no result processing (no Date or
    Boolean columns): skipping SQLAlchemy's Row objects halves the cost of a 35k-row fetch."""
    try:
        with engine.connect() as conn:
            res = conn.execute(bulk)
            rows = res.cursor.fetchall()
            res.close()
            return [rows, *(conn.execute(stmt).all() for stmt in small)]
    except OperationalError as exc:
        raise _unavailable(engine, exc) from exc


def _unavailable(engine: Engine, exc: OperationalError) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"The database at {redact(str(engine.url))} cannot be reached: "
        f"{str(exc.orig).strip().splitlines()[0] if exc.orig else exc}"
    )


_DATE_COLS = [
    "idea_date",
    "evaluation_date",
    "prototype_date",
    "pilot_date",
    "scaled_date",
    "closed_date",
]


def load_innovations(engine: Engine, scope: Scope, account_id: int) -> pd.DataFrame:
    _scoped(scope, account_id)
    i = Innovation
    cols = [
        i.id,
        i.code,
        i.title,
        i.description,
        i.category,
        i.scale,
        i.origin,
        i.stage,
        i.idea_date,
        i.evaluation_date,
        i.prototype_date,
        i.pilot_date,
        i.scaled_date,
        i.closed_date,
        i.owner,
        i.estimated_annual_value,
        i.innovation_days,
        i.gain_share_eligible,
        i.evidence_status,
    ]
    df = _frame(
        engine,
        select(*cols)
        .where(i.account_id == account_id, _in_scope(scope, i.account_id))
        .order_by(i.code),
        ["innovation_id"] + [c.key for c in cols[1:]],
    )
    df["gain_share_eligible"] = df["gain_share_eligible"].astype(bool)
    return _dates(df, *_DATE_COLS)


def load_targets(engine: Engine, scope: Scope, account_id: int) -> pd.DataFrame:
    _scoped(scope, account_id)
    stmt = (
        select(InnovationTarget.innovation_id, Kpi.key, InnovationTarget.expected_effect_pct)
        .join(Kpi, Kpi.id == InnovationTarget.kpi_id)
        .where(Kpi.account_id == account_id, _in_scope(scope, Kpi.account_id))
        .order_by(InnovationTarget.innovation_id, Kpi.key)
    )
    return _frame(engine, stmt, ["innovation_id", "kpi_key", "expected_effect_pct"])


def load_rollouts(engine: Engine, scope: Scope, account_id: int) -> pd.DataFrame:
    _scoped(scope, account_id)
    stmt = (
        select(Rollout.innovation_id, Rollout.unit_id, Rollout.go_live)
        .join(Unit, Unit.id == Rollout.unit_id)
        .where(Unit.account_id == account_id, _in_scope(scope, Unit.account_id))
        .order_by(Rollout.go_live, Rollout.innovation_id, Rollout.unit_id)
    )
    return _dates(_frame(engine, stmt, ["innovation_id", "unit_id", "go_live"]), "go_live")


def load_events(engine: Engine, scope: Scope, account_id: int) -> pd.DataFrame:
    _scoped(scope, account_id)
    stmt = (
        select(Event.date, Event.title, Event.kind, Event.description)
        .where(Event.account_id == account_id, _in_scope(scope, Event.account_id))
        .order_by(Event.date)
    )
    return _dates(_frame(engine, stmt, ["date", "title", "kind", "description"]), "date")


def load_planted(engine: Engine, scope: Scope, account_id: int) -> pd.DataFrame:
    """The demo generator's true effects (empty for real accounts)."""
    _scoped(scope, account_id)
    stmt = (
        select(PlantedEffect.innovation_id, Innovation.code, Kpi.key, PlantedEffect.effect_pct)
        .join(Innovation, Innovation.id == PlantedEffect.innovation_id)
        .join(Kpi, Kpi.id == PlantedEffect.kpi_id)
        .where(Innovation.account_id == account_id, _in_scope(scope, Innovation.account_id))
        .order_by(Innovation.code)
    )
    return _frame(engine, stmt, ["innovation_id", "code", "kpi_key", "effect_pct"])


def load_account_data(
    engine: Engine,
    scope: Scope,
    account_id: int,
    *,
    unit_ids: Sequence[int] | None = None,
) -> AccountData:
    """The bundle the metrics take; ``unit_ids`` limits the observations pulled from SQL."""
    return AccountData(
        account=account_info(engine, scope, account_id),
        units=load_units(engine, scope, account_id),
        kpis=load_kpis(engine, scope, account_id),
        monthly=load_monthly(engine, scope, account_id, unit_ids=unit_ids),
        innovations=load_innovations(engine, scope, account_id),
        targets=load_targets(engine, scope, account_id),
        rollouts=load_rollouts(engine, scope, account_id),
        events=load_events(engine, scope, account_id),
    )


def load_stored_estimates(
    engine: Engine, scope: Scope, account_id: int, version: str
) -> pd.DataFrame | None:
    """The stored causal estimates of an account in scope (``estimate_store.load_estimates``),
    for the pages: the store itself is keyed by account id only."""
    from data_loaders.estimate_store import load_estimates

    _scoped(scope, account_id)
    return load_estimates(engine, account_id, version)
