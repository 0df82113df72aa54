"""Figures stay current after writes made by other processes, on SQLite and PostgreSQL.

A small hand-made account (tests/data/import_valid, September's observations held back) is
imported by the CLI in a subprocess, as an operator would; the Story page runs under AppTest;
a second CLI process writes; the same AppTest runs again without any cache clearing."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

from data_loaders.access import Scope
from data_loaders.estimate_store import load_estimates
from data_loaders.queries import list_accounts, load_account_data
from data_loaders.schema import EstimateRun
from metrics.format import money
from metrics.versions import estimates_version
from services import estimates_background
from services.estimates import ensure_estimates
from tests.pages.conftest import APP, ROOT, metric, no_exception, texts

VALID = ROOT / "tests" / "data" / "import_valid"
HELD_BACK = ",2024-09,"  # September's observations: the later write


def _hand_value(*, september: bool) -> float:
    """The small account's value to date by hand from its observations file: the one headline
    KPI, cost per transaction (lower is better, €1 a unit), per unit
    (baseline − actual) × volume over the months after the Q1 2024 baseline, the baseline
    the unit's volume-weighted mean of Jan–Mar. €8,720 without September, €11,846 with it."""
    o = pd.read_csv(VALID / "kpi_observations_2024.csv")
    c = o[o["kpi"] == "cost_per_txn"].assign(unit=lambda d: d["site"] + "|" + d["process"])
    if not september:
        c = c[c["period"] != "2024-09"]
    b = c[c["period"] <= "2024-03"]
    base = (b["value"] * b["volume"]).groupby(b["unit"]).sum() / b.groupby("unit")["volume"].sum()
    post = c[c["period"] > "2024-03"]
    return float(((post["unit"].map(base) - post["value"]) * post["volume"]).sum())


