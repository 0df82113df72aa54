"""How value is computed, in plain words and formulas (docs/ARCHITECTURE.md, Notation), as data.

One source for the Data page's "How we compute value" and for any method appendix, so the
explanation cannot drift between screen and paper. Each ``MethodNote`` has a title, a plain
explanation (Markdown) and a formula in LaTeX (rendered with ``st.latex`` or as text).
The evidence-level wording is ``metrics.impact.EVIDENCE_NOTES`` itself, not a copy.

The same method in the short forms the screens and the pack show beside a figure lives here
too: the headline cards' help (``value_help``, ``run_rate_help``, ``live_help``,
``evidence_help``) and the sentence set beside the causal estimates (``estimates_note``).
They take the figures they quote and return plain words; the view models and the story
model only place them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from metrics.format import money, plural
from metrics.impact import MIN_CLUSTERED_TREATED, MIN_CLUSTERED_UNITS

__all__ = [
    "METHOD_NOTES",
    "NOTATION",
    "MethodNote",
    "estimates_note",
    "evidence_help",
    "live_help",
    "run_rate_help",
    "value_help",
]


@dataclass(frozen=True)
class MethodNote:
    key: str
    title: str
    text: str
    formula: str = ""


NOTATION = (
    "Notation: *u* a unit (site × process), *m* a month, *k* a KPI, *B* the baseline window "
    "agreed in the contract. The baseline is **frozen**: it never rolls forward."
)

METHOD_NOTES: tuple[MethodNote, ...] = (
    MethodNote(
        "baseline",
        "Baseline",
        "For each unit and KPI, the level during the baseline window. For per-transaction "
        "KPIs it is a volume-weighted ratio, so a quiet month does not weigh as much as a busy "
        "one. A unit with no data in the window is an error, never a zero.",
        r"\mathrm{base}_{u,k} = \frac{\sum_{m \in B} \mathrm{value}_{u,k,m}\,\mathrm{vol}_{u,m}}"
        r"{\sum_{m \in B} \mathrm{vol}_{u,m}}",
    ),
    MethodNote(
        "measured",
        "Measured benefit",
        "Each month, the improvement against the baseline, times the transactions handled and "
        "the money value of one unit of improvement. s_k is +1 when lower is better and −1 "
        "when higher is better. Level KPIs (e.g. FTE) are not multiplied by volume. "
        "Cumulative value is the sum over units and months up to a date; the run-rate is the "
        "mean of the last 3 months × 12. Months without data are flagged, never filled with 0.",
        r"\mathrm{benefit}_{u,k,m} = s_k\,(\mathrm{base}_{u,k} - \mathrm{actual}_{u,k,m})\,"
        r"\mathrm{vol}_{u,m}\,\mathrm{money}_k",
    ),
    MethodNote(
        "headline",
        "Headline value",
        "Only KPIs flagged for the headline are summed, so one saving is never counted twice "
        "(cost per transaction already contains handle time).",
        r"\mathrm{headline}_t = \sum_{k \in \mathrm{headline}} \sum_{u} \sum_{m \le t}"
        r" \mathrm{benefit}_{u,k,m}",
    ),
    MethodNote(
        "claimed",
        "Claimed value and realisation",
        "Each innovation's estimated annual value (the claim in the register) counts 1/12 per "
        "month at each unit from the first full month after its go-live there until its "
        "retirement, shared between its units by their transactions. Realisation divides the "
        "benefit measured at the innovation's units since its go-live (its share, when "
        "several live innovations target the KPI) by what was claimed — never capped by the "
        "promise, so an innovation that beats its claim shows more than 100 %.",
        r"\mathrm{claimed}_{i,u,m} = \frac{V_i}{12}\cdot\frac{\mathrm{vol}_{u}}"
        r"{\sum_{u' \in U_i}\mathrm{vol}_{u'}}\;\;(i\ \mathrm{live\ at}\ u,m),\qquad"
        r"\mathrm{realisation}_i = \frac{\mathrm{measured}_i}{\mathrm{claimed}_i}",
    ),
    MethodNote(
        "attributed",
        "Attributed and unattributed value",
        "For each unit, month and KPI, every innovation live there that targets the KPI is "
        "expected to bring x_i = s_k · (−e_i / 100) · base · vol · money (e_i its expected "
        "effect in %). The measured benefit — better or worse than promised — is shared among "
        "them in proportion to x_i; benefit where no innovation targeting the KPI is live "
        "stays visible as **unattributed**; it is never silently given to an innovation. "
        "Attributed plus unattributed equals measured. A retired innovation is credited up to "
        "its retirement date only. **Conservative policy, shown beside the measured figure and "
        "never called measured:** 'credited at most its expected effect' gives an innovation "
        "no more than it promised and no loss. Example: X promises −10 % on a cost of 11.5 "
        "per transaction over 500 transactions and the cost falls to 9, 8 and 8: measured "
        "500 + 700 + 350 = 1,550 against a claim of 1,500 (realisation 103.3 %); credited at "
        "most its expected effect: 575, and 975 stays unattributed.",
        r"\mathrm{attributed}_{i,u,k,m} = \mathrm{benefit}_{u,k,m}"
        r"\cdot\frac{x_i}{\sum_j x_j},\qquad"
        r"\mathrm{capped}_{i,u,k,m} = \min\!\Big(\max(\mathrm{benefit}_{u,k,m}, 0),"
        r"\ \sum_j x_j\Big)\cdot\frac{x_i}{\sum_j x_j}",
    ),
    MethodNote(
        "estimated",
        "Estimated (causal) effect",
        "Innovations go live unit by unit, so units not yet live are a comparison group. We "
        "use the imputation estimator of Borusyak, Jaravel & Spiess (2024): fit each unit's "
        "usual level α and each month's common movement β on the observations not yet "
        "treated — on the log of the KPI, so effects are proportional, as KPIs move — and "
        "the other innovations on the same KPI as controls (their live share γ), predict what "
        "the treated unit-months would have been without this innovation, and take actual "
        "versus predicted. Averaged with volume weights; 95 % confidence interval from "
        "standard errors clustered by unit, or — with fewer than "
        f"{MIN_CLUSTERED_TREATED} treated units or fewer than {MIN_CLUSTERED_UNITS} units in "
        "all — from permutation inference (go-live dates reshuffled across units), which is "
        "then said; that interval is the set of effects the same permutation test does not "
        "reject, so it excludes zero exactly when p < 0.05. Plain two-way fixed effects are "
        "not used: they are biased when rollouts are staggered and effects grow. Money: the "
        "effect in the KPI's unit times the treated volume and the KPI's money value. "
        "Per-innovation estimates do not add up to the measured total, and are not meant "
        "to: each is one innovation's effect on its main target KPI against a path without "
        "it, over all its live unit-months, the others controlled for; where effects compound "
        "or overlap each claims its own, and the measured total also holds whatever else "
        "changed (drift, mix, seasonality). The measured total is what the contract counts; "
        "an estimate says whether one innovation caused a change.",
        r"\log Y_{it} = \alpha_i + \beta_t + \gamma' X_{it} + \varepsilon_{it}"
        r"\ (\text{untreated}),\quad"
        r"\tau_{it} = \log Y_{it} - (\hat\alpha_i + \hat\beta_t + \hat\gamma' X_{it}),\quad"
        r"\mathrm{ATT} = \sum_{\text{treated}} w_{it}\,\tau_{it},\quad"
        r"\mathrm{money} = -s_k \sum_{\text{treated}} \mathrm{vol}_{it}\,"
        r"Y_{it}\,(1 - e^{-\mathrm{ATT}})\,\mathrm{money}_k",
    ),
    MethodNote(
        "gain_share",
        "Gain-share",
        "Per contract year, with agreed savings goal G, measured savings S and the provider's "
        "share g: the client is guaranteed its share of the goal; the provider receives the "
        "rest, so it keeps outperformance and absorbs shortfall. A year still running is also "
        "shown against the goal to date (G × months so far / 12); months of the baseline "
        "window inside a contract year count as zero savings, by construction.",
        r"\mathrm{client} = (1-g)\,G,\qquad \mathrm{provider} = S - (1-g)\,G,\qquad"
        r"\ G_{\text{to date}} = G\cdot\tfrac{\text{months so far}}{12}",
    ),
    MethodNote(
        "productivity",
        "Productivity clause",
        "The contract requires unit cost to fall by p per year from the baseline; the required "
        "path is compared with the actual unit cost. Innovation days used are compared with "
        "the days contracted per contract year.",
        r"\mathrm{required}_y = \mathrm{base}\cdot(1-p)^{y}",
    ),
)


# --------------------------------------------------------------------------------------
# The headline cards' help and the estimates sentence (plain words; the formulas are above)
# --------------------------------------------------------------------------------------


def value_help(exact: str) -> str:
    """Help of the value-to-date card; ``exact``: the value to the unit of currency."""
    return (
        f"Exactly {exact}: each month, how much better each unit did than in the frozen "
        "baseline, times the transactions it handled and what one unit of improvement is "
        "worth, added up since the baseline. Only the headline KPIs count, so one saving is "
        "never counted twice. The formula is on the Data page, under How we compute value."
    )


def run_rate_help(months: int) -> str:
    """Help of the run-rate card; ``months``: the post-baseline months averaged (3 at most)."""
    short = " (fewer than 3 months after the baseline so far)" if months < 3 else ""
    return f"Mean of the last {months} post-baseline months' measured value × 12{short}."


def live_help(*, units_selected: bool) -> str:
    """Help of the innovations-live card, for the whole account or selected units."""
    if units_selected:
        return (
            "Innovations live in the selected units by the last month shown, of the "
            "innovations live across the whole account (a unit is never set against the "
            "whole register)."
        )
    return (
        "Innovations live (gone live at a unit, not retired) by the last month shown, of "
        "the innovations in the register (live + in the pipeline + rejected + retired)."
    )


def evidence_help(mix: Mapping[str, int], live: int) -> str:
    """Help of the causal-estimates card: ``mix`` the live innovations per evidence level,
    ``live`` how many are live."""
    return (
        f"Of {live} live {plural(live, 'innovation')}: {mix['estimated']} proven (a causal "
        f"estimate whose 95 % range excludes zero), {mix['measured']} measured, "
        f"{mix['claimed']} claimed. A causal estimate compares the units where an innovation "
        "went live with comparable units where it had not (yet); the method is on the Data "
        "page, under How we compute value."
    )


def estimates_note(
    lines: pd.DataFrame,
    measured_total: float,
    currency: str,
    locale: str,
    *,
    units_selected: bool = False,
) -> str:
    """The sentence shown wherever the per-innovation causal estimates and the measured total
    appear together, with both sums from the figures: each estimate is one innovation's own
    causal effect over all its units and months live (whatever units are selected), the
    estimates overlap and are not additive, and the measured total is split among the
    innovations without overlap (the "estimated" note above). "" when no innovation has an
    estimate.

    ``lines``: the value lines (``metrics.views.value_lines``); ``Σ_i estimated_i`` over the
    lines with an estimate vs ``measured_total`` (the value to date: credited +
    unattributed)."""
    est = lines["estimated"].dropna() if "estimated" in lines.columns else pd.Series(dtype=float)
    if est.empty:
        return ""
    credited = float(lines["measured"].fillna(0).sum())
    n = len(est)
    where = (
        " (not only the selected units: an estimate is the innovation's, not a unit's)"
        if units_selected
        else ""
    )
    return (
        f"The {n} causal {plural(n, 'estimate adds', 'estimates add')} up to "
        f"{money(float(est.sum()), currency, locale)}, against "
        f"{money(measured_total, currency, locale)} measured in all "
        f"({money(credited, currency, locale)} credited to the innovations, "
        f"{money(measured_total - credited, currency, locale)} unattributed). The two are not "
        "additive: each estimate is one innovation's own causal effect on its main KPI over "
        f"all its units and months live{where}, the others controlled for, and innovations "
        "share units and KPIs, so their effects overlap; the measured value is split among "
        "the innovations without overlap."
    )
