"""The monthly rollup ``kpi_month``: unit × KPI × month aggregates of ``kpi_observation``.

Why: a page read used to aggregate every daily observation of the account (1,058,400 rows on
the benchmark account, 0.86 s on SQLite, most of it the scan). The rollup holds, per account
× unit × KPI × month, exactly what that GROUP BY produced::

    vw             = Σ value · coalesce(volume, 0)
    volume         = Σ coalesce(volume, 0)
    mean           = mean of value
    n_obs          = rows
    grain          = min(grain)         (daily and monthly rows never share a month: the
                                         importer refuses mixed grains)
    missing_volume = rows without a volume
    last_period    = max(period)

and ``queries.load_monthly`` reads it, so only unit × KPI × month rows leave the database.

How it is kept true: every write of observations goes through an import or a rollback, and
both recompute, in their own write transaction, the rollup rows of exactly the unit × KPI ×
months they touched — a row is recomputed from all of its month's observations (never
adjusted by a difference), so recomputing a month twice gives the same row:

* ``mark_batch(conn, batch_id)`` remembers (in a temporary table of this connection) the
  months of every observation that carries ``batch_id`` — what the batch inserted or
  updated. The importer marks after its writes; a rollback marks before its restores and
  deletes, while the rows still carry the batch's id.
* ``refresh_marked(conn)`` deletes the marked rollup rows and inserts them again from the
  GROUP BY over the observations now held (a month left without observations stays
  deleted), then forgets the marks.
* ``refresh_batch(conn, batch_id)`` = both (the importer's one call).
* ``rebuild(conn, account_id=None)`` recomputes everything (or one account): after writes
  made by hand, outside any import.

Beside it, ``kpi_month_packed`` holds each account's rollup rows as one binary column each
(``repack``, called by ``refresh_marked`` and ``rebuild`` for the accounts they touched, in the
same transaction), so ``queries.load_monthly`` reads one row per account and turns it into
arrays without a Python object per value. It is a copy, never a second source: it is
rewritten from ``kpi_month`` after every change, and a reader that finds no row of the
current ``PACK_FORMAT`` reads ``kpi_month`` itself.

A killed or refused import never commits, so the rollup stays as it was, like the
observations. ``observation_aggregate()`` is the GROUP BY itself (one home), also used by the
tests and benchmarks as the reference the rollup must equal.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sqlalchemy import (
    Column,
    Connection,
    Date,
    Integer,
    MetaData,
    Select,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    select,
    tuple_,
)

from data_loaders.schema import Base

OBS = Base.metadata.tables["kpi_observation"]
ROLLUP = Base.metadata.tables["kpi_month"]
PACKED = Base.metadata.tables["kpi_month_packed"]
#: The layout ``repack`` writes and ``queries.load_monthly`` reads (column order, dtypes,
#: NaN for NULL). A reader that finds another number reads ``kpi_month`` instead, so a later
#: layout is correct before any repack has run.
PACK_FORMAT = 1
KEY = ("account_id", "unit_id", "kpi_id", "month")
VALUES = ("vw", "volume", "mean", "n_obs", "grain", "missing_volume", "last_period")

# Per connection and session (SQLite and PostgreSQL temporary tables), created inside the
# write transaction, so a rolled-back transaction takes it (and its rows) with it.
_MARKS = Table(
    "tnn_rollup_marks",
    MetaData(),
    Column("account_id", Integer, nullable=False),
    Column("unit_id", Integer, nullable=False),
    Column("kpi_id", Integer, nullable=False),
    Column("month", Date, nullable=False),
    prefixes=["TEMPORARY"],
)


def observation_aggregate() -> Select:
    """The GROUP BY of the observations to account × unit × KPI × month (columns KEY + VALUES),
    grouped in the order of ``ix_obs_account_kpi_month`` so the database aggregates while it
    walks the index."""
    o = OBS
    vol = func.coalesce(o.c.volume, 0.0)
    return select(
        o.c.account_id,
        o.c.unit_id,
        o.c.kpi_id,
        o.c.month,
        func.sum(o.c.value * vol).label("vw"),
        func.sum(vol).label("volume"),
        func.avg(o.c.value).label("mean"),
        func.count().label("n_obs"),
        func.min(o.c.grain).label("grain"),
        func.sum(case((o.c.volume.is_(None), 1), else_=0)).label("missing_volume"),
        func.max(o.c.period).label("last_period"),
    ).group_by(o.c.account_id, o.c.kpi_id, o.c.month, o.c.unit_id)


def mark_batch(conn: Connection, batch_id: int) -> None:
    """Remember the unit × KPI × months of the observations carrying ``batch_id``."""
    _MARKS.create(conn, checkfirst=True)
    o = OBS
    keys = (
        select(o.c.account_id, o.c.unit_id, o.c.kpi_id, o.c.month)
        .where(o.c.batch_id == batch_id)
        .distinct()
    )
    conn.execute(insert(_MARKS).from_select(list(KEY), keys))


def refresh_marked(conn: Connection) -> int:
    """Recompute the marked rollup rows from the observations now held; returns how many
    unit × KPI × months were recomputed. No marks → nothing to do."""
    if not conn.dialect.has_table(conn, _MARKS.name):
        return 0
    # Distinct: a month marked twice (or left from an earlier failed attempt on this
    # connection) is recomputed once, never counted twice.
    m = select(*_MARKS.c).distinct().subquery("m")
    n = int(conn.execute(select(func.count()).select_from(m)).scalar() or 0)
    if n:
        r = ROLLUP
        marked = select(*(_MARKS.c[c] for c in KEY))
        conn.execute(delete(r).where(tuple_(*(r.c[c] for c in KEY)).in_(marked)))
        o = OBS
        agg = observation_aggregate().select_from(m).join(o, and_(*(o.c[c] == m.c[c] for c in KEY)))
        conn.execute(insert(r).from_select([*KEY, *VALUES], agg))
        accounts = conn.execute(select(m.c.account_id).distinct()).scalars().all()
        repack(conn, accounts)
    _MARKS.drop(conn)
    return n


def refresh_batch(conn: Connection, batch_id: int) -> int:
    """The importer's call, after its writes and before its commit."""
    mark_batch(conn, batch_id)
    return refresh_marked(conn)


