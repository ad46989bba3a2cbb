"""binding attempts: guesses at phone digits capped per sender and per estate, not per home (issue 18, item 4)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

The per-home lock let five wrong guesses lock the real owner out; it goes.
"""
from alembic import op
import sqlalchemy as sa

import models.db

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'binding_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sender', sa.String(length=100), nullable=False),
        sa.Column('home_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('at', models.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_binding_attempts')))
    with op.batch_alter_table('binding_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_binding_attempts_kind_at', ['kind', 'at'], unique=False)
        batch_op.create_index('ix_binding_attempts_sender_at', ['sender', 'at'], unique=False)
    op.drop_table('binding_locks')


def downgrade() -> None:
    op.create_table(
        'binding_locks',
        sa.Column('home_id', sa.Integer(), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('locked_until', models.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['home_id'], ['homes.id'], name=op.f('fk_binding_locks_home_id_homes')),
        sa.PrimaryKeyConstraint('home_id', name=op.f('pk_binding_locks')))
    with op.batch_alter_table('binding_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_binding_attempts_sender_at')
        batch_op.drop_index('ix_binding_attempts_kind_at')
    op.drop_table('binding_attempts')
