"""faults: rate limits per sender

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rate_limits',
        sa.Column('sender', sa.String(length=100), nullable=False),
        sa.Column('tokens', sa.Float(), nullable=False),
        sa.Column('stamp', sa.Float(), nullable=False),
        sa.Column('allowed', sa.Boolean(), nullable=False),
        sa.Column('told', sa.Boolean(), nullable=False),
        sa.Column('warned', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('sender', name=op.f('pk_rate_limits')),
    )


def downgrade() -> None:
    op.drop_table('rate_limits')
