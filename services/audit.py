"""The audit log: who did what, when, on which account (sign-ins, imports, rollbacks, pack
builds and downloads, sign-offs, access changes). Anyone's actions are recorded; only a
provider admin may read the log."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine, insert, select

from data_loaders.access import Scope
from data_loaders.schema import AuditEntry

ACTIONS = (
    "sign-in",
    "sign-out",
    "import",
    "rollback",
    "pack build",
    "download",
    "sign-off",
    "access grant",
    "access revoke",
    "refused",
)
COLUMNS = ["at", "user", "action", "account", "detail"]


def now() -> dt.datetime:
    """UTC wall time without tzinfo (the columns are naive DateTime on both databases)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def record(
    engine: Engine, scope: Scope, action: str, *, account: str | None = None, detail: str = ""
) -> None:
    """Append one entry in its own transaction (so a refused workflow is still recorded)."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}")
    with engine.begin() as conn:
        conn.execute(
            insert(AuditEntry).values(
                at=now(),
                user=scope.user[:320],
                action=action,
                account_name=account[:200] if account else None,
                detail=detail,
            )
        )


def entries(
    engine: Engine, scope: Scope, *, account: str | None = None, limit: int | None = None
) -> pd.DataFrame:
    """The log, newest first (provider admin only): at · user · action · account · detail."""
    scope.require(scope.can_manage_access, "Reading the audit log")
    a = AuditEntry
    stmt = select(a.at, a.user, a.action, a.account_name, a.detail).order_by(a.id.desc())
    if account is not None:
        stmt = stmt.where(a.account_name == account)
    if limit is not None:
        stmt = stmt.limit(int(limit))
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    df = pd.DataFrame([tuple(r) for r in rows], columns=COLUMNS)
    df["at"] = pd.to_datetime(df["at"])
    df["account"] = df["account"].fillna("")
    return df
