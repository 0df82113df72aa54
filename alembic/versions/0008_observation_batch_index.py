"""Index kpi_observation.batch_id

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 15:20:00

The rollup (``data_loaders.rollup.mark_batch``) and the rollback look up a batch's
observations by ``batch_id``; without an index each of them scanned the whole table (most of
the 170 s the rollup took after a 10M-row load on PostgreSQL).
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_obs_batch", "kpi_observation", ["batch_id"])


def downgrade() -> None:
    op.drop_index("ix_obs_batch", table_name="kpi_observation")
