"""ballot casts: each resident's own latest choice, so withdrawing takes only theirs (issue 18, item 2)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

Each existing ballot becomes its caster's cast (a resident who voted for two households in
one vote, by rebinding, keeps the later one).
"""
from alembic import op
import sqlalchemy as sa

import models.db

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'ballot_casts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('vote_id', sa.Integer(), nullable=False),
        sa.Column('household', sa.String(length=40), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=False),
        sa.Column('choice', sa.String(length=100), nullable=False),
        sa.Column('cast_at', models.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['resident_id'], ['residents.id'],
                                name=op.f('fk_ballot_casts_resident_id_residents')),
        sa.ForeignKeyConstraint(['vote_id'], ['votes.id'], name=op.f('fk_ballot_casts_vote_id_votes')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_casts')),
        sa.UniqueConstraint('vote_id', 'resident_id', name=op.f('uq_ballot_casts_vote_id')))
    with op.batch_alter_table('ballot_casts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ballot_casts_resident_id'), ['resident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ballot_casts_vote_id'), ['vote_id'], unique=False)
    op.execute("""
        INSERT INTO ballot_casts (vote_id, household, resident_id, choice, cast_at)
        SELECT b.vote_id, b.household, b.resident_id, b.choice, b.cast_at FROM ballots b
        WHERE NOT EXISTS (SELECT 1 FROM ballots later WHERE later.vote_id = b.vote_id
                          AND later.resident_id = b.resident_id
                          AND (later.cast_at > b.cast_at OR (later.cast_at = b.cast_at AND later.id > b.id)))
    """)


def downgrade() -> None:
    with op.batch_alter_table('ballot_casts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ballot_casts_vote_id'))
        batch_op.drop_index(batch_op.f('ix_ballot_casts_resident_id'))
    op.drop_table('ballot_casts')
