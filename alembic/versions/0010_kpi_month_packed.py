"""kpi_month_packed: each account's monthly rollup packed as one binary column each

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 04:10:00

A page read fetched one Python object per value of 35k rollup rows (most of a read on the
benchmark account); the packed copy is one row per account, read with ``np.frombuffer``.
It is derived from ``kpi_month`` and carries its layout's number (``rollup.PACK_FORMAT``):
this migration fills it with ``rollup.repack`` as the code stands when it runs, and a later
layout is ignored by readers until repacked, so a copy of an older layout is never misread.
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_month_packed",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("fmt", sa.Integer(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        *(
            sa.Column(c, sa.LargeBinary(), nullable=False)
            for c in (
                "unit_id",
                "kpi_id",
                "month",
                "vw",
                "volume",
                "mean",
                "n_obs",
                "missing_volume",
                "grain",
            )
        ),
        sa.Column("grains", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_kpi_month_packed")),
    )
    from data_loaders import rollup  # the packer itself: one home for the layout

    rollup.repack(op.get_bind())


def downgrade() -> None:
    op.drop_table("kpi_month_packed")
