"""A seeded demo account: believable, reproducible, and honest about the truth it planted.

``generate(seed, scale)`` returns the import frames (keyed by the entity names of
``data_loaders.formats``); ``load_demo(engine)`` imports them as one batch.

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
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

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


def _months() -> pd.DatetimeIndex:
    return pd.date_range(FIRST_MONTH, LAST_MONTH, freq="MS")


def _units(scale: int) -> pd.DataFrame:
    n_sites = 3 if scale <= 1 else 3 * scale
    sites = (BASE_SITES + EXTRA_SITES * (1 + n_sites // len(EXTRA_SITES)))[:n_sites]
    seen: dict[str, int] = {}
    rows = []
    for site, region in sites:
        seen[site] = seen.get(site, 0) + 1
        name = site if seen[site] == 1 else f"{site} {seen[site]}"
        for process in PROCESSES:
            rows.append({"account": ACCOUNT, "site": name, "process": process, "region": region})
    return pd.DataFrame(rows)


def _innovations(
    rng: np.random.Generator, units: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Register, rollouts and planted effects."""
    kpi_cycle = ["cost_per_txn", "aht", "error_rate", "cost_per_txn", "csat", "error_rate"]
    titles = {k: list(v) for k, v in TITLES.items()}
    for v in titles.values():
        rng.shuffle(v)
    categories = {
        "cost_per_txn": "operational efficiency",
        "aht": "operational efficiency",
        "error_rate": "process effectiveness",
        "csat": "strategic impact",
    }
    rows: list[dict[str, Any]] = []
    rollouts: list[dict[str, Any]] = []
    planted: list[dict[str, Any]] = []
    n = 0
    unit_keys = list(units[["site", "process"]].itertuples(index=False, name=None))
    last_day = (LAST_MONTH + pd.offsets.MonthEnd(0)).date()
    for stage, count in STAGE_PLAN:
        for _ in range(count):
            kpi = kpi_cycle[n % len(kpi_cycle)]
            n += 1
            title = titles[kpi].pop() if titles[kpi] else f"Improvement wave {n}"
            lo, hi = EFFECTS[kpi]
            true_effect = float(np.round(rng.uniform(lo, hi), 2))
            # Claims are optimistic, as they are in life.
            expected = float(np.round(true_effect * rng.uniform(0.95, 1.3), 1))
            live = stage in ("pilot", "scaled", "retired")
            if live:
                latest_pilot = 31 if stage == "pilot" else 24
                pilot = (
                    FIRST_MONTH
                    + pd.DateOffset(months=int(rng.integers(7, latest_pilot)))
                    + pd.Timedelta(days=int(rng.integers(0, 27)))
                ).date()
                idea = pilot - dt.timedelta(days=int(rng.integers(70, 200)))
            elif stage == "rejected":
                idea = (FIRST_MONTH + pd.Timedelta(days=int(rng.integers(60, 1100)))).date()
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
            code = f"INN-{n:03d}"
            stage_order = ["idea", "evaluation", "prototype", "pilot", "scaled"]
            reached = (
                stage_order.index(stage)
                if stage in stage_order
                else (4 if stage == "retired" else 1)
            )
            rows.append(
                {
                    "account": ACCOUNT,
                    "code": code,
                    "title": title,
                    "description": f"{title}: targets {kpi.replace('_', ' ')} ({expected:+.1f} % expected).",
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
                    "owner": OWNERS[int(rng.integers(len(OWNERS)))],
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
                {"account": ACCOUNT, "innovation": code, "kpi": kpi, "effect_pct": true_effect}
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
                        "account": ACCOUNT,
                        "innovation": code,
                        "site": site,
                        "process": process,
                        "go_live": go.date(),
                    }
                )
    return pd.DataFrame(rows), pd.DataFrame(rollouts), pd.DataFrame(planted)


