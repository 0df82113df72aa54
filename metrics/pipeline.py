"""Pipeline & portfolio (docs/ARCHITECTURE.md, Notation): stage counts and conversion, share of ideas reaching pilot,
median idea → live days, kill rate, mix by scale / category / origin, go-lives per quarter.

Pure functions over the register frames of ``data_loaders.queries.AccountData``
(``innovations``: innovation_id, code, title, category, scale, origin, stage, idea_date …
scaled_date, closed_date, estimated_annual_value; ``rollouts``: innovation_id, unit_id, go_live).
No Streamlit, no database.

Notation: i an innovation, s a forward stage (idea → evaluation → prototype → pilot → scaled),
reached[s] = #{i : i reached s}, "reached" as ``metrics.rules.furthest_stage`` defines it (a
date for s or a later stage, or a current stage s or later; retired ones reached scaled) —
the same rule the register uses when a funnel stage is clicked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from metrics.rules import (
    FORWARD_STAGES,
    IN_PIPELINE,
    OPEN_STAGES,
    PHASES,
    STAGES,
    furthest_stage,
    innovation_states,
    state_counts,
)

__all__ = [
    "ALL_STAGES",
    "FORWARD_STAGES",
    "MIX_DIMENSIONS",
    "OPEN_STAGES",
    "PHASES",
    "PipelineSummary",
    "golives_by_quarter",
    "open_pipeline",
    "pipeline_summary",
    "portfolio_mix",
    "stage_counts",
    "state_totals",
    "stage_funnel",
]

#: The stage vocabulary is ``metrics.rules``' (one home); re-exported for existing callers.
ALL_STAGES: tuple[str, ...] = STAGES
MIX_DIMENSIONS: tuple[str, ...] = ("scale", "category", "origin")


def state_totals(innovations: pd.DataFrame, rollouts: pd.DataFrame) -> dict[str, int]:
    """``{live, in pipeline, rejected, retired}`` counts (``metrics.rules.innovation_states``,
    no date cut-off): they add up to the number of innovations."""
    return state_counts(innovation_states(innovations, rollouts))


def stage_counts(innovations: pd.DataFrame) -> dict[str, int]:
    """Innovations currently in each stage: ``now[s] = #{i : stage_i = s}`` for every stage
    (forward stages, rejected, retired), zeros included."""
    return {s: int((innovations["stage"] == s).sum()) for s in ALL_STAGES}


def stage_funnel(innovations: pd.DataFrame) -> pd.DataFrame:
    """Innovations that reached each forward stage, with conversion from the previous one.

    ``conversion[s] = reached[s] / reached[s − 1]`` (NaN for idea, and when reached[s − 1] = 0);
    ``now[s]`` = innovations currently in s. Columns: stage, reached, conversion, now.
    """
    furthest = furthest_stage(innovations)
    rows = []
    prev: int | None = None
    for i, name in enumerate(FORWARD_STAGES):
        n = int((furthest >= i).sum())
        conv = n / prev if prev else float("nan")
        rows.append((name, n, conv, int((innovations["stage"] == name).sum())))
        prev = n
    return pd.DataFrame(rows, columns=["stage", "reached", "conversion", "now"])


@dataclass(frozen=True)
class PipelineSummary:
    """Portfolio figures (formulas on ``pipeline_summary``); None where undefined."""

    innovations: int
    reached_pilot: int
    share_to_pilot: float | None
    median_idea_to_live_days: float | None
    n_live: int
    rejected: int
    kill_rate: float | None


def pipeline_summary(innovations: pd.DataFrame, rollouts: pd.DataFrame) -> PipelineSummary:
    """Share of ideas reaching pilot, median idea → live days and kill rate.

    * ``share_to_pilot = reached[pilot] / reached[idea]``
    * ``median_idea_to_live_days = median_i (live_i − idea_i)`` in days over the innovations
      that went live, live_i = first go-live of i in any unit, else its pilot date
      (``n_live`` = how many)
    * ``kill_rate = rejected / (rejected + reached[pilot])`` — of the ideas decided either way,
      the share stopped before a pilot.
    """
    if innovations.empty:
        return PipelineSummary(0, 0, None, None, 0, 0, None)
    funnel = stage_funnel(innovations).set_index("stage")["reached"]
    total, pilot = int(funnel["idea"]), int(funnel["pilot"])
    first = {
        k: pd.Timestamp(v) for k, v in rollouts.groupby("innovation_id")["go_live"].min().items()
    }
    live = pd.to_datetime(innovations["innovation_id"].map(lambda i: first.get(i, pd.NaT)))
    live = live.fillna(pd.to_datetime(innovations["pilot_date"]))
    days = (live - pd.to_datetime(innovations["idea_date"])).dt.days.dropna()
    rejected = int((innovations["stage"] == "rejected").sum())
    decided = rejected + pilot
    return PipelineSummary(
        innovations=len(innovations),
        reached_pilot=pilot,
        share_to_pilot=pilot / total if total else None,
        median_idea_to_live_days=float(days.median()) if len(days) else None,
        n_live=int(len(days)),
        rejected=rejected,
        kill_rate=rejected / decided if decided else None,
    )


def portfolio_mix(innovations: pd.DataFrame) -> pd.DataFrame:
    """Count and share of innovations per value of scale, category and origin.

    ``share[d, v] = #{i : d_i = v} / #{i}`` within each dimension d (missing values count as
    "(none)"). Columns: dimension, value, count, share; largest first within a dimension.
    """
    parts = []
    for dim in MIX_DIMENSIONS:
        counts = innovations[dim].fillna("(none)").value_counts()
        total = int(counts.sum())
        parts.append(
            pd.DataFrame(
                {
                    "dimension": dim,
                    "value": counts.index.astype(str),
                    "count": counts.to_numpy(dtype="int64"),
                    "share": counts.to_numpy(dtype="float64") / total if total else 0.0,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def golives_by_quarter(
    rollouts: pd.DataFrame, unit_ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """Go-lives per calendar quarter q (empty quarters in between included).

    ``go_lives[q] = #{(i, u) : go_live[i,u] ∈ q}`` (unit go-lives);
    ``innovations[q] = #{i : min_u go_live[i,u] ∈ q}`` (first go-lives). ``unit_ids`` limits
    u. Columns: quarter ("2024 Q3"), start (first day), go_lives, innovations.
    """
    cols = ["quarter", "start", "go_lives", "innovations"]
    r = rollouts if unit_ids is None else rollouts[rollouts["unit_id"].isin(list(unit_ids))]
    r = r.dropna(subset=["go_live"])
    if r.empty:
        return pd.DataFrame(columns=cols)
    q = pd.to_datetime(r["go_live"]).dt.to_period("Q")
    first = pd.to_datetime(r.groupby("innovation_id")["go_live"].min()).dt.to_period("Q")
    span = pd.period_range(q.min(), q.max(), freq="Q")
    out = pd.DataFrame(
        {
            "quarter": [f"{p.year} Q{p.quarter}" for p in span],
            "start": span.to_timestamp().astype("datetime64[ns]"),
            "go_lives": q.value_counts().reindex(span, fill_value=0).to_numpy(dtype="int64"),
            "innovations": first.value_counts().reindex(span, fill_value=0).to_numpy(dtype="int64"),
        }
    )
    return out[cols]


def open_pipeline(innovations: pd.DataFrame, rollouts: pd.DataFrame) -> pd.DataFrame:
    """The innovations in the pipeline — state ``in pipeline`` of ``metrics.rules`` (not
    live anywhere, not rejected, not retired), so a pilot already running at a unit is live
    and never "next up" — closest to live first (scaled → pilot → idea), then by claim.

    Columns: innovation_id, code, title, stage, category, estimated_annual_value, rolled_out
    (has a go-live in some unit: always False here, kept for the table). Σ
    estimated_annual_value is the pipeline's claim per year.
    """
    open_ = innovations[innovation_states(innovations, rollouts) == IN_PIPELINE]
    order = {s: i for i, s in enumerate(reversed(FORWARD_STAGES))}
    up = open_.assign(_rank=open_["stage"].map(order)).sort_values(
        ["_rank", "estimated_annual_value"], ascending=[True, False]
    )
    rolled = set(rollouts["innovation_id"])
    up = up.assign(rolled_out=up["innovation_id"].isin(rolled))
    return up[
        [
            "innovation_id",
            "code",
            "title",
            "stage",
            "category",
            "estimated_annual_value",
            "rolled_out",
        ]
    ].reset_index(drop=True)
