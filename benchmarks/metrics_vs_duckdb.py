"""Metrics layer vs DuckDB: cumulative measured value on a large generated account (issue 3).

    python benchmarks/metrics_vs_duckdb.py [--scale 14] [--repeat 5] [--db URL]

The account comes from ``data_loaders.demo.generate(seed, scale)`` (scale 14: 126 units ×
1,400 days × 6 KPIs = 1,058,400 daily KPI rows), imported with the project's importer into a
SQLite file under ``data/`` (built once, then reused).

What is timed — every variant ends with the same thing, the cumulative measured value per
month over the headline money KPIs (docs/ARCHITECTURE.md, Notation: frozen volume-weighted baseline, benefit =
s·(base − actual)·vol·money, cumulative = running Σ over months):

  metrics · SQLite file      the production path: ``data_loaders.queries.load_account_data``
                             (SQL push-down of the daily rows to unit × KPI × month in SQLite,
                             plus the small account/KPI/innovation queries) →
                             ``metrics.value.measured`` → Σ per month → cumsum.
  metrics · SQLite in memory the same, with the database copied into an in-memory SQLite
                             (no file I/O: the same in-memory daily data as DuckDB's).
  duckdb · daily frame       one DuckDB SQL statement over the same daily rows held as a pandas
                             frame (read from the SQLite file once, untimed): daily → month
                             (same volume-weighting rules as ``load_monthly``) → baseline →
                             benefit → cumulative. DuckDB uses every core unless --threads.
  duckdb · daily, 1 thread   the same with ``SET threads = 1`` (the metrics layer runs on one).
  metrics · monthly cached   ``metrics.value.measured`` + cumsum on the monthly aggregates already
                             in memory (what a page does on a filter change: the load is cached).
  duckdb · monthly frame     DuckDB SQL for baseline → benefit → cumulative on that same
                             monthly frame (like with like for the row above).
  metrics · --db URL         (optional) the production path against another database, e.g.
                             PostgreSQL; the account is loaded there first if missing.

Then the page-level headline (what the Story page's headline cards need on a filter change,
from cached monthly aggregates and cached causal estimates): ``views.value_lines`` +
``views.headline_view`` for a few selections. The causal estimates themselves
(``services.estimates.estimate_innovations``, one estimator run per innovation, cached per account for an hour by the
app) are timed once and reported apart.

Checks: every variant's total equals the production path's to the cent, and the monthly
cumulative series agree to a cent at every month; the script exits 1 otherwise. The metrics
layer books each unit × KPI × month benefit in whole cents (``metrics.value``: half to even)
and sums cents, so the DuckDB SQL does the same (``round_even``); the script also prints
DuckDB's total in full double precision, which differs by the rounding of those amounts
(≈ ±0.3 on $1.6M at scale 14), not by a different formula.

Memory: for each variant the peak of Python allocations (tracemalloc, on one extra untimed
run; numpy/pandas buffers included, DuckDB's native memory is not) and the peak growth of the
process RSS while the timed runs go (sampled every 2 ms from /proc); and the process's
max RSS (getrusage) at the end.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sqlite3
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import large_sqlite, rss_mb, say  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy.pool import StaticPool  # noqa: E402

from data_loaders.access import Scope  # noqa: E402
from data_loaders.db import make_engine, migrate  # noqa: E402
from data_loaders.demo import ACCOUNT  # noqa: E402
from data_loaders.queries import AccountData, account_id_by_name, load_account_data  # noqa: E402
from metrics import views  # noqa: E402
from metrics.filters import Filters
from metrics.value import measured  # noqa: E402
from services.estimates import estimate_innovations  # noqa: E402

SCOPE = Scope.everything()

# --------------------------------------------------------------------------------------------
# The two computations
# --------------------------------------------------------------------------------------------


try:  # the metrics layer's own module for measured value (moved out of views.py)
    from metrics import value as value_metrics

    METRICS_PATH = "metrics.value.measured → metrics.value.cumulative"

    def metrics_cumulative(data: AccountData) -> pd.Series:
        """Cumulative measured value per month, by the metrics layer."""
        c = value_metrics.cumulative(value_metrics.measured(data))
        return pd.Series(c["cumulative"].to_numpy(), index=pd.DatetimeIndex(c["month"]))
except ImportError:  # an older tree: the same figures from metrics.views
    METRICS_PATH = "metrics.value.measured → Σ per month → cumsum"

    def metrics_cumulative(data: AccountData) -> pd.Series:
        """Cumulative measured value per month, by the metrics layer."""
        b = measured(data, Filters())
        col = "cents" if "cents" in b.columns else "benefit"
        per = b.groupby("month")[col].sum().sort_index().cumsum()
        return per / 100.0 if col == "cents" else per


def metrics_from_db(engine: Any, account_id: int) -> pd.Series:
    return metrics_cumulative(load_account_data(engine, SCOPE, account_id))


# daily → month with the rules of data_loaders.queries.load_monthly
DUCK_MONTHLY = """
    SELECT unit_id, kpi_key, month,
           SUM(value * COALESCE(volume, 0)) AS vw,
           SUM(COALESCE(volume, 0))         AS volume,
           AVG(value)                       AS mean,
           COUNT(*) FILTER (WHERE volume IS NULL) AS missing
    FROM daily GROUP BY unit_id, kpi_key, month
