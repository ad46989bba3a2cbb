"""personal information: erasure and pseudonyms

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa
import models.db

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per erased resident: the pseudonym their kept tickets and ballots go by (no openid).
    op.create_table(
        'erasures',
        sa.Column('resident_id', sa.Integer(), nullable=False),
        sa.Column('pseudonym', sa.String(length=64), nullable=False),
        sa.Column('erased_at', models.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['resident_id'], ['residents.id'],
                                name=op.f('fk_erasures_resident_id_residents')),
        sa.PrimaryKeyConstraint('resident_id', name=op.f('pk_erasures')),
        sa.UniqueConstraint('pseudonym', name=op.f('uq_erasures_pseudonym')))


def downgrade() -> None:
    op.drop_table('erasures')
