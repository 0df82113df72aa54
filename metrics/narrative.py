"""Narrative (docs/ARCHITECTURE.md, Notation): story beats as data — a text template, the figures it quotes and the
metric they come from — rendered to sentences with Babel for the account's currency and locale.

A ``Beat`` never holds a formatted number: each figure is a ``Fig`` (a raw value and how to
show it), filled in by a builder below from a metric result (``metrics.then_now``,
``metrics.contract``, ``metrics.pipeline``, the headline and bridge of ``metrics.views``).
``render`` formats the figures and fills the template, so the same beats give "$2.4M" in
en_US and "2,4 Mio. €" in de_DE, and no number is ever typed by hand. Templates use
``str.format`` fields: ``"{n} innovations went live"`` with ``figures={"n": count(38)}``.

No Streamlit; the numbers are formatted by ``metrics.format`` (Babel), like every card, the PDF
and the command line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from babel.dates import format_date

from metrics import format as fmt
from metrics.format import plural
from metrics.rules import EVIDENCE_KEYS, UNDERUSED_SHARE, month_start

__all__ = [
    "Beat",
    "Fig",
    "contributors_beat",
    "count",
    "days_beat",
    "evidence_beat",
    "gain_share_beat",
    "kpi_move_beat",
    "money",
    "month",
    "number",
    "pct",
    "pipeline_beat",
    "productivity_beat",
    "render",
    "render_beat",
    "since_baseline_beat",
    "text",
    "value_beat",
    "went_live_beat",
]

Kind = Literal[
    "money", "money_exact", "pct", "change", "count", "number", "kpi", "month", "month_long", "text"
]


@dataclass(frozen=True)
class Fig:
    """One figure of a beat: a raw value and how to render it.

    kind: ``money`` (compact, "$2.4M"), ``money_exact`` ("$2,412,345"), ``pct`` (a share,
    "19.7%"), ``change`` (signed % change, "−19.7%"), ``count`` (whole number), ``number``
    (``digits`` decimals), ``kpi`` (a KPI value in its ``unit`` of measure: "$4.12", "3.60 %",
    "432 s"), ``month`` ("Oct 2026"), ``month_long`` ("October 2026"), ``text`` (as is).
    ``strong`` figures are set in bold when rendering Markdown.
    """

    value: Any
    kind: Kind = "text"
    unit: str = ""
    digits: int = 1
    strong: bool = False


@dataclass(frozen=True)
class Beat:
    """A fact of the story: ``template`` with ``{name}`` fields, the ``figures`` that fill
    them, and the metric (``source``) the figures come from."""

    template: str
    figures: dict[str, Fig]
    source: str


# -- figure constructors ---------------------------------------------------------------------


def money(value: float, *, exact: bool = False, strong: bool = False) -> Fig:
    """A money amount: compact ("$2.4M") or ``exact`` whole units ("$2,412,345")."""
    return Fig(float(value), "money_exact" if exact else "money", strong=strong)


def pct(value: float, *, signed: bool = False, strong: bool = False) -> Fig:
    """A ratio shown as a percentage (0.197 → "19.7%"); ``signed`` for a change ("−19.7%")."""
    return Fig(float(value), "change" if signed else "pct", strong=strong)


def count(value: int | float, *, strong: bool = False) -> Fig:
    """A whole number ("38", "1,204")."""
    return Fig(value, "count", strong=strong)


def number(value: float, digits: int = 1, *, strong: bool = False) -> Fig:
    """A decimal number with ``digits`` decimals."""
    return Fig(float(value), "number", digits=digits, strong=strong)


def month(value: Any, *, long: bool = False) -> Fig:
    """The month of a date: "Oct 2026", or ``long`` "October 2026" (in the locale)."""
    return Fig(pd.Timestamp(value).date(), "month_long" if long else "month")


def text(value: str, *, strong: bool = False) -> Fig:
    """Words quoted as they are (a name, a label, a period label)."""
    return Fig(str(value), "text", strong=strong)


def _kpi(value: float, unit: str) -> Fig:
    return Fig(float(value), "kpi", unit=unit)


# -- rendering -------------------------------------------------------------------------------


def render_figure(fig: Fig, currency: str, locale: str) -> str:
    """One figure as text in ``currency`` and ``locale`` (Babel)."""
    loc = locale or fmt.DEFAULT_LOCALE
    v = fig.value
    if fig.kind == "money":
        return fmt.money(v, currency, loc)
    if fig.kind == "money_exact":
        return fmt.money(v, currency, loc, compact=False)
    if fig.kind in ("pct", "change"):
        return fmt.pct(v, loc, signed=fig.kind == "change")
    if fig.kind == "count":
        return fmt.number(v, loc, 0)
    if fig.kind == "number":
        return fmt.number(v, loc, fig.digits)
    if fig.kind == "kpi":
        return fmt.kpi_value(v, fig.unit, currency, loc)
    if fig.kind in ("month", "month_long"):
        d = v if isinstance(v, dt.date) else pd.Timestamp(v).date()
        return str(format_date(d, "MMMM y" if fig.kind == "month_long" else "MMM y", locale=loc))
    return str(v)


def render_beat(beat: Beat, currency: str, locale: str, *, markdown: bool = False) -> str:
    """The beat's sentence: its template with every figure rendered (``strong`` ones in
    ``**bold**`` when ``markdown``)."""
    out = {}
    for name, fig in beat.figures.items():
        s = render_figure(fig, currency, locale)
        if markdown and fig.kind == "text":  # a title or name from data stays text
            s = fmt.escape_markdown(s)
        out[name] = f"**{s}**" if markdown and fig.strong else s
    return beat.template.format_map(out)


def render(
    beats: Iterable[Beat], currency: str, locale: str, *, markdown: bool = False
) -> list[str]:
    """Each beat's sentence, in order (``render_beat``)."""
    return [render_beat(b, currency, locale, markdown=markdown) for b in beats]


