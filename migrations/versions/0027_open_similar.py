"""the duplicate check's index: open tickets by category, building and time

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07

Every report asks for an open ticket of the same problem from the last 24 hours
(models/tickets.py `similar_open`). Without this index the database walked every ticket of
the estate's last day to find it, so a flood of reports made each next one slower; with it,
only open tickets of the category and building (models/indexes.py).
"""
from alembic import op
import sqlalchemy as sa

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

OPEN = sa.text("state IN ('open', 'claimed', 'reopened')")


def upgrade() -> None:
    op.create_index('ix_tickets_open_similar', 'tickets', ['category', 'building', 'created_at'],
                    unique=False, sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_index('ix_tickets_open_similar', table_name='tickets')
