"""votes, ballots, and the lock on guessing a home's phone digits

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa
import models.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # AUTOINCREMENT on SQLite: vote numbers are never reused, as ticket numbers are not.
    op.create_table('votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('item', sa.Integer(), nullable=True),
    sa.Column('candidates', sa.Text(), nullable=True),
    sa.Column('opens_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closes_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('announced_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_votes')),
    sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_votes_closes_at'), 'votes', ['closes_at'], unique=False)
    op.create_table('ballots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vote_id', sa.Integer(), nullable=False),
    sa.Column('household', sa.String(length=40), nullable=False),
    sa.Column('choice', sa.String(length=100), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('cast_at', models.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'],
                            name=op.f('fk_ballots_resident_id_residents')),
    sa.ForeignKeyConstraint(['vote_id'], ['votes.id'], name=op.f('fk_ballots_vote_id_votes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballots')),
    sa.UniqueConstraint('vote_id', 'household', name=op.f('uq_ballots_vote_id')),
    )
    op.create_index(op.f('ix_ballots_vote_id'), 'ballots', ['vote_id'], unique=False)
    op.create_index(op.f('ix_ballots_resident_id'), 'ballots', ['resident_id'], unique=False)
    op.create_table('binding_locks',
    sa.Column('home_id', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', models.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['home_id'], ['homes.id'], name=op.f('fk_binding_locks_home_id_homes')),
    sa.PrimaryKeyConstraint('home_id', name=op.f('pk_binding_locks')),
    )


def downgrade() -> None:
    op.drop_table('binding_locks')
    op.drop_index(op.f('ix_ballots_resident_id'), table_name='ballots')
    op.drop_index(op.f('ix_ballots_vote_id'), table_name='ballots')
    op.drop_table('ballots')
    op.drop_index(op.f('ix_votes_closes_at'), table_name='votes')
    op.drop_table('votes')
