"""services/imports.py: the role check is the service's own; a write is followed by the
estimates refresh; a refused request changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from data_loaders.access import AccessDenied, Scope
from data_loaders.db import make_engine, migrate
from data_loaders.estimate_store import load_estimates
from data_loaders.queries import account_id_by_name, load_account_data
from data_loaders.schema import IMPORT_TABLES
from metrics.versions import estimates_version
from services import imports
from tests.data_loaders.loader_helpers import ACCOUNT, fingerprint, valid_files

READ_ONLY = (
    Scope(role="provider analyst", account_ids=None, user="ana"),
    Scope(role="client executive", account_ids=frozenset({1}), user="cx"),
)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 'services.sqlite'}")
    migrate(eng)
    return eng


@pytest.mark.parametrize("scope", READ_ONLY, ids=lambda s: s.role)
def test_read_only_scopes_are_refused_and_nothing_changes(engine: Engine, scope: Scope) -> None:
    admin = Scope.everything(user="admin")
    imports.import_files(admin, engine, valid_files(), estimates=False)
    before = fingerprint(engine, IMPORT_TABLES)
    with pytest.raises(AccessDenied, match="provider admin"):
        imports.import_files(scope, engine, valid_files(), dry_run=True, estimates=False)
    with pytest.raises(AccessDenied, match="provider admin"):
        imports.import_sql(scope, engine, "sqlite://", {}, estimates=False)
    with pytest.raises(AccessDenied, match="provider admin"):
        imports.rollback(scope, engine, 1, estimates=False)
    assert fingerprint(engine, IMPORT_TABLES) == before


def test_an_import_stores_the_estimates_of_the_new_data(engine: Engine) -> None:
    """After an admin's import the estimates of the account's current data version are
    stored (so no page computes them on first view); a dry run and --no-estimates skip it."""
    admin = Scope.everything(user="admin")
    dry = imports.import_files(admin, engine, valid_files(), dry_run=True)
    assert dry.result.ok and dry.refresh.estimated == ()
    said: list[str] = []
    out = imports.import_files(admin, engine, valid_files(), say=said.append)
    assert out.result.ok and [e.account for e in out.refresh.estimated] == [ACCOUNT]
    assert any("estimated" in m for m in said)
    account_id = account_id_by_name(engine, admin, ACCOUNT)
    data = load_account_data(engine, admin, account_id)
    assert load_estimates(engine, account_id, estimates_version(data)) is not None
    assert out.result.batch_id is not None
    again = imports.rollback(admin, engine, out.result.batch_id, estimates=False)
    assert again.result.rows_deleted > 0 and again.refresh.estimated == ()