# -- beats from metric results ---------------------------------------------------------------


def _verb(change: float) -> str:
    return "fell" if change < 0 else "rose" if change > 0 else "held"


def _move(
    prefix: str, row: Mapping[Any, Any], periods: tuple[str, str] | None = None
) -> tuple[str, dict[str, Fig]]:
    """ "{kpi} fell from {then} to {now} ({change})" for a ``then_now.scorecard`` row; with
    ``periods`` (then, now labels) each level says which average it is ("$3.86, the Q3 2026
    average"), so it is never read as another figure of the same KPI (the contract's one
    month)."""
    unit = str(row.get("unit_of_measure") or "")
    figs = {
        f"{prefix}kpi": text(str(row["label"]).lower()),
        f"{prefix}then": _kpi(row["then"], unit),
        f"{prefix}now": _kpi(row["now"], unit),
        f"{prefix}change": pct(row["pct_change"], signed=True),
    }
    then_, now_ = f"{{{prefix}then}}", f"{{{prefix}now}}"
    if periods is not None:
        figs[f"{prefix}then_label"], figs[f"{prefix}now_label"] = (
            text(periods[0]),
            text(periods[1]),
        )
        then_ += f" ({{{prefix}then_label}} average)"
        now_ += f" ({{{prefix}now_label}} average)"
    if float(row["change"]) == 0:
        return f"{{{prefix}kpi}} held at {now_}", figs
    change = f", {{{prefix}change}}" if periods is not None else f" ({{{prefix}change}})"
    return (f"{{{prefix}kpi}} {_verb(float(row['change']))} from {then_} to {now_}{change}", figs)


def since_baseline_beat(
    baseline_label: str,
    went_live: int,
    *,
    units_selected: bool = False,
    move: Mapping[Any, Any] | None = None,
    worth: float | None = None,
    categories_selected: bool = False,
    now_label: str | None = None,
) -> Beat:
    """ "Since the baseline (Q1 2024), 38 innovations went live; cost per transaction fell
    from $4.12 (Q1 2024 average) to $3.31 (Q3 2026 average) (−19.7%), worth $2.4M so far."
    (the averages named when ``now_label``, the photo's now period, is given)

    ``went_live`` = rows of ``then_now.went_live_between(baseline, now)``; ``move`` = a
    ``then_now.scorecard`` row (baseline vs now); ``worth`` = the measured value to date of
    that KPI (Σ benefit over units and months). With ``categories_selected`` the KPI's move
    is still the operation's (all categories) and ``worth`` is what the selected categories'
    innovations are credited of it — said so."""
    where = " in the selected units" if units_selected else ""
    figs: dict[str, Fig] = {"baseline": text(baseline_label), "live": count(went_live, strong=True)}
    tpl = (
        "Since the baseline ({baseline}), {live} "
        + plural(went_live, "innovation")
        + " went live"
        + where
    )
    if move is not None and pd.notna(move["then"]) and pd.notna(move["now"]):
        part, more = _move("", move, (baseline_label, now_label) if now_label else None)
        tpl += (
            "; " + part + (" (the whole operation, all categories)" if categories_selected else "")
        )
        figs |= more
        if worth is not None and pd.notna(worth):
            tpl += (
                ", of which the selected categories' innovations are credited {worth}"
                if categories_selected
                else ", worth {worth} so far"
            )
            figs["worth"] = money(worth, strong=True)
    return Beat(
        tpl + ".", figs, "then_now.went_live_between · then_now.scorecard · value.measured (by KPI)"
    )


