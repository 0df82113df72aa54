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

A killed or refused import never commits, so the rollup stays as it was, like the
observations. ``observation_aggregate()`` is the GROUP BY itself (one home), also used by the
tests and benchmarks as the reference the rollup must equal.
"""

from __future__ import annotations

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
    stmt = select(func.count()).select_from(r)
    if account_id is not None:
        stmt = stmt.where(r.c.account_id == account_id)
    return int(conn.execute(stmt).scalar() or 0)
