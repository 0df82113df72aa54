"""Provider and client names and logos per account (the renewal pack's cover)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 17:15:00

The cover names the provider and the client of the engagement; until now only the account
name and a provider typed at build time were known. All four are optional (an account
imported before keeps printing its name as the client).
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("provider_name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("client_name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("provider_logo", sa.String(500), nullable=True))
        batch.add_column(sa.Column("client_logo", sa.String(500), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35, PostgreSQL): batch mode would rebuild the
    # account table, which SQLite refuses to drop while other tables' rows reference it.
    for name in ("client_logo", "provider_logo", "client_name", "provider_name"):
        op.drop_column("account", name)
