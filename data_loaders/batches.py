"""Import history and rollback.

``list_batches(engine, account_name=None)`` is the import history, newest first.
``rollback_batch(engine, batch_id)`` undoes one applied batch in one transaction:

1. restore every row the batch updated from its ``batch_change`` record (``old_values``,
   including the ``batch_id`` of the import that wrote the row before);
2. delete the rows still carrying the batch's ``batch_id`` — exactly the rows it inserted
   (see the contract in ``importer``) — children first;
3. recompute the monthly rollup (``rollup``) of the unit × KPI × months whose observations
   steps 1-2 changed (marked before them, while those rows still carry the batch's id);
4. mark the batch ``rolled_back``.

It refuses, with a message that says what to do, when the batch is unknown or already rolled
back, when a later applied batch changed rows this batch wrote (roll that one back first),
when a later applied batch re-imported rows this batch wrote unchanged (its ``keep`` records:
rolling back would silently empty that batch; roll those back first), or when rows written
later (by a later batch, or outside any import) depend on rows this batch inserted (e.g.
observations of a unit it added).

``list_batches`` tells what each batch still holds: ``rows_now`` (rows still carrying its id:
what it inserted or last changed) and ``rows_kept`` (rows of earlier batches it re-imported
unchanged); both 0 once rolled back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    Table,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)

from data_loaders import rollup
from data_loaders.importer import TABLES, _connect, begin_write
from data_loaders.schema import IMPORT_TABLES

BATCH_COLUMNS = [
    "id",
    "source",
    "entity",
    "fmt",
    "account_name",
    "started_at",
    "finished_at",
    "status",
    "rows_read",
    "rows_inserted",
    "rows_updated",
    "rows_unchanged",
    "checksum",
    "user",
]
HOLD_COLUMNS = ["rows_now", "rows_kept"]


@dataclass(frozen=True)
class RollbackResult:
    batch_id: int
    rows_deleted: int
    rows_restored: int


def list_batches(engine: Engine, account_name: str | None = None) -> pd.DataFrame:
    """The import history, newest first (optionally only batches of one account)."""
    b = TABLES["import_batch"]
    stmt = select(*[b.c[c] for c in BATCH_COLUMNS]).order_by(b.c.id.desc())
    if account_name is not None:
        stmt = stmt.where(b.c.account_name == account_name)
    with _connect(engine) as conn:
        rows = conn.execute(stmt).all()
        now, kept = _holdings(conn)
    df = pd.DataFrame([tuple(r) for r in rows], columns=BATCH_COLUMNS)
    for c in ("started_at", "finished_at"):
        df[c] = pd.to_datetime(df[c])
    df["user"] = df["user"].astype(object).where(df["user"].notna(), "")
    applied = df["status"] == "applied"
    df["rows_now"] = df["id"].map(now).fillna(0).astype("int64").where(applied, 0)
    df["rows_kept"] = df["id"].map(kept).fillna(0).astype("int64").where(applied, 0)
    return df


def _holdings(conn: Connection) -> tuple[dict[int, int], dict[int, int]]:
    """Per batch: rows still carrying its id, and rows it re-imported unchanged that still
    carry the id of the (applied) batch that wrote them."""
    now: dict[int, int] = defaultdict(int)
    for name in IMPORT_TABLES:
        t = TABLES[name]
        stmt = (
            select(t.c.batch_id, func.count())
            .where(t.c.batch_id.is_not(None))
            .group_by(t.c.batch_id)
        )
        for batch, n in conn.execute(stmt):
            now[int(batch)] += int(n)
    bc, b = TABLES["batch_change"], TABLES["import_batch"]
    stmt = (
        select(bc.c.batch_id, bc.c.row_id, bc.c.old_values)
        .join(b, b.c.id == bc.c.row_id)
        .where(bc.c.action == "keep", b.c.status == "applied")
    )
    kept: dict[int, int] = defaultdict(int)
    for batch, _owner, old in conn.execute(stmt):
        kept[int(batch)] += int((json.loads(old) if isinstance(old, str) else old)["rows"])
    return dict(now), dict(kept)


def _convert(col_type: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(col_type, Date):
        return dt.date.fromisoformat(str(value)[:10])
    if isinstance(col_type, DateTime):
        return dt.datetime.fromisoformat(str(value))
    if isinstance(col_type, Boolean):
        return bool(value)
    if isinstance(col_type, Integer):
        return int(value)
    if isinstance(col_type, Float):
        return float(value)
    return value


def _children() -> list[tuple[Table, str, Table]]:
    """(child table, foreign-key column, parent table) among the imported tables."""
    out = []
    for name in IMPORT_TABLES:
        t = TABLES[name]
        for fk in t.foreign_keys:
            parent = fk.column.table
            if parent.name in IMPORT_TABLES and fk.parent.name != "batch_id":
                out.append((t, fk.parent.name, parent))
    return out


def _later_overwrites(conn: Connection, batch_id: int) -> list[int]:
    """Applied later batches that updated a row this batch had written."""
    bc, b = TABLES["batch_change"], TABLES["import_batch"]
    old_batch = bc.c.old_values["batch_id"].as_integer()
    stmt = (
        select(bc.c.batch_id)
        .distinct()
        .join(b, b.c.id == bc.c.batch_id)
        .where(
            bc.c.batch_id > batch_id,
            b.c.status == "applied",
            bc.c.action == "update",
            old_batch == batch_id,
        )
    )
    return sorted({int(r[0]) for r in conn.execute(stmt)}, reverse=True)


def _later_keepers(conn: Connection, batch_id: int) -> dict[int, int]:
    """Applied later batches that re-imported rows this batch wrote, unchanged: {batch: rows}."""
    bc, b = TABLES["batch_change"], TABLES["import_batch"]
    stmt = (
        select(bc.c.batch_id, bc.c.old_values)
        .join(b, b.c.id == bc.c.batch_id)
        .where(
            bc.c.action == "keep",
            bc.c.row_id == batch_id,
            bc.c.batch_id > batch_id,
            b.c.status == "applied",
        )
    )
    out: dict[int, int] = defaultdict(int)
    for later, old in conn.execute(stmt):
        out[int(later)] += int((json.loads(old) if isinstance(old, str) else old)["rows"])
    return dict(out)


def _dependants(
    conn: Connection,
    batch_id: int,
    updated: dict[str, set[int]],
) -> tuple[list[int], bool]:
    """Batches (and whether non-import rows) that reference rows this batch inserted."""
    later: set[int] = set()
    outside = False
    for child, fk, parent in _children():
        upd = updated.get(parent.name, set())
        cond = [
            parent.c.batch_id == batch_id,
            or_(child.c.batch_id.is_(None), child.c.batch_id != batch_id),
        ]
        if upd:
            cond.append(parent.c.id.not_in(sorted(upd)))
        stmt = (
            select(child.c.batch_id)
            .distinct()
            .join(parent, child.c[fk] == parent.c.id)
            .where(and_(*cond))
        )
        for (b,) in conn.execute(stmt):
            if b is None:
                outside = True
            else:
                later.add(int(b))
    return sorted(later, reverse=True), outside


def rollback_batch(engine: Engine, batch_id: int) -> RollbackResult:
    """Undo one applied import batch (see the module docstring); one transaction."""
    b, bc = TABLES["import_batch"], TABLES["batch_change"]
    with _connect(engine) as conn:
        begin_write(conn)
        try:
            row = conn.execute(
                select(b.c.status, b.c.rolled_back_at).where(b.c.id == batch_id)
            ).first()
            if row is None:
                last = conn.execute(select(func.max(b.c.id))).scalar()
                raise ValueError(
                    f"there is no import batch {batch_id}"
                    + (f" (the newest is {last})" if last else " (nothing has been imported yet)")
                )
            if row.status == "rolled_back":
                when = f" on {row.rolled_back_at:%Y-%m-%d %H:%M}" if row.rolled_back_at else ""
                raise ValueError(f"batch {batch_id} was already rolled back{when}")
            if row.status != "applied":
                raise ValueError(
                    f"batch {batch_id} has status {row.status!r}; only applied "
                    "batches can be rolled back"
                )
            later = _later_overwrites(conn, batch_id)
            if later:
                raise ValueError(
                    f"batch {batch_id} cannot be rolled back: later batch"
                    f"{'es' if len(later) > 1 else ''} {', '.join(map(str, later))} changed "
                    f"rows it wrote; roll back batch {later[0]} first"
                )
            keepers = _later_keepers(conn, batch_id)
            if keepers:
                ids = sorted(keepers, reverse=True)
                raise ValueError(
                    f"batch {batch_id} cannot be rolled back: later batch"
                    f"{'es' if len(ids) > 1 else ''} {', '.join(map(str, ids))} re-imported "
                    f"{sum(keepers.values()):,} row(s) it wrote, unchanged, and would be left "
                    f"without them; roll back batch {ids[0]} first"
                    + (f" (then {', '.join(map(str, ids[1:]))})" if len(ids) > 1 else "")
                )
            changes = conn.execute(
                select(bc.c.table_name, bc.c.row_id, bc.c.old_values).where(
                    bc.c.batch_id == batch_id, bc.c.action == "update"
                )
            ).all()
            updated: dict[str, set[int]] = defaultdict(set)
            for ch in changes:
                updated[ch.table_name].add(int(ch.row_id))
            deps, outside = _dependants(conn, batch_id, updated)
            if deps:
                raise ValueError(
                    f"batch {batch_id} cannot be rolled back: later batch"
                    f"{'es' if len(deps) > 1 else ''} {', '.join(map(str, deps))} added rows "
                    f"that depend on rows it inserted; roll back batch {deps[0]} first"
                )
            if outside:
                raise ValueError(
                    f"batch {batch_id} cannot be rolled back: rows written outside any import "
                    "depend on rows it inserted"
                )
            # The months whose observations change, while they still carry the batch's id.
            rollup.mark_batch(conn, batch_id)
            restored = _restore(conn, changes)
            deleted = 0
            for name in reversed(IMPORT_TABLES):
                t = TABLES[name]
                res = conn.execute(delete(t).where(t.c.batch_id == batch_id))
                deleted += max(res.rowcount or 0, 0)
            rollup.refresh_marked(conn)
            conn.execute(
                update(b)
                .where(b.c.id == batch_id)
                .values(status="rolled_back", rolled_back_at=dt.datetime.now())
            )
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    return RollbackResult(batch_id=batch_id, rows_deleted=deleted, rows_restored=restored)


def _restore(conn: Connection, changes: Sequence[Any]) -> int:
    """Put back the old values of updated rows, grouped by table and set of columns."""
    groups: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = defaultdict(list)
    for ch in changes:
        old = ch.old_values
        if isinstance(old, str):
            old = json.loads(old)
        table = TABLES[ch.table_name]
        cols = tuple(sorted(c for c in old if c in table.c and c != "id"))
        groups[(ch.table_name, cols)].append(
            {"_id": int(ch.row_id), **{"_v_" + c: _convert(table.c[c].type, old[c]) for c in cols}}
        )
    n = 0
    for (name, cols), records in groups.items():
        table = TABLES[name]
        stmt = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({c: bindparam("_v_" + c) for c in cols})
        )
        for start in range(0, len(records), 10_000):
            conn.execute(stmt, records[start : start + 10_000])
        n += len(records)
    return n
