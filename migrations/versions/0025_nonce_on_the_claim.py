"""nonces kept on the message's row, rate-limit buckets on the resident's

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07

A signed request's nonce (with the end of its window) moves onto the row that claims its
message (`inbound_messages.nonce`, `nonce_expires`, unique with the channel), so the claim
checks it in the same statement; `request_nonces` goes, and the nonces it still holds in
their window are kept as rows of their own (status `nonce`), so none of them can sign a new
message after the upgrade. A known resident's rate-limit bucket moves onto their row
(`residents.limit_*`), taken in the statement that stamps their message.
"""
from alembic import op
import sqlalchemy as sa
import models.db

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

RESIDENT_BUCKET = (('limit_tokens', sa.Float()), ('limit_stamp', sa.Float()),
                   ('limit_allowed', sa.Boolean()), ('limit_told', sa.Boolean()),
                   ('limit_warned', sa.Float()))


def upgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nonce', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('nonce_expires', models.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint('uq_inbound_nonce', ['channel', 'nonce', 'nonce_expires'])
    with op.batch_alter_table('residents', schema=None) as batch_op:
        for name, kind in RESIDENT_BUCKET:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
    _keep_the_nonces_in_their_window()
    with op.batch_alter_table('request_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_nonces_expires_at'))
    op.drop_table('request_nonces')


def _keep_the_nonces_in_their_window() -> None:
    nonces = sa.table('request_nonces', sa.column('channel', sa.String()), sa.column('nonce', sa.String()),
                      sa.column('expires_at', models.db.UTCDateTime(timezone=True)))
    inbound = sa.table('inbound_messages', sa.column('channel', sa.String()),
                       sa.column('dedupe_key', sa.String()), sa.column('sender', sa.String()),
                       sa.column('msg_type', sa.String()), sa.column('status', sa.String()),
                       sa.column('received_at', models.db.UTCDateTime(timezone=True)),
                       sa.column('nonce', sa.String()),
                       sa.column('nonce_expires', models.db.UTCDateTime(timezone=True)))
    rows = op.get_bind().execute(sa.select(nonces.c.channel, nonces.c.nonce, nonces.c.expires_at)).all()
    if rows:
        op.bulk_insert(inbound, [
            {'channel': channel, 'dedupe_key': f'nonce:{channel}:{nonce}:{expires.timestamp():.0f}',
             'sender': '', 'msg_type': 'nonce', 'status': 'nonce', 'received_at': expires,
             'nonce': nonce, 'nonce_expires': expires} for channel, nonce, expires in rows])


def downgrade() -> None:
    op.create_table(
        'request_nonces',
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('expires_at', models.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('channel', 'nonce', name=op.f('pk_request_nonces')))
    with op.batch_alter_table('request_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_nonces_expires_at'), ['expires_at'], unique=False)
    op.execute("DELETE FROM inbound_messages WHERE status = 'nonce'")
    with op.batch_alter_table('residents', schema=None) as batch_op:
        for name, _kind in reversed(RESIDENT_BUCKET):
            batch_op.drop_column(name)
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_constraint('uq_inbound_nonce', type_='unique')
        batch_op.drop_column('nonce_expires')
        batch_op.drop_column('nonce')
