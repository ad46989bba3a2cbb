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
# SQLite rebuilds a table to add a foreign key, and makes its indexes again in no fixed order;
# where two indexes serve a query equally its planner takes the first, so the order is restored.
TICKET_INDEXES = ('ix_tickets_reporter_created', 'ix_tickets_state_created', 'ix_tickets_assignee_id',
                  'ix_tickets_resolved_at', 'ix_tickets_board', 'ix_tickets_board_state',
                  'ix_tickets_board_category', 'ix_tickets_board_building',
                  'ix_tickets_board_suggestions', 'ix_tickets_open_level_building',
                  'ix_tickets_open_assignee', 'ix_tickets_board_estate')
VOTE_INDEXES = ('ix_votes_closes_at', 'ix_votes_estate_id')


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
    _in_order('tickets', TICKET_INDEXES)
    _in_order('votes', VOTE_INDEXES)
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


def _in_order(table: str, order: tuple[str, ...]) -> None:
    """On SQLite, make the table's indexes again in the order the migrations first made them."""
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return
    ddl = dict(bind.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table,)).all())
    named = [name for name in order if name in ddl]
    for name in named:
        op.execute(f'DROP INDEX "{name}"')
    for name in named:
        op.execute(ddl[name])


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
    _in_order('tickets', TICKET_INDEXES)
    _in_order('votes', VOTE_INDEXES)
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
