"""Two seeded demo accounts: believable, reproducible, and honest about the truth they planted.

``generate(seed, scale)`` returns the first account's import frames (keyed by the entity names
of ``data_loaders.formats``); ``generate_account(SECOND)`` the second's, a smaller EUR account
with other sites, processes and KPIs, so per-account scope and leaks can be seen and tested.
``load_demo(engine)`` imports each account as its own batch. The first account is generated
exactly as before the second existed (same random draws in the same order), so every figure
pinned by tests stays put.

The model behind every KPI value, per unit u, KPI k and month m::

    value[u,k,m] = base[u,k] · season_k(m) · drift_k(m) · Π_i (1 + e_i · live_i[u,m]) · (1 + ε)

* ``e_i`` is the planted relative effect of innovation i on its target KPI (stored as
  ``planted_effects``; the register's ``expected_effect_pct`` is the provider's claim, which
  is deliberately a little optimistic and noisy, as real claims are);
* ``live_i[u,m]`` is the share of month m after i's go-live at unit u (0 before, partial in the
  go-live month, 1 after);
* ``season_k`` is a small annual cycle, ``drift_k`` a slow wage-driven drift that no innovation
  explains (it shows up as "unattributed"), and ε is noise.

scale=1 gives monthly observations for 9 units (3 sites × 3 processes) over 46 months.
scale=N>1 gives *daily* observations for 3·N sites × 3 processes: about 75,600·N rows, so
``scale=14`` makes ≥ 1M KPI rows for benchmarks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from metrics.rules import FORWARD_STAGES

ACCOUNT = "Northwind Insurance"
DEFAULT_SEED = 7
FIRST_MONTH = pd.Timestamp("2023-01-01")
LAST_MONTH = pd.Timestamp("2026-10-01")  # fixed, so the demo is the same whatever today is
BASE_SITES = [("Manila", "APAC"), ("Kraków", "EMEA"), ("Bogotá", "LATAM")]
EXTRA_SITES = [
    ("Cebu", "APAC"),
    ("Pune", "APAC"),
    ("Wrocław", "EMEA"),
    ("Cairo", "EMEA"),
    ("Medellín", "LATAM"),
    ("Lima", "LATAM"),
    ("Kuala Lumpur", "APAC"),
    ("Sofia", "EMEA"),
    ("Monterrey", "LATAM"),
    ("Chennai", "APAC"),
    ("Cluj", "EMEA"),
    ("Santiago", "LATAM"),
]
PROCESSES = ["Claims intake", "Policy servicing", "Billing support"]

# key, label, unit of measure, direction, kind, money value, headline
KPI_DEFS: list[tuple[str, str, str, str, str, float | None, bool]] = [
    ("cost_per_txn", "Cost per transaction", "USD", "lower", "rate", 1.0, True),
    ("aht", "Average handle time", "seconds", "lower", "rate", 0.008, False),
    ("error_rate", "Error rate", "%", "lower", "rate", 0.12, True),
    ("csat", "Customer satisfaction", "score", "higher", "rate", None, False),
    ("fte", "Full-time equivalents", "FTE", "lower", "level", 3500.0, False),
    ("volume", "Transactions", "transactions", "higher", "level", None, False),
]

TITLES: dict[str, list[str]] = {
    "cost_per_txn": [
        "Robotic claims registration",
        "Straight-through policy renewals",
        "Auto-indexing of inbound mail",
        "Shared queue across sites",
        "E-billing adoption drive",
        "Self-service address changes",
        "Bot for premium reconciliation",
        "Template library for letters",
        "Paperless claim packs",
        "Workforce scheduling model",
        "Digital first notice of loss",
        "Bulk correction tool",
        "OCR for handwritten forms",
        "Consolidated billing cycles",
        "Automated payment matching",
        "Email triage classifier",
        "Night-shift batch processing",
        "Vendor invoice portal",
        "Chatbot for policy documents",
        "Lean review of refunds",
    ],
    "aht": [
        "Single view of the customer",
        "Knowledge base in the agent desktop",
        "Call-reason codes cleanup",
        "Pre-filled claim forms",
        "Screen-pop with policy data",
        "Macro keys for common notes",
        "Guided workflow for endorsements",
        "Speech analytics coaching",
        "Faster identity verification",
        "Unified search across systems",
    ],
    "error_rate": [
        "Four-eyes check on high-value claims",
        "Validation rules at data entry",
        "Root-cause huddles",
        "Checklist for policy changes",
        "Error dashboard per team",
        "Peer review on new joiners",
        "Duplicate payment detector",
        "Address validation service",
        "Mandatory field audit",
        "Quality sampling by risk",
        "Poka-yoke on bank details",
        "Rules engine for coverage checks",
        "Clean-desk reconciliation",
        "Second-level review for refunds",
        "Error taxonomy and coaching",
        "Automated policy-number check",
        "Standard operating procedures refresh",
        "Claims coding assistant",
        "Exception queue redesign",
        "Pre-submission validation bot",
    ],
    "csat": [
        "Callback instead of hold",
        "Plain-language letters",
        "Proactive claim status SMS",
        "First-contact resolution drive",
        "Empathy training",
        "Customer journey redesign",
        "Complaint fast lane",
        "Follow-up survey loop",
        "Omnichannel handover",
        "Vulnerable customer protocol",
    ],
}
# typical planted relative effect (%), by target KPI: (low, high)
EFFECTS = {
    "cost_per_txn": (-4.5, -1.5),
    "aht": (-6.0, -2.0),
    "error_rate": (-14.0, -5.0),
    "csat": (1.0, 3.5),
}
OWNERS = [
    "Ana Reyes",
    "Tomasz Nowak",
    "Camila Ortiz",
    "Raj Mehta",
    "Joanna Kowalska",
    "Miguel Santos",
    "Grace Lim",
    "Daniel Herrera",
]
STAGE_PLAN = (  # stage, how many
    [
        ("scaled", 26),
        ("pilot", 9),
        ("retired", 2),
        ("idea", 8),
        ("evaluation", 5),
        ("prototype", 4),
        ("rejected", 6),
    ]
)


FIRST_EVENTS: list[tuple[dt.date, str, str, str]] = [
    (
        dt.date(2023, 1, 1),
        "Contract start",
        "contract",
        "Four-year BPO contract with a 4 % productivity clause and 40 % gain-share.",
    ),
    (
        dt.date(2023, 6, 30),
        "Baseline frozen",
        "contract",
        "Baseline window January–June 2023 agreed and frozen.",
    ),
    (
        dt.date(2023, 9, 14),
        "First joint innovation day",
        "innovation day",
        "Client and provider teams workshop 40 ideas in Manila.",
    ),
    (
        dt.date(2024, 3, 4),
        "New operations director, Kraków",
        "leadership",
        "Leadership change at the Kraków site.",
    ),
    (
        dt.date(2024, 10, 10),
        "Innovation day 2024",
        "innovation day",
        "Second joint innovation day; focus on quality.",
    ),
    (
        dt.date(2025, 1, 15),
        "Contract year 3 review",
        "contract",
        "Savings goal reaffirmed; gain-share extended to process innovations.",
    ),
    (
        dt.date(2025, 7, 1),
        "Core system upgrade",
        "operations",
        "Client migrated its policy system; two weeks of slower handling.",
    ),
    (
        dt.date(2025, 10, 9),
        "Innovation day 2025",
        "innovation day",
        "Third joint innovation day; automation backlog prioritised.",
    ),
]


@dataclass(frozen=True)
class Model:
    """How one modelled KPI behaves: base range per unit, slow drift per month, seasonal
    amplitude, noise, and an optional cap (e.g. a satisfaction score cannot pass 99)."""

    base: tuple[float, float]
    drift: float
    season: float
    noise: float
    cap: float | None = None


@dataclass(frozen=True)
class AccountSpec:
    """Everything that differs between the demo accounts. The generator is the same."""

    name: str
    seed: int
    currency: str
    locale: str
    first_month: pd.Timestamp
    contract: tuple[dt.date, dt.date]
    baseline: tuple[dt.date, dt.date]
    gain_share_pct: float
    savings_goal_per_year: float
    productivity_pct_per_year: float
    innovation_days_per_year: float
    base_sites: list[tuple[str, str]]
    extra_sites: list[tuple[str, str]]
    processes: list[str]
    kpi_defs: list[tuple[str, str, str, str, str, float | None, bool]]
    models: dict[str, Model]  # in the order their random draws are made
    fte: tuple[str, str, float]  # (FTE key, handle-time key, work per FTE-month)
    titles: dict[str, list[str]]
    effects: dict[str, tuple[float, float]]
    categories: dict[str, str]
    kpi_cycle: list[str]
    owners: list[str]
    stage_plan: list[tuple[str, int]]
    code_prefix: str
    events: list[tuple[dt.date, str, str, str]] = field(default_factory=list)
    provider: str = ""  # the parties the renewal pack's cover names
    client: str = ""

    @property
    def months(self) -> pd.DatetimeIndex:
        return pd.date_range(self.first_month, LAST_MONTH, freq="MS")


FIRST = AccountSpec(
    name=ACCOUNT,
    seed=DEFAULT_SEED,
    currency="USD",
    locale="en_US",
    first_month=FIRST_MONTH,
    contract=(dt.date(2023, 1, 1), dt.date(2026, 12, 31)),
    baseline=(dt.date(2023, 1, 1), dt.date(2023, 6, 30)),
    gain_share_pct=40.0,
    savings_goal_per_year=450_000.0,
    productivity_pct_per_year=4.0,
    innovation_days_per_year=100.0,
    base_sites=BASE_SITES,
    extra_sites=EXTRA_SITES,
    processes=PROCESSES,
    kpi_defs=KPI_DEFS,
    models={
        "cost_per_txn": Model((3.4, 5.2), 0.0006, 0.01, 0.006),
        "aht": Model((280, 520), 0.0, 0.02, 0.01),
        "error_rate": Model((2.0, 5.5), 0.0, 0.03, 0.025),
        "csat": Model((72, 84), 0.0, 0.005, 0.004, cap=99.0),
    },
    # Staff needed follows volume × handle time (seconds worked per FTE-month ≈ 100,000).
    fte=("fte", "aht", 100_000.0),
    titles=TITLES,
    effects=EFFECTS,
    categories={
        "cost_per_txn": "operational efficiency",
        "aht": "operational efficiency",
        "error_rate": "process effectiveness",
        "csat": "strategic impact",
    },
    kpi_cycle=["cost_per_txn", "aht", "error_rate", "cost_per_txn", "csat", "error_rate"],
    owners=OWNERS,
    stage_plan=STAGE_PLAN,
    code_prefix="INN",
    events=FIRST_EVENTS,
    provider="Meridian Operations Partners",
    client="Northwind Insurance Group",
)

# The second account: a European utility's back office, in euros, with its own sites,
# processes, KPIs, register and seed. Its name sorts after the first account's, so the
# first stays the default account wherever the app picks the first name.
SECOND = AccountSpec(
    name="Rheinland Energie",
    seed=23,
    currency="EUR",
    locale="de_DE",
    first_month=pd.Timestamp("2024-04-01"),
    contract=(dt.date(2024, 4, 1), dt.date(2027, 3, 31)),
    baseline=(dt.date(2024, 4, 1), dt.date(2024, 9, 30)),
    gain_share_pct=30.0,
    savings_goal_per_year=220_000.0,
    productivity_pct_per_year=3.0,
    innovation_days_per_year=60.0,
    base_sites=[("Lisbon", "EMEA"), ("Porto", "EMEA")],
    extra_sites=[("Braga", "EMEA"), ("Coimbra", "EMEA")],
    processes=["Meter-to-bill", "Move-in and move-out", "Collections"],
    kpi_defs=[
        ("cost_per_case", "Cost per case", "EUR", "lower", "rate", 1.0, True),
        ("handle_minutes", "Handling time", "minutes", "lower", "rate", 0.45, False),
        ("rework_rate", "Rework rate", "%", "lower", "rate", 0.09, True),
        ("nps", "Net promoter score", "points", "higher", "rate", None, False),
        ("agents", "Agents", "FTE", "lower", "level", 4100.0, False),
        ("cases", "Cases handled", "cases", "higher", "level", None, False),
    ],
    models={
        "cost_per_case": Model((6.1, 8.9), 0.0008, 0.015, 0.007),
        "handle_minutes": Model((9.0, 16.0), 0.0, 0.025, 0.012),
        "rework_rate": Model((3.5, 7.5), 0.0, 0.04, 0.03),
        "nps": Model((18, 34), 0.0, 0.01, 0.01, cap=90.0),
    },
    # Minutes worked per FTE-month ≈ 8,400 (140 productive hours).
    fte=("agents", "handle_minutes", 8_400.0 / 1.0),
    titles={
        "cost_per_case": [
            "Smart-meter read validation bot",
            "Automated final-bill run",
            "Self-service meter readings",
            "Direct-debit mandate digitisation",
            "Shared back office Lisbon–Porto",
            "Paperless move-in pack",
            "Tariff-change robot",
            "Bulk address cleansing",
            "Automated dunning letters",
            "Meter-exchange scheduling tool",
        ],
        "handle_minutes": [
            "Single customer screen for energy accounts",
            "Guided move-out workflow",
            "Meter-history lookup in one click",
            "Payment-plan calculator",
            "Knowledge cards for tariff questions",
        ],
        "rework_rate": [
            "Estimated-read plausibility rules",
            "Four-eyes check on refunds over 500 EUR",
            "Meter-swap checklist",
            "Root-cause board for billing errors",
            "Duplicate-account detector",
            "Mandatory IBAN validation",
        ],
        "nps": [
            "Proactive high-bill warning",
            "Same-day callback promise",
            "Plain-language annual statement",
            "Hardship fast lane",
        ],
    },
    effects={
        "cost_per_case": (-5.0, -2.0),
        "handle_minutes": (-7.0, -2.5),
        "rework_rate": (-16.0, -6.0),
        "nps": (2.0, 6.0),
    },
    categories={
        "cost_per_case": "operational efficiency",
        "handle_minutes": "operational efficiency",
        "rework_rate": "process effectiveness",
        "nps": "strategic impact",
    },
    kpi_cycle=["cost_per_case", "rework_rate", "handle_minutes", "cost_per_case", "nps"],
    owners=["Inês Carvalho", "Jonas Becker", "Sofia Almeida", "Lukas Hoffmann", "Rita Sousa"],
    stage_plan=[
        ("scaled", 9),
        ("pilot", 4),
        ("retired", 1),
        ("idea", 3),
        ("evaluation", 2),
        ("prototype", 2),
        ("rejected", 2),
    ],
    code_prefix="RHE",
    events=[
        (
            dt.date(2024, 4, 1),
            "Contract start",
            "contract",
            "Three-year back-office contract with a 3 % productivity clause and 30 % gain-share.",
        ),
        (
            dt.date(2024, 9, 30),
            "Baseline frozen",
            "contract",
            "Baseline window April–September 2024 agreed and frozen.",
        ),
        (
            dt.date(2025, 2, 12),
            "Innovation day Porto",
            "innovation day",
            "Joint workshop on meter-to-bill automation.",
        ),
        (
            dt.date(2025, 11, 3),
            "Winter tariff change",
            "operations",
            "Regulated tariff change; a month of heavy billing queries.",
        ),
    ],
    provider="Meridian Operations Partners",
    client="Rheinland Energie AG",
)

ACCOUNTS = (FIRST, SECOND)


def _months() -> pd.DatetimeIndex:
    return FIRST.months


def _units(scale: int, spec: AccountSpec = FIRST) -> pd.DataFrame:
    n_base = len(spec.base_sites)
    n_sites = n_base if scale <= 1 else n_base * scale
    sites = (spec.base_sites + spec.extra_sites * (1 + n_sites // len(spec.extra_sites)))[:n_sites]
    seen: dict[str, int] = {}
    rows = []
    for site, region in sites:
        seen[site] = seen.get(site, 0) + 1
        name = site if seen[site] == 1 else f"{site} {seen[site]}"
        for process in spec.processes:
            rows.append({"account": spec.name, "site": name, "process": process, "region": region})
    return pd.DataFrame(rows)


def _innovations(
    rng: np.random.Generator, units: pd.DataFrame, spec: AccountSpec = FIRST
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Register, rollouts and planted effects."""
    kpi_cycle = spec.kpi_cycle
    titles = {k: list(v) for k, v in spec.titles.items()}
    for v in titles.values():
        rng.shuffle(v)
    categories = spec.categories
    first_month = spec.first_month
    # Windows scale with the account's history (46 months for the first account).
    n_months = len(spec.months)
    latest_pilot_live, latest_pilot_scaled = round(31 * n_months / 46), round(24 * n_months / 46)
    rejected_span = int(1100 * n_months / 46)
    rows: list[dict[str, Any]] = []
    rollouts: list[dict[str, Any]] = []
    planted: list[dict[str, Any]] = []
    n = 0
    unit_keys = list(units[["site", "process"]].itertuples(index=False, name=None))
    last_day = (LAST_MONTH + pd.offsets.MonthEnd(0)).date()
    kpi_names = {k[0]: k[1] for k in spec.kpi_defs}
    for stage, count in spec.stage_plan:
        for _ in range(count):
            kpi = kpi_cycle[n % len(kpi_cycle)]
            n += 1
            title = titles[kpi].pop() if titles[kpi] else f"Improvement wave {n}"
            lo, hi = spec.effects[kpi]
            true_effect = float(np.round(rng.uniform(lo, hi), 2))
            # Claims are optimistic, as they are in life.
            expected = float(np.round(true_effect * rng.uniform(0.95, 1.3), 1))
            # pilots and scaled innovations have go-lives; a retired one had them once
            live = stage == "retired" or (
                stage in FORWARD_STAGES
                and FORWARD_STAGES.index(stage) >= FORWARD_STAGES.index("pilot")
            )
            if live:
                latest_pilot = latest_pilot_live if stage == "pilot" else latest_pilot_scaled
                pilot = (
                    first_month
                    + pd.DateOffset(months=int(rng.integers(7, latest_pilot)))
                    + pd.Timedelta(days=int(rng.integers(0, 27)))
                ).date()
                idea = pilot - dt.timedelta(days=int(rng.integers(70, 200)))
            elif stage == "rejected":
                idea = (
                    first_month + pd.Timedelta(days=int(rng.integers(60, rejected_span)))
                ).date()
                pilot = None
            else:
                idea = (LAST_MONTH - pd.Timedelta(days=int(rng.integers(10, 300)))).date()
                pilot = None
            evaluation = idea + dt.timedelta(days=int(rng.integers(10, 40)))
            prototype = evaluation + dt.timedelta(days=int(rng.integers(15, 50)))
            scaled = closed = None
            if stage == "scaled" or stage == "retired":
                assert pilot is not None
                scaled = pilot + dt.timedelta(days=int(rng.integers(60, 160)))
            if stage == "retired":
                assert scaled is not None
                closed = min(scaled + dt.timedelta(days=int(rng.integers(200, 400))), last_day)
            if stage == "rejected":
                closed = evaluation + dt.timedelta(days=int(rng.integers(5, 40)))
            code = f"{spec.code_prefix}-{n:03d}"
            stage_order = list(FORWARD_STAGES)
            reached = (
                stage_order.index(stage)
                if stage in stage_order
                else (4 if stage == "retired" else 1)
            )
            rows.append(
                {
                    "account": spec.name,
                    "code": code,
                    "title": title,
                    # the KPI's name, as a reader knows it ("average handle time"), never its key
                    "description": f"{title}: targets {kpi_names[kpi].lower()} "
                    f"({expected:+.1f} % expected).",
                    "category": categories[kpi] if rng.random() > 0.15 else "process effectiveness",
                    "scale": (
                        "continuous improvement"
                        if abs(true_effect) < 0.6 * abs(hi + lo)
                        else "process excellence"
                    )
                    if n % 9
                    else "transformative",
                    "origin": ["provider", "joint", "client"][
                        int(rng.choice(3, p=[0.55, 0.3, 0.15]))
                    ],
                    "stage": stage,
                    "idea_date": idea,
                    "evaluation_date": evaluation if reached >= 1 else None,
                    "prototype_date": prototype if reached >= 2 else None,
                    "pilot_date": pilot,
                    "scaled_date": scaled,
                    "closed_date": closed,
                    "owner": spec.owners[int(rng.integers(len(spec.owners)))],
                    "target_kpi": kpi,
                    "expected_effect_pct": expected,
                    "estimated_annual_value": 0.0,  # filled below from the claim
                    "innovation_days": float(np.round(rng.uniform(0.5, 6.0) * 2) / 2),
                    "gain_share_eligible": bool(rng.random() < 0.6),
                    "evidence_status": (
                        ["signed off", "evidence", "none"][int(rng.integers(3))] if live else "none"
                    ),
                }
            )
            if not live:
                continue
            assert pilot is not None
            planted.append(
                {"account": spec.name, "innovation": code, "kpi": kpi, "effect_pct": true_effect}
            )
            # Pilot at one unit; scaled ones spread over a process or a site, staggered.
            first = unit_keys[int(rng.integers(len(unit_keys)))]
            targets = [first]
            if stage in ("scaled", "retired"):
                if rng.random() < 0.5:
                    pool = [u for u in unit_keys if u[1] == first[1] and u != first]
                else:
                    pool = [u for u in unit_keys if u[0] == first[0] and u != first]
                extra = [u for u in unit_keys if u not in pool and u != first]
                rng.shuffle(extra)
                pool += extra[: int(rng.integers(1, 5))]
                rng.shuffle(pool)
                targets += pool
            go = pd.Timestamp(pilot)
            for i, (site, process) in enumerate(targets):
                if i > 0:
                    go = go + pd.Timedelta(days=int(rng.integers(25, 110)))
                if go.date() > last_day:
                    break
                rollouts.append(
                    {
                        "account": spec.name,
                        "innovation": code,
                        "site": site,
                        "process": process,
                        "go_live": go.date(),
                    }
                )
    return pd.DataFrame(rows), pd.DataFrame(rollouts), pd.DataFrame(planted)


