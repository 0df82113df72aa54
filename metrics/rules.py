"""The domain vocabulary and rules of Then & Now, written once (docs/ARCHITECTURE.md).

Everything that decides what a word means — which stages count as live, what an evidence
level is called, which way a KPI is better, where a month starts, how a rate is averaged,
when data is stale, which target is an innovation's main one — lives here and is imported
everywhere else. Pure: standard library, numpy and pandas only, no project imports, so
``data_loaders`` may use it too without a cycle.

States of an innovation (a partition of the register, as of a date t)
---------------------------------------------------------------------
Every innovation i is in exactly one state at t, decided in this order::

    retired      stage_i = retired and (closed_i ≤ t or closed_i unknown)
    rejected     stage_i = rejected
    live         some unit u has go_live[i,u] ≤ t        (a pilot running at a unit is live)
    in pipeline  everything else (idea, evaluation, prototype, a pilot or scaled innovation
                 with no go-live yet)

So #live + #in pipeline + #rejected + #retired = #register, and a pilot is counted once.
A retired innovation was live (and credited, and claimed) until its retirement date and is
not after it (``retired_on``); ``state_counts`` counts each state. With a unit selection the
live state is about go-lives at those units; the other states do not depend on units.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from metrics.reuse import reused

__all__ = [
    "CATEGORIES",
    "DIRECTIONS",
    "EVIDENCE_KEYS",
    "EVIDENCE_LABELS",
    "EvidenceLevel",
    "FORWARD_STAGES",
    "IN_PIPELINE",
    "LIVE",
    "OPEN_STAGES",
    "PHASES",
    "REJECTED",
    "RETIRED",
    "STAGES",
    "STALE_AFTER_DAYS",
    "STATES",
    "DirectionError",
    "add_months",
    "direction_sign",
    "evidence_label",
    "evidence_rank",
    "furthest_stage",
    "innovation_states",
    "is_stale",
    "last_complete_month_end",
    "main_targets",
    "month_end",
    "month_index",
    "month_start",
    "months_between",
    "reached_stage",
    "retired_on",
    "state_counts",
    "weighted_mean",
    "NAMED_INNOVATIONS",
    "named_innovations",
    "DEMAND_UNITS",
    "STAFFING_UNIT",
    "is_client_demand",
]

# --------------------------------------------------------------------------------------
# Register vocabulary
# --------------------------------------------------------------------------------------

#: Stages an innovation passes through in order, with the register column holding each date.
PHASES: tuple[tuple[str, str], ...] = (
    ("idea", "idea_date"),
    ("evaluation", "evaluation_date"),
    ("prototype", "prototype_date"),
    ("pilot", "pilot_date"),
    ("scaled", "scaled_date"),
)
FORWARD_STAGES: tuple[str, ...] = tuple(name for name, _ in PHASES)
#: Every stage value the register may hold.
STAGES: tuple[str, ...] = (*FORWARD_STAGES, "rejected", "retired")
#: Stages not yet scaled and not stopped, earliest first (a stage, not a state: a pilot
#: with a go-live is *live*; see the module doc).
OPEN_STAGES: tuple[str, ...] = ("idea", "evaluation", "prototype", "pilot")
CATEGORIES: tuple[str, ...] = (
    "operational efficiency",
    "process effectiveness",
    "strategic impact",
)

LIVE, IN_PIPELINE, REJECTED, RETIRED = "live", "in pipeline", "rejected", "retired"
#: The four states that partition the register (module doc), in display order.
STATES: tuple[str, ...] = (LIVE, IN_PIPELINE, REJECTED, RETIRED)


def furthest_stage(innovations: pd.DataFrame) -> pd.Series:
    """Index in ``FORWARD_STAGES`` of the furthest forward stage each innovation reached
    (-1: none), indexed like ``innovations``. An innovation *reached* stage s when it has a
    date for s or a later stage, or its current stage is s or later; a retired innovation
    reached scaled. The one definition behind the funnel's counts and the register rows a
    funnel stage lists."""
    best = pd.Series(-1, index=innovations.index, dtype="int64")
    for i, (name, col) in enumerate(PHASES):
        hit = innovations[col].notna() | (innovations["stage"] == name)
        if name == "scaled":
            hit |= innovations["stage"] == RETIRED
        best = best.where(~hit, i)
    return best


def reached_stage(innovations: pd.DataFrame, stage: str) -> pd.Series:
    """True for the innovations that reached forward stage ``stage`` (``furthest_stage``);
    ValueError for a stage that is not a forward one."""
    if stage not in FORWARD_STAGES:
        raise ValueError(f"{stage!r} is not a forward stage ({', '.join(FORWARD_STAGES)})")
    return furthest_stage(innovations) >= FORWARD_STAGES.index(stage)


def retired_on(innovations: pd.DataFrame) -> pd.Series:
    """Retirement date per innovation (indexed like ``innovations``): ``closed_date`` for
    retired innovations, NaT for every other one. A retired innovation without a closed
    date has NaT too: it counts as retired now, but its credit cannot be stopped at a date
    nobody recorded (the importer asks for the date)."""
    if "closed_date" not in innovations.columns:
        return pd.Series(pd.NaT, index=innovations.index, dtype="datetime64[ns]")
    closed = pd.to_datetime(innovations["closed_date"], errors="coerce")
    return closed.where(innovations["stage"] == RETIRED).astype("datetime64[ns]")


@reused
def innovation_states(
    innovations: pd.DataFrame,
    rollouts: pd.DataFrame,
    as_of: Any = None,
    unit_ids: Sequence[int] | None = None,
) -> pd.Series:
    """The state of every innovation at ``as_of`` (None: no cut-off), module doc; indexed
    like ``innovations``. ``unit_ids`` limits the go-lives that make an innovation live."""
    cut = pd.Timestamp(as_of) if as_of is not None else None
    r = rollouts.dropna(subset=["go_live"])
    if unit_ids is not None:
        r = r[r["unit_id"].isin(list(unit_ids))]
    if cut is not None:
        r = r[pd.to_datetime(r["go_live"]) <= cut]
    live = innovations["innovation_id"].isin(set(r["innovation_id"]))
    stage = innovations["stage"]
    ret = retired_on(innovations)
    retired = (stage == RETIRED) & (ret.isna() | (ret <= cut if cut is not None else True))
    out = np.where(
        retired,
        RETIRED,
        np.where(stage == REJECTED, REJECTED, np.where(live, LIVE, IN_PIPELINE)),
    )
    return pd.Series(out, index=innovations.index, dtype=object)


def state_counts(states: pd.Series) -> dict[str, int]:
    """``{state: count}`` for every state in ``STATES`` (zeros included); the counts add up
    to ``len(states)``."""
    return {s: int((states == s).sum()) for s in STATES}


# --------------------------------------------------------------------------------------
# Evidence levels
# --------------------------------------------------------------------------------------

#: Stable internal keys, strongest evidence first. The keys are what is stored and
#: compared; the labels are what a reader sees, and rank themselves in plain words.
#: The evidence levels as a type (``metrics.impact.evidence_level`` returns one); the tuple
#: of keys is read from it, so the two cannot disagree.
EvidenceLevel = Literal["estimated", "measured", "claimed"]
EVIDENCE_KEYS: tuple[str, ...] = get_args(EvidenceLevel)
EVIDENCE_LABELS: dict[str, str] = {
    "estimated": "proven (causal estimate)",
    "measured": "measured",
    "claimed": "claimed",
}


def evidence_label(key: str) -> str:
    """The one display label of an evidence level (KeyError for an unknown key)."""
    return EVIDENCE_LABELS[key]


def evidence_rank(key: str) -> int:
    """0 for the strongest evidence level, counting up (ValueError for an unknown key)."""
    return EVIDENCE_KEYS.index(key)


# --------------------------------------------------------------------------------------
# KPI direction
# --------------------------------------------------------------------------------------

DIRECTIONS: tuple[str, ...] = ("lower", "higher")


class DirectionError(ValueError):
    """A KPI direction that does not say plainly whether lower or higher is better."""


def direction_sign(direction: Any) -> int:
    """s_k: +1 when lower is better, −1 when higher is better.

    Accepts ``lower`` / ``higher`` and ``lower is better`` / ``higher is better`` (any case,
    surrounding spaces ignored); anything else raises ``DirectionError`` — a word that could
    be read two ways is refused, never guessed."""
    text = " ".join(str(direction).strip().lower().split())
    if text in ("lower", "lower is better"):
        return 1
    if text in ("higher", "higher is better"):
        return -1
    raise DirectionError(
        f"direction must be 'lower' or 'higher' (which is better), got {direction!r}."
    )


#: KPIs that count the work the client sends (their unit of measure), not how well the
#: provider does it: more transactions is client demand, shown neutral, never "better".
DEMAND_UNITS: frozenset[str] = frozenset({"transactions"})
#: The unit of measure of the staffing KPI (headcount), read beside demand as a ratio.
STAFFING_UNIT = "FTE"


def is_client_demand(unit_of_measure: Any) -> bool:
    """True for a KPI measured in ``DEMAND_UNITS`` (e.g. transactions a month)."""
    return str(unit_of_measure).strip().lower() in DEMAND_UNITS


# --------------------------------------------------------------------------------------
# Months
# --------------------------------------------------------------------------------------


def month_start(d: Any) -> pd.Timestamp:
    """``month(d)``: the first day of d's month, as a Timestamp."""
    return pd.Timestamp(d).to_period("M").to_timestamp()