"""
DUCK_MONTH_VALUE = """
    SELECT unit_id, kpi_key, month, volume,
           CASE WHEN k.kind = 'rate' AND volume > 0 AND missing = 0 THEN vw / volume
                ELSE mean END AS value
    FROM agg JOIN kpis k ON k.key = agg.kpi_key
"""
# monthly → baseline → benefit → cumulative, with the rules of metrics.views
DUCK_VALUE = """
    WITH m AS (
        SELECT m.unit_id, m.kpi_key, m.month, m.volume, m.value,
               k.kind, k.money_value,
               CASE WHEN lower(k.direction) LIKE 'lower%' THEN 1 ELSE -1 END AS s
        FROM {monthly} m JOIN kpis k ON k.key = m.kpi_key
        WHERE k.headline AND k.money_value IS NOT NULL
    ), base AS (
        SELECT unit_id, kpi_key,
               CASE WHEN any_value(kind) = 'rate' AND SUM(volume) > 0
                    THEN SUM(value * volume) / SUM(volume) ELSE AVG(value) END AS base
        FROM m WHERE month BETWEEN $b0 AND $b1
        GROUP BY unit_id, kpi_key
    ), benefit AS (
        SELECT m.month,
               SUM({book_l}m.s * (base.base - m.value)
                   * CASE WHEN m.kind = 'rate' THEN m.volume ELSE 1 END * m.money_value
                   * 100{book_r}) AS cents
        FROM m JOIN base USING (unit_id, kpi_key)
        GROUP BY m.month
    )
    SELECT month, SUM(cents) OVER (ORDER BY month) / 100 AS cumulative FROM benefit ORDER BY month
"""


def duck_sql_from_daily(book: str = "round_even") -> str:
    """daily → month → baseline → benefit → cumulative in one statement. ``book`` books each
    unit × KPI × month benefit in whole cents as the metrics layer does (``round_even``: half to
    even, like numpy's rint); ``book=""`` keeps full double precision."""
    return f"WITH agg AS ({DUCK_MONTHLY}), monthly AS ({DUCK_MONTH_VALUE}), " + duck_value_sql(
        "monthly", book
    ).strip().removeprefix("WITH ")


def duck_value_sql(monthly: str, book: str = "round_even") -> str:
    return DUCK_VALUE.format(
        monthly=monthly, book_l=f"{book}(" if book else "(", book_r=", 0)" if book else ")"
    )


def duck_run(
    con: duckdb.DuckDBPyConnection, sql: str, b0: pd.Timestamp, b1: pd.Timestamp
) -> pd.Series:
    df = con.execute(sql, {"b0": b0, "b1": b1}).df()
    return pd.Series(
        df["cumulative"].to_numpy(), index=pd.to_datetime(df["month"]), name="cumulative"
    )


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    times: list[float]
    total: float
    series: pd.Series
    py_peak_mb: float
    rss_growth_mb: float
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)
    cpu: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def cpu_median(self) -> float:
        """CPU seconds of this process (all its threads: DuckDB's too), robust to other load
        on a shared machine, where the wall time mostly says how often we were scheduled."""
        return statistics.median(self.cpu)


