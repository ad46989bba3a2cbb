"""market day overrides: a month's market moved or cancelled

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'market_overrides',
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('moved_to', sa.Date(), nullable=True),
        sa.Column('cancelled', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('month'),
    )


def downgrade() -> None:
    op.drop_table('market_overrides')
