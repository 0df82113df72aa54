"""Shared helpers for the loader tests: fixture paths, a database fingerprint, quick files."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from sqlalchemy import Engine, select

from data_loaders.schema import IMPORT_TABLES, Base

DATA = Path(__file__).resolve().parent.parent / "data"
VALID = DATA / "import_valid"
VARIANTS = DATA / "import_variants"
ACCOUNT = "Acme Claims"


def valid_files() -> list[Path]:
    return sorted(VALID.glob("*.csv"))


def variant_files() -> list[Path]:
    return sorted(VARIANTS.glob("*.csv"))


def fingerprint(
    engine: Engine,
    tables: tuple[str, ...] = IMPORT_TABLES,
) -> dict[str, tuple[int, str]]:
    """(row count, sha256 of every row in id order) per table: equal ⇔ same data."""
    out: dict[str, tuple[int, str]] = {}
    with engine.connect() as conn:
        for name in tables:
            t = Base.metadata.tables[name]
            rows = conn.execute(select(t).order_by(t.c.id)).all()
            digest = hashlib.sha256()
            for r in rows:
                digest.update(repr(tuple(r)).encode())
            out[name] = (len(rows), digest.hexdigest())
    return out


def count(engine: Engine, table: str) -> int:
    return fingerprint(engine, (table,))[table][0]


def csv_file(name: str, text: str) -> tuple[str, io.BytesIO]:
    """A named in-memory upload, as the Data page passes them."""
    return name, io.BytesIO(text.encode("utf-8"))
