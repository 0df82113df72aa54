"""Importing files and frames: validate everything, then upsert it as one batch.

Public API::

    import_files(engine, files, *, dry_run=False, user=None, progress=None) -> ImportResult
    import_frames(engine, frames, *, source, dry_run=False, user=None, progress=None)
    Problem, ImportResult, EntityCounts, ImportRejected

``files`` are paths, or ``(name, bytes | binary stream)`` pairs (the Data page's uploads).
Each file is CSV or XLSX (told apart by content); the entity comes from the file or sheet
name, else from the header (``parsing``). ``frames`` maps entity names of ``formats.py`` to
DataFrames whose values may be strings or already typed (dates, floats, booleans).

How an import runs
------------------
1. Read every file into raw tables (no database yet). A CSV file (UTF-8 or a single-byte
   encoding) and each sheet of a workbook are streamed instead of held as cells: the first
   chunk gives the header and entity, and a first pass over its chunks (``validation.scan``, ``parsing.READ_CHUNK_ROWS`` rows at a time) decides
   what needs the whole column — each number column's decimal evidence, each date column's
   day/month order — and the accounts it names. Other files (UTF-16, UTF-8 with stray
   bytes, rows the fast parser cannot split) are read whole, as before.
2. Open ONE transaction (SQLite: ``BEGIN IMMEDIATE``, so no other writer slips in between
   the checks and the writes; PostgreSQL: a transaction-scoped advisory lock serialises
   imports). Load the natural keys the database already holds for the accounts the import
   names, and run every check of ``validation`` against database + import combined. A
   streamed table is converted chunk by chunk into a compact typed frame (text as
   categories), so the checks across rows (duplicates, mixed grains, baselines) see every
   row while only one chunk of strings is in memory.
3. Any problem → roll back, write nothing (no batch row either) and return
   ``ImportResult(ok=False, problems=…)``. Problems are returned, not raised;
   ``ImportResult.raise_for_problems()`` raises ``ImportRejected`` for callers who prefer that.
4. Otherwise insert the ``import_batch`` row and upsert entity by entity in dependency order
   (``formats.SPECS``: accounts, units, KPIs, innovations, targets, planted effects, rollouts,
   events, observations), so a rollout may name an innovation from another file of the same
   import, in slices of ``WRITE_CHUNK`` rows (each slice's existing rows are loaded by its
   own units and period range), all inside the one transaction: a refused or killed import
   leaves the database unchanged. Then commit — or, for ``dry_run``, roll back after
   computing the counts.

Upsert and what a batch records (the rollback contract with ``batches.py``)
---------------------------------------------------------------------------
Rows are matched on the natural key of ``EntitySpec.key`` (resolved to database ids). The
existing rows of the accounts an import touches are loaded once into a DataFrame (for
observations only the import's period range) and compared in pandas, column by column,
only on the columns the file actually has (a column left out of a file is left alone in the
database; an empty cell in a present column clears it, or sets the column's default).

* new key → INSERT, the row's ``batch_id`` = this batch. No ``batch_change`` row is written
  per insert (a million ``batch_change`` rows would double the cost of a big load): the rows a
  batch inserted are exactly those still carrying its ``batch_id`` once its updates have been
  undone.
* existing key, some value differs → UPDATE (``batch_id`` set to this batch) and one
  ``batch_change`` row (action ``update``, ``old_values`` = the previous values of the
  compared columns plus the previous ``batch_id``, JSON with ISO dates).
* identical → nothing is written, not even ``batch_id``; the row counts as unchanged. Per
  owning batch, one ``batch_change`` row (action ``keep``, ``row_id`` = the batch that wrote
  those rows, ``old_values`` = {"rows": n}) records that this batch holds them too, so that
  batch's rollback refuses rather than delete rows a later applied batch also holds.

So re-importing a file changes no data row and writes no ``batch_change``; it still records a
batch (``rows_unchanged`` = rows read). Rolling back restores the ``update`` changes, then
deletes the rows still carrying the batch's id, children first.

Bulk paths: inserts go through the DB-API directly (SQLite ``executemany`` in chunks of
10,000; PostgreSQL ``COPY … FROM STDIN`` via psycopg 3), updates through SQLAlchemy Core
``executemany``. ``innovations.target_kpi`` + ``expected_effect_pct`` create or update the
innovation's ``innovation_target`` row (counted under ``innovation_targets``); a change of
``target_kpi`` adds a target, it does not delete the old one. Observations get
``month`` = first day of the period's month and ``grain`` from the column or inferred (a month
period such as ``2024-03`` → ``month``, a day → ``day``).

``import_batch`` row: ``source`` (file names, or the frames' source), ``entity`` (the entities,
comma-separated, shortened with ``+N`` to fit the column), ``fmt`` (csv / xlsx / csv+xlsx /
frames / sql), ``account_name`` (when the import names one account), row counts,
``checksum`` (sha256 over the raw bytes of all files in the order given; for frames over
a canonical dump: entity and column names plus pandas' per-row hashes, which is stable and
fast where a CSV dump of a million rows would take seconds), ``user``, start/finish times and
``status`` ``applied`` (``rolled_back`` once undone).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    Engine,
    Float,
    String,
    Table,
    bindparam,
    cast,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import OperationalError

from data_loaders import parsing, rollup, validation
from data_loaders.db import DatabaseUnavailable, redact
from data_loaders.formats import SPECS
from data_loaders.parsing import ParseIssue, RawTable
from data_loaders.schema import (
    Base,
)
from data_loaders.validation import Known, Problem, ProblemSink, Typed, validate

__all__ = [
    "EntityCounts",
    "ImportRejected",
    "ImportResult",
    "Problem",
    "import_files",
    "import_frames",
]

Progress = Callable[[float, str], None]
CHUNK = 10_000
PG_IMPORT_LOCK = 72_403_117  # pg_advisory_xact_lock key: one import at a time


@dataclass(frozen=True)
class EntityCounts:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: EntityCounts) -> EntityCounts:
        return EntityCounts(
            self.read + other.read,
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )


class ImportRejected(Exception):
    """An import that did not pass validation; ``problems`` says why, row by row."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        n = len(self.problems)
        head = "; ".join(str(p) for p in self.problems[:3])
        super().__init__(
            f"import rejected ({n} problem{'s' if n != 1 else ''}): {head}"
            + (" …" if n > 3 else "")
        )


