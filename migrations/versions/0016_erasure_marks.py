"""erasure marks: one erasure a day per sender, by a hash of the openid (issue 18, item 5)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

import models.db

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'erasure_marks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sender', sa.String(length=100), nullable=False),
        sa.Column('at', models.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_marks')))
    with op.batch_alter_table('erasure_marks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erasure_marks_sender'), ['sender'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('erasure_marks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erasure_marks_sender'))
    op.drop_table('erasure_marks')
