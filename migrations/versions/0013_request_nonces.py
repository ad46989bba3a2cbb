"""request nonces: the replay cache of signed requests (issue 18, item 1)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

import models.db

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'request_nonces',
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('expires_at', models.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('channel', 'nonce', name=op.f('pk_request_nonces')))
    with op.batch_alter_table('request_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_nonces_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('request_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_nonces_expires_at'))
    op.drop_table('request_nonces')