def month_end(d: Any) -> pd.Timestamp:
    """The last day of d's month (midnight), as a Timestamp."""
    return month_start(d) + pd.offsets.MonthEnd(0)


def last_complete_month_end(d: Any) -> pd.Timestamp:
    """The last day of the last calendar month complete at d: d itself when it is a month's
    last day, else the last day of the month before (15 Jun 2025 → 31 May 2025). An as-of
    date never takes in a month that has not ended."""
    t = pd.Timestamp(d).normalize()
    return t if t == month_end(t) else month_start(t) - pd.Timedelta(days=1)


def month_index(d: Any) -> int:
    """``12·year + month − 1``: months as consecutive integers."""
    t = pd.Timestamp(d)
    return t.year * 12 + t.month - 1


def months_between(a: Any, b: Any) -> int:
    """Whole calendar months from month(a) to month(b) (negative when b is earlier)."""
    return month_index(b) - month_index(a)


def add_months(d: Any, n: int) -> pd.Timestamp:
    """The first day of the month n months after month(d)."""
    return month_start(d) + pd.DateOffset(months=n)


# --------------------------------------------------------------------------------------
# Averages
# --------------------------------------------------------------------------------------


def weighted_mean(values: Iterable[float], weights: Iterable[float]) -> float:
    """Volume-weighted mean ``Σ value·w / Σ w`` over the pairs with a value (missing weights
    count as 0); the plain mean of the values when Σ w = 0; NaN when there is no value.

    The rule for rate KPIs (per-transaction figures): a ratio of sums, never the mean of the
    ratios, so a quiet month does not weigh as much as a busy one."""
    v = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    w = np.asarray(list(weights) if not isinstance(weights, np.ndarray) else weights, dtype=float)
    ok = ~np.isnan(v)
    v, w = v[ok], np.where(np.isnan(w[ok]), 0.0, w[ok])
    if v.size == 0:
        return float("nan")
    total = float(w.sum())
    return float((v * w).sum() / total) if total > 0 else float(v.mean())