def value_beat(value: float, run_rate: float, as_of: Any) -> Beat:
    """ "Together with everything else that changed, the operation has delivered $6.5M of
    measured value by October 2026 — $3.3M a year at today's run-rate." (the headline: value
    to date and run-rate)."""
    return Beat(
        "Together with everything else that changed, the operation has delivered "
        "{value} of measured value by {as_of} — {run_rate} a year at today's run-rate.",
        {
            "value": money(value, strong=True),
            "as_of": month(as_of, long=True),
            "run_rate": money(run_rate, strong=True),
        },
        "views.headline_view (value to date, run-rate)",
    )


def kpi_move_beat(
    move: Mapping[Any, Any],
    now_label: str,
    worth: float | None = None,
    *,
    categories_selected: bool = False,
) -> Beat:
    """ "Held next to the baseline photograph, Q3 2026 also shows error rate fell from 3.60 %
    to 2.05 % (−43.1%), worth $1.1M so far." (a ``then_now.scorecard`` row; with
    ``categories_selected`` as in ``since_baseline_beat``)."""
    part, figs = _move("", move)
    figs["now_label"] = text(now_label)
    tpl = "Held next to the baseline photograph, {now_label} also shows " + part
    if categories_selected:
        tpl += " (the whole operation, all categories)"
    if worth is not None and pd.notna(worth):
        tpl += (
            ", of which the selected categories' innovations are credited {worth}"
            if categories_selected
            else ", worth {worth} so far"
        )
        figs["worth"] = money(worth, strong=True)
    return Beat(tpl + ".", figs, "then_now.scorecard · value.measured (by KPI)")


def contributors_beat(bridge: pd.DataFrame, top: int = 3) -> Beat | None:
    """The largest named steps of the baseline → now bridge (``views.bridge_steps``: label,
    value, kind, code) and the unattributed remainder (no share "explained": that is a
    by-product of the allocation, not evidence). None without named steps."""
    steps = bridge[bridge["kind"] == "step"]
    named = steps[steps["code"] != ""].head(top)
    if named.empty:
        return None
    total = float(bridge.loc[bridge["kind"] == "total", "value"].sum())
    figs: dict[str, Fig] = {}
    items = []
    for i, (label, value) in enumerate(zip(named["label"], named["value"], strict=True)):
        figs[f"name{i}"], figs[f"value{i}"] = text(str(label)), money(float(value))
        items.append(f"{{name{i}}} ({{value{i}}})")
    tpl = f"The largest contributors are {', '.join(items)}."
    un = bridge.loc[bridge["kind"] == "unattributed", "value"]
    if total and not un.empty:
        # true by construction (cents), not evidence: what the sentence may claim
        figs["un"] = money(float(un.sum()))
        tpl += (
            " Each innovation is credited its share of the value measured where it is live; "
            "the rest ({un}, where no live innovation targets the KPI) is shown as "
            "unattributed, never given to an innovation."
        )
    return Beat(tpl, figs, "views.bridge_steps (attribution)")


def evidence_beat(mix: Mapping[str, int], ci_level: int = 95) -> Beat:
    """How the live innovations' value is evidenced (``mix``: level → number of live
    innovations, from the headline)."""
    e, m, c = (mix.get(k, 0) for k in EVIDENCE_KEYS)  # strongest first
    return Beat(
        "Of the live innovations, {estimated} "
        + plural(e, "has", "have")
        + " a causal estimate whose {level} % interval excludes zero, {measured} "
        + plural(m, "is", "are")
        + " measured against the baseline and {claimed} "
        + plural(c, "rests on its", "rest on their")
        + " claim alone.",
        {
            "estimated": count(mix.get("estimated", 0)),
            "measured": count(mix.get("measured", 0)),
            "claimed": count(mix.get("claimed", 0)),
            "level": count(ci_level),
        },
        "views.headline_view (evidence mix)",
    )


