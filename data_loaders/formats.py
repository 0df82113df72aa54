"""The import formats: one spec per entity, shared by the importers, the validation, the
templates users download, the demo generator and the README.

Column names are matched case-insensitively with spaces/dashes folded to underscores.
References between entities use natural keys (account name, site + process, KPI key,
innovation code), never database ids, so files from other systems can be joined.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from data_loaders.schema import (
    CATEGORIES,
    DIRECTIONS,
    EVENT_KINDS,
    EVIDENCE_STATUSES,
    GRAINS,
    KPI_KINDS,
    ORIGINS,
    SCALES,
    STAGES,
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # text | date | number | bool | month_or_date
    required: bool = False
    allowed: tuple[str, ...] = ()
    positive: bool = False  # > 0
    non_negative: bool = False
    doc: str = ""


@dataclass(frozen=True)
class EntitySpec:
    entity: str
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    doc: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


C = Column

ACCOUNTS = EntitySpec(
    "accounts",
    "account",
    (
        C("name", "text", True, doc="Account (client engagement) name; the key."),
        C("currency", "text", True, doc="ISO 4217 code, e.g. USD, EUR, GBP."),
        C("locale", "text", doc="Number/date locale for reports, e.g. en_US, en_GB, de_DE."),
        C("contract_start", "date", True),
        C("contract_end", "date", True, doc="Renewal date."),
        C("baseline_start", "date", True, doc="First day of the frozen baseline window."),
        C("baseline_end", "date", True, doc="Last day of the frozen baseline window."),
        C("gain_share_pct", "number", non_negative=True, doc="Provider's share of savings, %."),
        C(
            "savings_goal_per_year",
            "number",
            non_negative=True,
            doc="Agreed savings goal per contract year, in the account currency.",
        ),
        C(
            "productivity_pct_per_year",
            "number",
            non_negative=True,
            doc="Productivity clause: required unit-cost reduction per year, %.",
        ),
        C(
            "innovation_days_per_year",
            "number",
            non_negative=True,
            doc="Innovation days contracted per contract year.",
        ),
        C("provider_name", "text", doc="The provider, as the renewal pack's cover names it."),
        C(
            "client_name",
            "text",
            doc="The client, as the cover names it (default: the account name).",
        ),
        C(
            "provider_logo",
            "text",
            doc="Optional: path of a PNG, JPEG or SVG logo on the machine that builds packs "
            "(absolute, or relative to the folder the app or command runs in).",
        ),
        C("client_logo", "text", doc="Optional: the client's logo, like provider_logo."),
    ),
    key=("name",),
    doc="One row per client engagement.",
    aliases=("account",),
)

UNITS = EntitySpec(
    "units",
    "unit",
    (
        C("account", "text", True, doc="Account name (must exist or be in the same import)."),
        C("site", "text", True),
        C("process", "text", True),
        C("region", "text"),
        C(
            "baseline_start",
            "date",
            doc="Optional: the unit's own baseline window (a site opened after the account's).",
        ),
        C("baseline_end", "date", doc="Optional: last day of the unit's own baseline window."),
    ),
    key=("account", "site", "process"),
    doc="Where work is done: site × process.",
    aliases=("unit", "sites"),
)

KPIS = EntitySpec(
    "kpis",
    "kpi",
    (
        C("account", "text", True),
        C("key", "text", True, doc="Short identifier, e.g. cost_per_txn, aht, error_rate."),
        C("label", "text", True),
        C("unit_of_measure", "text", doc="e.g. USD, seconds, %, FTE."),
        C("direction", "text", True, DIRECTIONS, doc="lower or higher (which is better)."),
        C(
            "kind",
            "text",
            True,
            KPI_KINDS,
            doc="rate: per transaction, volume-weighted; level: summed across units (e.g. FTE).",
        ),
        C(
            "money_value",
            "number",
            doc="Money value of one unit of improvement per transaction (optional).",
        ),
        C("headline", "bool", doc="Counts in the headline value (true/false)."),
    ),
    key=("account", "key"),
    doc="KPI definitions per account.",
    aliases=("kpi", "kpi_definitions"),
)

OBSERVATIONS = EntitySpec(
    "observations",
    "kpi_observation",
    (
        C("account", "text", True),
        C("site", "text", True),
        C("process", "text", True),
        C("kpi", "text", True, doc="KPI key."),
        C(
            "period",
            "month_or_date",
            True,
            doc="A day (2024-03-15) or a month (2024-03); months are stored as their first day.",
        ),
        C("value", "number", True),
        C(
            "volume",
            "number",
            positive=True,
            doc="Transactions in the period (> 0); required for rate KPIs.",
        ),
        C("grain", "text", allowed=GRAINS, doc="day or month; inferred from period if empty."),
    ),
    key=("account", "site", "process", "kpi", "period"),
    doc="Operational KPI values per unit and period (daily or monthly).",
    aliases=("kpi_observations", "observation", "kpi_values"),
)

INNOVATIONS = EntitySpec(
    "innovations",
    "innovation",
    (
        C("account", "text", True),
        C("code", "text", True, doc="Stable identifier, e.g. INN-017."),
        C("title", "text", True),
        C("description", "text"),
        C("category", "text", True, CATEGORIES),
        C("scale", "text", True, SCALES),
        C("origin", "text", True, ORIGINS),
        C("stage", "text", True, STAGES),
        C("idea_date", "date", True),
        C("evaluation_date", "date"),
        C("prototype_date", "date"),
        C("pilot_date", "date"),
        C("scaled_date", "date"),
        C("closed_date", "date", doc="Date it was rejected or retired."),
        C("owner", "text"),
        C("target_kpi", "text", doc="Key of the main KPI it targets."),
        C(
            "expected_effect_pct",
            "number",
            doc="Expected relative change of the target KPI, e.g. -8 for −8 %.",
        ),
        C(
            "estimated_annual_value",
            "number",
            non_negative=True,
            doc="The claim: estimated value per year at full rollout, account currency.",
        ),
        C("innovation_days", "number", non_negative=True),
        C("gain_share_eligible", "bool"),
        C("evidence_status", "text", allowed=EVIDENCE_STATUSES),
    ),
    key=("account", "code"),
    doc="The innovation register.",
    aliases=("innovation", "register"),
)

TARGETS = EntitySpec(
    "innovation_targets",
    "innovation_target",
    (
        C("account", "text", True),
        C("innovation", "text", True, doc="Innovation code."),
        C("kpi", "text", True, doc="KPI key."),
        C("expected_effect_pct", "number", True),
    ),
    key=("account", "innovation", "kpi"),
    doc="Additional KPIs an innovation targets (the main one can sit in innovations).",
    aliases=("targets",),
)

ROLLOUTS = EntitySpec(
    "rollouts",
    "rollout",
    (
        C("account", "text", True),
        C("innovation", "text", True, doc="Innovation code."),
        C("site", "text", True),
        C("process", "text", True),
        C("go_live", "date", True),
    ),
    key=("account", "innovation", "site", "process"),
    doc="Innovation × unit × go-live date.",
    aliases=("rollout", "go_lives"),
)

EVENTS = EntitySpec(
    "events",
    "event",
    (
        C("account", "text", True),
        C("date", "date", True),
        C("title", "text", True),
        C("kind", "text", allowed=EVENT_KINDS),
        C("description", "text"),
    ),
    key=("account", "date", "title"),
    doc="Dated annotations for the story.",
    aliases=("event", "annotations"),
)

PLANTED = EntitySpec(
    "planted_effects",
    "planted_effect",
    (
        C("account", "text", True),
        C("innovation", "text", True),
        C("kpi", "text", True),
        C("effect_pct", "number", True),
    ),
    key=("account", "innovation", "kpi"),
    doc="Demo only: the true effect the generator planted.",
)

# Import order: parents before children.
SPECS: tuple[EntitySpec, ...] = (
    ACCOUNTS,
    UNITS,
    KPIS,
    INNOVATIONS,
    TARGETS,
    PLANTED,
    ROLLOUTS,
    EVENTS,
    OBSERVATIONS,
)
BY_ENTITY: dict[str, EntitySpec] = {s.entity: s for s in SPECS}