class RssSampler:
    """Peak RSS of this process over a block, sampled from /proc every 2 ms."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        pid = os.getpid()
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(pid))
            time.sleep(0.002)

    def __enter__(self) -> RssSampler:
        self.start = rss_mb(os.getpid())
        self.peak = self.start
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, rss_mb(os.getpid()))


def measure(name: str, fn: Callable[[], pd.Series], repeat: int, note: str = "") -> Result:
    gc.collect()
    series = fn()  # warm-up (imports, page cache, DuckDB's first-query setup)
    times = []
    cpu = []
    with RssSampler() as rss:
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            series = fn()
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    total = float(series.iloc[-1]) if len(series) else 0.0
    r = Result(name, times, total, series, peak / 2**20, rss.peak - rss.start, note, cpu=cpu)
    say(
        f"  {name:<28} median {r.median:7.3f} s   best {r.best:7.3f} s   "
        f"cpu {r.cpu_median:7.3f} s   total {total:,.2f}"
    )
    return r


def memory_copy(path: Path) -> Any:
    """An engine over an in-memory copy of the SQLite file (one shared connection)."""
    src = sqlite3.connect(path)
    mem = sqlite3.connect(":memory:", check_same_thread=False)
    src.backup(mem)
    src.close()
    return create_engine("sqlite://", creator=lambda: mem, poolclass=StaticPool)


def daily_frame(path: Path, account_id: int) -> pd.DataFrame:
    """The account's daily KPI rows as a pandas frame (what DuckDB reads)."""
    con = sqlite3.connect(path)
    df = pd.read_sql_query(
        "SELECT o.unit_id, k.key AS kpi_key, o.month, o.value, o.volume "
        "FROM kpi_observation o JOIN kpi k ON k.id = o.kpi_id WHERE o.account_id = ?",
        con,
        params=(account_id,),
    )
    con.close()
    df["month"] = pd.to_datetime(df["month"]).astype("datetime64[ns]")
    df["kpi_key"] = df["kpi_key"].astype("category")
    return df


def ensure_loaded(url: str, scale: int, seed: int) -> tuple[Any, int]:
    """The engine for ``--db`` with the generated account in it (imported when missing)."""
    from data_loaders.demo import load_demo

    engine = make_engine(url)
    migrate(engine)
    try:
        return engine, account_id_by_name(engine, SCOPE, ACCOUNT)
    except LookupError:
        pass
    say(f"loading the scale-{scale} account into {engine.url.render_as_string()} …")
    t0 = time.perf_counter()
    result = load_demo(engine, seed=seed, scale=scale)
    if not result.ok:
        raise SystemExit(f"demo import failed: {result.problems[:3]}")
    say(f"  loaded in {time.perf_counter() - t0:.1f} s")
    return engine, account_id_by_name(engine, SCOPE, ACCOUNT)


# --------------------------------------------------------------------------------------------


def ref_rows(data: AccountData) -> pd.DataFrame:
    return measured(data, Filters())


