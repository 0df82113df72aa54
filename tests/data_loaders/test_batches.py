"""Import history and rollback: inserts deleted, updates restored exactly, refusals explained."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from data_loaders.batches import (
    BATCH_COLUMNS,
    HOLD_COLUMNS,
    RollbackResult,
    list_batches,
    rollback_batch,
)
from data_loaders.importer import import_files

from .loader_helpers import ACCOUNT, csv_file, fingerprint, valid_files

A = ACCOUNT
EMPTY = None


def _import(engine: Engine, files) -> int:
    r = import_files(engine, files)
    assert r.ok, "\n".join(map(str, r.problems))
    assert r.batch_id is not None
    return r.batch_id


def _events_changed() -> tuple[str, bytes]:
    text = (
        valid_files()[1]
        .read_text()
        .replace("Contract start", "Contract start")
        .replace("Three-year contract; 4.5 % productivity clause.", "Changed text")
    )
    return "events.csv", text.encode()


def test_list_batches_newest_first_with_account_filter(engine: Engine) -> None:
    """list_batches returns the documented columns, newest first, filterable by account."""
    first = _import(engine, valid_files())
    second = _import(engine, [csv_file("units.csv", f"account,site,process\n{A},Porto,Claims\n")])
    df = list_batches(engine)
    assert list(df.columns) == BATCH_COLUMNS + HOLD_COLUMNS
    assert df["id"].tolist() == [second, first]
    assert df.loc[0, "rows_inserted"] == 1 and df.loc[1, "status"] == "applied"
    assert len(list_batches(engine, A)) == 2
    assert list_batches(engine, "Nobody").empty


def test_rollback_of_an_insert_batch_restores_the_empty_database(engine: Engine) -> None:
    """Rolling back the first load deletes every row it inserted and marks it rolled back."""
    before = fingerprint(engine)
    batch = _import(engine, valid_files())
    result = rollback_batch(engine, batch)
    assert result == RollbackResult(batch_id=batch, rows_deleted=100, rows_restored=0)
    assert fingerprint(engine) == before
    row = list_batches(engine).iloc[0]
    assert row["status"] == "rolled_back"


def test_rollback_of_an_update_restores_exact_previous_rows(engine: Engine) -> None:
    """Updated rows come back with their old values and their old batch_id; rows the batch
    inserted go; the rest is untouched."""
    _import(engine, valid_files())
    before = fingerprint(engine)
    name, data = _events_changed()
    text = data.decode() + f"{A},2024-10-01,New event,other,\n"
    batch = _import(engine, [(name, text.encode())])
    assert fingerprint(engine) != before
    result = rollback_batch(engine, batch)
    assert (result.rows_deleted, result.rows_restored) == (1, 1)
    assert fingerprint(engine) == before


def test_refuses_to_roll_back_twice(engine: Engine) -> None:
    """A batch already rolled back is refused with a clear message."""
    batch = _import(engine, valid_files())
    rollback_batch(engine, batch)
    with pytest.raises(ValueError, match=f"batch {batch} was already rolled back"):
        rollback_batch(engine, batch)


def test_refuses_when_a_later_batch_changed_the_same_rows(engine: Engine) -> None:
    """If a later applied batch overwrote rows this batch wrote, it must go first — and
    after it has, the earlier one can be rolled back."""
    first = _import(engine, valid_files())
    later = _import(engine, [_events_changed()])
    with pytest.raises(ValueError, match=f"roll back batch {later} first"):
        rollback_batch(engine, first)
    rollback_batch(engine, later)
    rollback_batch(engine, first)
    assert all(n == 0 for n, _ in fingerprint(engine).values())


def test_refuses_when_later_rows_depend_on_inserted_rows(engine: Engine) -> None:
    """Observations added later for a unit this batch inserted block its rollback."""
    _import(engine, valid_files())
    units = _import(engine, [csv_file("units.csv", f"account,site,process\n{A},Porto,Claims\n")])
    obs = _import(
        engine,
        [
            csv_file(
                "observations.csv",
                f"account,site,process,kpi,period,value,volume\n{A},Porto,Claims,aht,2024-02,1,5\n",
            )
        ],
    )
    with pytest.raises(
        ValueError,
        match=f"later batch {obs} added rows that depend on rows it "
        f"inserted; roll back batch {obs} first",
    ):
        rollback_batch(engine, units)


def test_unknown_batch(engine: Engine) -> None:
    """An id that was never a batch is refused with the newest id as a hint."""
    with pytest.raises(ValueError, match="there is no import batch 42 \\(nothing has been"):
        rollback_batch(engine, 42)
    _import(engine, valid_files())
    with pytest.raises(ValueError, match="the newest is 1"):
        rollback_batch(engine, 42)


def test_reimport_after_rollback(engine: Engine) -> None:
    """After a rollback the same files import again as new rows."""
    batch = _import(engine, valid_files())
    rollback_batch(engine, batch)
    r = import_files(engine, valid_files())
    assert r.ok and r.total.inserted == 100
