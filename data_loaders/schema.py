"""The one SQL schema of Then & Now (docs/ARCHITECTURE.md, Schema), as SQLAlchemy 2 declarative models.

Natural keys (used by importers to upsert, so re-importing a file changes nothing):

* account: ``name``
* unit: ``(account_id, site, process)``
* kpi: ``(account_id, key)``
* kpi_observation: ``(unit_id, kpi_id, period)``
* innovation: ``(account_id, code)``
* innovation_target: ``(innovation_id, kpi_id)``
* rollout: ``(innovation_id, unit_id)``
* event: ``(account_id, date, title)``

Every row written by an import carries the ``batch_id`` of the import that last wrote it;
``batch_change`` records what each batch inserted or overwrote so it can be rolled back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# The register's vocabulary has one home, metrics.rules (plain constants, no project
# imports, so no cycle); re-exported here for validation and the importers.
from metrics.rules import CATEGORIES as CATEGORIES
from metrics.rules import DIRECTIONS as DIRECTIONS
from metrics.rules import STAGES as STAGES

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Allowed values, shared by validation, the demo generator and the metrics.
KPI_KINDS = ("rate", "level")
SCALES = ("continuous improvement", "process excellence", "transformative")
ORIGINS = ("client", "provider", "joint")
EVIDENCE_STATUSES = ("none", "evidence", "signed off")
EVENT_KINDS = ("leadership", "innovation day", "contract", "operations", "other")
GRAINS = ("day", "month")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ImportBatch(Base):
    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(500))
    entity: Mapped[str] = mapped_column(String(400))
    fmt: Mapped[str] = mapped_column(String(20))
    account_name: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20), default="applied")
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_inserted: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    checksum: Mapped[str] = mapped_column(String(64))
    user: Mapped[str | None] = mapped_column(String(200))
    rolled_back_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class BatchChange(Base):
    """One row touched by a batch: enough to undo it (delete an insert, restore an update)."""

    __tablename__ = "batch_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(10))  # insert | update
    old_values: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Account(Base):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    locale: Mapped[str] = mapped_column(String(20), default="en_US")
    contract_start: Mapped[dt.date] = mapped_column(Date)
    contract_end: Mapped[dt.date] = mapped_column(Date)
    baseline_start: Mapped[dt.date] = mapped_column(Date)
    baseline_end: Mapped[dt.date] = mapped_column(Date)
    gain_share_pct: Mapped[float] = mapped_column(Float, default=0.0)
    savings_goal_per_year: Mapped[float] = mapped_column(Float, default=0.0)
    productivity_pct_per_year: Mapped[float] = mapped_column(Float, default=0.0)
    innovation_days_per_year: Mapped[float] = mapped_column(Float, default=0.0)
    # the parties the renewal pack's cover names, and their logos (image paths)
    provider_name: Mapped[str | None] = mapped_column(String(200))
    client_name: Mapped[str | None] = mapped_column(String(200))
    provider_logo: Mapped[str | None] = mapped_column(String(500))
    client_logo: Mapped[str | None] = mapped_column(String(500))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))

    units: Mapped[list[Unit]] = relationship(back_populates="account")


class Unit(Base):
    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("account_id", "site", "process", name="uq_unit_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    site: Mapped[str] = mapped_column(String(100))
    process: Mapped[str] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    # A site opened after the account's baseline: its own frozen window (both or neither).
    baseline_start: Mapped[dt.date | None] = mapped_column(Date)
    baseline_end: Mapped[dt.date | None] = mapped_column(Date)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))

    account: Mapped[Account] = relationship(back_populates="units")

    @property
    def name(self) -> str:
        return f"{self.site} · {self.process}"


class Kpi(Base):
    __tablename__ = "kpi"
    __table_args__ = (UniqueConstraint("account_id", "key", name="uq_kpi_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(200))
    unit_of_measure: Mapped[str] = mapped_column(String(40), default="")
    direction: Mapped[str] = mapped_column(String(10))  # lower | higher
    kind: Mapped[str] = mapped_column(String(10))  # rate | level
    money_value: Mapped[float | None] = mapped_column(Float)
    headline: Mapped[bool] = mapped_column(Boolean, default=False)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))


class KpiObservation(Base):
    __tablename__ = "kpi_observation"
    __table_args__ = (
        UniqueConstraint("unit_id", "kpi_id", "period", name="uq_obs_key"),
        # The monthly push-down query groups by exactly these columns.
        Index("ix_obs_account_kpi_month", "account_id", "kpi_id", "month", "unit_id"),
        # a rollback and the rollup find a batch's rows without scanning every observation
        Index("ix_obs_batch", "batch_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id"))
    period: Mapped[dt.date] = mapped_column(Date)
    # First day of the period's month, stored so aggregation is dialect-neutral SQL.
    month: Mapped[dt.date] = mapped_column(Date)
    grain: Mapped[str] = mapped_column(String(5), default="month")
    value: Mapped[float] = mapped_column(Float)
    volume: Mapped[float | None] = mapped_column(Float)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))


class KpiMonth(Base):
    """The monthly rollup of ``kpi_observation`` (``data_loaders.rollup``): per unit × KPI ×
    month exactly the aggregates the read path needs, as the GROUP BY over the observations
    produces them, so a page reads unit × KPI × month rows instead of aggregating every daily
    row. Written only by ``rollup.refresh_marked`` in the same transaction as the observation
    writes of an import or rollback. No foreign keys: it is derived data, and a rollback that
    removes a unit or KPI removes its rollup rows in the same transaction after the rows
    themselves."""

    __tablename__ = "kpi_month"
    # SQLite: clustered on the primary key (read in one walk per account; see 0007).
    __table_args__ = {"sqlite_with_rowid": False}

    account_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kpi_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    vw: Mapped[float | None] = mapped_column(Float)  # Σ value · coalesce(volume, 0)
    volume: Mapped[float | None] = mapped_column(Float)  # Σ coalesce(volume, 0)
    mean: Mapped[float | None] = mapped_column(Float)  # mean of value
    n_obs: Mapped[int] = mapped_column(Integer)
    grain: Mapped[str] = mapped_column(String(5))  # min(grain): one grain per month
    missing_volume: Mapped[int] = mapped_column(Integer)  # rows without a volume
    last_period: Mapped[dt.date] = mapped_column(Date)


class KpiMonthPacked(Base):
    """One account's ``kpi_month`` rows packed as one binary column each (``rollup.repack``):
    a page reads one row and ``np.frombuffer``s it instead of fetching a Python object per
    value (35k rows × 7 values were most of a read; benchmarks/README.md). Written only by
    ``data_loaders.rollup`` in the transaction that writes ``kpi_month``; derived data, so a
    reader that finds no row, or another ``fmt``, reads ``kpi_month`` itself."""

    __tablename__ = "kpi_month_packed"

    account_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fmt: Mapped[int] = mapped_column(Integer)  # rollup.PACK_FORMAT that wrote the row
    n_rows: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[bytes] = mapped_column(LargeBinary)  # int64
    kpi_id: Mapped[bytes] = mapped_column(LargeBinary)  # int64
    month: Mapped[bytes] = mapped_column(LargeBinary)  # int64 days since 1970-01-01
    vw: Mapped[bytes] = mapped_column(LargeBinary)  # float64, NaN for NULL
    volume: Mapped[bytes] = mapped_column(LargeBinary)  # float64, NaN for NULL
    mean: Mapped[bytes] = mapped_column(LargeBinary)  # float64, NaN for NULL
    n_obs: Mapped[bytes] = mapped_column(LargeBinary)  # int64
    missing_volume: Mapped[bytes] = mapped_column(LargeBinary)  # int64
    grain: Mapped[bytes] = mapped_column(LargeBinary)  # int64 codes into grains
    grains: Mapped[str] = mapped_column(Text)  # the grain names, comma-separated


class Innovation(Base):
    __tablename__ = "innovation"
    __table_args__ = (UniqueConstraint("account_id", "code", name="uq_innovation_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(40))
    scale: Mapped[str] = mapped_column(String(40))
    origin: Mapped[str] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(20))
    idea_date: Mapped[dt.date | None] = mapped_column(Date)
    evaluation_date: Mapped[dt.date | None] = mapped_column(Date)
    prototype_date: Mapped[dt.date | None] = mapped_column(Date)
    pilot_date: Mapped[dt.date | None] = mapped_column(Date)
    scaled_date: Mapped[dt.date | None] = mapped_column(Date)
    closed_date: Mapped[dt.date | None] = mapped_column(Date)
    owner: Mapped[str] = mapped_column(String(200), default="")
    estimated_annual_value: Mapped[float] = mapped_column(Float, default=0.0)
    innovation_days: Mapped[float] = mapped_column(Float, default=0.0)
    gain_share_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    evidence_status: Mapped[str] = mapped_column(String(20), default="none")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))


class InnovationTarget(Base):
    """A KPI an innovation aims to move, with its expected relative effect (e.g. −8 %)."""

    __tablename__ = "innovation_target"
    __table_args__ = (UniqueConstraint("innovation_id", "kpi_id", name="uq_target_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    innovation_id: Mapped[int] = mapped_column(ForeignKey("innovation.id"), index=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id"))
    expected_effect_pct: Mapped[float] = mapped_column(Float)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))


class Rollout(Base):
    __tablename__ = "rollout"
    __table_args__ = (UniqueConstraint("innovation_id", "unit_id", name="uq_rollout_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    innovation_id: Mapped[int] = mapped_column(ForeignKey("innovation.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    go_live: Mapped[dt.date] = mapped_column(Date)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))


class Event(Base):
    __tablename__ = "event"
    __table_args__ = (UniqueConstraint("account_id", "date", "title", name="uq_event_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(30), default="other")
    description: Mapped[str] = mapped_column(Text, default="")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))


class PlantedEffect(Base):
    """The true effect the demo generator planted, so tests can check what metrics recover."""

    __tablename__ = "planted_effect"
    __table_args__ = (UniqueConstraint("innovation_id", "kpi_id", name="uq_planted_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    innovation_id: Mapped[int] = mapped_column(ForeignKey("innovation.id"), index=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id"))
    effect_pct: Mapped[float] = mapped_column(Float)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))


class Snapshot(Base):
    """An archived renewal pack (an edition, ``reports.editions``): the PDF, its SHA-256, the
    figures it printed and how it was made. ``edition`` is the account's edition number as
    text; ``protected_sha256`` the checksum of the password-protected copy handed out (the
    password itself is never stored)."""

    __tablename__ = "snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    edition: Mapped[str] = mapped_column(String(40))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    protected_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    data_version: Mapped[str | None] = mapped_column(String(64))
    built_by: Mapped[str | None] = mapped_column(String(200))
    edition_no: Mapped[int | None] = mapped_column(Integer)
    paper: Mapped[str | None] = mapped_column(String(10))


class EstimateRun(Base):
    """One stored run of the causal estimates of an account (``data_loaders.estimate_store``),
    valid for exactly one data version: a hash of what the estimates depend on
    (``metrics.versions.estimates_version``). No foreign key to ``account``: a rollback may
    delete the account, and a stale run is never read because its version no longer matches."""

    __tablename__ = "estimate_run"
    __table_args__ = (
        UniqueConstraint("account_id", "data_version", name="uq_estimate_run_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, index=True)
    data_version: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    seconds: Mapped[float | None] = mapped_column(Float)


class EstimateResult(Base):
    """One innovation's estimate in a stored run: the columns of ``services.estimates.estimate_innovations``."""

    __tablename__ = "estimate_result"
    __table_args__ = (
        UniqueConstraint("run_id", "innovation_id", name="uq_estimate_result_innovation"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("estimate_run.id", ondelete="CASCADE"), index=True
    )
    innovation_id: Mapped[int] = mapped_column(Integer)
    kpi_key: Mapped[str] = mapped_column(String(60))
    estimated: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    excludes_zero: Mapped[bool] = mapped_column(Boolean)
    estimate_note: Mapped[str] = mapped_column(Text)


class EstimateClaim(Base):
    """ "This process is computing the estimates of (account, data version)": the primary key
    lets exactly one caller insert it, so two imports, servers or CLI runs that need the same
    estimates compute them once — the others wait for the stored run (``services.estimates``).
    Deleted when the run is stored or the computation fails; a claim older than
    ``services.estimates.STALE_CLAIM`` (a killed process) is taken over."""

    __tablename__ = "estimate_claim"

    account_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    data_version: Mapped[str] = mapped_column(String(64), primary_key=True)
    claimed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    claimed_by: Mapped[str] = mapped_column(String(200))


# Tables an import can write, in dependency order (parents first); rollback walks it backwards.
IMPORT_TABLES = (
    "account",
    "unit",
    "kpi",
    "innovation",
    "innovation_target",
    "planted_effect",
    "rollout",
    "event",
    "kpi_observation",
)


class AccessGrant(Base):
    """Who may see what (``data_loaders.access``): an e-mail address or ``group:NAME`` holds a
    role, for one account (client executives) or for all (provider roles: account_name is
    NULL). Accounts are named, not referenced by id, so a grant survives a rollback and
    re-import of its account."""

    __tablename__ = "access_grant"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal: Mapped[str] = mapped_column(String(320), index=True)
    role: Mapped[str] = mapped_column(String(40))
    account_name: Mapped[str | None] = mapped_column(String(200))
    granted_by: Mapped[str] = mapped_column(String(320))
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime)


class AuditEntry(Base):
    """One thing someone did: sign-in, import, rollback, pack build or download, sign-off,
    access change. Append-only."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    user: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(40))
    account_name: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")


class SignOff(Base):
    """A client executive agreed an innovation's value for a period: the figure as it was shown
    then, who and when. Never updated: a new agreement is a new row, the latest one counts."""

    __tablename__ = "sign_off"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_name: Mapped[str] = mapped_column(String(200), index=True)
    innovation_code: Mapped[str] = mapped_column(String(40))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    figure: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3))
    signed_by: Mapped[str] = mapped_column(String(320))
    signed_by_name: Mapped[str] = mapped_column(String(200), default="")
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime)
