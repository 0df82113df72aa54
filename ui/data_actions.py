"""The Data page's actions, out of the page script so they can be tested directly.

Imports and rollbacks are refused unless the caller's scope may import (provider admin);
after anything is written, every cached load is cleared so all pages see the new data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from data_loaders.access import AccessDenied, Scope
from ui.context import clear_caches

__all__ = ["PROBLEM_COLUMNS", "history", "problems_frame", "rollback", "run_import"]

PROBLEM_COLUMNS = ["file", "row", "column", "message"]


def run_import(
    engine: Engine,
    scope: Scope,
    files: Sequence[tuple[str, bytes]],
    *,
    dry_run: bool,
    progress: Callable[[float, str], None] | None = None,
) -> Any:
    """Validate (``dry_run``) or import ``files`` as one batch; returns the ``ImportResult``."""
    from data_loaders.importer import import_files

    if not scope.can_import:
        raise AccessDenied("Only a provider admin can import data.")
    result = import_files(engine, list(files), dry_run=dry_run, user=scope.user,
                          progress=progress)
    if result.ok and not dry_run:
        clear_caches()
    return result


def problems_frame(result: Any) -> pd.DataFrame:
    """The validation report as a table: file · row · column · message."""
    rows = [(p.file, p.row, p.column, p.message) for p in getattr(result, "problems", [])]
    df = pd.DataFrame(rows, columns=PROBLEM_COLUMNS)
    df["row"] = pd.to_numeric(df["row"], errors="coerce").astype("Int64")
    return df


def rollback(engine: Engine, scope: Scope, batch_id: int) -> Any:
    """Undo one import batch (provider admin only) and clear the caches."""
    from data_loaders.batches import rollback_batch

    if not scope.can_import:
        raise AccessDenied("Only a provider admin can roll back an import.")
    out = rollback_batch(engine, int(batch_id))
    clear_caches()
    return out


def history(engine: Engine, scope: Scope, account_name: str | None) -> pd.DataFrame:
    """Import batches, newest first. Provider roles see every batch; others only the batches
    of the account they are looking at."""
    from data_loaders.batches import list_batches

    df = list_batches(engine)
    if scope.account_ids is not None and "account_name" in df.columns:
        df = df[df["account_name"] == account_name]
    return df.reset_index(drop=True)
