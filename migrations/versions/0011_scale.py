"""scale: indexes for a street of estates (models/indexes.py)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# Only open tickets: a few percent of all, so these stay small as the history grows.
OPEN = sa.text("state IN ('open', 'claimed', 'reopened')")
INDEXES = {
    'ix_tickets_open_level_building': ['level', 'building'],  # 待办: my level's tickets in my buildings
    'ix_tickets_open_assignee': ['assignee_id'],  # 待办: tickets I hold
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, 'tickets', columns, unique=False, postgresql_where=OPEN, sqlite_where=OPEN)
    # the vote tally: an owner's homes, their area and whether unsold, read from the index alone
    op.create_index('ix_homes_owner_area', 'homes', ['owner_id', 'unsold', 'area_m2'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_homes_owner_area', table_name='homes')
    for name in INDEXES:
        op.drop_index(name, table_name='tickets')
