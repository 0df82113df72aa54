"""access grants, audit log and sign-offs (issue 13)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 11:12:00
"""
from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('principal', sa.String(length=320), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('account_name', sa.String(length=200), nullable=True),
    sa.Column('granted_by', sa.String(length=320), nullable=False),
    sa.Column('granted_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_grant'))
    )
    with op.batch_alter_table('access_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_grant_principal'), ['principal'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user', sa.String(length=320), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('account_name', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('sign_off',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_name', sa.String(length=200), nullable=False),
    sa.Column('innovation_code', sa.String(length=40), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('figure', sa.Float(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('signed_by', sa.String(length=320), nullable=False),
    sa.Column('signed_by_name', sa.String(length=200), nullable=False),
    sa.Column('signed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_off'))
    )
    with op.batch_alter_table('sign_off', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_off_account_name'), ['account_name'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sign_off', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_off_account_name'))
    op.drop_table('sign_off')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))
    op.drop_table('audit_log')
    with op.batch_alter_table('access_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_grant_principal'))
    op.drop_table('access_grant')
