"""follow-through: warnings, street reminders, the look back

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa
import models.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite rebuilds the table here: keep AUTOINCREMENT, so ticket numbers are never reused.
    with op.batch_alter_table('tickets', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('warned_at', models.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reminded_at', models.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('looked_back_at', models.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_tickets_resolved_at', ['resolved_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_index('ix_tickets_resolved_at')
        batch_op.drop_column('looked_back_at')
        batch_op.drop_column('reminded_at')
        batch_op.drop_column('warned_at')
