"""renewal pack editions: checksums, data version, builder and edition number on snapshot

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 11:45:00
"""
from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('snapshot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('content_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('protected_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('data_version', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('built_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('edition_no', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('paper', sa.String(length=10), nullable=True))
        batch_op.create_index(batch_op.f('ix_snapshot_sha256'), ['sha256'], unique=False)
        batch_op.create_index(
            batch_op.f('ix_snapshot_protected_sha256'), ['protected_sha256'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_snapshot_protected_sha256'))
        batch_op.drop_index(batch_op.f('ix_snapshot_sha256'))
        for col in (
            'paper', 'edition_no', 'built_by', 'data_version', 'protected_sha256',
            'content_sha256', 'sha256',
        ):
            batch_op.drop_column(col)
