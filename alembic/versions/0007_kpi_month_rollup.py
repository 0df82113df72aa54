"""kpi_month: the monthly rollup of kpi_observation, backfilled from the observations held

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 14:10:00

The backfill is the same GROUP BY as ``data_loaders.rollup`` (written out here so that this
migration keeps meaning what it meant when the code moves on): per account × unit × KPI ×
month Σ value·coalesce(volume, 0), Σ coalesce(volume, 0), the mean value, the row count, the
grain, the rows without a volume and the last period.
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_month",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kpi_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("vw", sa.Float(), nullable=True),
        sa.Column("volume", sa.Float(), nullable=True),
        sa.Column("mean", sa.Float(), nullable=True),
        sa.Column("n_obs", sa.Integer(), nullable=False),
        sa.Column("grain", sa.String(length=5), nullable=False),
        sa.Column("missing_volume", sa.Integer(), nullable=False),
        sa.Column("last_period", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "unit_id", "kpi_id", "month", name=op.f("pk_kpi_month")
        ),
        # SQLite: the rows stored in key order, so an account's months are read in one
        # sequential walk (no index-then-table lookup per row). Ignored by PostgreSQL.
        sqlite_with_rowid=False,
    )
    o = sa.table(
        "kpi_observation",
        sa.column("account_id", sa.Integer()),
        sa.column("unit_id", sa.Integer()),
        sa.column("kpi_id", sa.Integer()),
        sa.column("month", sa.Date()),
        sa.column("period", sa.Date()),
        sa.column("grain", sa.String()),
        sa.column("value", sa.Float()),
        sa.column("volume", sa.Float()),
    )
    r = sa.table(
        "kpi_month",
        *(
            sa.column(c)
            for c in (
                "account_id",
                "unit_id",
                "kpi_id",
                "month",
                "vw",
                "volume",
                "mean",
                "n_obs",
                "grain",
                "missing_volume",
                "last_period",
            )
        ),
    )
    vol = sa.func.coalesce(o.c.volume, 0.0)
    agg = sa.select(
        o.c.account_id,
        o.c.unit_id,
        o.c.kpi_id,
        o.c.month,
        sa.func.sum(o.c.value * vol),
        sa.func.sum(vol),
        sa.func.avg(o.c.value),
        sa.func.count(),
        sa.func.min(o.c.grain),
        sa.func.sum(sa.case((o.c.volume.is_(None), 1), else_=0)),
        sa.func.max(o.c.period),
    ).group_by(o.c.account_id, o.c.kpi_id, o.c.month, o.c.unit_id)
    op.execute(r.insert().from_select([c.name for c in r.c], agg))


def downgrade() -> None:
    op.drop_table("kpi_month")