def _eur(value: float, *, compact: bool = True) -> str:
    return money(value, "EUR", "pt_PT", compact=compact)


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _cli(url: str, *args: str) -> str:
    """Run the CLI in another process (generous timeout: the machine is shared)."""
    done = subprocess.run(
        [sys.executable, "cli.py", "--db", url, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _files(tmp_path: Path) -> tuple[Path, Path]:
    """(folder of the account without September, September's observations file)."""
    base = tmp_path / "base"
    base.mkdir(exist_ok=True)
    for f in VALID.glob("*.csv"):
        if f.name != "kpi_observations_2024.csv":
            (base / f.name).write_bytes(f.read_bytes())
    lines = (VALID / "kpi_observations_2024.csv").read_text(encoding="utf-8").splitlines()
    (base / "kpi_observations_2024.csv").write_text(
        "\n".join(line for line in lines if HELD_BACK not in line) + "\n", encoding="utf-8"
    )
    sept = tmp_path / "september.csv"
    sept.write_text(
        "\n".join([lines[0], *(line for line in lines if HELD_BACK in line)]) + "\n",
        encoding="utf-8",
    )
    return base, sept


@pytest.fixture
def small_account(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The small account imported by the CLI (without September); the app pointed at it."""
    base, _ = _files(tmp_path)
    _cli(_url(engine), "import", str(base))
    monkeypatch.setenv("DATABASE_URL", _url(engine))
    monkeypatch.chdir(ROOT)
    return engine


def _account_id(engine: Engine) -> int:
    return int(list_accounts(engine, Scope.everything())["account_id"].iloc[0])


def _runs(engine: Engine, account_id: int, version: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(EstimateRun)
                .where(EstimateRun.account_id == account_id, EstimateRun.data_version == version)
            ).scalar_one()
        )


def _story(at: AppTest) -> AppTest:
    at.run()
    no_exception(at)
    return at


def test_cli_import_shows_on_next_page_run(small_account: Engine, tmp_path: Path) -> None:
    """A CLI import in another process changes "Value to date" on the very next page run,
    with no cache clearing in between: from €8,720 to €11,846, computed by hand from the
    observations file (the card's help holds the exact amount)."""
    _, sept = _files(tmp_path)
    at = _story(AppTest.from_file(APP, default_timeout=600))
    before = _hand_value(september=False)
    assert round(before) == 8_720
    assert metric(at, "Value to date").value == _eur(before)
    _cli(_url(small_account), "import", str(sept))
    after = _hand_value(september=True)
    assert round(after) == 11_846
    card = metric(_story(at), "Value to date")
    assert card.value == _eur(after) != _eur(before)
    assert _eur(after, compact=False) in card.proto.help


def test_cli_rollback_shows_on_next_page_run(small_account: Engine, tmp_path: Path) -> None:
    """A CLI rollback in another process brings back the earlier figure on the next run."""
    _, sept = _files(tmp_path)
    at = _story(AppTest.from_file(APP, default_timeout=600))
    first = metric(at, "Value to date").value
    out = _cli(_url(small_account), "import", str(sept))
    batch = next(w for w in out.split() if w.isdigit() and "batch " + w in out)
    assert metric(_story(at), "Value to date").value != first
    _cli(_url(small_account), "rollback", batch)
    assert metric(_story(at), "Value to date").value == first


def test_estimates_shown_are_those_of_the_new_version(
    small_account: Engine, tmp_path: Path
) -> None:
    """After a write that moves the data version (estimates not computed by the writer), the
    app computes them outside the page run, and the page's "Causal estimates" card and
    evidence sentence are those of the estimates stored for the NEW version — read
    independently from the database — never the old ones."""
    _, sept = _files(tmp_path)
    engine = small_account
    account_id = _account_id(engine)
    scope = Scope.everything()
    at = _story(AppTest.from_file(APP, default_timeout=600))
    old_version = estimates_version(load_account_data(engine, scope, account_id))
    assert metric(at, "Causal estimates").value != ""

    _cli(_url(engine), "import", "--no-estimates", str(sept))
    data = load_account_data(engine, scope, account_id)
    new_version = estimates_version(data)
    assert new_version != old_version
    assert load_estimates(engine, account_id, new_version) is None  # the app must compute

    _story(at)  # starts their computation in the background (never inside the run)
    estimates_background.wait(timeout=900)  # a hang guard, not a timing
    _story(at)
    stored = load_estimates(engine, account_id, new_version)
    assert stored is not None, "the app did not store the estimates of the new version"
    assert _runs(engine, account_id, new_version) == 1
    # By hand from the stored rows: an innovation is proven when its estimate is in money
    # and its interval excludes zero; the two live innovations (INN-001, INN-002) both have
    # a measured value, so the rest are measured and none rests on its claim.
    proven = int((stored["excludes_zero"].astype(bool) & stored["estimated"].notna()).sum())
    assert metric(at, "Causal estimates").value == f"{proven} of 2"
    body = texts(at)
    assert f"Of the live innovations, {proven} ha" in body  # "1 has", "0 have"
    assert f"interval excludes zero, {2 - proven} " in body and "0 rest on their claim" in body


def test_concurrent_ensure_estimates_store_one_run(engine: Engine, tmp_path: Path) -> None:
    """Two simultaneous ensure_estimates calls for the same account and data version store
    exactly one estimate run, and both return the same estimates."""
    base, _ = _files(tmp_path)
    _cli(_url(engine), "import", "--no-estimates", str(base))
    account_id = _account_id(engine)
    scope = Scope.everything()
    version = estimates_version(load_account_data(engine, scope, account_id))
    assert _runs(engine, account_id, version) == 0

    start = threading.Barrier(2)
    results: list[object] = [None, None]

    def call(i: int) -> None:
        start.wait(timeout=600)
        try:
            results[i] = ensure_estimates(engine, scope, account_id)
        except BaseException as exc:  # noqa: BLE001  # reported below, in the test's thread
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads)
    a, b = results
    assert not isinstance(a, BaseException), a
    assert not isinstance(b, BaseException), b
    assert a is not None and b is not None
    assert a.version == b.version == version  # type: ignore[attr-defined]  # results are typed as the thread's object; both are EnsuredEstimates here
    assert sorted([a.computed, b.computed]) == [False, True]  # type: ignore[attr-defined]  # results are typed as the thread's object; both are EnsuredEstimates here
    assert _runs(engine, account_id, version) == 1
    fa, fb = a.frame, b.frame  # type: ignore[attr-defined]  # results are typed as the thread's object; both are EnsuredEstimates here
    assert not fa.empty
    key = [c for c in ("innovation_id", "kpi_id") if c in fa.columns]
    fa = fa.sort_values(key).reset_index(drop=True)
    fb = fb.sort_values(key).reset_index(drop=True)
    assert list(fa.columns) == list(fb.columns)
    pd.testing.assert_frame_equal(fa, fb, check_dtype=False)


def test_a_run_saved_between_read_and_claim_is_not_computed_again(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interleaving that made two callers both compute: caller A reads no stored
    estimates; caller B then saves its run and releases its claim; A's claim now succeeds.
    A must return B's run (computed=False) and store no second one. Played deterministically:
    B's save happens inside A's first read."""
    import services.estimates as est

    base, _ = _files(tmp_path)
    _cli(_url(engine), "import", "--no-estimates", str(base))
    account_id = _account_id(engine)
    scope = Scope.everything()
    data = load_account_data(engine, scope, account_id)
    version = estimates_version(data)
    other = est.compute(data, None, lambda: None)  # caller B's run, computed beforehand
    reads = []
    real_load = est.load_estimates

    def read_then_b_saves(e: Engine, a: int, v: str) -> pd.DataFrame | None:
        reads.append(v)
        found = real_load(e, a, v)
        if len(reads) == 1:
            est.save_estimates(e, a, v, other, seconds=0.0)  # B saves after A's read...
        return found  # ...so A saw nothing stored

    def no_second_run(*_: object) -> pd.DataFrame:
        raise AssertionError("computed again although a run was stored before the claim")

    monkeypatch.setattr(est, "load_estimates", read_then_b_saves)
    monkeypatch.setattr(est, "compute", no_second_run)
    got = est.ensure_estimates(engine, scope, account_id, data=data)
    assert got.computed is False
    assert _runs(engine, account_id, version) == 1
    assert len(got.frame) == len(other)
    with engine.connect() as conn:  # the claim is released: a later caller is not kept waiting
        assert conn.execute(select(func.count()).select_from(est.EstimateClaim)).scalar_one() == 0