def went_live_beat(
    then_label: str,
    now_label: str,
    went_live: int,
    *,
    units_selected: bool = False,
    unit_golives: int | None = None,
    categories_selected: bool = False,
) -> Beat:
    """ "Between H1 2023 and Q3 2026, 37 innovations went live for the first time (52 unit
    go-lives in all, counting rollouts of innovations already live elsewhere)." (rows of
    ``then_now.went_live_between``; ``unit_golives`` = ``then_now.unit_golives_between``).
    With ``categories_selected`` the innovations are the selected categories' and the KPIs
    shown beside them stay the operation's — said so."""
    where = " in the selected units" if units_selected else ""
    figs = {"then": text(then_label), "now": text(now_label), "n": count(went_live, strong=True)}
    tpl = (
        "Between {then} and {now}, {n} "
        + plural(went_live, "innovation")
        + (" of the selected categories" if categories_selected else "")
        + " went live for the first time"
        + where
    )
    if unit_golives is not None:
        figs["units"] = count(unit_golives)
        tpl += (
            " ({units} "
            + plural(unit_golives, "unit go-live")
            + " in all, counting rollouts of innovations already live elsewhere)"
        )
    tpl += "."
    if categories_selected:
        tpl += (
            " The KPIs are the whole operation's, all categories: a category filter selects "
            "innovations, not KPIs."
        )
    return Beat(tpl, figs, "then_now.went_live_between · then_now.unit_golives_between")


def productivity_beat(
    path: pd.DataFrame, pct_per_year: float, kpi_label: str, kpi_unit: str
) -> Beat:
    """The clause's required unit cost vs the actual one in the last month with data
    (``contract.productivity_path``): ahead of the path when actual ≤ required. ``kpi_unit``
    is the unit-cost KPI's unit of measure (the account's currency). The actual figure is
    that one month's, and the sentence says so (the then-vs-now photo shows a quarter's
    average of the same KPI)."""
    last = path.dropna(subset=["actual", "required"]).tail(1)
    if last.empty:
        return Beat("No unit-cost data in this selection.", {}, "contract.productivity_path")
    req, act = float(last["required"].iloc[0]), float(last["actual"].iloc[0])
    return Beat(
        "the clause asks for {p} % lower {kpi} each year: {required} by {month}; "
        "actual {actual} in {month} (that month alone), "
        + ("ahead of" if act <= req else "behind")
        + " the path.",
        {
            "p": number(pct_per_year, 1),
            "kpi": text(kpi_label.lower()),
            "required": _kpi(req, kpi_unit),
            "month": month(last["month"].iloc[0]),
            "actual": _kpi(act, kpi_unit),
        },
        "contract.productivity_path",
    )


def gain_share_beat(years: pd.DataFrame, gain_share_pct: float) -> Beat:
    """The latest contract year with measured savings (``contract.gain_share``): savings vs
    goal, by how much it beats or misses it, the client's guaranteed (1 − g)·G and the
    provider's S − (1 − g)·G, with the rule in words (g·G plus the outperformance, or the
    shortfall absorbed). A year still running says up to which month."""
    done = years.dropna(subset=["savings"])
    if done.empty:
        return Beat("No measured savings in the contract years yet.", {}, "contract.gain_share")
    r = done.iloc[-1]
    figs: dict[str, Fig] = {
        "year": text(str(r["contract_year"])),
        "start": month(r["start"]),
        "end": month(r["end"]),
        "savings": money(r["savings"]),
        "goal": money(r["goal"]),
        "client": money(r["client"]),
        "provider": money(r["provider"]),
        "g": number(gain_share_pct, 0),
    }
    span = "{start} – {end}"
    last = r.get("last_month")
    if last is not None and pd.notna(last) and pd.Timestamp(last) < month_start(r["end"]):
        span += ", to {last}"
        figs["last"] = month(last)
    figs["c"] = number(100 - gain_share_pct, 0)
    # the rule said in the sentence: a provider keeping 89 % of the savings under a "40 %"
    # label reads as a mistake unless the sentence says why
    if r["savings"] >= r["goal"]:
        verdict = "beat the agreed goal of {goal} by {diff}"
        split = (
            "The client is guaranteed {c} % of the goal, {client}; the provider keeps the "
            "rest, {provider}: its {g} % of the goal plus the {diff} by which savings beat it."
        )
        figs["diff"] = money(r["outperformance"])
    else:
        verdict = "fall short of the agreed goal of {goal} by {diff}"
        split = (
            "The client is still guaranteed {c} % of the goal, {client}; the provider "
            "absorbs the shortfall: its share is the savings minus that, {provider}."
        )
        figs["diff"] = money(r["shortfall"])
    pace = ""
    covered, year_months = r.get("covered"), r.get("year_months")
    if (
        covered is not None
        and year_months is not None
        and pd.notna(r.get("goal_to_date"))
        and 0 < int(covered) < int(year_months)
    ):
        # a year still running: the full-year verdict above, plus where it stands on pace
        figs |= {
            "covered": count(int(covered)),
            "year_months": count(int(year_months)),
            "to_date": money(r["goal_to_date"]),
            "pace": money(abs(r["savings"] - r["goal_to_date"])),
        }
        pace = (
            " Pro rata for the {covered} of {year_months} "
            + plural(int(year_months), "month")
            + " so far the goal is "
            "{to_date}: "
            + ("ahead" if r["savings"] >= r["goal_to_date"] else "behind")
            + " by {pace}."
        )
    return Beat(
        "{year} (" + span + "): measured savings of {savings} " + verdict + ". " + split + pace,
        figs,
        "contract.gain_share",
    )


