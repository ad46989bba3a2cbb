"""sim demo marks and vote proposals

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07

`demo` on staff and residents marks the made-up people (demo-data, `staff add --demo`, new
residents of /sim): the only ones the simulator may speak as. Everyone already there is real,
except the people an earlier demo-data or /sim made, known by the ids those gave them:
staff demo-grid-N, demo-property-works|care, demo-estate|community|street; residents
oDemoResidentNNNN and sim- followed by 12 hex digits.
`vote_proposals` holds a vote's full text and the random token of its public page;
`vote_documents` the PDFs and images owners open from it.
"""
import re

from alembic import op
import sqlalchemy as sa
import models.db

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('demo', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('demo', sa.Boolean(), nullable=False, server_default=sa.false()))
    _mark_the_earlier_demo()
    op.create_table(
        'vote_proposals',
        sa.Column('vote_id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=43), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('updated_at', models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['vote_id'], ['votes.id'], name=op.f('fk_vote_proposals_vote_id_votes')),
        sa.PrimaryKeyConstraint('vote_id', name=op.f('pk_vote_proposals')),
        sa.UniqueConstraint('token', name=op.f('uq_vote_proposals_token')))
    op.create_table(
        'vote_documents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('vote_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('media_type', sa.String(length=32), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('added_at', models.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('added_by', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['vote_id'], ['vote_proposals.vote_id'],
                                name=op.f('fk_vote_documents_vote_id_vote_proposals')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_vote_documents')),
        sa.UniqueConstraint('vote_id', 'position', name=op.f('uq_vote_documents_vote_id')))
    op.create_index(op.f('ix_vote_documents_vote_id'), 'vote_documents', ['vote_id'], unique=False)


DEMO_STAFF = ["demo-property-works", "demo-property-care", "demo-estate", "demo-community",
              "demo-street", *(f"demo-grid-{n}" for n in range(1, 9))]


def _mark_the_earlier_demo() -> None:
    """Mark the made-up people of an earlier demo-data or /sim, by the exact ids they were given."""
    bind = op.get_bind()
    staff = sa.table('staff', sa.column('user_id', sa.String), sa.column('channel', sa.String),
                     sa.column('demo', sa.Boolean))
    bind.execute(staff.update().where(staff.c.user_id.in_(DEMO_STAFF), staff.c.channel == 'wecom')
                 .values(demo=True))
    residents = sa.table('residents', sa.column('id', sa.Integer), sa.column('openid', sa.String),
                         sa.column('demo', sa.Boolean))
    made_up = [row.id for row in bind.execute(sa.select(residents.c.id, residents.c.openid).where(
        sa.or_(residents.c.openid.like('oDemoResident%'), residents.c.openid.like('sim-%'))))
        if re.fullmatch(r"oDemoResident\d{4}|sim-[0-9a-f]{12}", row.openid)]
    for start in range(0, len(made_up), 500):
        bind.execute(residents.update().where(residents.c.id.in_(made_up[start:start + 500]))
                     .values(demo=True))


def downgrade() -> None:
    op.drop_index(op.f('ix_vote_documents_vote_id'), table_name='vote_documents')
    op.drop_table('vote_documents')
    op.drop_table('vote_proposals')
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_column('demo')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('demo')
