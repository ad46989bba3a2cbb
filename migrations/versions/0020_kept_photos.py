"""kept photos: where each ticket photo's downloaded copies lie, and who sent it

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-07

WeChat keeps a media_id three days; the download job copies each photo into the
project's storage. New nullable columns only: photos sent before this migration keep
their media_id and pic_url as they were (nothing to convert) and have no sender, so
erasure counts them as the reporter's.
"""
from alembic import op
import sqlalchemy as sa
import models.db

revision = '0020'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ticket_photos') as batch:
        batch.add_column(sa.Column('resident_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('stored_key', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('public_key', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('content_type', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('size', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('kept_at', models.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('problem', sa.String(length=16), nullable=True))
        batch.create_foreign_key(op.f('fk_ticket_photos_resident_id_residents'), 'residents',
                                 ['resident_id'], ['id'])
        batch.create_index(op.f('ix_ticket_photos_resident_id'), ['resident_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket_photos') as batch:
        batch.drop_index(op.f('ix_ticket_photos_resident_id'))
        batch.drop_constraint(op.f('fk_ticket_photos_resident_id_residents'), type_='foreignkey')
        for column in ('problem', 'kept_at', 'size', 'content_type', 'public_key', 'stored_key',
                       'resident_id'):
            batch.drop_column(column)