def days_beat(days: pd.DataFrame) -> Beat:
    """Innovation days used across the contract years (``contract.innovation_days``) and the
    years over the contracted days."""
    over = days[days["used"] > days["contracted"]]
    used = float(days["used"].sum())
    figs: dict[str, Fig] = {
        "used": count(used) if used.is_integer() else number(used, 1),
        "years": count(len(days)),
    }
    under = days[days["used"] < UNDERUSED_SHARE * days["contracted"]]
    tpl = (
        "{used} "
        + plural(used, "innovation day")
        + " used across {years} "
        + plural(len(days), "contract year")
    )
    if over.empty and under.empty:
        tpl += ", within the contract every year."
    if not over.empty:
        names = []
        for i, y in enumerate(over["contract_year"]):
            figs[f"over{i}"] = text(str(y))
            names.append(f"{{over{i}}}")
        tpl += "; over the contract in " + ", ".join(names)
    if not under.empty:  # paid-for days left unused: said, not hidden under "within"
        names = []
        for i, row in enumerate(under.to_dict("records")):
            u, c = float(row["used"]), float(row["contracted"])
            figs[f"uy{i}"] = text(str(row["contract_year"]))
            figs[f"uu{i}"] = count(u) if u.is_integer() else number(u, 1)
            figs[f"uc{i}"] = count(c) if c.is_integer() else number(c, 1)
            names.append(f"{{uy{i}}} ({{uu{i}}} of {{uc{i}}} {plural(c, 'day')})")
        tpl += (
            f"; under-used (under {UNDERUSED_SHARE * 100:.0f} % of the contracted days) in "
            + ", ".join(names)
        )
    if not (over.empty and under.empty):
        tpl += "."
    return Beat(tpl, figs, "contract.innovation_days")


def pipeline_beat(counts: Mapping[str, int], upcoming: pd.DataFrame, next_up: int = 3) -> Beat:
    """What's next: the open pipeline (``pipeline.open_pipeline``: not live anywhere, not
    rejected or retired; ``counts`` holds its stages) and the claim per year it carries,
    ``Σ estimated_annual_value`` of the open innovations."""
    claim = float(upcoming["estimated_annual_value"].fillna(0.0).sum())
    figs: dict[str, Fig] = {
        "n": count(len(upcoming), strong=True),
        "pilot": count(counts.get("pilot", 0)),
        "prototype": count(counts.get("prototype", 0)),
        "evaluation": count(counts.get("evaluation", 0)),
        "idea": count(counts.get("idea", 0)),
        "claim": money(claim),
    }

    tpl = (
        "{n} "
        + plural(len(upcoming), "innovation is", "innovations are")
        + " in the pipeline, not yet live anywhere ({pilot} in pilot, {prototype} "
        + plural(counts.get("prototype", 0), "prototype")
        + ", {evaluation} in evaluation, {idea} "
        + plural(counts.get("idea", 0), "idea")
        + (", {scaled} scaled but not rolled out" if counts.get("scaled", 0) else "")
        + "), claiming {claim} a year between them if they deliver."
    )
    if counts.get("scaled", 0):
        figs["scaled"] = count(counts["scaled"])
    nxt = upcoming.head(next_up)
    if not nxt.empty:
        names = []
        for i, (c, t) in enumerate(zip(nxt["code"], nxt["title"], strict=True)):
            figs[f"next{i}"] = text(f"{c} {t}")
            names.append(f"{{next{i}}}")
        tpl += " Next up: " + ", ".join(names) + "."
    return Beat(tpl, figs, "pipeline.stage_counts · pipeline.open_pipeline")