def headline_times(data: AccountData, repeat: int) -> list[tuple[str, float, float, str]]:
    """(selection, median s, max s, value text) for the Story headline from cached aggregates."""
    t0 = time.perf_counter()
    est = estimate_innovations(data)
    est_s = time.perf_counter() - t0
    units = tuple(int(u) for u in data.units["unit_id"].iloc[::3])
    months = sorted(data.monthly["month"].unique())
    selections = [
        ("all units, all months", Filters()),
        (f"{len(units)} units", Filters(unit_ids=units)),
        (
            "last 12 months",
            Filters(start=pd.Timestamp(months[-12]).date(), end=pd.Timestamp(months[-1]).date()),
        ),
        ("one category", Filters(categories=("process effectiveness",))),
    ]
    rows = [("(causal estimates, once per account)", est_s, est_s, f"{len(est)} innovations")]
    for label, sel in selections:
        times = []
        head = None
        for _ in range(repeat):
            t0 = time.perf_counter()
            lines = views.value_lines(data, sel, est)
            head = views.headline_view(data, sel, views.evidence_of(lines))
            times.append(time.perf_counter() - t0)
        rows.append((label, statistics.median(times), max(times), head.value_text if head else "—"))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--scale", type=int, default=14, help="demo scale (14: ≥ 1M daily rows)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--repeat", type=int, default=5, help="timed runs per variant")
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="DuckDB threads for the main DuckDB row (0 = DuckDB's default: all cores)",
    )
    p.add_argument(
        "--db",
        metavar="URL",
        help="also time the production path on this database "
        "(e.g. postgresql+psycopg://…); the account is loaded there when missing",
    )
    p.add_argument("--fresh", action="store_true", help="rebuild the SQLite file")
    p.add_argument("--skip-headline", action="store_true", help="skip the page-level headline")
    args = p.parse_args(argv)

    path = large_sqlite(args.scale, args.seed, fresh=args.fresh)
    file_engine = make_engine(f"sqlite:///{path}")
    account_id = account_id_by_name(file_engine, SCOPE, ACCOUNT)
    t0 = time.perf_counter()
    daily = daily_frame(path, account_id)
    say(
        f"{len(daily):,} daily KPI rows, {daily['unit_id'].nunique()} units, "
        f"{daily['month'].nunique()} months (read into pandas in {time.perf_counter() - t0:.1f} s,"
        f" untimed); {os.cpu_count()} cores; duckdb {duckdb.__version__}, pandas "
        f"{pd.__version__}"
    )
    if len(daily) < 1_000_000 and args.scale >= 14:
        say("warning: fewer than 1M daily rows")
    mem_engine = memory_copy(path)
    data = load_account_data(file_engine, SCOPE, account_id)
    kpis = data.kpis[["key", "direction", "kind", "money_value", "headline"]].copy()
    monthly = data.monthly[["unit_id", "kpi_key", "month", "value", "volume"]].copy()
    b0 = pd.Timestamp(data.account.baseline_start).to_period("M").to_timestamp()
    b1 = pd.Timestamp(data.account.baseline_end).to_period("M").to_timestamp()

    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    con.register("daily", daily)
    con.register("kpis", kpis)
    con.register("monthly_frame", monthly)
    con1 = duckdb.connect()
    con1.execute("SET threads = 1")
    con1.register("daily", daily)
    con1.register("kpis", kpis)
    # Book in cents on the DuckDB side exactly when the metrics layer does (metrics.value does;
    # an older metrics.views summed full-precision floats).
    book = "round_even" if "cents" in ref_rows(data).columns else ""
    daily_sql = duck_sql_from_daily(book)
    monthly_sql = duck_value_sql("monthly_frame", book)
    say(
        f"metrics layer: {METRICS_PATH}; "
        f"{'benefit booked in cents per unit × KPI × month' if book else 'full precision'}"
    )
    threads = con.execute("SELECT current_setting('threads')").fetchone()
    n_threads = threads[0] if threads else "?"

    say(f"\ntiming ({args.repeat} runs each, after one warm-up run):")
    results = [
        measure(
            "metrics · SQLite file", lambda: metrics_from_db(file_engine, account_id), args.repeat
        ),
        measure(
            "metrics · SQLite in memory",
            lambda: metrics_from_db(mem_engine, account_id),
            args.repeat,
        ),
        measure(
            f"duckdb · daily ({n_threads} thr)",
            lambda: duck_run(con, daily_sql, b0, b1),
            args.repeat,
        ),
        measure("duckdb · daily (1 thr)", lambda: duck_run(con1, daily_sql, b0, b1), args.repeat),
        measure("metrics · monthly cached", lambda: metrics_cumulative(data), args.repeat),
        measure("duckdb · monthly frame", lambda: duck_run(con, monthly_sql, b0, b1), args.repeat),
    ]
    if args.db:
        db_engine, db_account = ensure_loaded(args.db, args.scale, args.seed)
        results.append(
            measure(
                f"metrics · {db_engine.dialect.name}",
                lambda: metrics_from_db(db_engine, db_account),
                args.repeat,
            )
        )

    # ---- the same numbers? ----
    ref = results[0]
    ok = True
    say("\ncheck against the production path (metrics · SQLite file):")
    for r in results[1:]:
        diff = r.total - ref.total
        s = r.series.reindex(ref.series.index)
        worst = float(np.nanmax(np.abs(s.to_numpy() - ref.series.to_numpy())))
        same = (
            abs(diff) < 0.005
            and worst < 0.005
            and len(r.series) == len(ref.series)
            and not s.isna().any()
        )
        ok &= same
        say(
            f"  {r.name:<28} total diff {diff:+.6f}  worst month diff {worst:.6f}  "
            f"{'OK (same to the cent)' if same else 'MISMATCH'}"
        )

    if book:
        unbooked = float(duck_run(con, duck_sql_from_daily(book=""), b0, b1).iloc[-1])
        say(
            f"  (DuckDB in full double precision, without booking each unit × KPI × month in "
            f"cents: {unbooked:,.4f}, {unbooked - ref.total:+.4f} from the booked total — the "
            f"rounding of {len(ref_rows(data)):,} cent amounts, not an error)"
        )

    # ---- table ----
    by = {r.name: r for r in results}
    duck = results[2]
    say(
        f"\n{'variant':<30}{'median s':>10}{'best s':>9}{'× duckdb':>10}{'cpu s':>8}"
        f"{'× cpu':>7}{'py peak MB':>12}{'RSS +MB':>9}"
    )
    for r in results:
        say(
            f"{r.name:<30}{r.median:>10.3f}{r.best:>9.3f}{r.median / duck.median:>10.1f}"
            f"{r.cpu_median:>8.3f}{r.cpu_median / duck.cpu_median:>7.1f}"
            f"{r.py_peak_mb:>12.1f}{r.rss_growth_mb:>9.1f}"
        )
    say(f"{'':<30}(total cumulative value {ref.total:,.2f} {data.account.currency})")
    say(f"load average while timing: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    say("\nratios, wall (median / median) and CPU seconds (median / median):")
    # The production path's target is issue #10's (≤ 2× DuckDB on the daily frame, reading
    # the monthly rollup); the others keep issue 3's ≤ 1.5×.
    pairs = [
        ("production path vs DuckDB on the daily frame", "metrics · SQLite file", duck.name, 2.0),
        (
            "in-memory SQLite vs DuckDB, both in memory",
            "metrics · SQLite in memory",
            duck.name,
            2.0,
        ),
        (
            "in-memory SQLite vs DuckDB, both one thread",
            "metrics · SQLite in memory",
            "duckdb · daily (1 thr)",
            2.0,
        ),
        (
            "on cached monthly aggregates",
            "metrics · monthly cached",
            "duckdb · monthly frame",
            1.5,
        ),
    ]
    for label, a, b, target in pairs:
        ratio = by[a].median / by[b].median
        cpu_ratio = by[a].cpu_median / by[b].cpu_median
        verdict = "meets" if ratio <= target else "misses"
        say(
            f"  {label:<48} {ratio:6.1f}× wall, {cpu_ratio:5.1f}× cpu   "
            f"({verdict} the ≤ {target:g}× target on wall time)"
        )

    if not args.skip_headline:
        say("\npage-level headline (Story cards) from cached monthly aggregates:")
        for label, med, mx, text in headline_times(data, args.repeat):
            say(f"  {label:<40} median {med:6.3f} s  max {mx:6.3f} s   {text}")

    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    say(
        f"\nprocess max RSS (getrusage): {maxrss:.0f} MiB (includes the daily frame, "
        f"{daily.memory_usage(deep=True).sum() / 2**20:.0f} MiB, and the in-memory SQLite copy)"
    )
    if not ok:
        say("FAILED: the variants do not give the same cumulative value")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
