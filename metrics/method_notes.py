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
from metrics.impact import EVIDENCE_NOTES, MIN_CLUSTERED_TREATED, MIN_CLUSTERED_UNITS
from metrics.rules import EVIDENCE_LABELS

__all__ = [
    "EVIDENCE_INTRO",
    "METHOD_NOTES",
    "NOTATION",
    "MethodNote",
    "blocks",
    "estimates_note",
    "evidence_help",
    "live_help",
    "readme_section",
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
        "(rate) KPIs it is a volume-weighted ratio, not the mean of monthly ratios, which "
        "would let a quiet month weigh as much as a busy one; for level KPIs (e.g. FTE) the "
        "mean over the window. A unit with its own window (a new site: the units file's "
        "baseline_start and baseline_end) uses that window instead of B. A unit with no data "
        "in its window has no baseline: its value is left out, never computed against zero, "
        "and the gap is listed by unit and KPI.",
        r"\mathrm{base}_{u,k} = \frac{\sum_{m \in B} \mathrm{value}_{u,k,m}\,\mathrm{vol}_{u,m}}"
        r"{\sum_{m \in B} \mathrm{vol}_{u,m}}",
    ),
    MethodNote(
        "measured",
        "Measured benefit",
        "Each month, the improvement against the baseline, times the transactions handled and "
        "the money value of one unit of improvement. s_k is +1 when lower is better and −1 "
        "when higher is better. Level KPIs (e.g. FTE) are not multiplied by volume. "
        "Cumulative value (the value to date) is the sum over units and months up to a date; "
        "the run-rate is the mean of the last 3 months × 12. Months without data are flagged, "
        "never filled with zeros.",
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
        "Attributed plus unattributed equals measured, to the cent. A retired innovation is "
        "credited up to its retirement date only. **Conservative policy, shown beside the "
        "measured figure and never called measured:** 'credited at most its expected effect' "
        "gives an innovation no more than it promised and no loss; the rest stays "
        "unattributed. Example (one KPI, cost per transaction, lower is better, money value "
        "1.0; baseline 11.5 at unit A): innovation X promises −10 % and claims 6,000 a year; "
        "live from April, the cost falls to 9, 8 and 8 on 200, 200 and 100 transactions. "
        "Measured 500 + 700 + 350 = 1,550 against a claim of 1,500: **realisation 103.3 %**. "
        "Credited at most its expected effect (10 % × 11.5 × 500 transactions): 575, and 975 "
        "stays unattributed.",
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
        "the other innovations on the same KPI as controls (their live share γ), so one "
        "innovation's estimate does not absorb another's effect; predict what the treated "
        "unit-months would have been without this innovation, and take actual versus "
        "predicted. Averaged with volume weights; 95 % confidence interval from standard "
        "errors clustered by unit, or — with fewer than "
        f"{MIN_CLUSTERED_TREATED} treated units or fewer than {MIN_CLUSTERED_UNITS} units in "
        "all — from permutation inference (go-live dates reshuffled across units), which is "
        "then said; that interval is the set of effects the same permutation test does not "
        "reject, so it excludes zero exactly when p < 0.05. A retired innovation is estimated "
        "on the months it was live: its units' months from the retirement month on are left "
        "out (a retired control is split at its retirement, before and after). Plain two-way "
        "fixed effects are not used: they are biased when rollouts are staggered and effects "
        "grow. Money: the effect in the KPI's unit times the treated volume and the KPI's "
        "money value. Per-innovation estimates do not add up to the measured total, and are "
        "not meant to: each is one innovation's effect on its main target KPI against a path "
        "without it, over all its live unit-months, the others controlled for; where effects "
        "compound or overlap each claims its own, and the measured total also holds whatever "
        "else changed (drift, mix, seasonality). The pages print that sentence with both sums "
        "wherever both appear. The measured total is what the contract counts; an estimate "
        "says whether one innovation caused a change.",
        r"\log Y_{it} = \alpha_i + \beta_t + \gamma' X_{it} + \varepsilon_{it}"
        r"\ (\text{untreated}),\quad"
        r"\tau_{it} = \log Y_{it} - (\hat\alpha_i + \hat\beta_t + \hat\gamma' X_{it}),\quad"
        r"\mathrm{ATT} = \sum_{\text{treated}} w_{it}\,\tau_{it},\quad"
        r"\mathrm{money} = -s_k \sum_{\text{treated}} \mathrm{vol}_{it}\,"
        r"Y_{it}\,(1 - e^{-\mathrm{ATT}})\,\mathrm{money}_k",
    ),
    MethodNote(
        "then_now",
        "Then vs now",
        "The same KPI scorecard for two periods (default: the baseline window and the last "
        "full quarter): rate KPIs volume-weighted over units and months, level KPIs summed "
        "over units and averaged over months; change, % change and better or worse by "
        "direction; the innovations that went live for the first time in between, and apart "
        "from them the unit go-lives (rollouts, also of innovations already live elsewhere). "
        "Each now is named as the period's average ('$3.86, the Q3 2026 average'); the "
        "contract's productivity clause compares one month ('$3.90 in Oct 2026, that month "
        "alone'). Transactions are the client's demand, neither better nor worse (shown "
        "neutral); beside the FTE KPI, FTE per 1K transactions (FTE level ÷ transactions a "
        "month × 1,000), lower is better. Presets: baseline vs last quarter, the same quarter "
        "a year earlier, since the last renewal pack edition.",
        r"\mathrm{change}_k = \mathrm{now}_k - \mathrm{then}_k,\qquad"
        r"\mathrm{pct}_k = \frac{\mathrm{change}_k}{\mathrm{then}_k},\qquad"
        r"\mathrm{better}_k:\ s_k\,\mathrm{change}_k < 0",
    ),
    MethodNote(
        "states",
        "States",
        "Every innovation is in exactly one state: live (gone live at a unit, not retired), "
        "in pipeline, rejected or retired, so the four add up to the register; with a unit "
        "selected the live count is set against the account's live innovations.",
        r"\mathrm{live} + \mathrm{pipeline} + \mathrm{rejected} + \mathrm{retired}"
        r" = \mathrm{register}",
    ),
    MethodNote(
        "pipeline",
        "Pipeline",
        "Stage counts (an innovation counts for every stage it reached; a retired one reached "
        "scaled, and clicking a funnel stage lists exactly those innovations) and conversion "
        "between stages, the share of ideas reaching pilot, the median days from idea to "
        "live, the kill rate (of the ideas decided either way, the share rejected), the mix "
        "by scale, category and origin, and unit go-lives per quarter (rollouts).",
        r"\mathrm{conversion}_s = \frac{\mathrm{reached}_s}{\mathrm{reached}_{s-1}},\qquad"
        r"\mathrm{kill\ rate} = \frac{\mathrm{rejected}}"
        r"{\mathrm{rejected} + \mathrm{reached}_{\mathrm{pilot}}}",
    ),
    MethodNote(
        "money",
        "Money",
        "Each unit × KPI × month is booked in whole cents (half to even); totals are sums of "
        "cents, so every view, the command line and the PDF print the same figure. Numbers "
        "are formatted with Babel in the account's currency and locale.",
        r"\mathrm{cents}_{u,k,m} = \mathrm{round}(100\cdot\mathrm{benefit}_{u,k,m}),\qquad"
        r"\mathrm{total} = \sum_{u,k,m} \mathrm{cents}_{u,k,m} / 100",
    ),
    MethodNote(
        "gain_share",
        "Gain-share",
        "Per contract year, with agreed savings goal G, measured savings S and the provider's "
        "share g: the client is guaranteed its share of the goal; the provider receives the "
        "rest, so it keeps outperformance and absorbs shortfall. A year still running is also "
        "put on pace against the goal to date (G × months so far / 12), beside, never instead "
        "of, the full-year figures; a contract year holding months of the baseline window "
        "says so: their savings are zero by construction.",
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

#: The heading of the evidence levels, after the notes (the levels are
#: ``metrics.impact.EVIDENCE_NOTES``, named by ``metrics.rules.EVIDENCE_LABELS``).
EVIDENCE_INTRO = (
    "**Evidence levels**, printed next to every innovation's value. A level qualifies the "
    "innovation, not the amount beside it: the bridge's bar is the measured credit ('$1.1M "
    "measured · evidence: proven (causal estimate), estimate $1.5M')."
)


def blocks() -> list[tuple[str, str]]:
    """The method as the Data page's "How we compute value" shows it, in order: ``("markdown",
    text)`` and ``("latex", formula)`` blocks. README's "How value is computed" section is
    ``readme_section()`` of the same blocks (tests/test_readme.py)."""
    out: list[tuple[str, str]] = [("markdown", NOTATION)]
    for note in METHOD_NOTES:
        out.append(("markdown", f"**{note.title}.** {note.text}"))
        if note.formula:
            out.append(("latex", note.formula))
    out.append(("markdown", EVIDENCE_INTRO))
    levels = (f"- **{EVIDENCE_LABELS[lvl]}** — {text}" for lvl, text in EVIDENCE_NOTES.items())
    out.append(("markdown", "\n".join(levels)))
    return out


def readme_section() -> str:
    """README's "How value is computed" section body: ``blocks()`` with each formula as a
    GitHub math block. ``python -m metrics.method_notes`` prints it."""
    parts = [f"```math\n{text}\n```" if kind == "latex" else text for kind, text in blocks()]
    return "\n\n".join(parts) + "\n"


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


if __name__ == "__main__":
    print(readme_section(), end="")
