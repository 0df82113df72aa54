"""Rollback keeps its promise (issue #15): rows a later applied batch also holds — it
re-imported them unchanged — are never silently removed; the rollback refuses and names the
later batches, and ``list_batches`` says what every batch still holds. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import cast

import pytest
from sqlalchemy import Engine

from data_loaders.batches import list_batches, rollback_batch
from data_loaders.importer import import_files

from .loader_helpers import count, fingerprint, valid_files


def _import(engine: Engine) -> int:
    r = import_files(engine, valid_files())
    assert r.ok and r.batch_id is not None, r.problems
    return r.batch_id


def _holds(engine: Engine) -> dict[int, tuple[str, int, int]]:
    df = list_batches(engine)
    return {
        int(cast(int, r.id)): (
            str(r.status),
            int(cast(int, r.rows_now)),
            int(cast(int, r.rows_kept)),
        )
        for r in df.itertuples()
    }


def test_rollback_refuses_while_a_later_reimport_holds_the_rows(engine: Engine) -> None:
    first = _import(engine)
    total = sum(c for c in [count(engine, "kpi_observation")])
    second = _import(engine)  # the same files: every row unchanged
    third = _import(engine)
    before = fingerprint(engine)
    rows = list_batches(engine).set_index("id")
    read = int(cast(int, rows.loc[first, "rows_read"]))
    assert int(cast(int, rows.loc[second, "rows_unchanged"])) == read

    with pytest.raises(ValueError) as refused:
        rollback_batch(engine, first)
    message = str(refused.value)
    assert f"later batches {third}, {second} re-imported {2 * read:,} row(s)" in message
    assert f"roll back batch {third} first" in message
    assert fingerprint(engine) == before  # nothing removed
    assert count(engine, "kpi_observation") == total

    # What each batch holds, truthfully: the first wrote every row, the later two keep them.
    assert _holds(engine) == {
        first: ("applied", read, 0),
        second: ("applied", 0, read),
        third: ("applied", 0, read),
    }

    rollback_batch(engine, third)
    with pytest.raises(ValueError, match=f"later batch {second} re-imported"):
        rollback_batch(engine, first)
    rollback_batch(engine, second)
    rollback_batch(engine, first)  # nobody else holds its rows now
    assert count(engine, "kpi_observation") == 0
    assert _holds(engine) == {
        first: ("rolled_back", 0, 0),
        second: ("rolled_back", 0, 0),
        third: ("rolled_back", 0, 0),
    }


def test_batches_user_is_text_never_nan(engine: Engine) -> None:
    """A batch imported without a user (the demo, a script) shows an empty user."""
    import_files(engine, valid_files())
    import_files(engine, valid_files(), user="ana")
    users = list_batches(engine)["user"].tolist()
    assert users == ["ana", ""]
