"""Waiting said out loud (issue #15): an import blocked by another on PostgreSQL says it waits
and for whom, and gives up with a message after ``WRITE_WAIT_SECONDS`` (as SQLite's busy
timeout does); a dry run uses up no batch id."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from data_loaders import importer
from data_loaders.db import DatabaseUnavailable
from data_loaders.importer import PG_IMPORT_LOCK, import_files

from .loader_helpers import count, valid_files


def test_blocked_postgresql_import_says_it_waits_and_gives_up(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "WRITE_WAIT_SECONDS", 1)
    said: list[str] = []
    with pg_engine.connect() as other:  # another import holds the lock
        other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_IMPORT_LOCK})
        holder = other.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with pytest.raises(DatabaseUnavailable, match=r"busy with another import or rollback"):
            import_files(pg_engine, valid_files(), progress=lambda _f, m: said.append(m))
        other.rollback()
    waits = [m for m in said if m.startswith("waiting")]
    assert len(waits) == 1  # said once, not once per look
    assert f"another import or rollback (PostgreSQL process {holder}" in waits[0]
    assert "gives up after 1 s" in waits[0]
    assert count(pg_engine, "import_batch") == 0
    # The lock is free again: the same import now goes through.
    assert import_files(pg_engine, valid_files()).ok


def test_dry_run_uses_up_no_batch_id(engine: Engine) -> None:
    for _ in range(2):
        dry = import_files(engine, valid_files(), dry_run=True)
        assert dry.ok and dry.batch_id is None
    real = import_files(engine, valid_files())
    assert real.batch_id == 1