def rebuild(conn: Connection, account_id: int | None = None) -> int:
    """Recompute the whole rollup (or one account's) from the observations; rows held."""
    r, o = ROLLUP, OBS
    agg = observation_aggregate()
    if account_id is None:
        conn.execute(delete(r))
    else:
        conn.execute(delete(r).where(r.c.account_id == account_id))
        agg = agg.where(o.c.account_id == account_id)
    conn.execute(insert(r).from_select([*KEY, *VALUES], agg))
    repack(conn, None if account_id is None else [account_id])
    stmt = select(func.count()).select_from(r)
    if account_id is not None:
        stmt = stmt.where(r.c.account_id == account_id)
    return int(conn.execute(stmt).scalar() or 0)


def _nan(values: Iterable[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype="<f8")


def repack(conn: Connection, account_ids: Iterable[int] | None = None) -> int:
    """Rewrite ``kpi_month_packed`` from ``kpi_month`` for these accounts (None: every
    account, and no row left for an account without rollup rows); returns the rows packed.
    Rows in key order (unit, KPI, month); months as days since 1970-01-01; NULLs as NaN;
    grains as codes into the comma-separated names."""
    r, p = ROLLUP, PACKED
    if account_ids is None:
        conn.execute(delete(p))
        ids = list(conn.execute(select(r.c.account_id).distinct()).scalars())
    else:
        ids = sorted({int(a) for a in account_ids})
        if not ids:
            return 0
        conn.execute(delete(p).where(p.c.account_id.in_(ids)))
    total = 0
    for account_id in ids:
        rows = conn.execute(
            select(
                r.c.unit_id,
                r.c.kpi_id,
                r.c.month,
                r.c.vw,
                r.c.volume,
                r.c.mean,
                r.c.n_obs,
                r.c.missing_volume,
                r.c.grain,
            )
            .where(r.c.account_id == account_id)
            .order_by(r.c.unit_id, r.c.kpi_id, r.c.month)
        ).all()
        if not rows:
            continue
        cols = list(zip(*rows, strict=True))
        grain_names = sorted(set(cols[8]))
        code = {g: i for i, g in enumerate(grain_names)}
        ints = "<i8"
        conn.execute(
            insert(p).values(
                account_id=account_id,
                fmt=PACK_FORMAT,
                n_rows=len(rows),
                unit_id=np.asarray(cols[0], dtype=ints).tobytes(),
                kpi_id=np.asarray(cols[1], dtype=ints).tobytes(),
                month=np.asarray(cols[2], dtype="datetime64[D]").view(ints).tobytes(),
                vw=_nan(cols[3]).tobytes(),
                volume=_nan(cols[4]).tobytes(),
                mean=_nan(cols[5]).tobytes(),
                n_obs=np.asarray(cols[6], dtype=ints).tobytes(),
                missing_volume=np.asarray(cols[7], dtype=ints).tobytes(),
                grain=np.asarray([code[g] for g in cols[8]], dtype=ints).tobytes(),
                grains=",".join(grain_names),
            )
        )
        total += len(rows)
    return total