@dataclass(frozen=True)
class ImportResult:
    ok: bool
    dry_run: bool
    batch_id: int | None
    problems: tuple[Problem, ...]
    counts: Mapping[str, EntityCounts] = field(default_factory=dict)
    # Worth knowing, not stopping the import: ignored columns, a title row, an empty file.
    warnings: tuple[Problem, ...] = ()

    @property
    def total(self) -> EntityCounts:
        out = EntityCounts()
        for c in self.counts.values():
            out = out + c
        return out

    def summary(self) -> str:
        """One paragraph for people: what was (or would be) written, or why nothing was."""
        if not self.ok:
            n = len(self.problems)
            return f"Rejected: {n} problem{'s' if n != 1 else ''} found; nothing was written."
        lines = []
        for entity, c in self.counts.items():
            lines.append(
                f"{entity}: {c.read:,} read, {c.inserted:,} new, {c.updated:,} updated, "
                f"{c.unchanged:,} unchanged"
            )
        head = (
            "Dry run: nothing was written; it would give"
            if self.dry_run
            else f"Imported as batch {self.batch_id}"
        )
        out = head + ("\n  " + "\n  ".join(lines) if lines else " (no rows)")
        if self.warnings:
            out += "\nWarnings:\n  " + "\n  ".join(str(w) for w in self.warnings)
        return out

    def raise_for_problems(self) -> ImportResult:
        if not self.ok:
            raise ImportRejected(self.problems)
        return self


# ---------------------------------------------------------------------------------------------
# Entry points


