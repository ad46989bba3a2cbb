"""estates: many estates in one deployment

Revision ID: 0022
Revises: 0018
Create Date: 2026-12-07

Tickets, votes and staff say which estate they belong to; estates get a place on the map (a
location message picks the nearest); a resident not yet bound remembers the estate they
named; an estate may set its own market day, place and services. Existing rows are filled
from the one estate a database of the previous release holds, so nothing changes for it.
"""
from alembic import op
import sqlalchemy as sa

revision = '0022'
down_revision = '0018'
branch_labels = None
depends_on = None

SCOPED = ('grid', 'property', 'estate')  # roles acting in one estate; community: its community


def upgrade() -> None:
    with op.batch_alter_table('estates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('latitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('longitude', sa.Float(), nullable=True))
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('estate_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_residents_estate_id_estates'), 'estates',
                                    ['estate_id'], ['id'])
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('estate_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('community', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_staff_estate_id'), ['estate_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_staff_estate_id_estates'), 'estates',
                                    ['estate_id'], ['id'])
    # SQLite rebuilds the table here: keep AUTOINCREMENT, so ticket numbers are never reused.
    with op.batch_alter_table('tickets', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('estate_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_tickets_board_estate', ['estate_id', 'created_at', 'id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_tickets_estate_id_estates'), 'estates',
                                    ['estate_id'], ['id'])
    with op.batch_alter_table('votes', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.add_column(sa.Column('estate_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_votes_estate_id'), ['estate_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_votes_estate_id_estates'), 'estates',
                                    ['estate_id'], ['id'])
    op.create_table(
        'estate_markets',
        sa.Column('estate_id', sa.Integer(), nullable=False),
        sa.Column('day_of_month', sa.Integer(), nullable=True),
        sa.Column('place', sa.String(length=200), nullable=True),
        sa.Column('services', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['estate_id'], ['estates.id'],
                                name=op.f('fk_estate_markets_estate_id_estates')),
        sa.PrimaryKeyConstraint('estate_id', name=op.f('pk_estate_markets')))
    _fill()


def _fill() -> None:
    """Everything so far belongs to the one estate there is (the first, should there be more)."""
    first = '(SELECT MIN(id) FROM estates)'
    op.execute(f"UPDATE tickets SET estate_id = {first} WHERE estate_id IS NULL")
    op.execute(f"UPDATE votes SET estate_id = {first} WHERE estate_id IS NULL")
    roles = ", ".join(f"'{role}'" for role in SCOPED)
    op.execute(f"UPDATE staff SET estate_id = {first} WHERE estate_id IS NULL AND role IN ({roles})")
    op.execute("UPDATE staff SET community = (SELECT community FROM estates ORDER BY id LIMIT 1) "
               "WHERE community IS NULL AND role = 'community'")


def downgrade() -> None:
    op.drop_table('estate_markets')
    with op.batch_alter_table('votes', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_votes_estate_id_estates'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_votes_estate_id'))
        batch_op.drop_column('estate_id')
    with op.batch_alter_table('tickets', schema=None,
                              table_kwargs={'sqlite_autoincrement': True}) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tickets_estate_id_estates'), type_='foreignkey')
        batch_op.drop_index('ix_tickets_board_estate')
        batch_op.drop_column('estate_id')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_staff_estate_id_estates'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_staff_estate_id'))
        batch_op.drop_column('community')
        batch_op.drop_column('estate_id')
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_residents_estate_id_estates'), type_='foreignkey')
        batch_op.drop_column('estate_id')
    with op.batch_alter_table('estates', schema=None) as batch_op:
        batch_op.drop_column('longitude')
        batch_op.drop_column('latitude')
