"""corrections: labelled examples from staff corrections and residents' answers

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

The messages the engine misread (改类, 不是报修) or was unsure of (a resident's numbered
answer), with what it read and what they were; `flask intents corrections` exports them.
A ticket withdrawn by 不是报修 takes the new state "withdrawn", a plain string: no schema change.
"""
from alembic import op
import sqlalchemy as sa
import models.db

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'labelled_examples',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('read_intent', sa.String(length=32), nullable=False),
        sa.Column('read_category', sa.String(length=32), nullable=True),
        sa.Column('intent', sa.String(length=32), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=True),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=True),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('by', sa.String(length=80), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('at', models.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['resident_id'], ['residents.id'],
                                name=op.f('fk_labelled_examples_resident_id_residents')),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'],
                                name=op.f('fk_labelled_examples_ticket_id_tickets')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_labelled_examples')))
    op.create_index('ix_labelled_examples_at', 'labelled_examples', ['at'], unique=False)
    op.create_index(op.f('ix_labelled_examples_resident_id'), 'labelled_examples', ['resident_id'],
                    unique=False)
    op.create_index(op.f('ix_labelled_examples_ticket_id'), 'labelled_examples', ['ticket_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_labelled_examples_ticket_id'), table_name='labelled_examples')
    op.drop_index(op.f('ix_labelled_examples_resident_id'), table_name='labelled_examples')
    op.drop_index('ix_labelled_examples_at', table_name='labelled_examples')
    op.drop_table('labelled_examples')
