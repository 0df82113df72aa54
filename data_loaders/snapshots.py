"""Archived renewal-pack editions (the ``snapshot`` table): save, list, find by checksum.

Only ``services.pack`` writes here. Reads take the caller's ``Scope`` like every other read,
except ``find_by_sha256``, which ``verify`` uses to recognise a file whatever account it is
from (it returns the account id, so the caller can check the scope before showing figures).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, insert, or_, select

from data_loaders.access import Scope
from data_loaders.schema import Snapshot

__all__ = [
    "Edition",
    "find_by_content",
    "find_by_sha256",
    "last_edition",
    "list_editions",
    "load_pdf",
    "next_edition_no",
    "save_edition",
]


@dataclass(frozen=True)
class Edition:
    id: int
    account_id: int
    edition_no: int
    as_of: dt.date
    created_at: dt.datetime
    built_by: str
    sha256: str
    content_sha256: str
    protected_sha256: str | None
    data_version: str
    paper: str
    figures: dict[str, Any]


_COLS = (
    Snapshot.id,
    Snapshot.account_id,
    Snapshot.edition_no,
    Snapshot.as_of,
    Snapshot.created_at,
    Snapshot.built_by,
    Snapshot.sha256,
    Snapshot.content_sha256,
    Snapshot.protected_sha256,
    Snapshot.data_version,
    Snapshot.paper,
    Snapshot.figures,
)


def _edition(row: Any) -> Edition:
    return Edition(
        id=int(row.id),
        account_id=int(row.account_id),
        edition_no=int(row.edition_no or 0),
        as_of=row.as_of,
        created_at=row.created_at,
        built_by=str(row.built_by or ""),
        sha256=str(row.sha256 or ""),
        content_sha256=str(row.content_sha256 or ""),
        protected_sha256=row.protected_sha256,
        data_version=str(row.data_version or ""),
        paper=str(row.paper or ""),
        figures=dict(row.figures or {}),
    )


def next_edition_no(engine: Engine, scope: Scope, account_id: int) -> int:
    scope.check(account_id)
    with engine.connect() as conn:
        n = conn.execute(
            select(func.max(Snapshot.edition_no)).where(Snapshot.account_id == account_id)
        ).scalar()
    return int(n or 0) + 1


def save_edition(
    engine: Engine,
    scope: Scope,
    *,
    account_id: int,
    edition_no: int,
    as_of: dt.date,
    pdf: bytes,
    sha256: str,
    content_sha256: str,
    data_version: str,
    built_by: str,
    paper: str,
    figures: dict[str, Any],
    protected_sha256: str | None = None,
) -> int:
    scope.check(account_id)
    with engine.begin() as conn:
        result = conn.execute(
            insert(Snapshot).values(
                account_id=account_id,
                as_of=as_of,
                created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                edition=str(edition_no),
                edition_no=edition_no,
                pdf=pdf,
                sha256=sha256,
                content_sha256=content_sha256,
                protected_sha256=protected_sha256,
                data_version=data_version,
                built_by=built_by,
                paper=paper,
                figures=figures,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


def list_editions(engine: Engine, scope: Scope, account_id: int) -> list[Edition]:
    """The account's editions, newest first."""
    scope.check(account_id)
    with engine.connect() as conn:
        rows = conn.execute(
            select(*_COLS)
            .where(Snapshot.account_id == account_id)
            .order_by(Snapshot.edition_no.desc(), Snapshot.id.desc())
        ).all()
    return [_edition(r) for r in rows]


def last_edition(engine: Engine, scope: Scope, account_id: int) -> Edition | None:
    editions = list_editions(engine, scope, account_id)
    return editions[0] if editions else None


def load_pdf(engine: Engine, scope: Scope, snapshot_id: int) -> tuple[Edition, bytes]:
    with engine.connect() as conn:
        row = conn.execute(select(*_COLS, Snapshot.pdf).where(Snapshot.id == snapshot_id)).one()
    scope.check(int(row.account_id))
    return _edition(row), bytes(row.pdf)


def find_by_sha256(engine: Engine, sha256: str) -> Edition | None:
    """The edition whose PDF (or password-protected copy) has this SHA-256."""
    with engine.connect() as conn:
        row = conn.execute(
            select(*_COLS)
            .where(or_(Snapshot.sha256 == sha256, Snapshot.protected_sha256 == sha256))
            .limit(1)
        ).first()
    return _edition(row) if row is not None else None


def find_by_content(engine: Engine, content_sha256: str) -> Edition | None:
    """The edition whose footer carries this content checksum."""
    with engine.connect() as conn:
        row = conn.execute(
            select(*_COLS).where(Snapshot.content_sha256 == content_sha256).limit(1)
        ).first()
    return _edition(row) if row is not None else None
