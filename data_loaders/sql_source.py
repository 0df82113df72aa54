"""Import the same entities from another database (any SQLAlchemy URL).

``import_sql(engine, source_url, mapping, *, dry_run=False, user=None)`` reads each entity
with a table name or a SELECT statement, renames result columns if asked, and sends the
frames through exactly the same checks and writer as files (``fmt = "sql"``). Problems name
``sql:<entity>`` and the result row (counted from 1).

A mapping file (TOML or JSON) for ``thenandnow import-sql --source URL --mapping FILE``::

    # mapping.toml — every key under [entities] is an entity name of formats.py
    source = "postgresql+psycopg://reader@warehouse/ops"   # optional; --source wins

    [entities]
    accounts = "crm.accounts_export"          # a table (or view) whose columns match

    [entities.units]
    table = "ops.sites"
    columns = { client = "account", site_name = "site", process_name = "process" }

    [entities.observations]
    query = '''
      SELECT client AS account, site, process, kpi_key AS kpi, day AS period,
             value, transactions AS volume
      FROM ops.kpi_daily WHERE day >= DATE '2023-01-01'
    '''

The query text is the user's own configuration and runs as written (``sqlalchemy.text``);
this module never formats values into SQL. Table names are quoted as identifiers
(``schema.table`` is split on the dot).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, MetaData, Table, create_engine, select, text
from sqlalchemy.exc import SQLAlchemyError

from data_loaders.db import DatabaseUnavailable, redact
from data_loaders.importer import ImportResult, Progress, _import_frames
from data_loaders.parsing import ParseIssue, entity_from_name


@dataclass(frozen=True)
class SqlMapping:
    """Where one entity comes from: a table name or a SELECT, plus optional renames
    (source column → format column)."""

    query: str
    columns: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_select(self) -> bool:
        head = self.query.lstrip().split(None, 1)[0].lower() if self.query.strip() else ""
        return head in ("select", "with", "(", "values")


def load_mapping(path: str | Path) -> tuple[dict[str, SqlMapping], str | None]:
    """Read a TOML or JSON mapping file → (entity → SqlMapping, the optional source URL)."""
    p = Path(path)
    raw = p.read_bytes()
    try:
        doc = json.loads(raw) if p.suffix.lower() == ".json" else tomllib.loads(raw.decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the mapping file {p.name}: {exc}") from exc
    entities = doc.get("entities", {k: v for k, v in doc.items() if k != "source"})
    if not isinstance(entities, dict) or not entities:
        raise ValueError(
            f"the mapping file {p.name} names no entities: add an [entities] "
            'table, e.g. observations = "ops.kpi_daily"'
        )
    out: dict[str, SqlMapping] = {}
    for name, spec in entities.items():
        out[name] = _as_mapping(name, spec)
    source = doc.get("source")
    return out, str(source) if source else None


def _as_mapping(name: str, spec: object) -> SqlMapping:
    if isinstance(spec, SqlMapping):
        return spec
    if isinstance(spec, str):
        return SqlMapping(spec)
    if isinstance(spec, Mapping):
        query = spec.get("query") or spec.get("table")
        if not query or not isinstance(query, str):
            raise ValueError(f'mapping for {name}: give a table = "…" or a query = "SELECT …"')
        cols = spec.get("columns") or {}
        if not isinstance(cols, Mapping):
            raise ValueError(f"mapping for {name}: columns must map source → format names")
        return SqlMapping(query, {str(k): str(v) for k, v in cols.items()})
    raise ValueError(f"mapping for {name}: expected a table name, a query or a table of options")


def _table_stmt(src: Engine, name: str):
    schema, _, table = name.rpartition(".")
    t = Table(table, MetaData(), schema=schema or None, autoload_with=src)
    return select(t)


def read_source(
    source_url: str,
    mapping: Mapping[str, str | SqlMapping],
) -> tuple[dict[str, pd.DataFrame], list[ParseIssue]]:
    """Run each entity's table/query on the source database → frames and problems."""
    try:
        src = create_engine(source_url)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise ValueError(f"invalid source URL {redact(source_url)}: {exc}") from exc
    frames: dict[str, pd.DataFrame] = {}
    issues: list[ParseIssue] = []
    try:
        try:
            conn = src.connect()
        except SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None)
            raise DatabaseUnavailable(
                f"The source database at {redact(source_url)} cannot be reached: "
                f"{str(orig or exc).strip().splitlines()[0]}"
            ) from exc
        with conn:
            for name, spec in mapping.items():
                m = _as_mapping(name, spec)
                label = f"sql:{name}"
                if entity_from_name(name) is None:
                    issues.append(
                        ParseIssue(label, None, None, f"unknown entity {name!r} in the mapping")
                    )
                    continue
                try:
                    stmt = text(m.query) if m.is_select else _table_stmt(src, m.query)
                    result = conn.execute(stmt)
                    df = pd.DataFrame([tuple(r) for r in result.all()], columns=list(result.keys()))
                except SQLAlchemyError as exc:
                    conn.rollback()
                    orig = getattr(exc, "orig", None)
                    first = str(orig or exc).strip().splitlines()[0]
                    issues.append(
                        ParseIssue(label, None, None, f"the query for {name} failed: {first}")
                    )
                    continue
                if m.columns:
                    df = df.rename(columns=dict(m.columns))
                frames[name] = df
    finally:
        src.dispose()
    return frames, issues


def import_sql(
    engine: Engine,
    source_url: str,
    mapping: Mapping[str, str | SqlMapping],
    *,
    dry_run: bool = False,
    user: str | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import entities read from another database as one batch (fmt ``sql``)."""
    frames, issues = read_source(source_url, mapping)
    return _import_frames(
        engine,
        frames,
        source=f"sql: {redact(source_url)}",
        fmt="sql",
        dry_run=dry_run,
        user=user,
        progress=progress,
        labels={n: f"sql:{n}" for n in frames},
        extra_issues=issues,
    )
