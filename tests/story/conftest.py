"""The page fixtures (demo database, AppTest factory, fresh caches) for the story tests, plus
the demo's causal estimates stored once per session, so the Story page reads them instead of
computing them inside an AppTest run."""

from __future__ import annotations

import pytest

from tests.pages.conftest import *  # noqa: F403  (the AppTest fixtures, shared)

# ``import *`` leaves out the underscored autouse fixtures: fresh caches for every test (a
# story cached by an earlier test would hide what a test counts), the frame's navigation
# mode and the check that no patch outlives its test.
from tests.pages.conftest import _clean_patches, _fresh_caches  # noqa: F401


@pytest.fixture(scope="session")
def demo_story_bundle(demo_url: str):
    """(data, estimates) of the demo account; the estimates are stored for its data version
    (as the page would store them on its first view)."""
    from data_loaders.access import Scope
    from data_loaders.db import make_engine
    from data_loaders.estimate_store import load_estimates, save_estimates
    from data_loaders.queries import list_accounts, load_account_data
    from metrics.versions import estimates_version
    from services.estimates import estimate_innovations as estimates

    eng = make_engine(demo_url)
    scope = Scope.everything()
    account_id = int(list_accounts(eng, scope)["account_id"].iloc[0])
    data = load_account_data(eng, scope, account_id)
    version = estimates_version(data)
    est = load_estimates(eng, account_id, version)
    if est is None:
        est = estimates(data)
        save_estimates(eng, account_id, version, est)
    eng.dispose()
    return data, est
