"""estimate_claim: one computation of the causal estimates per (account, data version)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:10:00
"""
from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'estimate_claim',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('data_version', sa.String(length=64), nullable=False),
        sa.Column('claimed_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_by', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('account_id', 'data_version', name=op.f('pk_estimate_claim')),
    )


def downgrade() -> None:
    op.drop_table('estimate_claim')
