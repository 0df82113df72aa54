"""``thenandnow metrics``: the headline figures and the then-vs-now table, as text or JSON,
with the same numbers as ``metrics.headline``; readable failures, never a traceback."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

import cli
from data_loaders.access import Scope
from data_loaders.queries import load_account_data
from metrics.filters import limit_to
from metrics.headline import headline

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "Northwind Insurance"
KEYS = (
    "account",
    "currency",
    "as_of",
    "baseline_start",
    "baseline_end",
    "cumulative_value",
    "run_rate",
    "innovations_live",
    "claimed_value",
    "unattributed_value",
    "evidence_mix",
)


def _run(capsys: pytest.CaptureFixture[str], engine: Engine, *args: str) -> tuple[int, str, str]:
    url = engine.url.render_as_string(hide_password=False)
    rc = cli.main(["--db", url, "metrics", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_json_has_the_headline_and_the_then_now_table(
    demo_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = _run(capsys, demo_engine, "--account", ACCOUNT, "--json")
    assert rc == 0, err
    got = json.loads(out)
    for key in KEYS:
        assert key in got
    want = headline(load_account_data(demo_engine, Scope.everything(), 1))
    assert want is not None
    assert {k: got[k] for k in want.as_dict()} == want.as_dict()  # the library's figures
    assert got["as_of"] == "2026-10-31" and got["baseline_end"] == "2023-06-30"
    tn = got["then_now"]
    assert tn["then_label"] == "H1 2023" and tn["now_label"] == "Q3 2026"
    cost = {r["key"]: r for r in tn["rows"]}["cost_per_txn"]
    assert cost["now"] < cost["then"] and cost["better"] is True
    assert cost["change"] == pytest.approx(cost["now"] - cost["then"], abs=1e-5)


def test_text_output(demo_engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run(capsys, demo_engine, "--account", "northwind insurance")
    assert rc == 0, err
    for key in KEYS:
        assert key in out or key == "baseline_start" or key == "baseline_end"
    assert "baseline            2023-01-01 – 2023-06-30" in out
    assert "then vs now: H1 2023 vs Q3 2026" in out and "Cost per transaction" in out
    # the demo database here has no stored estimates: it says so and how to get them
    assert "0 estimated" in out and "no causal estimates are stored for this data" in out
    assert "unit go-lives in all" in out


def test_as_of_limits_the_data(demo_engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run(capsys, demo_engine, "--account", ACCOUNT, "--as-of", "2024-12", "--json")
    assert rc == 0, err
    got = json.loads(out)
    data = load_account_data(demo_engine, Scope.everything(), 1)
    want = headline(limit_to(data, dt.date(2024, 12, 31)))
    full = headline(data)
    assert want is not None and full is not None
    assert got["as_of"] == "2024-12-31"
    assert got["cumulative_value"] == want.cumulative_value < full.cumulative_value
    assert got["then_now"]["now_label"] == "Q4 2024"


def test_unknown_account_and_bad_date(
    demo_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = _run(capsys, demo_engine, "--account", "Nobody")
    assert rc == 1 and out == ""
    assert err == (
        "error: No account named 'Nobody'. Known accounts: Northwind Insurance, Rheinland Energie.\n"
    )
    rc, _, err = _run(capsys, demo_engine, "--account", ACCOUNT, "--as-of", "2020-01-01")
    assert rc == 1 and "has no measured value up to 2020-01-01" in err
    with pytest.raises(SystemExit) as stop:
        _run(capsys, demo_engine, "--account", ACCOUNT, "--as-of", "last week")
    assert stop.value.code == 2
    assert "'last week' is not a date" in capsys.readouterr().err


@pytest.mark.slow
def test_subprocess_never_prints_a_traceback(demo_engine: Engine) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("DATABASE_URL", None)
    url = demo_engine.url.render_as_string(hide_password=False)
    for args, code in ((["--account", "Nobody"], 1), (["--account", ACCOUNT, "--json"], 0)):
        p = subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), "--db", url, "metrics", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,  # a guard against a hang, not a speed check
        )
        assert p.returncode == code and "Traceback" not in p.stderr, p.stderr


def _with_stored_estimates(demo_engine: Engine, tmp_path: Path) -> tuple[Engine, list[int]]:
    """A copy of the demo database with a hand-made stored estimate run for its current data:
    two live innovations, the first with a 95 % interval that excludes zero, the second not."""
    import sqlite3

    from data_loaders.db import make_engine
    from data_loaders.estimate_store import save_estimates
    from metrics.filters import Filters
    from metrics.headline import live_innovations
    from metrics.versions import estimates_version

    src = demo_engine.url.database
    assert src is not None
    copy = tmp_path / "with-estimates.sqlite"
    with sqlite3.connect(src) as a, sqlite3.connect(copy) as b:
        a.backup(b)  # the whole database, also what is still in its write-ahead log
    eng = make_engine(f"sqlite:///{copy}")
    data = load_account_data(eng, Scope.everything(), 1)
    live = live_innovations(data, Filters(), pd.Timestamp(data.monthly["month"].max()))
    ids = [int(i) for i in live["innovation_id"].head(2)]
    frame = pd.DataFrame(
        {
            "innovation_id": ids,
            "kpi_key": ["cost_per_txn", "cost_per_txn"],
            "estimated": [1000.0, 500.0],
            "ci_low": [400.0, -100.0],
            "ci_high": [1600.0, 1100.0],
            "excludes_zero": [True, False],
            "estimate_note": ["", ""],
        }
    )
    save_estimates(eng, 1, estimates_version(data), frame)
    return eng, ids


def test_stored_estimates_are_used_by_default(
    demo_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --estimates the CLI uses the estimates stored for the data, as the dashboard
    does: one stored estimate excludes zero, so exactly one live innovation is 'estimated'."""
    eng, _ = _with_stored_estimates(demo_engine, tmp_path)
    rc, out, err = _run(capsys, eng, "--account", ACCOUNT)
    assert rc == 0, err
    assert "evidence_mix" in out and "1 estimated," in out and "(stored causal estimates)" in out
    rc, out, err = _run(capsys, eng, "--account", ACCOUNT, "--json")
    got = json.loads(out)
    assert got["evidence_mix"]["estimated"] == 1
    assert got["evidence_basis"] == "causal estimates"
    assert got["story"]["evidence_basis"] == "causal estimates"
    rc, out, err = _run(capsys, eng, "--account", ACCOUNT, "--no-estimates", "--json")
    got = json.loads(out)
    assert got["evidence_mix"]["estimated"] == 0
    assert got["evidence_basis"] == "measured and claimed only"
    assert "--no-estimates" in got["evidence_basis_note"]
    eng.dispose()