def generate(seed: int = DEFAULT_SEED, scale: int = 1) -> dict[str, pd.DataFrame]:
    """The demo account as import frames (entity → DataFrame in the formats of formats.py)."""
    if scale < 1:
        raise ValueError("scale must be ≥ 1")
    rng = np.random.default_rng(seed)
    months = _months()
    units = _units(scale)
    n_u, n_m = len(units), len(months)
    account = pd.DataFrame(
        [
            {
                "name": ACCOUNT,
                "currency": "USD",
                "locale": "en_US",
                "contract_start": dt.date(2023, 1, 1),
                "contract_end": dt.date(2026, 12, 31),
                "baseline_start": dt.date(2023, 1, 1),
                "baseline_end": dt.date(2023, 6, 30),
                "gain_share_pct": 40.0,
                "savings_goal_per_year": 450_000.0 * max(1, scale),
                "productivity_pct_per_year": 4.0,
                "innovation_days_per_year": 100.0,
            }
        ]
    )
    kpis = pd.DataFrame(
        [
            {
                "account": ACCOUNT,
                "key": k,
                "label": label,
                "unit_of_measure": uom,
                "direction": d,
                "kind": kind,
                "money_value": money,
                "headline": head,
            }
            for k, label, uom, d, kind, money, head in KPI_DEFS
        ]
    )
    register, rollouts, planted = _innovations(rng, units)

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
    kpi_keys = [k[0] for k in KPI_DEFS]
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
    base = {
        "cost_per_txn": rng.uniform(3.4, 5.2, n_u),
        "aht": rng.uniform(280, 520, n_u),
        "error_rate": rng.uniform(2.0, 5.5, n_u),
        "csat": rng.uniform(72, 84, n_u),
    }
    drift = {"cost_per_txn": 0.0006, "aht": 0.0, "error_rate": 0.0, "csat": 0.0}
    season_amp = {"cost_per_txn": 0.01, "aht": 0.02, "error_rate": 0.03, "csat": 0.005}
    noise = {"cost_per_txn": 0.006, "aht": 0.01, "error_rate": 0.025, "csat": 0.004}
    values: dict[str, np.ndarray] = {}
    for k in ("cost_per_txn", "aht", "error_rate", "csat"):
        season = 1 + season_amp[k] * np.cos(2 * np.pi * (month_of_year - 1) / 12)
        values[k] = (
            base[k][:, None]
            * season[None, :]
            * (1 + drift[k] * t)[None, :]
            * factor[k]
            * rng.normal(1, noise[k], (n_u, n_m))
        )
    values["csat"] = np.minimum(values["csat"], 99.0)
    # Staff needed follows volume × handle time (seconds worked per FTE-month ≈ 100,000).
    values["fte"] = volume * values["aht"] / 100_000.0
    values["volume"] = volume

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
        days = pd.date_range(FIRST_MONTH, LAST_MONTH + pd.offsets.MonthEnd(0), freq="D")
        month_idx = (days.year - FIRST_MONTH.year) * 12 + days.month - 1
        weekday = np.where(days.day_of_week.values >= 5, 0.45, 1.14)
        share = weekday / pd.Series(weekday).groupby(month_idx).transform("sum").values
        daily_vol = np.round(volume[:, month_idx] * share[None, :])
        daily_vol = np.maximum(daily_vol, 1.0)
        n_d = len(days)
        for k in kpi_keys:
            if k == "volume":
                v = daily_vol
            elif k == "fte":
                v = values[k][:, month_idx] * rng.normal(1, 0.02, (n_u, n_d))
            else:
                v = values[k][:, month_idx] * rng.normal(1, noise[k], (n_u, n_d))
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
    observations.insert(0, "account", ACCOUNT)

    # The claim: expected effect × baseline spend on the target KPI, per year, at full rollout.
    money = {k[0]: k[5] for k in KPI_DEFS}
    claims = []
    for r in register.itertuples():
        codes = rollouts[rollouts["innovation"] == r.code] if len(rollouts) else rollouts
        idx = [
            unit_index[(s, p)] for s, p in zip(codes["site"], codes["process"], strict=True)
        ] or [int(rng.integers(n_u))]
        k = str(r.target_kpi)
        pct = abs(float(r.expected_effect_pct))  # type: ignore[arg-type]
        if money.get(k):
            yearly = (
                pct / 100 * sum(base[k][i] * base_vol[i] * 12 * money[k] for i in idx if k in base)
            )
        else:  # CSAT: the provider still puts a (softer) retention value on it
            yearly = 2_000.0 * pct * len(idx)
        claims.append(round(float(yearly), -2))
    register["estimated_annual_value"] = claims

    events = pd.DataFrame(
        [
            {
                "date": dt.date(2023, 1, 1),
                "title": "Contract start",
                "kind": "contract",
                "description": "Four-year BPO contract with a 4 % productivity clause and 40 % gain-share.",
            },
            {
                "date": dt.date(2023, 6, 30),
                "title": "Baseline frozen",
                "kind": "contract",
                "description": "Baseline window January–June 2023 agreed and frozen.",
            },
            {
                "date": dt.date(2023, 9, 14),
                "title": "First joint innovation day",
                "kind": "innovation day",
                "description": "Client and provider teams workshop 40 ideas in Manila.",
            },
            {
                "date": dt.date(2024, 3, 4),
                "title": "New operations director, Kraków",
                "kind": "leadership",
                "description": "Leadership change at the Kraków site.",
            },
            {
                "date": dt.date(2024, 10, 10),
                "title": "Innovation day 2024",
                "kind": "innovation day",
                "description": "Second joint innovation day; focus on quality.",
            },
            {
                "date": dt.date(2025, 1, 15),
                "title": "Contract year 3 review",
                "kind": "contract",
                "description": "Savings goal reaffirmed; gain-share extended to process innovations.",
            },
            {
                "date": dt.date(2025, 7, 1),
                "title": "Core system upgrade",
                "kind": "operations",
                "description": "Client migrated its policy system; two weeks of slower handling.",
            },
            {
                "date": dt.date(2025, 10, 9),
                "title": "Innovation day 2025",
                "kind": "innovation day",
                "description": "Third joint innovation day; automation backlog prioritised.",
            },
        ]
    )
    events.insert(0, "account", ACCOUNT)
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


def load_demo(engine: Engine, *, seed: int = DEFAULT_SEED, scale: int = 1, progress=None):  # type: ignore[no-untyped-def]
    """Generate the demo account and import it as one batch; returns the ImportResult."""
    from data_loaders.importer import import_frames

    frames = generate(seed=seed, scale=scale)
    return import_frames(
        engine, frames, source=f"demo generator (seed {seed}, scale {scale})", progress=progress
    )