# --------------------------------------------------------------------------------------
# Contract
# --------------------------------------------------------------------------------------

#: A contract year that used less than this share of its contracted innovation days is
#: called under-used (the days were paid for; the story says so rather than "within").
UNDERUSED_SHARE = 0.5


# --------------------------------------------------------------------------------------
# Naming innovations in charts
# --------------------------------------------------------------------------------------

#: How many innovations the bridge and the stacked value chart name one by one; the rest
#: are one "N other innovations" group. Six named + the group + unattributed = eight series,
#: one distinct colour each.
NAMED_INNOVATIONS = 6


def named_innovations(amounts: pd.Series, top: int = NAMED_INNOVATIONS) -> list[int]:
    """The innovation ids (``amounts``' index) named on their own: the ``top`` largest by
    absolute amount, ties to the smaller id; every other id belongs to "N other innovations"."""
    order = sorted(amounts.index, key=lambda i: (-abs(float(amounts[i])), i))
    return [int(i) for i in order[:top]]


# --------------------------------------------------------------------------------------
# Freshness
# --------------------------------------------------------------------------------------

#: A series is stale when its last period ended more than this many days ago.
STALE_AFTER_DAYS = 45


def is_stale(days_behind: float, stale_after_days: int = STALE_AFTER_DAYS) -> bool:
    """True when ``days_behind > stale_after_days``."""
    return bool(days_behind > stale_after_days)


# --------------------------------------------------------------------------------------
# Main target KPI
# --------------------------------------------------------------------------------------


def main_targets(targets: pd.DataFrame) -> pd.DataFrame:
    """One row per innovation: its **main target**, the target with the largest |expected
    effect| (ties: the smallest KPI key). Columns as ``targets`` (innovation_id, kpi_key,
    expected_effect_pct, …), ordered by innovation_id."""
    if targets.empty:
        return targets.copy()
    t = targets.assign(_abs=targets["expected_effect_pct"].abs())
    t = t.sort_values(["innovation_id", "_abs", "kpi_key"], ascending=[True, False, True])
    return t.drop_duplicates("innovation_id").drop(columns="_abs").reset_index(drop=True)