def generate(seed: int = DEFAULT_SEED, scale: int = 1) -> dict[str, pd.DataFrame]:
    """The first demo account as import frames (entity → DataFrame in the formats of
    formats.py)."""
    return generate_account(FIRST, seed=seed, scale=scale)


def generate_account(
    spec: AccountSpec, *, seed: int | None = None, scale: int = 1
) -> dict[str, pd.DataFrame]:
    """One demo account as import frames; ``seed`` defaults to the account's own."""
    if scale < 1:
        raise ValueError("scale must be ≥ 1")
    rng = np.random.default_rng(spec.seed if seed is None else seed)
    months = spec.months
    units = _units(scale, spec)
    n_u, n_m = len(units), len(months)
    account = pd.DataFrame(
        [
            {
                "name": spec.name,
                "currency": spec.currency,
                "locale": spec.locale,
                "contract_start": spec.contract[0],
                "contract_end": spec.contract[1],
                "baseline_start": spec.baseline[0],
                "baseline_end": spec.baseline[1],
                "gain_share_pct": spec.gain_share_pct,
                "savings_goal_per_year": spec.savings_goal_per_year * max(1, scale),
                "productivity_pct_per_year": spec.productivity_pct_per_year,
                "innovation_days_per_year": spec.innovation_days_per_year,
                "provider_name": spec.provider or None,
                "client_name": spec.client or None,
            }
        ]
    )
    kpis = pd.DataFrame(
        [
            {
                "account": spec.name,
                "key": k,
                "label": label,
                "unit_of_measure": uom,
                "direction": d,
                "kind": kind,
                "money_value": money,
                "headline": head,
            }
            for k, label, uom, d, kind, money, head in spec.kpi_defs
        ]
    )
    register, rollouts, planted = _innovations(rng, units, spec)

    # live share per (innovation, unit, month)
    month_start = months.values.astype("datetime64[D]")
    month_end = (months + pd.offsets.MonthEnd(0)).values.astype("datetime64[D]")
    days_in = (month_end - month_start).astype(int) + 1
    unit_index = {
        (s, p): i
        for i, (s, p) in enumerate(units[["site", "process"]].itertuples(index=False, name=None))
    }
    effect: dict[str, tuple[str, float]] = {
        str(i): (str(k), float(e))
        for i, k, e in zip(
            planted["innovation"], planted["kpi"], planted["effect_pct"], strict=True
        )
    }
    kpi_keys = [k[0] for k in spec.kpi_defs]
    factor = {k: np.ones((n_u, n_m)) for k in kpi_keys}
    go_days = pd.to_datetime(rollouts["go_live"]).to_numpy().astype("datetime64[D]")
    for inn, site, proc, go in zip(
        rollouts["innovation"].tolist(),
        rollouts["site"].tolist(),
        rollouts["process"].tolist(),
        go_days,
        strict=True,
    ):
        kpi, e = effect[inn]
        live = np.clip((month_end - go).astype(int) + 1, 0, days_in) / days_in
        factor[kpi][unit_index[(site, proc)]] *= 1 + e / 100 * live

    t = np.arange(n_m)
    month_of_year = months.month.values
    season_vol = 1 + 0.12 * np.cos(2 * np.pi * (month_of_year - 11) / 12)
    base_vol = rng.uniform(14_000, 42_000, n_u)
    volume = (
        base_vol[:, None]
        * season_vol[None, :]
        * (1 + 0.004 * t)[None, :]
        * rng.normal(1, 0.03, (n_u, n_m))
    )
    base = {k: rng.uniform(m.base[0], m.base[1], n_u) for k, m in spec.models.items()}
    values: dict[str, np.ndarray] = {}
    for k, m in spec.models.items():
        season = 1 + m.season * np.cos(2 * np.pi * (month_of_year - 1) / 12)
        values[k] = (
            base[k][:, None]
            * season[None, :]
            * (1 + m.drift * t)[None, :]
            * factor[k]
            * rng.normal(1, m.noise, (n_u, n_m))
        )
        if m.cap is not None:
            values[k] = np.minimum(values[k], m.cap)
    fte_key, handle_key, work_per_fte = spec.fte
    volume_key = next(k for k in kpi_keys if k not in spec.models and k != fte_key)
    values[fte_key] = volume * values[handle_key] / work_per_fte
    values[volume_key] = volume

    unit_cols = units[["site", "process"]].reset_index(drop=True)
    frames = []
    if scale == 1:
        for k in kpi_keys:
            df = pd.DataFrame(
                {
                    "site": np.repeat(unit_cols["site"].to_numpy(), n_m),
                    "process": np.repeat(unit_cols["process"].to_numpy(), n_m),
                    "period": np.tile(months.strftime("%Y-%m").values, n_u),
                    "value": np.round(values[k].ravel(), 4),
                    "volume": np.round(volume.ravel()),
                }
            )
            df["kpi"] = k
            df["grain"] = "month"
            frames.append(df)
    else:
        first_month = spec.first_month
        days = pd.date_range(first_month, LAST_MONTH + pd.offsets.MonthEnd(0), freq="D")
        month_idx = (days.year - first_month.year) * 12 + days.month - first_month.month
        weekday = np.where(days.day_of_week.values >= 5, 0.45, 1.14)
        share = weekday / pd.Series(weekday).groupby(month_idx).transform("sum").values
        daily_vol = np.round(volume[:, month_idx] * share[None, :])
        daily_vol = np.maximum(daily_vol, 1.0)
        n_d = len(days)
        for k in kpi_keys:
            if k == volume_key:
                v = daily_vol
            elif k == fte_key:
                v = values[k][:, month_idx] * rng.normal(1, 0.02, (n_u, n_d))
            else:
                v = values[k][:, month_idx] * rng.normal(1, spec.models[k].noise, (n_u, n_d))
            df = pd.DataFrame(
                {
                    "site": np.repeat(unit_cols["site"].to_numpy(), n_d),
                    "process": np.repeat(unit_cols["process"].to_numpy(), n_d),
                    "period": np.tile(days.strftime("%Y-%m-%d").values, n_u),
                    "value": np.round(v.ravel(), 4),
                    "volume": daily_vol.ravel(),
                }
            )
            df["kpi"] = k
            df["grain"] = "day"
            frames.append(df)
    observations = pd.concat(frames, ignore_index=True)
    observations.insert(0, "account", spec.name)

    # The claim: expected effect × baseline spend on the target KPI, per year, at full rollout.
    money = {k[0]: k[5] for k in spec.kpi_defs}
    claims = []
    for r in register.itertuples():
        codes = rollouts[rollouts["innovation"] == r.code] if len(rollouts) else rollouts
        idx = [
            unit_index[(s, p)] for s, p in zip(codes["site"], codes["process"], strict=True)
        ] or [int(rng.integers(n_u))]
        k = str(r.target_kpi)
        pct = abs(float(r.expected_effect_pct))  # type: ignore[arg-type]  # itertuples fields are untyped objects; the register's column is numeric
        if money.get(k):
            yearly = (
                pct / 100 * sum(base[k][i] * base_vol[i] * 12 * money[k] for i in idx if k in base)
            )
        else:  # satisfaction: the provider still puts a (softer) retention value on it
            yearly = 2_000.0 * pct * len(idx)
        claims.append(round(float(yearly), -2))
    register["estimated_annual_value"] = claims

    events = pd.DataFrame(
        [
            {"date": d, "title": title, "kind": kind, "description": text}
            for d, title, kind, text in spec.events
        ]
    )
    events.insert(0, "account", spec.name)
    return {
        "accounts": account,
        "units": units,
        "kpis": kpis,
        "innovations": register,
        "planted_effects": planted,
        "rollouts": rollouts,
        "events": events,
        "observations": observations,
    }


def load_demo(
    engine: Engine,
    *,
    seed: int = DEFAULT_SEED,
    scale: int = 1,
    progress=None,
    second: bool = True,
):
    """Generate the demo accounts and import each as its own batch (so each account's data
    freshness names its own import). ``seed`` and ``scale`` apply to the first account (the
    benchmarks' knob); the second is always the small monthly account with its own seed, and
    is left out with ``second=False``. Returns the first failing ImportResult, else the last."""
    from data_loaders.importer import import_frames

    frames = generate(seed=seed, scale=scale)
    result = import_frames(
        engine, frames, source=f"demo generator (seed {seed}, scale {scale})", progress=progress
    )
    if not second or not getattr(result, "ok", True):
        return result
    return import_frames(
        engine,
        generate_account(SECOND),
        source=f"demo generator ({SECOND.name}, seed {SECOND.seed})",
    )
