"""public board: publishable words and the board's indexes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

INDEXES = {
    'ix_tickets_board': ['created_at', 'id'],
    'ix_tickets_board_state': ['state', 'created_at', 'id'],
    'ix_tickets_board_category': ['category', 'created_at', 'id'],
    'ix_tickets_board_building': ['building', 'created_at', 'id'],
}

SUGGESTIONS = sa.text('category IS NULL')  # only suggestions lack a category


def upgrade() -> None:
    # SQLite rebuilds the table here: keep AUTOINCREMENT, so ticket numbers are never reused.
    with op.batch_alter_table('tickets', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('public_text', sa.Text(), nullable=True))
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    op.create_index('ix_tickets_board_suggestions', 'tickets', ['created_at', 'id'], unique=False,
                    sqlite_where=SUGGESTIONS, postgresql_where=SUGGESTIONS)


def downgrade() -> None:
    op.drop_index('ix_tickets_board_suggestions', table_name='tickets')
    with op.batch_alter_table('tickets', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)
        batch_op.drop_column('public_text')
