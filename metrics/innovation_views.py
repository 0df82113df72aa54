"""Views of the innovation register for the Innovations and Innovation-detail pages.

Pure functions over the frames of ``data_loaders.queries.AccountData`` (no Streamlit, no
database). Columns of the inputs are those documented on ``AccountData``.

* ``register_table``: one row per innovation with its main target KPI, the number of units it
  is live in and its first go-live. The **main target** of an innovation is the target with
  the largest absolute expected effect (ties: the KPI key first in alphabetical order).
* ``search_register``: case-insensitive text search — every whitespace-separated term must
  occur in code, title, owner or description — and an optional stage filter.
* ``timeline_frame``: the Gantt-like life of each innovation. Each stage the innovation
  reached (idea, evaluation, prototype, pilot, scaled) is a phase from its date to the date of
  the next stage it reached; the last phase ends at ``closed_date`` (rejected / retired) or,
  while it is still open, at ``as_of``.
* ``innovation_record``: everything the detail page states about one innovation
  (``innovation_records``: every innovation's, the targets labelled once).
* ``control_rollouts`` / ``other_rollouts`` / ``event_study_frame``: the controls for the
  estimate (the other innovations' rollouts, target KPIs and retirement months) and its
  event study in readable units.
* ``innovation_value``: its claimed / measured (attributed) / estimated value and evidence.
* ``estimate_innovation``: ``metrics.impact.innovation_effect`` for one innovation and KPI.
* ``in_categories``: the register limited to the category filter (None = all).
* the stage funnel, pipeline summary, portfolio mix and go-lives per quarter are in
  ``metrics.pipeline`` (formulas there); import them from there.
* ``rollout_units``: its rollouts with unit names, in go-live order.
* ``kpi_around_go_live``: the target KPI per rollout unit with months counted from that unit's
  go-live month: ``months_from_go_live = 12·(year(m) − year(g)) + month(m) − month(g)``.
* ``comparison_series``: how the units *not* live with the innovation moved (never or not
  yet treated — the comparison the impact estimator relies on), as a chained, volume-weighted
  index of month-to-month changes (formula on the function); ``kpi_around_go_live`` scales
  it to each rollout unit's pre-go-live level.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from metrics import rules
from metrics.impact import EstimationError, InnovationEffect, KpiRows, innovation_effect
from metrics.pipeline import PHASES
from metrics.value import live_months

__all__ = [
    "in_categories",
    "InnovationRecord",
    "InnovationValue",
    "TargetKpi",
    "estimate_innovation",
    "event_study_frame",
    "control_rollouts",
    "other_rollouts",
    "comparison_series",
    "data_as_of",
    "innovation_labels",
    "innovation_record",
    "innovation_records",
    "innovation_value",
    "kpi_around_go_live",
    "labelled_main_targets",
    "register_table",
    "rollout_units",
    "search_register",
    "timeline_frame",
]


REGISTER_COLUMNS = [
    "code",
    "title",
    "stage",
    "category",
    "scale",
    "origin",
    "owner",
    "target_kpi",
    "expected_effect_pct",
    "estimated_annual_value",
    "units_live",
    "first_go_live",
    "evidence_status",
    "description",
    "innovation_id",
    "reached",
]

_SEARCH_FIELDS = ("code", "title", "owner", "description")


def _ts(value: Any) -> pd.Timestamp | None:
    """A Timestamp, or None for missing values (None, NaN, NaT)."""
    return None if value is None or pd.isna(value) else pd.Timestamp(value)


def labelled_main_targets(targets: pd.DataFrame, kpis: pd.DataFrame) -> pd.DataFrame:
    """One row per innovation: its main target KPI (largest |expected effect|).

    Columns: innovation_id, kpi_key, kpi_label, expected_effect_pct.
    """
    cols = ["innovation_id", "kpi_key", "kpi_label", "expected_effect_pct"]
    if targets.empty:
        return pd.DataFrame(columns=cols)
    t = rules.main_targets(targets)
    labels = dict(zip(kpis["key"], kpis["label"], strict=True)) if not kpis.empty else {}
    t["kpi_label"] = t["kpi_key"].map(labels).fillna(t["kpi_key"])
    return t[cols].reset_index(drop=True)


def register_table(
    innovations: pd.DataFrame,
    targets: pd.DataFrame,
    kpis: pd.DataFrame,
    rollouts: pd.DataFrame,
) -> pd.DataFrame:
    """The searchable register: one row per innovation, ordered by code.

    ``units_live`` = number of rollouts (units with a go-live date); ``first_go_live`` = the
    earliest of them; ``target_kpi`` = the label of the main target (see ``metrics.rules.main_targets``);
    ``reached`` = the furthest forward stage reached (``metrics.rules.furthest_stage``, the
    funnel's rule; "" for none).
    """
    if innovations.empty:
        return pd.DataFrame(columns=REGISTER_COLUMNS)
    main = labelled_main_targets(targets, kpis).set_index("innovation_id")
    ids = innovations["innovation_id"]
    if rollouts.empty:
        n_units = pd.Series(0, index=ids.unique())
        first = pd.Series(pd.NaT, index=ids.unique(), dtype="datetime64[ns]")
    else:
        by = rollouts.groupby("innovation_id")
        n_units, first = by["unit_id"].nunique(), by["go_live"].min()
    out = innovations.assign(
        target_kpi=ids.map(main["kpi_label"]) if not main.empty else None,
        expected_effect_pct=ids.map(main["expected_effect_pct"]) if not main.empty else None,
        units_live=ids.map(n_units).fillna(0).astype("int64"),
        first_go_live=pd.to_datetime(ids.map(first)).astype("datetime64[ns]"),
        reached=[
            rules.FORWARD_STAGES[i] if i >= 0 else "" for i in rules.furthest_stage(innovations)
        ],
    )
    out["expected_effect_pct"] = out["expected_effect_pct"].astype("float64")
    return out.sort_values("code")[REGISTER_COLUMNS].reset_index(drop=True)


def search_register(
    table: pd.DataFrame,
    text: str = "",
    stages: Sequence[str] | None = None,
    reached: str | None = None,
) -> pd.DataFrame:
    """Rows of ``register_table`` matching every term of ``text`` and, if given, ``stages``
    (the current stage) and ``reached`` (a forward stage the innovation reached — the rows a
    funnel bar counts: "scaled" lists the scaled and the retired ones).

    A term matches when it occurs (case-insensitively) in code, title, owner or description.
    An empty ``text``, empty/None ``stages`` and no ``reached`` return the table unchanged.
    """
    mask = pd.Series(True, index=table.index)
    if stages:
        mask &= table["stage"].isin(list(stages))
    if reached:
        order = {s: i for i, s in enumerate(rules.FORWARD_STAGES)}
        at_least = order[reached]
        mask &= table["reached"].map(lambda s: order.get(s, -1) >= at_least)
    terms = text.casefold().split()
    if terms:
        hay = table[list(_SEARCH_FIELDS)].fillna("").astype(str).agg(" ".join, axis=1)
        hay = hay.str.casefold()
        for term in terms:
            mask &= hay.str.contains(term, regex=False)
    return table.loc[mask].reset_index(drop=True)


def in_categories(innovations: pd.DataFrame, categories: Sequence[str] | None) -> pd.DataFrame:
    """The register limited to ``categories`` (None or empty = every category)."""
    if not categories:
        return innovations
    return innovations[innovations["category"].isin(list(categories))].reset_index(drop=True)


def data_as_of(monthly: pd.DataFrame, fallback: dt.date | None = None) -> pd.Timestamp:
    """The last day covered by the data: the end of the latest observed month.

    Without observations: ``fallback`` (default: today).
    """
    if monthly.empty:
        return pd.Timestamp(fallback or dt.date.today())
    last = pd.Timestamp(monthly["month"].max())
    return (last + pd.offsets.MonthEnd(0)).normalize()


def timeline_frame(innovations: pd.DataFrame, *, as_of: dt.date | pd.Timestamp) -> pd.DataFrame:
    """Phases of each innovation for a Gantt chart, one row per (innovation, phase).

    Columns: code, title, stage (current), phase, start, end, open (the last phase is still
    running at ``as_of``), order (innovations by idea date, then code; 0 = earliest).
    Phases whose start lies after ``as_of`` are dropped; ends are clipped to ``as_of``.
    """
    cols = ["code", "title", "stage", "phase", "start", "end", "open", "order"]
    if innovations.empty:
        return pd.DataFrame(columns=cols)
    limit = pd.Timestamp(as_of)
    reg = innovations.sort_values(["idea_date", "code"]).reset_index(drop=True)
    rows: list[dict[str, object]] = []
    for order, r in enumerate(reg.itertuples(index=False)):
        dates = [(name, _ts(getattr(r, col))) for name, col in PHASES]
        reached = sorted(((n, d) for n, d in dates if d is not None), key=lambda p: p[1])
        closed = _ts(r.closed_date)
        for i, (name, start) in enumerate(reached):
            if start > limit:
                continue
            if i + 1 < len(reached):
                end, still_open = reached[i + 1][1], False
            elif closed is not None:
                end, still_open = closed, False
            else:
                end, still_open = limit, True
            rows.append(
                {
                    "code": r.code,
                    "title": r.title,
                    "stage": r.stage,
                    "phase": name,
                    "start": start,
                    "end": min(end, limit),
                    "open": still_open,
                    "order": order,
                }
            )
    out = pd.DataFrame(rows, columns=cols)
    for c in ("start", "end"):
        out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
    return out


def innovation_labels(innovations: pd.DataFrame) -> dict[str, str]:
    """Code → "CODE · title", ordered by code (for pickers)."""
    reg = innovations.sort_values("code")
    return {str(c): f"{c} · {t}" for c, t in zip(reg["code"], reg["title"], strict=True)}


@dataclass(frozen=True, eq=False)
class InnovationRecord:
    """One innovation as the detail page states it.

    ``targets`` columns: kpi_key, label, unit_of_measure, direction, money_value,
    expected_effect_pct (main target first). ``stage_dates`` maps each stage (and "closed")
    to its date or None. ``idea_to_live_days`` = first go-live (or pilot date) − idea date.
    """

    innovation_id: int
    code: str
    title: str
    description: str
    category: str
    scale: str
    origin: str
    stage: str
    owner: str
    stage_dates: dict[str, pd.Timestamp | None]
    targets: pd.DataFrame
    estimated_annual_value: float
    innovation_days: float
    gain_share_eligible: bool
    evidence_status: str
    first_go_live: pd.Timestamp | None
    idea_to_live_days: int | None

    @property
    def main_kpi(self) -> str | None:
        return None if self.targets.empty else str(self.targets["kpi_key"].iloc[0])

    @property
    def target_labels(self) -> dict[str, str]:
        """KPI key → label of each target, main target first."""
        return {
            str(k): str(v)
            for k, v in zip(self.targets["kpi_key"], self.targets["label"], strict=True)
        }

    def target(self, kpi_key: str) -> TargetKpi:
        """The definition of one target KPI (KeyError if it is not a target)."""
        t = self.targets
        hit = np.flatnonzero(t["kpi_key"].to_numpy() == kpi_key)
        if not hit.size:
            raise KeyError(kpi_key)
        # the row's cells read from its columns: the row as a Series cost ten times as much
        r = {n: t[n].to_numpy()[int(hit[0])] for n in t.columns}
        money, uom = r["money_value"], r["unit_of_measure"]
        return TargetKpi(
            key=str(r["kpi_key"]),
            label=str(r["label"]),
            unit_of_measure=str(uom) if pd.notna(uom) else "",
            direction=str(r["direction"]),
            money_value=float(money) if pd.notna(money) else None,
            expected_effect_pct=float(r["expected_effect_pct"]),
        )


@dataclass(frozen=True)
class TargetKpi:
    key: str
    label: str
    unit_of_measure: str
    direction: str
    money_value: float | None
    expected_effect_pct: float


@dataclass(frozen=True)
class InnovationValue:
    """One innovation's value line: claimed, measured (attributed) and estimated, to date.

    ``evidence`` follows the Value page's rule (``metrics.views.value_lines``): "estimated"
    when the causal estimate has a money value and its CI excludes zero, else "measured" when
    an attributed measured value exists (≠ 0), else "claimed".
    """

    claimed: float | None
    measured: float | None
    realisation: float | None
    estimated: float | None
    estimated_low: float | None
    estimated_high: float | None
    evidence: str


def innovation_value(
    lines: pd.DataFrame, innovation_id: int, effect: InnovationEffect | None
) -> InnovationValue:
    """The value line of one innovation from ``metrics.views.value_lines`` output (columns
    innovation_id, claimed, measured, realisation) and its own estimate (or None)."""
    hit = lines[lines["innovation_id"] == innovation_id]

    def _f(col: str) -> float | None:
        if hit.empty or col not in hit.columns or pd.isna(hit[col].iloc[0]):
            return None
        return float(hit[col].iloc[0])

    measured = _f("measured")
    has_money = effect is not None and effect.money_total is not None
    if has_money and effect is not None and effect.estimate.excludes_zero:
        evidence = "estimated"
    elif measured is not None and measured != 0:
        evidence = "measured"
    else:
        evidence = "claimed"
    return InnovationValue(
        claimed=_f("claimed"),
        measured=measured,
        realisation=_f("realisation"),
        estimated=effect.money_total if effect is not None else None,
        estimated_low=effect.money_ci_low if effect is not None else None,
        estimated_high=effect.money_ci_high if effect is not None else None,
        evidence=evidence,
    )


def control_rollouts(
    rollouts: pd.DataFrame, targets: pd.DataFrame, innovations: pd.DataFrame
) -> pd.DataFrame:
    """Every innovation's rollouts with the KPIs it targets: columns innovation_id, code,
    unit_id, go_live, kpi_key, live_to (one row per rollout and target KPI; live_to = the
    retirement month, ``metrics.value.live_months``, NaT when not retired). Computed once
    per account, each estimate takes the others' rows as its controls (``other_rollouts``)."""
    cols = ["innovation_id", "code", "unit_id", "go_live", "kpi_key", "live_to"]
    if rollouts.empty or targets.empty:
        return pd.DataFrame(columns=cols)
    out = rollouts.merge(targets[["innovation_id", "kpi_key"]], on="innovation_id")
    out = out.merge(innovations[["innovation_id", "code"]], on="innovation_id")
    live = live_months(rollouts, innovations)
    out["live_to"] = out["innovation_id"].map(live.groupby("innovation_id")["live_to"].min())
    return out[cols].reset_index(drop=True)


def other_rollouts(
    rollouts: pd.DataFrame,
    targets: pd.DataFrame,
    innovations: pd.DataFrame,
    innovation_id: int,
    *,
    controls: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The rollouts of every OTHER innovation with the KPIs it targets, for
    ``innovation_effect(other_rollouts=...)``: columns code, unit_id, go_live, kpi_key,
    live_to (``control_rollouts`` without this innovation; the code names the control in
    the estimate's notes). ``controls``: ``control_rollouts`` computed already."""
    c = controls if controls is not None else control_rollouts(rollouts, targets, innovations)
    keep = np.flatnonzero(c["innovation_id"].to_numpy() != innovation_id)
    # built from the columns' arrays: filtering and dropping on the frame cost three times
    return pd.DataFrame({n: c[n].array.take(keep) for n in c.columns if n != "innovation_id"})


def estimate_innovation(
    monthly: pd.DataFrame,
    rollouts: pd.DataFrame,
    targets: pd.DataFrame,
    innovations: pd.DataFrame,
    record: InnovationRecord,
    kpi_key: str,
    *,
    alpha: float = 0.05,
    controls: pd.DataFrame | None = None,
    rows: KpiRows | None = None,
    horizon_inference: bool = True,
) -> InnovationEffect:
    """``metrics.impact.innovation_effect`` for one innovation and one of its target KPIs:
    all units of the account (units not live yet are the comparison), log scale, and the
    other innovations targeting the same KPI controlled for (``other_rollouts``), so the
    estimate is this innovation's own effect rather than everything that changed after it.
    A retired innovation is treated only while it was live: its units' months from its
    retirement month on (``metrics.value.live_months``) are left out, and a retired control
    is split at its retirement (before / after). ``controls``: ``control_rollouts`` of the account, and
    ``rows``: ``metrics.impact.kpi_rows(monthly, kpi_key)``, when the caller estimates several innovations.
    ``horizon_inference``: False when only the average effect and its interval are used (the
    event study's per-horizon intervals are then not computed; see
    ``metrics.impact.estimate_effect``).

    Raises ``metrics.impact.EstimationError`` (with a plain-words message) when it cannot be
    estimated, e.g. no rollout or no data for the KPI.
    """
    kpi = record.target(kpi_key)
    mine = np.flatnonzero(rollouts["innovation_id"].to_numpy() == record.innovation_id)
    if not mine.size:
        raise EstimationError(f"{record.code} has no rollout yet: there is no go-live to study.")
    c = controls if controls is not None else control_rollouts(rollouts, targets, innovations)
    own = c["innovation_id"].to_numpy() == record.innovation_id
    own_to = pd.to_datetime(c["live_to"].array[own]).min()
    return innovation_effect(
        monthly,
        pd.DataFrame(
            {
                "unit_id": rollouts["unit_id"].array.take(mine),
                "go_live": rollouts["go_live"].array.take(mine),
                "live_to": own_to,
            }
        ),
        kpi_key=kpi.key,
        money_value=kpi.money_value,
        direction=kpi.direction,
        alpha=alpha,
        other_rollouts=other_rollouts(
            rollouts, targets, innovations, record.innovation_id, controls=c
        ),
        rows=rows,
        horizon_inference=horizon_inference,
    )


def event_study_frame(effect: InnovationEffect) -> tuple[pd.DataFrame, str]:
    """The estimate's ``by_horizon`` in readable units, and that unit.

    On the log scale the horizon effects are log-ratios; they are shown as % of the
    no-innovation path: ``100 · (exp(x) − 1)`` for the effect and both CI ends (an increasing
    map, so the interval stays an interval). On the level scale they are in the KPI's unit
    (returned unit ""). Columns: horizon, effect, ci_low, ci_high, n_obs.
    """
    bh = effect.estimate.by_horizon[["horizon", "effect", "ci_low", "ci_high", "n_obs"]].copy()
    if effect.scale != "log":
        return bh.reset_index(drop=True), ""
    for c in ("effect", "ci_low", "ci_high"):
        bh[c] = 100.0 * np.expm1(bh[c].astype("float64"))
    return bh.reset_index(drop=True), "%"


def innovation_record(
    innovations: pd.DataFrame,
    targets: pd.DataFrame,
    kpis: pd.DataFrame,
    rollouts: pd.DataFrame,
    code: str,
) -> InnovationRecord | None:
    """The record of the innovation with ``code`` (case-insensitive), or None if unknown."""
    hit = innovations[innovations["code"].astype(str).str.casefold() == code.strip().casefold()]
    if hit.empty:
        return None
    r = hit.iloc[0]
    iid = int(r["innovation_id"])
    t = _target_table(targets[targets["innovation_id"] == iid], kpis)
    go = rollouts.loc[rollouts["innovation_id"] == iid, "go_live"]
    return _record(r, t.drop(columns="innovation_id"), _ts(go.min()) if not go.empty else None)


def innovation_records(
    innovations: pd.DataFrame,
    targets: pd.DataFrame,
    kpis: pd.DataFrame,
    rollouts: pd.DataFrame,
) -> dict[int, InnovationRecord]:
    """``innovation_record`` of every innovation, by innovation_id: the targets are labelled
    and ordered once for the account (not once per innovation), the same records."""
    table = _target_table(targets, kpis)
    ids = table["innovation_id"].to_numpy()
    cut = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    starts = np.concatenate([[0], cut]) if ids.size else np.empty(0, dtype=np.int64)
    stops = np.concatenate([cut, [ids.size]]) if ids.size else np.empty(0, dtype=np.int64)
    body = table.drop(columns="innovation_id")
    per_innovation = {
        int(ids[a]): body.iloc[a:b].reset_index(drop=True)
        for a, b in zip(starts, stops, strict=True)
    }
    first = rollouts.groupby("innovation_id")["go_live"].min()
    out: dict[int, InnovationRecord] = {}
    for i in range(len(innovations)):
        r = innovations.iloc[i]
        iid = int(r["innovation_id"])
        if iid in out:  # a repeated id: the first row, as innovation_record finds it
            continue
        t = per_innovation.get(iid)
        if t is None:  # no targets: the same empty table innovation_record gives
            t = _target_table(targets.iloc[0:0], kpis).drop(columns="innovation_id")
        out[iid] = _record(r, t, _ts(first.get(iid)) if iid in first.index else None)
    return out


def _target_table(targets: pd.DataFrame, kpis: pd.DataFrame) -> pd.DataFrame:
    """Targets labelled from the KPI table, main target (largest |expected effect|, then
    KPI key) first within each innovation. Columns: innovation_id, kpi_key, label,
    unit_of_measure, direction, money_value, expected_effect_pct."""
    t = targets.copy()
    t["_abs"] = t["expected_effect_pct"].abs()
    t = t.sort_values(
        ["innovation_id", "_abs", "kpi_key"], ascending=[True, False, True], kind="stable"
    )
    k = kpis.rename(columns={"key": "kpi_key"})[
        ["kpi_key", "label", "unit_of_measure", "direction", "money_value"]
    ]
    t = t.merge(k, on="kpi_key", how="left")
    t["label"] = t["label"].fillna(t["kpi_key"])
    return t[
        [
            "innovation_id",
            "kpi_key",
            "label",
            "unit_of_measure",
            "direction",
            "money_value",
            "expected_effect_pct",
        ]
    ].reset_index(drop=True)


def _record(r: pd.Series, t: pd.DataFrame, first: pd.Timestamp | None) -> InnovationRecord:
    """The record from the innovation's row, its target table and its first go-live."""
    dates = {name: _ts(r[col]) for name, col in PHASES}
    dates["closed"] = _ts(r["closed_date"])
    live = first or dates["pilot"]
    idea = dates["idea"]
    return InnovationRecord(
        innovation_id=int(r["innovation_id"]),
        code=str(r["code"]),
        title=str(r["title"]),
        description=str(r["description"] or ""),
        category=str(r["category"]),
        scale=str(r["scale"]),
        origin=str(r["origin"]),
        stage=str(r["stage"]),
        owner=str(r["owner"] or ""),
        stage_dates=dates,
        targets=t,
        estimated_annual_value=float(r["estimated_annual_value"] or 0.0),
        innovation_days=float(r["innovation_days"] or 0.0),
        gain_share_eligible=bool(r["gain_share_eligible"]),
        evidence_status=str(r["evidence_status"] or "none"),
        first_go_live=first,
        idea_to_live_days=int((live - idea).days)
        if live is not None and idea is not None
        else None,
    )


def rollout_units(rollouts: pd.DataFrame, units: pd.DataFrame, innovation_id: int) -> pd.DataFrame:
    """The innovation's rollouts in go-live order.

    Columns: order (1 = first go-live, the pilot), unit, site, process, region, go_live, unit_id.
    """
    cols = ["order", "unit", "site", "process", "region", "go_live", "unit_id"]
    r = rollouts[rollouts["innovation_id"] == innovation_id]
    if r.empty:
        return pd.DataFrame(columns=cols)
    out = r.merge(units, on="unit_id", how="left").rename(columns={"name": "unit"})
    out = out.sort_values(["go_live", "unit"]).reset_index(drop=True)
    out["order"] = range(1, len(out) + 1)
    return out[cols]


def _month_index(ts: pd.Series) -> pd.Series:
    t = pd.to_datetime(ts)
    return t.dt.year * 12 + t.dt.month


def kpi_around_go_live(
    monthly: pd.DataFrame,
    rollouts: pd.DataFrame,
    units: pd.DataFrame,
    innovation_id: int,
    kpi_key: str,
    *,
    window: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """The KPI per rollout unit, aligned on that unit's go-live month.

    Columns: unit_id, unit, month, value, volume, go_live, go_live_month, months_from_go_live,
    phase ("before" / "after"; the go-live month counts as after), is_go_live_month, order
    (the unit's rollout order), comparison = ``index[m] · mean_pre(value[u]) / mean_pre(index)``
    (means over the unit's months before go-live): how the units not live moved
    (``comparison_series``), started from this unit's own level — the path it would have
    followed had it moved like them (NaN where the index stops).
    ``window=(lo, hi)`` keeps lo ≤ months_from_go_live ≤ hi.
    """
    cols = [
        "unit_id",
        "unit",
        "month",
        "value",
        "volume",
        "go_live",
        "go_live_month",
        "months_from_go_live",
        "phase",
        "is_go_live_month",
        "order",
        "comparison",
    ]
    ru = rollout_units(rollouts, units, innovation_id)
    series = monthly[monthly["kpi_key"] == kpi_key]
    if ru.empty or series.empty:
        return pd.DataFrame(columns=cols)
    df = series.merge(ru[["unit_id", "unit", "go_live", "order"]], on="unit_id", how="inner")
    df["go_live_month"] = pd.to_datetime(df["go_live"]).dt.to_period("M").dt.to_timestamp()
    df["months_from_go_live"] = (_month_index(df["month"]) - _month_index(df["go_live"])).astype(
        "int64"
    )
    df["phase"] = df["months_from_go_live"].map(lambda h: "after" if h >= 0 else "before")
    df["is_go_live_month"] = df["months_from_go_live"] == 0
    comp = comparison_series(monthly, rollouts, innovation_id, kpi_key)
    index = df["month"].map(dict(zip(comp["month"], comp["index"], strict=True))).astype("float64")
    # scale the index to each unit's own level before its go-live (means over its pre months)
    pre = df["months_from_go_live"] < 0
    unit_pre = (
        df[pre]
        .assign(ix=index[pre])
        .dropna(subset=["ix"])
        .groupby("unit_id")
        .agg(value=("value", "mean"), ix=("ix", "mean"))
    )
    factor = (unit_pre["value"] / unit_pre["ix"]).where(unit_pre["ix"] > 0)
    df["comparison"] = (index * df["unit_id"].map(factor).astype("float64")).astype("float64")
    if window is not None:
        lo, hi = window
        df = df[(df["months_from_go_live"] >= lo) & (df["months_from_go_live"] <= hi)]
    df["month"] = pd.to_datetime(df["month"]).astype("datetime64[ns]")
    df["go_live_month"] = df["go_live_month"].astype("datetime64[ns]")
    return df.sort_values(["order", "month"])[cols].reset_index(drop=True)


def _untreated(
    monthly: pd.DataFrame, rollouts: pd.DataFrame, innovation_id: int, kpi_key: str
) -> pd.DataFrame:
    """The KPI rows with ``live`` (unit live with the innovation that month)."""
    series = monthly[(monthly["kpi_key"] == kpi_key) & monthly["value"].notna()]
    go = rollouts[rollouts["innovation_id"] == innovation_id].groupby("unit_id")["go_live"].min()
    df = series.assign(go_live=series["unit_id"].map(go), w=series["volume"].fillna(0.0))
    df["live"] = df["go_live"].notna() & (
        _month_index(df["month"]) >= _month_index(df["go_live"].fillna(pd.Timestamp.max))
    )
    return df


def comparison_series(
    monthly: pd.DataFrame, rollouts: pd.DataFrame, innovation_id: int, kpi_key: str
) -> pd.DataFrame:
    """How the units *not* live with the innovation moved, as a chained index (first month = 1).

    For each month m, J = the units not live in m nor in the month before, observed in both
    (a unit is live from its go-live month on). With w_j = unit j's volume in the month before::

        index[m] = index[m-1] · Σ_J w_j·value[j,m] / Σ_J w_j·value[j,m-1]

    Chaining month-to-month changes of the same units means a unit going live (and leaving the
    comparison) makes no jump in the index. When J is empty the index stops (absent months).
    Columns: month, index, n_units (|J|).
    """
    cols = ["month", "index", "n_units"]
    df = _untreated(monthly, rollouts, innovation_id, kpi_key)
    if df.empty:
        return pd.DataFrame(columns=cols)
    months = sorted(df["month"].unique())
    wide_v = df.pivot_table(index="unit_id", columns="month", values="value", aggfunc="mean")
    wide_w = df.pivot_table(index="unit_id", columns="month", values="w", aggfunc="sum")
    wide_l = df.pivot_table(index="unit_id", columns="month", values="live", aggfunc="max")
    rows = [(months[0], 1.0, int((~wide_l[months[0]].fillna(True).astype(bool)).sum()))]
    level = 1.0
    for prev, cur in zip(months[:-1], months[1:], strict=True):
        ok = (~wide_l[prev].fillna(True).astype(bool)) & (~wide_l[cur].fillna(True).astype(bool))
        ok &= wide_v[prev].notna() & wide_v[cur].notna()
        w = wide_w.loc[ok, prev].fillna(0.0)
        if not ok.any():
            break
        if w.sum() <= 0:
            w = pd.Series(1.0, index=w.index)
        base = float((w * wide_v.loc[ok, prev]).sum())
        if base == 0:
            break
        level *= float((w * wide_v.loc[ok, cur]).sum()) / base
        rows.append((cur, level, int(ok.sum())))
    out = pd.DataFrame(rows, columns=cols)
    out["month"] = pd.to_datetime(out["month"]).astype("datetime64[ns]")
    return out