def import_files(
    engine: Engine,
    files: Sequence[tuple[str, BinaryIO | bytes] | str | Path],
    *,
    dry_run: bool = False,
    user: str | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Validate and import CSV/XLSX files as one batch (see the module docstring)."""
    report = progress or (lambda _f, _m: None)
    read = read_files(files, report)
    return _run(
        engine,
        read.tables,
        read.issues,
        source=", ".join(read.labels),
        fmt=read.fmt,
        checksum=read.checksum,
        dry_run=dry_run,
        user=user,
        progress=report,
    )


@dataclass
class ReadFiles:
    """Files read into raw tables (entity detected), before any check against a database."""

    tables: list[RawTable]
    issues: list[ParseIssue]
    labels: list[str]
    fmt: str
    checksum: str


def read_files(
    files: Sequence[tuple[str, BinaryIO | bytes] | str | Path],
    progress: Progress | None = None,
) -> ReadFiles:
    """Read paths or (name, bytes/stream) pairs; detect each table's entity.

    A CSV file or a workbook's sheet is streamed: it is not held as cells, but read chunk by
    chunk (``parsing.READ_CHUNK_ROWS`` rows) by a first pass here (``validation.scan``: column
    decisions, accounts, rows), again when it is checked and converted. A path is not even
    held as bytes (its checksum is computed block by block)."""
    report = progress or (lambda _f, _m: None)
    sources: list[tuple[str, Path | bytes | None]] = []
    issues: list[ParseIssue] = []
    labels: list[str] = []
    for item in files:
        if isinstance(item, tuple):
            name, source = item
            data = source if isinstance(source, bytes | bytearray) else source.read()
            sources.append((str(name), bytes(data)))
            labels.append(Path(str(name)).name or str(name))
        else:
            path = Path(item)
            labels.append(path.name)
            try:
                with path.open("rb"):
                    pass
                sources.append((str(path), path))
            except OSError as exc:
                sources.append((str(path), None))
                issues.append(
                    ParseIssue(
                        path.name, None, None, f"cannot read the file: {exc.strerror or exc}"
                    )
                )
    if len(set(labels)) != len(labels):
        labels = [n for n, _ in sources]
    tables: list[RawTable] = []
    digest = hashlib.sha256()
    fmts: set[str] = set()
    for i, ((_name, src), label) in enumerate(zip(sources, labels, strict=True)):
        report(0.15 * i / max(1, len(sources)), f"reading {label}")
        if src is None:
            continue
        found, more = _read_one(label, src, digest)
        issues.extend(more)
        for t in found:
            fmts.add(t.fmt)
            if t.entity is None:
                t.entity = parsing.detect_entity(t, label)
            if t.entity is None:
                issues.append(parsing.entity_problem(t.label))
                continue
            if t.chunks is not None:

                def read_so_far(f: float, rows: int, i: int = i, label: str = label) -> None:
                    report(0.15 * (i + f) / len(sources), f"reading {label} ({rows:,} rows)")

                scanned, more = _scan(t, label, src, read_so_far)
                issues.extend(more)
                if scanned is None:
                    continue
                t = scanned
            tables.append(t)
    return ReadFiles(tables, issues, labels, "+".join(sorted(fmts)) or "csv", digest.hexdigest())


def _read_one(
    label: str, source: Path | bytes, digest: Any
) -> tuple[list[RawTable], list[ParseIssue]]:
    if isinstance(source, bytes):
        digest.update(source)
        return parsing.read_any(label, source, stream=True)
    try:
        with source.open("rb") as fh:
            head = fh.read(8)
            fh.seek(0)
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        return [], [ParseIssue(label, None, None, f"cannot read the file: {exc.strerror or exc}")]
    if head[:4] == b"PK\x03\x04":
        return parsing.read_xlsx(label, lambda: source.open("rb"), stream=True)
    if not label.lower().endswith((".xlsx", ".xlsm")):
        table = parsing.read_csv_chunked(label, lambda: source.open("rb"))
        if table is not None:
            return [table], []
    return parsing.read_any(label, source.read_bytes())


def _scan(
    t: RawTable,
    label: str,
    source: Path | bytes,
    progress: Callable[[float, int], None] | None = None,
) -> tuple[RawTable | None, list[ParseIssue]]:
    """The streamed table's first pass; rows the fast parser cannot split (too many values)
    send the file to the whole-file reader, which names them."""
    t.frame = t.frame.iloc[:0]  # the header is all that is needed of the first chunk now
    try:
        validation.scan(t, progress)
        return t, []
    except pd.errors.ParserError:
        data = source if isinstance(source, bytes) else source.read_bytes()
        found, more = parsing.read_any(label, data)
        if not found:
            return None, more
        found[0].entity = t.entity
        return found[0], more


def import_frames(
    engine: Engine,
    frames: Mapping[str, pd.DataFrame],
    *,
    source: str,
    dry_run: bool = False,
    user: str | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Validate and import DataFrames keyed by entity name (the demo generator's path)."""
    return _import_frames(
        engine, frames, source=source, fmt="frames", dry_run=dry_run, user=user, progress=progress
    )


def _import_frames(
    engine: Engine,
    frames: Mapping[str, pd.DataFrame],
    *,
    source: str,
    fmt: str,
    dry_run: bool,
    user: str | None,
    progress: Progress | None,
    labels: Mapping[str, str] | None = None,
    extra_issues: Sequence[ParseIssue] = (),
) -> ImportResult:
    report = progress or (lambda _f, _m: None)
    tables: list[RawTable] = []
    issues: list[ParseIssue] = list(extra_issues)
    for name, df in frames.items():
        label = (labels or {}).get(name, name)
        entity = parsing.entity_from_name(name)
        if entity is None:
            issues.append(
                ParseIssue(
                    label,
                    None,
                    None,
                    f"unknown entity {name!r}: use one of {', '.join(s.entity for s in SPECS)}",
                )
            )
            continue
        tables.append(parsing.frame_to_table(label, df, entity, fmt))
    return _run(
        engine,
        tables,
        issues,
        source=source,
        fmt=fmt,
        checksum=frames_checksum(frames),
        dry_run=dry_run,
        user=user,
        progress=report,
    )


def frames_checksum(frames: Mapping[str, pd.DataFrame]) -> str:
    """sha256 over entity names, column names and pandas' per-row hashes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(frames):
        df = frames[name]
        digest.update(f"{name}\n{','.join(map(str, df.columns))}\n".encode())
        if len(df):
            try:
                hashed = pd.util.hash_pandas_object(df, index=False)
                digest.update(hashed.to_numpy(dtype="<u8").tobytes())
            except (TypeError, ValueError):  # unhashable cells: fall back to a CSV dump
                digest.update(df.to_csv(index=False).encode())
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# The run


def _account_names(tables: Sequence[RawTable]) -> set[str]:
    names: set[str] = set()
    for t in tables:
        if t.scan is not None:
            names |= t.scan.accounts
            continue
        col = "name" if t.entity == "accounts" else "account"
        if col in t.frame.columns:
            for v in pd.unique(t.frame[col]):
                if isinstance(v, str) and v.strip():
                    names.add(v.strip())
                elif v is not None and not (isinstance(v, float) and math.isnan(v)):
                    names.add(str(v).strip())
    return names


def _connect(engine: Engine) -> Connection:
    try:
        return engine.connect()
    except OperationalError as exc:
        raise DatabaseUnavailable(
            f"The database at {redact(str(engine.url))} cannot be reached: "
            f"{str(exc.orig).strip().splitlines()[0] if exc.orig else exc}"
        ) from exc


#: Seconds a write waits for another import or rollback before giving up, on both databases
#: (SQLite: ``busy_timeout`` in ``db.make_engine``; PostgreSQL: the loop in ``begin_write``).
WRITE_WAIT_SECONDS = 10


def _pg_lock_holder(conn: Connection) -> str:
    """Who holds the import lock on PostgreSQL, in words (pid and since when)."""
    row = conn.execute(
        text(
            "SELECT a.pid, a.xact_start, a.application_name FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = :k "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"k": PG_IMPORT_LOCK},
    ).first()
    if row is None:
        return "another import or rollback"
    since = f", running since {row.xact_start:%H:%M:%S}" if row.xact_start else ""
    return f"another import or rollback (PostgreSQL process {row.pid}{since})"


def begin_write(conn: Connection, waiting: Callable[[str], object] | None = None) -> None:
    """Start the one write transaction: SQLite takes the write lock now (BEGIN IMMEDIATE);
    PostgreSQL takes a transaction-scoped advisory lock so imports/rollbacks run one by one.

    Blocked by another import or rollback, it waits up to ``WRITE_WAIT_SECONDS`` on both
    databases, then raises ``DatabaseUnavailable`` ("busy … try again"). On PostgreSQL it
    says through ``waiting`` that it waits and for whom, once, when it starts waiting."""
    try:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            deadline = time.monotonic() + WRITE_WAIT_SECONDS
            told = False
            while not conn.execute(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PG_IMPORT_LOCK}
            ).scalar():
                if not told and waiting is not None:
                    waiting(
                        f"waiting for {_pg_lock_holder(conn)} to finish "
                        f"(gives up after {WRITE_WAIT_SECONDS} s)"
                    )
                told = True
                if time.monotonic() >= deadline:
                    conn.rollback()
                    conn.close()
                    raise DatabaseUnavailable(
                        "The database is busy with another import or rollback (waited "
                        f"{WRITE_WAIT_SECONDS} s); try again in a moment."
                    )
                time.sleep(0.2)
    except OperationalError as exc:
        conn.close()
        if "locked" in str(exc.orig) or "busy" in str(exc.orig):
            raise DatabaseUnavailable(
                "The database is busy with another import or rollback (waited "
                f"{WRITE_WAIT_SECONDS} s); try again in a moment."
            ) from exc
        raise


def _run(
    engine: Engine,
    tables: list[RawTable],
    issues: Sequence[ParseIssue],
    *,
    source: str,
    fmt: str,
    checksum: str,
    dry_run: bool,
    user: str | None,
    progress: Progress,
) -> ImportResult:
    sink = ProblemSink()
    for i in issues:
        (sink.warn if i.warning else sink.add)(i.label, i.row, i.column, i.message)
    names = _account_names(tables)
    started = dt.datetime.now()
    progress(0.15, "checking")
    with _connect(engine) as conn:
        begin_write(conn, lambda message: progress(0.15, message))
        try:
            known = _load_known(conn, names)
            to_check = sum(t.scan.rows if t.scan is not None else len(t.frame) for t in tables)
            checked = 0

            def converted(n: int) -> None:
                nonlocal checked
                checked += n
                progress(0.15 + 0.15 * min(1.0, checked / max(1, to_check)), "checking")

            typed = validate(tables, known, sink, converted)
            if sink:
                conn.rollback()
                return ImportResult(False, dry_run, None, sink.problems(), {}, sink.warnings())
            progress(0.3, "writing")
            batch_id = _insert_batch(
                conn,
                source=source,
                fmt=fmt,
                checksum=checksum,
                user=user,
                started=started,
                typed=typed,
                dry_run=dry_run,
            )
            counts = _write(conn, typed, batch_id, progress)
            obs = counts.get("observations")
            if obs is not None and obs.inserted + obs.updated:
                progress(0.98, "updating the monthly rollup")
                rollup.refresh_batch(conn, batch_id)
            total = EntityCounts()
            for c in counts.values():
                total = total + c
            batches = TABLES["import_batch"]
            conn.execute(
                update(batches)
                .where(batches.c.id == batch_id)
                .values(
                    finished_at=dt.datetime.now(),
                    rows_read=total.read,
                    rows_inserted=total.inserted,
                    rows_updated=total.updated,
                    rows_unchanged=total.unchanged,
                )
            )
            if dry_run:
                conn.rollback()
            else:
                conn.commit()
        except BaseException:
            conn.rollback()
            raise
    progress(1.0, "done")
    return ImportResult(True, dry_run, None if dry_run else batch_id, (), counts, sink.warnings())


def _fit(value: str, length: int) -> str:
    return value if len(value) <= length else value[: length - 1] + "…"


def _insert_batch(
    conn: Connection,
    *,
    source: str,
    fmt: str,
    checksum: str,
    user: str | None,
    started: dt.datetime,
    typed: dict[str, list[Typed]],
    dry_run: bool = False,
) -> int:
    entities = [s.entity for s in SPECS if typed.get(s.entity)]
    entity = ",".join(entities)
    limit = getattr(TABLES["import_batch"].c.entity.type, "length", None) or 40
    k = len(entities)
    while len(entity) > limit and k > 0:
        k -= 1
        entity = ",".join(entities[:k]) + f"+{len(entities) - k}"
    accounts: set[str] = set()
    for e, ts in typed.items():
        col = "name" if e == "accounts" else "account"
        for t in ts:
            if col in t.frame.columns:
                accounts |= set(t.frame[col].dropna().unique())
    batches = TABLES["import_batch"]
    # A dry run is rolled back, but a PostgreSQL sequence value is never given back: it takes
    # the next id by hand instead (safe, the import lock is held), so it uses none up.
    explicit = (
        {"id": (conn.execute(select(func.max(batches.c.id))).scalar() or 0) + 1} if dry_run else {}
    )
    result = conn.execute(
        insert(batches).values(
            **explicit,
            source=_fit(source, 500),
            entity=entity,
            fmt=_fit(fmt, 20),
            account_name=_fit(next(iter(accounts)), 200) if len(accounts) == 1 else None,
            started_at=started,
            status="applied",
            rows_read=0,
            rows_inserted=0,
            rows_updated=0,
            rows_unchanged=0,
            checksum=checksum,
            user=_fit(user, 200) if user else None,
        )
    )
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


# ---------------------------------------------------------------------------------------------
# What the database knows


def _load_known(conn: Connection, names: set[str]) -> Known:
    known = Known()
    if not names:
        return known
    a, u, k, i = (TABLES["account"], TABLES["unit"], TABLES["kpi"], TABLES["innovation"])
    ids: dict[str, int] = {}
    for ra in conn.execute(
        select(a.c.id, a.c.name, a.c.baseline_start, a.c.baseline_end).where(
            a.c.name.in_(sorted(names))
        )
    ):
        ids[ra.name] = ra.id
        known.accounts[ra.name] = (ra.baseline_start, ra.baseline_end)
    if not ids:
        return known
    by_id = {v: n for n, v in ids.items()}
    for ru in conn.execute(
        select(u.c.account_id, u.c.site, u.c.process, u.c.baseline_start, u.c.baseline_end).where(
            u.c.account_id.in_(list(by_id))
        )
    ):
        known.units.add((by_id[ru.account_id], ru.site, ru.process))
        if ru.baseline_start is not None and ru.baseline_end is not None:
            known.unit_windows[(by_id[ru.account_id], ru.site, ru.process)] = (
                ru.baseline_start,
                ru.baseline_end,
            )
    for rk in conn.execute(
        select(k.c.account_id, k.c.key, k.c.kind).where(k.c.account_id.in_(list(by_id)))
    ):
        known.kpis[(by_id[rk.account_id], rk.key)] = rk.kind
    for ri in conn.execute(select(i.c.account_id, i.c.code).where(i.c.account_id.in_(list(by_id)))):
        known.innovations.add((by_id[ri.account_id], ri.code))

    def observed(
        name: str,
        start: dt.date,
        end: dt.date,
    ) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
        aid = ids.get(name)
        if aid is None:
            return set(), set()
        any_sql = text(
            "SELECT u.site, u.process FROM unit u WHERE u.account_id = :a AND EXISTS "
            "(SELECT 1 FROM kpi_observation o WHERE o.unit_id = u.id)"
        )
        in_sql = text(
            "SELECT u.site, u.process FROM unit u WHERE u.account_id = :a AND EXISTS "
            "(SELECT 1 FROM kpi_observation o WHERE o.unit_id = u.id AND o.period <= :e "
            "AND (o.period >= :s OR (o.grain = 'month' AND o.period >= :sm)))"
        ).bindparams(
            bindparam("e", type_=Date()),
            bindparam("s", type_=Date()),
            bindparam("sm", type_=Date()),
        )
        all_units = {(r[0], r[1]) for r in conn.execute(any_sql, {"a": aid})}
        inside = {
            (r[0], r[1])
            for r in conn.execute(
                in_sql, {"a": aid, "e": end, "s": start, "sm": start.replace(day=1)}
            )
        }
        return all_units, inside

    def grains(name: str, first: dt.date, last: dt.date) -> pd.DataFrame:
        aid = ids.get(name)
        cols = ["site", "process", "kpi", "month", "grain"]
        if aid is None:
            return pd.DataFrame(columns=cols)
        o = TABLES["kpi_observation"]
        stmt = (
            select(u.c.site, u.c.process, k.c.key, o.c.month, o.c.grain)
            .join(u, u.c.id == o.c.unit_id)
            .join(k, k.c.id == o.c.kpi_id)
            .where(o.c.account_id == aid, o.c.month.between(first, last))
            .distinct()
        )
        return pd.DataFrame([tuple(r) for r in conn.execute(stmt)], columns=cols)

    known.observed = observed
    known.grains = grains
    return known


# ---------------------------------------------------------------------------------------------
# Writing


TABLES: dict[str, Table] = {name: t for name, t in Base.metadata.tables.items()}


class _Ids:
    """Natural key → id maps of the accounts being imported, reloaded after each entity."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.accounts = pd.DataFrame(columns=["account", "account_id"])

    def load_accounts(self, names: set[str]) -> None:
        a = TABLES["account"]
        rows = self.conn.execute(select(a.c.name, a.c.id).where(a.c.name.in_(sorted(names))))
        self.accounts = pd.DataFrame([tuple(r) for r in rows], columns=["account", "account_id"])

    @property
    def account_ids(self) -> list[int]:
        return [int(x) for x in self.accounts["account_id"]]

    def frame(self, table: str, cols: list[str], id_name: str) -> pd.DataFrame:
        t = TABLES[table]
        ids = self.account_ids
        rows: list[Any] = (
            list(
                self.conn.execute(
                    select(t.c.account_id, *[t.c[c] for c in cols], t.c.id).where(
                        t.c.account_id.in_(ids)
                    )
                )
            )
            if ids
            else []
        )
        df = pd.DataFrame([tuple(r) for r in rows], columns=["account_id", *cols, id_name])
        df = df.merge(self.accounts, on="account_id", how="left")
        return df.drop(columns=["account_id"])


def _concat_groups(tables: list[Typed]) -> list[tuple[tuple[str, ...], pd.DataFrame]]:
    groups: dict[tuple[str, ...], list[pd.DataFrame]] = {}
    for t in tables:
        groups.setdefault(t.present, []).append(t.frame)
    return [
        (p, pd.concat(fs, ignore_index=True) if len(fs) > 1 else fs[0]) for p, fs in groups.items()
    ]


def _attach(df: pd.DataFrame, ref: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    return df.merge(ref, on=on, how="left")


def _write(
    conn: Connection, typed: dict[str, list[Typed]], batch_id: int, progress: Progress
) -> dict[str, EntityCounts]:
    counts: dict[str, EntityCounts] = {}
    ids = _Ids(conn)
    names: set[str] = set()
    for e, ts in typed.items():
        col = "name" if e == "accounts" else "account"
        for t in ts:
            if col in t.frame.columns:
                names |= set(t.frame[col].dropna().unique())
    ids.load_accounts(names)
    total_rows = sum(len(t.frame) for ts in typed.values() for t in ts) or 1
    done = 0

    def step(n: int, message: str) -> None:
        nonlocal done
        done += n
        progress(0.3 + 0.68 * min(1.0, done / total_rows), message)

    for spec in SPECS:
        tables = typed.get(spec.entity) or []
        if not tables:
            continue
        for present, frame in _concat_groups(tables):
            builder = BUILDERS[spec.entity]
            kept: dict[str, Counter[int]] = {}
            # Slices of WRITE_CHUNK rows: the merges and driver rows of one slice at a time.
            # Keys are unique across the file (duplicates are refused), so slices are
            # independent; all of them are in the one transaction.
            for start in range(0, max(1, len(frame)), WRITE_CHUNK):
                part = _plain(frame.iloc[start : start + WRITE_CHUNK])
                for table_name, db, key, data, scope in builder(part, present, ids):
                    c = _upsert(
                        conn,
                        TABLES[table_name],
                        db,
                        key,
                        data,
                        batch_id,
                        scope,
                        _stepper(step, spec.entity),
                        kept.setdefault(table_name, Counter()),
                    )
                    entity = (
                        "innovation_targets" if table_name == "innovation_target" else spec.entity
                    )
                    counts[entity] = counts.get(entity, EntityCounts()) + c
            for table_name, owners in kept.items():
                _record_kept(conn, TABLES[table_name], owners, batch_id)
        if spec.entity == "accounts":
            ids.load_accounts(names)
    return counts


WRITE_CHUNK = 20_000


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A slice of a typed frame with its category columns (streamed text) as plain values,
    missing as None, like a frame converted whole."""
    out = frame.reset_index(drop=True)
    for c in out.columns:
        s = out[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = np.array([*s.cat.categories.tolist(), None], dtype=object)
            out[c] = pd.Series(cats[s.cat.codes.to_numpy()], dtype=object)
    return out


Scope = Callable[[Table], Any]


def _stepper(step: Callable[[int, str], None], entity: str) -> Callable[[int], None]:
    return lambda n: step(n, f"writing {entity}")


def _defaults(table: Table, df: pd.DataFrame, data: list[str]) -> pd.DataFrame:
    """Empty cells of non-nullable columns take the column's default ("" / 0 / false)."""
    for c in data:
        col = table.c[c]
        if col.nullable or col.default is None or not getattr(col.default, "is_scalar", False):
            continue
        default = getattr(col.default, "arg", None)
        if df[c].isna().any():
            df[c] = df[c].astype(object).where(df[c].notna(), default)
            if isinstance(col.type, Float):
                df[c] = df[c].astype(float)
    return df


def _data_cols(table: Table, present: tuple[str, ...], exclude: set[str]) -> list[str]:
    return [c for c in present if c not in exclude and c in table.c]


def _build_accounts(f: pd.DataFrame, present: tuple[str, ...], ids: _Ids):
    t = TABLES["account"]
    data = _data_cols(t, present, {"name"})
    db = _defaults(t, f[["name", *data]].copy(), data)
    yield "account", db, ["name"], data, lambda tb: tb.c.name.in_(sorted(set(db["name"])))


def _account_scope(db: pd.DataFrame) -> Scope:
    ids = sorted({int(x) for x in db["account_id"]})
    return lambda tb: tb.c.account_id.in_(ids)


def _innovation_scope(db: pd.DataFrame) -> Scope:
    ids = sorted({int(x) for x in db["innovation_id"]})
    return lambda tb: tb.c.innovation_id.in_(ids)


def _with_account_id(f: pd.DataFrame, ids: _Ids) -> pd.DataFrame:
    return _attach(f, ids.accounts, ["account"])


def _build_simple(table_name: str, natural: list[str]):
    def build(f: pd.DataFrame, present: tuple[str, ...], ids: _Ids):
        t = TABLES[table_name]
        data = _data_cols(t, present, {"account", *natural})
        db = _with_account_id(f[["account", *natural, *data]], ids)
        db = _defaults(t, db.drop(columns=["account"]), data)
        yield table_name, db, ["account_id", *natural], data, _account_scope(db)

    return build


def _build_innovations(f: pd.DataFrame, present: tuple[str, ...], ids: _Ids):
    t = TABLES["innovation"]
    data = _data_cols(t, present, {"account", "code"})
    db = _with_account_id(f[["account", "code", *data]], ids)
    db = _defaults(t, db.drop(columns=["account"]), data)
    yield "innovation", db, ["account_id", "code"], data, _account_scope(db)
    if "target_kpi" in present and "expected_effect_pct" in present:
        tf = f.loc[
            f["target_kpi"].notna() & f["expected_effect_pct"].notna(),
            ["account", "code", "target_kpi", "expected_effect_pct"],
        ]
        if len(tf):
            tf = tf.rename(columns={"code": "innovation", "target_kpi": "kpi"})
            yield from _targets(tf, ids, "innovation_target", "expected_effect_pct")


def _targets(f: pd.DataFrame, ids: _Ids, table_name: str, value_col: str):
    inn = ids.frame("innovation", ["code"], "innovation_id").rename(columns={"code": "innovation"})
    kpi = ids.frame("kpi", ["key"], "kpi_id").rename(columns={"key": "kpi"})
    db = _attach(
        _attach(f[["account", "innovation", "kpi", value_col]], inn, ["account", "innovation"]),
        kpi,
        ["account", "kpi"],
    )
    db = db[["innovation_id", "kpi_id", value_col]].astype(
        {"innovation_id": "int64", "kpi_id": "int64"}
    )
    yield table_name, db, ["innovation_id", "kpi_id"], [value_col], _innovation_scope(db)


def _build_targets(f: pd.DataFrame, present: tuple[str, ...], ids: _Ids):
    yield from _targets(f, ids, "innovation_target", "expected_effect_pct")


def _build_planted(f: pd.DataFrame, present: tuple[str, ...], ids: _Ids):
    yield from _targets(f, ids, "planted_effect", "effect_pct")


def _build_rollouts(f: pd.DataFrame, present: tuple[str, ...], ids: _Ids):
    inn = ids.frame("innovation", ["code"], "innovation_id").rename(columns={"code": "innovation"})
    units = ids.frame("unit", ["site", "process"], "unit_id")
    db = _attach(
        _attach(
            f[["account", "innovation", "site", "process", "go_live"]],
            inn,
            ["account", "innovation"],
        ),
        units,
        ["account", "site", "process"],
    )
    db = db[["innovation_id", "unit_id", "go_live"]].astype(
        {"innovation_id": "int64", "unit_id": "int64"}
    )
    yield "rollout", db, ["innovation_id", "unit_id"], ["go_live"], _innovation_scope(db)


def _build_observations(f: pd.DataFrame, present: tuple[str, ...], ids: _Ids):
    units = ids.frame("unit", ["site", "process"], "unit_id")
    kpis = ids.frame("kpi", ["key"], "kpi_id").rename(columns={"key": "kpi"})
    cols = ["account", "site", "process", "kpi", "period", "value"]
    if "volume" in present:
        cols.append("volume")
    base = f[cols].copy()
    grain_given = f["grain"] if "grain" in present else pd.Series([None] * len(f))
    inferred = np.where(f["_period_is_month"].to_numpy(dtype=bool), "month", "day")
    base["grain"] = np.where(
        grain_given.isna().to_numpy(dtype=bool), inferred, grain_given.to_numpy(dtype=object)
    )
    db = _attach(base, units, ["account", "site", "process"])
    db = _attach(db, kpis, ["account", "kpi"])
    db = _with_account_id(db, ids)
    period = db["period"]
    db["month"] = (
        period.to_numpy(dtype="datetime64[ns]").astype("datetime64[M]").astype("datetime64[ns]")
    )
    data = ["month", "grain", "value"] + (["volume"] if "volume" in present else [])
    out = db[["account_id", "unit_id", "kpi_id", "period", *data]].astype(
        {"account_id": "int64", "unit_id": "int64", "kpi_id": "int64"}
    )
    lo, hi = period.min(), period.max()
    aids = sorted({int(x) for x in out["account_id"]})
    uids = sorted({int(x) for x in pd.unique(out["unit_id"])})

    def scope(tb: Table) -> Any:
        return (
            tb.c.account_id.in_(aids)
            & tb.c.unit_id.in_(uids)
            & tb.c.period.between(lo.date(), hi.date())
        )

    # account_id is a data column too, but it follows from unit_id: compare on the rest.
    yield "kpi_observation", out, ["unit_id", "kpi_id", "period"], ["account_id", *data], scope


BUILDERS = {
    "accounts": _build_accounts,
    "units": _build_simple("unit", ["site", "process"]),
    "kpis": _build_simple("kpi", ["key"]),
    "innovations": _build_innovations,
    "innovation_targets": _build_targets,
    "planted_effects": _build_planted,
    "rollouts": _build_rollouts,
    "events": _build_simple("event", ["date", "title"]),
    "observations": _build_observations,
}


# ---------------------------------------------------------------------------------------------
# Upsert


def _load_existing(
    conn: Connection,
    table: Table,
    cols: list[str],
    scope: Scope,
) -> pd.DataFrame:
    sel = []
    for c in cols:
        col = table.c[c]
        sel.append(cast(col, String).label(c) if isinstance(col.type, Date) else col)
    stmt = select(table.c.id, *sel, table.c.batch_id).where(scope(table))
    result = conn.execute(stmt)
    # Raw DB-API tuples: no Row objects for a million rows (dates come as ISO text).
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    df = pd.DataFrame.from_records(rows, columns=["id", *cols, "batch_id"])
    for c in cols:
        typ = table.c[c].type
        if isinstance(typ, Date):
            df[c] = _to_dates(df[c])
        elif isinstance(typ, Float):
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
        elif isinstance(typ, Boolean):
            df[c] = df[c].map(lambda v: None if v is None else bool(v)).astype(object)
    return df


def _to_dates(s: pd.Series) -> pd.Series:
    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    parsed = pd.to_datetime(
        pd.Series(uniques, dtype=object).map(lambda v: str(v)[:10] if v is not None else None),
        format="%Y-%m-%d",
        errors="coerce",
    )
    arr = np.append(parsed.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
    return pd.Series(arr[codes], index=s.index)


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    both_missing = a.isna().to_numpy(dtype=bool) & b.isna().to_numpy(dtype=bool)
    if pd.api.types.is_float_dtype(a.dtype) or pd.api.types.is_integer_dtype(a.dtype):
        eq = a.to_numpy(dtype=float) == pd.to_numeric(b, errors="coerce").to_numpy(dtype=float)
    elif pd.api.types.is_datetime64_any_dtype(a.dtype):
        eq = a.to_numpy(dtype="datetime64[ns]") == b.to_numpy(dtype="datetime64[ns]")
    else:
        eq = np.asarray(a.to_numpy(dtype=object) == b.to_numpy(dtype=object), dtype=bool)
    return eq | both_missing


def _upsert(
    conn: Connection,
    table: Table,
    new: pd.DataFrame,
    key: list[str],
    data: list[str],
    batch_id: int,
    scope: Scope,
    step: Callable[[int], None],
    kept: Counter[int],
) -> EntityCounts:
    """Insert new keys, update changed rows; the owners of unchanged rows are counted into
    ``kept`` (recorded once per table by the caller, ``_record_kept``)."""
    if not len(new):
        return EntityCounts()
    new = new.reset_index(drop=True)
    existing = _load_existing(conn, table, key + data, scope)
    if len(existing):
        merged = new.merge(existing, on=key, how="left", suffixes=("", "__old"))
        found = merged["id"].notna().to_numpy(dtype=bool)
    else:
        merged = new
        found = np.zeros(len(new), dtype=bool)
    same = np.ones(len(new), dtype=bool)
    for c in data:
        if found.any():
            old = c + "__old" if c + "__old" in merged.columns else c
            same &= _same(merged[c], merged[old]) | ~found
    changed = found & ~same
    inserts = new[~found].assign(batch_id=batch_id)
    for col in table.columns:  # the raw insert path has no ORM defaults: add them
        if (
            col.name not in inserts.columns
            and col.default is not None
            and getattr(col.default, "is_scalar", False)
        ):
            inserts[col.name] = getattr(col.default, "arg", None)
    _bulk_insert(conn, table, inserts, step)
    n_upd = int(changed.sum())
    if n_upd:
        upd = merged[changed]
        _apply_updates(conn, table, upd, data, batch_id)
        step(n_upd)
    step(int((found & same).sum()))
    if (found & same).any():
        owners = pd.to_numeric(merged.loc[found & same, "batch_id"], errors="coerce").dropna()
        for owner, n in owners.astype("int64").value_counts().items():
            kept[int(owner)] += int(n)  # type: ignore[call-overload]  # value_counts labels are int64 here, typed Hashable
    return EntityCounts(
        read=len(new), inserted=len(inserts), updated=n_upd, unchanged=int((found & same).sum())
    )


def _record_kept(conn: Connection, table: Table, owners: Counter[int], batch_id: int) -> None:
    """Unchanged rows another batch wrote: one ``batch_change`` row (action ``keep``,
    ``row_id`` = that batch, ``old_values`` = {"rows": how many}) per owning batch, so a
    rollback of the owner knows this batch also holds them (``batches.rollback_batch``)."""
    rows = [
        {
            "batch_id": batch_id,
            "table_name": table.name,
            "row_id": int(owner),
            "action": "keep",
            "old_values": {"rows": int(n)},
        }
        for owner, n in sorted(owners.items())
        if int(owner) != batch_id
    ]
    if rows:
        conn.execute(insert(TABLES["batch_change"]), rows)


def _python_column(s: pd.Series, for_driver: bool) -> list[Any]:
    """A column as Python values for the DB-API: dates as ISO text (driver) or date objects."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        vals: list[Any] = (
            [u.strftime("%Y-%m-%d") for u in uniques] if for_driver else [u.date() for u in uniques]
        )
        arr = np.array(vals + [None], dtype=object)
        return arr[codes].tolist()
    if pd.api.types.is_float_dtype(s.dtype):
        arr = s.to_numpy(dtype=object)
        arr[s.isna().to_numpy(dtype=bool)] = None
        return arr.tolist()
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.astype("int64").tolist()
    out = s.astype(object).where(s.notna(), None).tolist()
    return [None if (isinstance(v, float) and math.isnan(v)) else v for v in out]


def _bulk_insert(
    conn: Connection, table: Table, frame: pd.DataFrame, step: Callable[[int], None]
) -> None:
    """INSERT many rows fast: PostgreSQL COPY, SQLite executemany in chunks."""
    if not len(frame):
        return
    cols = list(frame.columns)
    columns = [_python_column(frame[c], for_driver=True) for c in cols]
    rows = list(zip(*columns, strict=True))
    prep = conn.dialect.identifier_preparer
    names = ", ".join(prep.quote(c) for c in cols)
    tname = prep.quote(table.name)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            for start in range(0, len(rows), CHUNK * 5):
                with cur.copy(f"COPY {tname} ({names}) FROM STDIN") as cp:
                    for r in rows[start : start + CHUNK * 5]:
                        cp.write_row(r)
                step(min(CHUNK * 5, len(rows) - start))
        return
    sql = f"INSERT INTO {tname} ({names}) VALUES ({', '.join('?' for _ in cols)})"
    if conn.dialect.paramstyle != "qmark":  # pragma: no cover - other dialects
        sql = f"INSERT INTO {tname} ({names}) VALUES ({', '.join('%s' for _ in cols)})"
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        conn.exec_driver_sql(sql, chunk)
        step(len(chunk))


def _json_value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.date().isoformat()
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()[:10]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _apply_updates(
    conn: Connection, table: Table, upd: pd.DataFrame, data: list[str], batch_id: int
) -> None:
    ids = upd["id"].astype("int64").tolist()
    params: dict[str, list[Any]] = {c: _python_column(upd[c], for_driver=False) for c in data}
    olds: dict[str, list[Any]] = {}
    for c in data:
        old = upd[c + "__old"] if c + "__old" in upd.columns else upd[c]
        olds[c] = [_json_value(v) for v in _python_column(old, for_driver=False)]
    old_batch = upd["batch_id"].tolist()
    stmt = (
        update(table)
        .where(table.c.id == bindparam("_id"))
        .values({c: bindparam("_v_" + c) for c in data} | {"batch_id": batch_id})
    )
    records = [{"_id": i, **{"_v_" + c: params[c][n] for c in data}} for n, i in enumerate(ids)]
    for start in range(0, len(records), CHUNK):
        conn.execute(stmt, records[start : start + CHUNK])
    changes = pd.DataFrame(
        {
            "batch_id": batch_id,
            "table_name": table.name,
            "row_id": ids,
            "action": "update",
            "old_values": [
                json.dumps(
                    {
                        **{c: olds[c][n] for c in data},
                        "batch_id": (
                            None
                            if old_batch[n] is None
                            or (isinstance(old_batch[n], float) and math.isnan(old_batch[n]))
                            else int(old_batch[n])
                        ),
                    }
                )
                for n in range(len(ids))
            ],
        }
    )
    _bulk_insert(conn, TABLES["batch_change"], changes, lambda _n: None)
