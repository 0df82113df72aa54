"""The Data page's actions, out of the page script so they can be tested directly.

The workflows are ``services.imports`` (the role check, the write, the estimates refresh);
here only what the page adds: after anything is written, every cached load is cleared so
all pages see the new data, and the results as tables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from data_loaders.access import Scope
from ui.page_context import clear_caches

__all__ = ["PROBLEM_COLUMNS", "counts_frame", "history", "problems_frame", "rollback", "run_import"]

PROBLEM_COLUMNS = ["file", "row", "column", "message"]


def run_import(
    engine: Engine,
    scope: Scope,
    files: Sequence[tuple[str, bytes]],
    *,
    dry_run: bool,
    progress: Callable[[float, str], object] | None = None,
) -> Any:
    """Validate (``dry_run``) or import ``files`` as one batch (``services.imports``, which
    checks the role and refreshes the estimates); returns the ``ImportResult``."""
    from services.imports import import_files

    def say(message: str) -> None:
        if progress is not None:
            progress(1.0, message)

    out = import_files(scope, engine, list(files), dry_run=dry_run, progress=progress, say=say)
    if out.result.ok and not dry_run:
        clear_caches()
    return out.result


def problems_frame(result: Any) -> pd.DataFrame:
    """The validation report as a table: file · row · column · message."""
    rows = [(p.file, p.row, p.column, p.message) for p in getattr(result, "problems", [])]
    df = pd.DataFrame(rows, columns=PROBLEM_COLUMNS)
    df["row"] = pd.to_numeric(df["row"], errors="coerce").astype("Int64")
    return df


def counts_frame(result: Any) -> pd.DataFrame:
    """Rows per entity: read, new, updated, unchanged (what was, or would be, written)."""
    rows = [
        (entity, c.read, c.inserted, c.updated, c.unchanged)
        for entity, c in getattr(result, "counts", {}).items()
    ]
    return pd.DataFrame(rows, columns=["entity", "read", "new", "updated", "unchanged"])


def rollback(engine: Engine, scope: Scope, batch_id: int) -> tuple[bool, str]:
    """Undo one import batch (``services.imports``: provider admin only, then the estimates
    are refreshed) and clear the caches.

    Returns (done, message for people); a refused rollback (already rolled back, a later
    batch depends on it, …) is ``(False, why)`` and changes nothing.
    """
    from services.imports import rollback as rollback_batch

    try:
        out = rollback_batch(scope, engine, int(batch_id))
    except ValueError as exc:
        return False, f"Batch {batch_id} was not rolled back: {exc}."
    clear_caches()
    r = out.result
    return True, (
        f"Batch {batch_id} was rolled back: {r.rows_deleted:,} row(s) removed, "
        f"{r.rows_restored:,} restored."
    )


def history(engine: Engine, scope: Scope, account_name: str | None) -> pd.DataFrame:
    """Import batches, newest first. Provider roles see every batch; others only the batches
    of the account they are looking at."""
    from data_loaders.batches import list_batches

    if scope.account_ids is None:
        df = list_batches(engine)
    elif account_name is None:
        df = list_batches(engine).iloc[0:0]
    else:
        df = list_batches(engine, account_name)
    cols = [
        "id",
        "finished_at",
        "status",
        "source",
        "entity",
        "account_name",
        "rows_read",
        "rows_inserted",
        "rows_updated",
        "rows_unchanged",
        "rows_now",
        "rows_kept",
        "user",
    ]
    return df[cols].reset_index(drop=True)
